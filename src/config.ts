/**
 * Configuration from the environment (docs/configuration.md). Every variable
 * has a default so that `npm start` needs none; a bad value stops the start
 * with a clear message instead of running half-configured.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { parseEventTypes, type EventType } from './protocol/index.js';
import { parseAllowedHost } from './edge/host-and-origin.js';
import { MAX_QUIET_MS, type CapSettings } from './core/caps.js';
import {
  parseHostList,
  type ClusterEndpoint,
  type HostAndPort,
  type RedisCredentials,
  type SentinelEndpoint,
} from './store/redis/endpoint.js';

const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));
const optionalText = z
  .string()
  .optional()
  .transform((v) => (v && v.trim() !== '' ? v.trim() : null));

/** A frequency cap (core/caps.ts): unset or empty is off, else a whole number from 1 to `max`. */
const capSetting = (max: number, unit: string) =>
  optionalText.transform((text, ctx): number | null => {
    if (text === null) return null;
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1 || value > max) {
      ctx.addIssue({
        code: 'custom',
        message: `"${text}" is not a whole number of ${unit} from 1 to ${max} (leave it unset to turn this cap off)`,
      });
      return null;
    }
    return value;
  });

/** A `host:port,…` variable (REDIS_SENTINELS, REDIS_CLUSTER_NODES). */
function hostList(text: string | null, ctx: z.RefinementCtx): HostAndPort[] | null {
  if (text === null) return null;
  const list = parseHostList(text);
  if ('error' in list) {
    ctx.addIssue({ code: 'custom', message: list.error });
    return null;
  }
  return list;
}

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(9081),
  HOST: z.string().min(1).default('0.0.0.0'),
  BECKON_DB: z.string().min(1).default('./data/beckon.db'),
  BECKON_SECRET: optionalText,
  // Shared with the site's server, which signs each userId with it; unset: no sign-in is verified.
  BECKON_IDENTITY_SECRET: optionalText.refine((secret) => secret === null || secret.length >= 16, {
    message: 'must be at least 16 characters (use a long random value, e.g. openssl rand -hex 32)',
  }),
  BECKON_API_TOKEN: optionalText,
  BECKON_ALLOWED_ORIGINS: optionalText.transform((list, ctx) => {
    if (list === null) return null;
    const origins: string[] = [];
    for (const item of list
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      try {
        origins.push(new URL(item).origin);
      } catch {
        ctx.addIssue({ code: 'custom', message: `"${item}" is not an origin like https://shop.example` });
      }
    }
    return origins;
  }),
  // Names beyond localhost, IP literals and HOST that the Host check lets through; `*` turns it off.
  BECKON_ALLOWED_HOSTS: optionalText.transform((list, ctx) => {
    const hosts: string[] = [];
    for (const item of (list ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const host = parseAllowedHost(item);
      if (host === null) {
        ctx.addIssue({
          code: 'custom',
          message: `"${item}" is not a host name like beckon.example.com, .example.com or * (no scheme, no port)`,
        });
      } else hosts.push(host);
    }
    return hosts;
  }),
  BECKON_STRICT: flag.default(true),
  // Frequency caps per browser, off unless set (GWE strategies see no change by default).
  BECKON_CAP_PER_DAY: capSetting(1000, 'invitations'),
  BECKON_CAP_AFTER_DECLINE_MINUTES: capSetting(MAX_QUIET_MS / 60_000, 'minutes'),
  BECKON_VISIT_IDLE_MINUTES: z.coerce
    .number()
    .positive()
    .max(7 * 24 * 60)
    .default(30),
  // At least a day: a webhook is retried for 24 hours, and its event must outlive that.
  BECKON_EVENT_RETENTION_DAYS: z.coerce.number().min(1).max(3650).default(7),
  // Closed pages and ended visits (store.pruneVisits): unset keeps them as long as the events that name them.
  BECKON_VISIT_RETENTION_HOURS: optionalText.transform((text, ctx): number | null => {
    if (text === null) return null;
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1 || value > 87_600) {
      ctx.addIssue({
        code: 'custom',
        message: `"${text}" is not a whole number of hours from 1 to 87600 (leave it unset to keep them as long as events)`,
      });
      return null;
    }
    return value;
  }),
  // Settled attempts (store.pruneAttempts): the status endpoint, idempotent engage and the export
  // answer for them this long; like the reports by default. At least a day, so that a pruned
  // attempt's caps budget entry (at or before it settled) is already outside the 24-hour cap window.
  BECKON_ATTEMPT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(400),
  // Report counters per hour (core/reports.ts): at least a day, so that the default report (the last 24 hours) is whole.
  BECKON_REPORT_RETENTION_DAYS: z.coerce.number().min(1).max(3650).default(400),
  BECKON_WEBHOOK_URL: optionalText.refine((url) => url === null || /^https?:$/.test(URL.parse(url)?.protocol ?? ''), {
    message: 'must be an http:// or https:// URL',
  }),
  BECKON_WEBHOOK_SECRET: optionalText,
  BECKON_WEBHOOK_EVENTS: optionalText.transform((list, ctx): EventType[] | null => {
    if (list === null) return null;
    const parsed = parseEventTypes(list);
    if ('types' in parsed) return parsed.types;
    ctx.addIssue({ code: 'custom', message: `"${parsed.unknown}" is not an event type or a family like engagement.*` });
    return null;
  }),
  // For tests: shortens the retry schedule (1 s, 2 s, 4 s, … at most 5 min) to base, 2×base, …
  BECKON_WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  BECKON_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  REDIS_URL: optionalText.refine((url) => url === null || /^rediss?:$/.test(URL.parse(url)?.protocol ?? ''), {
    message: 'must be a redis:// or rediss:// URL, like redis://127.0.0.1:6379',
  }),
  REDIS_SENTINELS: optionalText.transform((text, ctx): HostAndPort[] | null => hostList(text, ctx)),
  REDIS_CLUSTER_NODES: optionalText.transform((text, ctx): HostAndPort[] | null => hostList(text, ctx)),
  REDIS_SENTINEL_NAME: z
    .string()
    .regex(/^[\x21-\x7e]{1,128}$/, 'must be 1–128 visible characters')
    .default('beckon'),
  // For the data nodes found through Sentinel or in a cluster; a REDIS_URL carries its own.
  REDIS_USERNAME: optionalText,
  REDIS_PASSWORD: optionalText,
  REDIS_TLS: flag.default(false),
  REDIS_SENTINEL_PASSWORD: optionalText,
  // Writes made for a caller are acknowledged only once this many replicas confirm them (WAIT).
  BECKON_REDIS_MIN_REPLICAS: z.coerce.number().int().min(0).max(16).default(0),
  BECKON_REDIS_REPLICA_TIMEOUT_MS: z.coerce.number().int().min(10).max(1000).default(200),
  // Every key, stream and channel name starts with it, so one Redis can serve several installations.
  BECKON_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1–64 letters, digits or _.:-')
    .default('beckon:'),
  BECKON_ROLE: z.enum(['all', 'backend', 'frontend']).default('all'),
  // Names this process among the nodes sharing a Redis; stable across restarts so that a restart closes its own old pages.
  BECKON_NODE_ID: optionalText.refine((id) => id === null || /^[\x21-\x7e]{1,128}$/.test(id), {
    message: 'must be 1–128 visible characters',
  }),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Generous defaults: a strategy polling status for many visitors must not be throttled out of the box.
  BECKON_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(10_000_000).default(6000),
  BECKON_SOCKET_CONNECTIONS_PER_MINUTE: z.coerce.number().int().min(1).max(10_000_000).default(600),
  BECKON_TRUST_PROXY: z.coerce.number().int().min(0).max(10).default(0),
});

export interface BeckonConfig {
  port: number;
  host: string;
  /** SQLite file, or `:memory:`. */
  db: string;
  secret: string;
  /** Verifies sign-ins: a sign-in is verified only with the hex HMAC-SHA256 of its userId under it; null: none is. */
  identitySecret: string | null;
  apiToken: string | null;
  /** null: not configured (own origin and loopback origins only). */
  allowedOrigins: string[] | null;
  /** Host names the data routes and sockets answer to beyond localhost, IP literals and HOST; `.x` covers subdomains; `*` any. */
  allowedHosts: string[];
  strict: boolean;
  visitIdleMs: number;
  /** Frequency caps per browser; each null when off. */
  caps: CapSettings;
  /** Events older than this are deleted (hourly); engagement records stay (attemptRetentionMs). */
  eventRetentionMs: number;
  /** Pages closed and visits ended longer ago than this are deleted (hourly); null: the event retention. */
  visitRetentionMs: number | null;
  /** Report hours that ended longer ago than this are deleted (SQLite: hourly; Redis: each expires). */
  reportRetentionMs: number;
  /** Attempts settled longer ago than this are deleted (hourly), with their index entries. */
  attemptRetentionMs: number;
  webhookUrl: string | null;
  webhookSecret: string | null;
  /** Event types sent to the webhook; null: all. */
  webhookEvents: EventType[] | null;
  /** Delay before the first retry; doubles after each failure. */
  webhookRetryBaseMs: number;
  /** One delivery attempt fails when the receiver has not answered in this long. */
  webhookTimeoutMs: number;
  /**
   * Where Redis is, at most one of the three (store/redis/endpoint.ts):
   * a URL, a primary found through Sentinel, or a Redis Cluster; all null:
   * the SQLite store.
   */
  redisUrl: string | null;
  redisSentinel: SentinelEndpoint | null;
  redisCluster: ClusterEndpoint | null;
  /** Replicas that must confirm a write made for a caller before it is acknowledged (0: none, no WAIT). */
  redisMinReplicas: number;
  /** How long a write waits for that confirmation before it answers NOT_REPLICATED. */
  redisReplicaTimeoutMs: number;
  /** Starts every Redis key name. */
  redisPrefix: string;
  role: 'all' | 'backend' | 'frontend';
  /** This node's id among several (BECKON_NODE_ID); null: host name and port. */
  nodeId: string | null;
  logLevel: string;
  /** REST calls per minute per credential (the API token, or the caller's IP without one). */
  rateLimitPerMinute: number;
  /** New visitor sockets per minute per IP. */
  socketConnectionsPerMinute: number;
  /** How many reverse proxies in front of Beckon append to X-Forwarded-For (0: none, use the peer address). */
  trustProxy: number;
}

export class ConfigError extends Error {}

/** Reads the configuration; throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv): BeckonConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(`Bad configuration:\n${z.prettifyError(parsed.error)}`);
  }
  const e = parsed.data;
  if (e.BECKON_WEBHOOK_URL !== null && e.BECKON_WEBHOOK_SECRET === null) {
    // Unsigned events would let anyone who finds the receiver's URL forge outcomes.
    throw new ConfigError('Bad configuration:\nBECKON_WEBHOOK_SECRET is required when BECKON_WEBHOOK_URL is set.');
  }
  const redisNamedBy = (['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const).filter(
    (name) => e[name] !== null,
  );
  if (redisNamedBy.length > 1) {
    // Two answers to "where is Redis?": guessing which one was meant could write to the wrong place.
    throw new ConfigError(
      `Bad configuration:\n${redisNamedBy.join(' and ')} are ${redisNamedBy.length === 2 ? 'both' : 'all'} set: set only one of REDIS_URL, REDIS_SENTINELS and REDIS_CLUSTER_NODES.`,
    );
  }
  if (e.BECKON_ROLE !== 'all' && redisNamedBy.length === 0) {
    // A backend alone or a frontend alone needs the other role somewhere, and they meet only through Redis.
    throw new ConfigError(
      `Bad configuration:\nBECKON_ROLE=${e.BECKON_ROLE} needs REDIS_URL (or REDIS_SENTINELS or REDIS_CLUSTER_NODES): backends and frontends share the store and reach each other through Redis. Use BECKON_ROLE=all (the default) for one process.`,
    );
  }
  const credentials: RedisCredentials = { username: e.REDIS_USERNAME, password: e.REDIS_PASSWORD, tls: e.REDIS_TLS };
  if (e.BECKON_ROLE !== 'all' && e.BECKON_SECRET === null) {
    // Each node would generate its own secret, and no node could verify the visit tokens another signed.
    throw new ConfigError(
      `Bad configuration:\nBECKON_SECRET is required with BECKON_ROLE=${e.BECKON_ROLE}: every node must verify the visit tokens the others signed.`,
    );
  }
  const db = e.BECKON_DB === ':memory:' ? ':memory:' : resolve(e.BECKON_DB);
  return {
    port: e.PORT,
    host: e.HOST,
    db,
    secret: e.BECKON_SECRET ?? keptSecret(db),
    identitySecret: e.BECKON_IDENTITY_SECRET,
    apiToken: e.BECKON_API_TOKEN,
    allowedOrigins: e.BECKON_ALLOWED_ORIGINS,
    allowedHosts: e.BECKON_ALLOWED_HOSTS,
    strict: e.BECKON_STRICT,
    visitIdleMs: e.BECKON_VISIT_IDLE_MINUTES * 60_000,
    caps: {
      perDay: e.BECKON_CAP_PER_DAY,
      afterDeclineMs: e.BECKON_CAP_AFTER_DECLINE_MINUTES === null ? null : e.BECKON_CAP_AFTER_DECLINE_MINUTES * 60_000,
    },
    eventRetentionMs: e.BECKON_EVENT_RETENTION_DAYS * 86_400_000,
    visitRetentionMs: e.BECKON_VISIT_RETENTION_HOURS === null ? null : e.BECKON_VISIT_RETENTION_HOURS * 3_600_000,
    reportRetentionMs: e.BECKON_REPORT_RETENTION_DAYS * 86_400_000,
    attemptRetentionMs: e.BECKON_ATTEMPT_RETENTION_DAYS * 86_400_000,
    webhookUrl: e.BECKON_WEBHOOK_URL,
    webhookSecret: e.BECKON_WEBHOOK_SECRET,
    webhookEvents: e.BECKON_WEBHOOK_EVENTS,
    webhookRetryBaseMs: e.BECKON_WEBHOOK_RETRY_BASE_MS,
    webhookTimeoutMs: e.BECKON_WEBHOOK_TIMEOUT_MS,
    redisUrl: e.REDIS_URL,
    redisSentinel:
      e.REDIS_SENTINELS === null
        ? null
        : {
            sentinels: e.REDIS_SENTINELS,
            name: e.REDIS_SENTINEL_NAME,
            credentials,
            sentinelPassword: e.REDIS_SENTINEL_PASSWORD,
          },
    redisCluster: e.REDIS_CLUSTER_NODES === null ? null : { nodes: e.REDIS_CLUSTER_NODES, credentials },
    redisMinReplicas: e.BECKON_REDIS_MIN_REPLICAS,
    redisReplicaTimeoutMs: e.BECKON_REDIS_REPLICA_TIMEOUT_MS,
    redisPrefix: e.BECKON_REDIS_PREFIX,
    role: e.BECKON_ROLE,
    nodeId: e.BECKON_NODE_ID,
    logLevel: e.LOG_LEVEL,
    rateLimitPerMinute: e.BECKON_RATE_LIMIT_PER_MINUTE,
    socketConnectionsPerMinute: e.BECKON_SOCKET_CONNECTIONS_PER_MINUTE,
    trustProxy: e.BECKON_TRUST_PROXY,
  };
}

/**
 * The token-signing secret when BECKON_SECRET is unset: generated once and
 * kept beside the database, so visitors' tokens stay valid across restarts.
 */
function keptSecret(db: string): string {
  if (db === ':memory:') return randomBytes(32).toString('hex');
  const file = join(dirname(db), 'secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dirname(file), { recursive: true });
  const secret = randomBytes(32).toString('hex');
  // 'wx' fails if another process created it first; then read theirs.
  try {
    writeFileSync(file, secret, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch {
    return readFileSync(file, 'utf8').trim();
  }
}

/**
 * Every variable (docs/configuration.md) with its default as
 * an operator reads it: the source of `beckon --help`. A test checks it
 * against the schema above, so a new variable or a changed default cannot be
 * missing from the help.
 */
export const ENVIRONMENT_VARIABLES: readonly { name: string; default: string; meaning: string }[] = [
  { name: 'PORT', default: '9081', meaning: 'HTTP and socket.io port' },
  { name: 'HOST', default: '0.0.0.0', meaning: 'address to listen on' },
  {
    name: 'BECKON_DB',
    default: './data/beckon.db',
    meaning: 'SQLite file (relative to the current directory), or :memory:',
  },
  { name: 'BECKON_SECRET', default: 'generated once into "secret" beside the database', meaning: 'signs visit tokens' },
  {
    name: 'BECKON_IDENTITY_SECRET',
    default: 'unset: no sign-in is verified',
    meaning: "shared with the site's server, which signs each userId with it (HMAC-SHA256)",
  },
  {
    name: 'BECKON_API_TOKEN',
    default: 'unset: loopback callers only',
    meaning: 'Bearer token (or Basic password) for the REST API and console data',
  },
  {
    name: 'BECKON_ALLOWED_ORIGINS',
    default: 'unset: own origin and loopback origins',
    meaning: 'comma-separated origins allowed to open visitor sockets',
  },
  {
    name: 'BECKON_ALLOWED_HOSTS',
    default: 'unset: localhost, IP addresses and HOST',
    meaning: 'extra host names Beckon answers to; * turns the Host check off',
  },
  { name: 'BECKON_STRICT', default: 'true', meaning: 'at most one attempt in progress per visit' },
  { name: 'BECKON_VISIT_IDLE_MINUTES', default: '30', meaning: 'a visit with no open page for this long ends' },
  {
    name: 'BECKON_CAP_PER_DAY',
    default: 'unset: no cap',
    meaning: 'most invitations shown to one browser in any 24 hours',
  },
  {
    name: 'BECKON_CAP_AFTER_DECLINE_MINUTES',
    default: 'unset: no cap',
    meaning: 'quiet time for a browser after a decline or close',
  },
  { name: 'BECKON_REPORT_RETENTION_DAYS', default: '400', meaning: 'how long report data is kept' },
  {
    name: 'BECKON_EVENT_RETENTION_DAYS',
    default: '7',
    meaning: 'events older than this are deleted from the log (at least 1)',
  },
  {
    name: 'BECKON_VISIT_RETENTION_HOURS',
    default: 'unset: as long as events',
    meaning: 'closed pages and ended visits older than this are deleted (at least 1)',
  },
  {
    name: 'BECKON_ATTEMPT_RETENTION_DAYS',
    default: '400',
    meaning: 'attempts settled longer ago are deleted; their status then answers 404 (1 to 3650)',
  },
  { name: 'BECKON_WEBHOOK_URL', default: 'unset', meaning: 'http(s) URL that receives every event as a signed POST' },
  {
    name: 'BECKON_WEBHOOK_SECRET',
    default: 'unset; required with BECKON_WEBHOOK_URL',
    meaning: 'HMAC-SHA256 key of X-Beckon-Signature',
  },
  {
    name: 'BECKON_WEBHOOK_EVENTS',
    default: 'unset: all',
    meaning: 'comma-separated event types or families to send, e.g. engagement.*',
  },
  {
    name: 'BECKON_WEBHOOK_TIMEOUT_MS',
    default: '10000',
    meaning: 'a delivery attempt with no answer in this long has failed',
  },
  {
    name: 'BECKON_WEBHOOK_RETRY_BASE_MS',
    default: '1000',
    meaning: 'first retry delay, then doubling (tests shorten it)',
  },
  {
    name: 'REDIS_URL',
    default: 'unset: the SQLite store',
    meaning: 'redis:// or rediss:// URL: the store lives in Redis',
  },
  {
    name: 'REDIS_SENTINELS',
    default: 'unset',
    meaning: 'host:port,… of Redis Sentinels: the store lives on the primary they name, and follows it',
  },
  {
    name: 'REDIS_CLUSTER_NODES',
    default: 'unset',
    meaning:
      'host:port,… of some Redis Cluster nodes: the store lives in that cluster, on the shard of its one hash tag',
  },
  { name: 'REDIS_SENTINEL_NAME', default: 'beckon', meaning: 'the name the sentinels monitor the primary under' },
  { name: 'REDIS_USERNAME', default: 'unset', meaning: 'ACL user for the data nodes (Sentinel or Cluster)' },
  { name: 'REDIS_PASSWORD', default: 'unset', meaning: 'password for the data nodes (Sentinel or Cluster)' },
  { name: 'REDIS_TLS', default: 'false', meaning: 'TLS to the data nodes (Sentinel or Cluster)' },
  { name: 'REDIS_SENTINEL_PASSWORD', default: 'unset', meaning: "the sentinels' own password" },
  {
    name: 'BECKON_REDIS_MIN_REPLICAS',
    default: '0',
    meaning: 'replicas that must confirm (WAIT) a write made for a caller before it is acknowledged',
  },
  {
    name: 'BECKON_REDIS_REPLICA_TIMEOUT_MS',
    default: '200',
    meaning: 'how long such a write waits for the replicas before answering NOT_REPLICATED',
  },
  { name: 'BECKON_REDIS_PREFIX', default: 'beckon:', meaning: 'starts every Redis key name' },
  {
    name: 'BECKON_ROLE',
    default: 'all',
    meaning: 'all, backend or frontend; a role other than all needs REDIS_URL and BECKON_SECRET',
  },
  {
    name: 'BECKON_NODE_ID',
    default: 'host name and port',
    meaning: 'names this process among the nodes sharing a Redis',
  },
  { name: 'LOG_LEVEL', default: 'info', meaning: 'fatal, error, warn, info, debug, trace or silent' },
  { name: 'BECKON_RATE_LIMIT_PER_MINUTE', default: '6000', meaning: 'REST calls per minute per credential' },
  {
    name: 'BECKON_SOCKET_CONNECTIONS_PER_MINUTE',
    default: '600',
    meaning: 'new visitor sockets per minute per address',
  },
  {
    name: 'BECKON_TRUST_PROXY',
    default: '0',
    meaning: 'how many reverse proxies in front of Beckon append to X-Forwarded-For',
  },
];

/** The names the schema reads and their parsed defaults (null: no default), for checking the table above. */
export function schemaDefaults(): Record<string, unknown> {
  const parsed = envSchema.parse({});
  return Object.fromEntries(
    Object.keys(envSchema.shape).map((name) => [name, parsed[name as keyof typeof parsed] ?? null]),
  );
}
