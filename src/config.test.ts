import { redisKeyPrefix } from './store/redis/endpoint.js';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('needs no variables: every default is sensible', () => {
    const dir = mkdtempSync(join(tmpdir(), 'beckon-config-'));
    const config = loadConfig({ BECKON_DB: join(dir, 'beckon.db') });
    expect(config).toMatchObject({
      port: 9081,
      host: '0.0.0.0',
      apiToken: null,
      allowedOrigins: null,
      allowedHosts: [],
      strict: true,
      visitIdleMs: 30 * 60_000,
      role: 'all',
      logLevel: 'info',
    });
    expect(loadConfig({ BECKON_SECRET: 'x' }).db).toBe(join(process.cwd(), 'data', 'beckon.db'));
  });

  it('generates the signing secret once and keeps it beside the database', () => {
    const dir = mkdtempSync(join(tmpdir(), 'beckon-config-'));
    const first = loadConfig({ BECKON_DB: join(dir, 'beckon.db') });
    const second = loadConfig({ BECKON_DB: join(dir, 'beckon.db') });
    expect(first.secret).toMatch(/^[0-9a-f]{64}$/);
    expect(second.secret).toBe(first.secret);
    expect(readFileSync(join(dir, 'secret'), 'utf8')).toBe(first.secret);
    expect(statSync(join(dir, 'secret')).mode & 0o077).toBe(0); // readable by the owner only
    expect(loadConfig({ BECKON_DB: join(dir, 'beckon.db'), BECKON_SECRET: 'given' }).secret).toBe('given');
  });

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      BECKON_DB: ':memory:',
      BECKON_API_TOKEN: 'token',
      BECKON_ALLOWED_ORIGINS: 'https://shop.example, https://www.shop.example/',
      BECKON_STRICT: 'false',
      BECKON_VISIT_IDLE_MINUTES: '0.5',
      LOG_LEVEL: 'silent',
    });
    expect(config).toMatchObject({
      port: 0,
      host: '127.0.0.1',
      db: ':memory:',
      apiToken: 'token',
      allowedOrigins: ['https://shop.example', 'https://www.shop.example'],
      strict: false,
      visitIdleMs: 30_000,
      logLevel: 'silent',
    });
  });

  it('refuses bad values with a message naming them', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ BECKON_STRICT: 'maybe' })).toThrow(/BECKON_STRICT/);
    expect(() => loadConfig({ BECKON_ALLOWED_ORIGINS: 'not an origin' })).toThrow(/not an origin/);
    expect(() => loadConfig({ BECKON_VISIT_IDLE_MINUTES: '0' })).toThrow(/BECKON_VISIT_IDLE_MINUTES/);
  });

  it('keeps report hours 400 days unless told, and refuses less than a day or nonsense', () => {
    expect(loadConfig({ BECKON_DB: ':memory:' }).reportRetentionMs).toBe(400 * 86_400_000);
    expect(loadConfig({ BECKON_DB: ':memory:', BECKON_REPORT_RETENTION_DAYS: '30' }).reportRetentionMs).toBe(
      30 * 86_400_000,
    );
    for (const bad of ['0', '0.5', '-1', 'forever', '3651']) {
      expect(() => loadConfig({ BECKON_DB: ':memory:', BECKON_REPORT_RETENTION_DAYS: bad })).toThrow(
        /BECKON_REPORT_RETENTION_DAYS/,
      );
    }
  });

  it('keeps settled attempts 400 days unless told, and refuses less than a day, fractions or nonsense', () => {
    expect(loadConfig({ BECKON_DB: ':memory:' }).attemptRetentionMs).toBe(400 * 86_400_000);
    expect(loadConfig({ BECKON_DB: ':memory:', BECKON_ATTEMPT_RETENTION_DAYS: '30' }).attemptRetentionMs).toBe(
      30 * 86_400_000,
    );
    expect(loadConfig({ BECKON_DB: ':memory:', BECKON_ATTEMPT_RETENTION_DAYS: '3650' }).attemptRetentionMs).toBe(
      3650 * 86_400_000,
    );
    for (const bad of ['0', '0.5', '1.5', '-1', 'forever', '3651']) {
      expect(() => loadConfig({ BECKON_DB: ':memory:', BECKON_ATTEMPT_RETENTION_DAYS: bad })).toThrow(
        /BECKON_ATTEMPT_RETENTION_DAYS/,
      );
    }
  });

  it('reads the extra host names, normalised, and refuses a scheme or a port', () => {
    expect(
      loadConfig({ BECKON_DB: ':memory:', BECKON_ALLOWED_HOSTS: 'Beckon.Example.com, .corp.example,,' }).allowedHosts,
    ).toEqual(['beckon.example.com', '.corp.example']);
    expect(loadConfig({ BECKON_DB: ':memory:', BECKON_ALLOWED_HOSTS: '*' }).allowedHosts).toEqual(['*']);
    expect(() => loadConfig({ BECKON_ALLOWED_HOSTS: 'https://beckon.example.com' })).toThrow(
      /no scheme, no port[\s\S]*BECKON_ALLOWED_HOSTS/,
    );
    expect(() => loadConfig({ BECKON_ALLOWED_HOSTS: 'beckon.example.com:443' })).toThrow(/beckon\.example\.com:443/);
  });

  it('reads the webhook settings, and refuses a URL without a secret, a bad URL or an unknown event type', () => {
    const base = {
      BECKON_DB: ':memory:',
      BECKON_WEBHOOK_URL: 'https://crm.example/hooks/beckon',
      BECKON_WEBHOOK_SECRET: 's',
    };
    expect(loadConfig(base)).toMatchObject({
      webhookUrl: 'https://crm.example/hooks/beckon',
      webhookSecret: 's',
      webhookEvents: null,
      webhookRetryBaseMs: 1000,
      webhookTimeoutMs: 10_000,
    });
    expect(loadConfig({ ...base, BECKON_WEBHOOK_EVENTS: 'visit.ended, engagement.*' }).webhookEvents).toEqual([
      'engagement.pending',
      'engagement.delivered',
      'engagement.accepted',
      'engagement.declined',
      'engagement.timed_out',
      'engagement.cancelled',
      'engagement.expired',
      'visit.ended',
    ]);
    expect(() => loadConfig({ ...base, BECKON_WEBHOOK_SECRET: '' })).toThrow(/BECKON_WEBHOOK_SECRET is required/);
    expect(() => loadConfig({ ...base, BECKON_WEBHOOK_URL: 'ftp://crm.example/x' })).toThrow(/BECKON_WEBHOOK_URL/);
    expect(() => loadConfig({ ...base, BECKON_WEBHOOK_EVENTS: 'engagement.won' })).toThrow(/engagement\.won/);
    expect(() => loadConfig({ ...base, BECKON_WEBHOOK_RETRY_BASE_MS: '0' })).toThrow(/BECKON_WEBHOOK_RETRY_BASE_MS/);
  });
});

describe('loadConfig: limits and proxies', () => {
  it('has generous limit defaults and trusts no proxy unless told', () => {
    expect(loadConfig({ BECKON_DB: ':memory:' })).toMatchObject({
      rateLimitPerMinute: 6000,
      socketConnectionsPerMinute: 600,
      trustProxy: 0,
    });
  });

  it('reads the limits and the trusted proxy hops, and refuses nonsense', () => {
    expect(
      loadConfig({
        BECKON_DB: ':memory:',
        BECKON_RATE_LIMIT_PER_MINUTE: '120',
        BECKON_SOCKET_CONNECTIONS_PER_MINUTE: '30',
        BECKON_TRUST_PROXY: '1',
      }),
    ).toMatchObject({ rateLimitPerMinute: 120, socketConnectionsPerMinute: 30, trustProxy: 1 });
    expect(() => loadConfig({ BECKON_RATE_LIMIT_PER_MINUTE: '0' })).toThrow(/BECKON_RATE_LIMIT_PER_MINUTE/);
    expect(() => loadConfig({ BECKON_SOCKET_CONNECTIONS_PER_MINUTE: 'lots' })).toThrow(
      /BECKON_SOCKET_CONNECTIONS_PER_MINUTE/,
    );
    expect(() => loadConfig({ BECKON_TRUST_PROXY: 'yes' })).toThrow(/BECKON_TRUST_PROXY/);
  });
});

describe('loadConfig: frequency caps', () => {
  it('turns both caps off unless set, and reads them as a count and a quiet time in ms', () => {
    expect(loadConfig({ BECKON_DB: ':memory:' }).caps).toEqual({ perDay: null, afterDeclineMs: null });
    expect(
      loadConfig({ BECKON_DB: ':memory:', BECKON_CAP_PER_DAY: ' ', BECKON_CAP_AFTER_DECLINE_MINUTES: '' }).caps,
    ).toEqual({
      perDay: null,
      afterDeclineMs: null,
    });
    expect(
      loadConfig({ BECKON_DB: ':memory:', BECKON_CAP_PER_DAY: '3', BECKON_CAP_AFTER_DECLINE_MINUTES: '45' }).caps,
    ).toEqual({
      perDay: 3,
      afterDeclineMs: 45 * 60_000,
    });
    expect(loadConfig({ BECKON_DB: ':memory:', BECKON_CAP_AFTER_DECLINE_MINUTES: '43200' }).caps.afterDeclineMs).toBe(
      30 * 86_400_000,
    );
  });

  it('refuses anything but a positive whole number in range, naming the variable and the rule', () => {
    for (const bad of ['0', '-1', '2.5', '1e3', 'three', '0x10', '1001']) {
      expect(() => loadConfig({ BECKON_DB: ':memory:', BECKON_CAP_PER_DAY: bad })).toThrow(
        /whole number of invitations from 1 to 1000[\s\S]*at BECKON_CAP_PER_DAY/,
      );
    }
    for (const bad of ['0', '1.5', 'soon', '43201']) {
      expect(() => loadConfig({ BECKON_DB: ':memory:', BECKON_CAP_AFTER_DECLINE_MINUTES: bad })).toThrow(
        /whole number of minutes from 1 to 43200[\s\S]*at BECKON_CAP_AFTER_DECLINE_MINUTES/,
      );
    }
  });
});

describe('loadConfig: retention of pages and visits', () => {
  it('keeps closed pages and ended visits as long as events unless BECKON_VISIT_RETENTION_HOURS is set', () => {
    expect(loadConfig({ BECKON_DB: ':memory:' }).visitRetentionMs).toBeNull();
    expect(loadConfig({ BECKON_DB: ':memory:', BECKON_VISIT_RETENTION_HOURS: ' ' }).visitRetentionMs).toBeNull();
    expect(loadConfig({ BECKON_DB: ':memory:', BECKON_VISIT_RETENTION_HOURS: '6' }).visitRetentionMs).toBe(
      6 * 3_600_000,
    );
    for (const bad of ['0', '-1', '1.5', 'a day', '87601']) {
      expect(() => loadConfig({ BECKON_DB: ':memory:', BECKON_VISIT_RETENTION_HOURS: bad })).toThrow(
        /whole number of hours from 1 to 87600[\s\S]*at BECKON_VISIT_RETENTION_HOURS/,
      );
    }
  });
});

describe('loadConfig: Redis and roles', () => {
  it('chooses the Redis store only with a redis:// or rediss:// REDIS_URL, under a prefix', () => {
    expect(loadConfig({ BECKON_DB: ':memory:' })).toMatchObject({
      redisUrl: null,
      redisPrefix: 'beckon:',
      role: 'all',
    });
    expect(
      loadConfig({
        BECKON_DB: ':memory:',
        REDIS_URL: 'rediss://user:pw@redis.internal:6380/2',
        BECKON_REDIS_PREFIX: 'shop-a:',
      }),
    ).toMatchObject({ redisUrl: 'rediss://user:pw@redis.internal:6380/2', redisPrefix: 'shop-a:' });
    expect(() => loadConfig({ REDIS_URL: 'http://127.0.0.1:6379' })).toThrow(/REDIS_URL/);
    expect(() => loadConfig({ REDIS_URL: '127.0.0.1:6379' })).toThrow(/REDIS_URL/);
    expect(() => loadConfig({ BECKON_REDIS_PREFIX: 'has space' })).toThrow(/BECKON_REDIS_PREFIX/);
    expect(() => loadConfig({ BECKON_REDIS_PREFIX: '' })).toThrow(/BECKON_REDIS_PREFIX/);
  });

  it('takes a role only with REDIS_URL and an explicit BECKON_SECRET, and refuses unknown roles', () => {
    const cluster = { BECKON_DB: ':memory:', REDIS_URL: 'redis://127.0.0.1:6379', BECKON_SECRET: 'shared-secret' };
    expect(loadConfig({ ...cluster, BECKON_ROLE: 'backend' }).role).toBe('backend');
    expect(loadConfig({ ...cluster, BECKON_ROLE: 'frontend' }).role).toBe('frontend');
    expect(() => loadConfig({ BECKON_DB: ':memory:', BECKON_ROLE: 'backend' })).toThrow(
      /BECKON_ROLE=backend needs REDIS_URL/,
    );
    expect(() =>
      loadConfig({ BECKON_DB: ':memory:', BECKON_ROLE: 'frontend', REDIS_URL: 'redis://127.0.0.1:6379' }),
    ).toThrow(/BECKON_SECRET is required with BECKON_ROLE=frontend/);
    expect(() => loadConfig({ BECKON_ROLE: 'edge' })).toThrow(/BECKON_ROLE/);
  });
  it('finds Redis through Sentinel, with credentials for the data nodes and the sentinels', () => {
    const config = loadConfig({
      BECKON_DB: ':memory:',
      REDIS_SENTINELS: '10.0.0.5:26379, sentinel-b.internal:26380,[::1]:26381',
      REDIS_USERNAME: 'beckon',
      REDIS_PASSWORD: 'data-secret',
      REDIS_TLS: 'true',
      REDIS_SENTINEL_PASSWORD: 'sentinel-secret',
      BECKON_REDIS_MIN_REPLICAS: '1',
    });
    expect(config.redisUrl).toBeNull();
    expect(config.redisSentinel).toEqual({
      sentinels: [
        { host: '10.0.0.5', port: 26379 },
        { host: 'sentinel-b.internal', port: 26380 },
        { host: '::1', port: 26381 },
      ],
      name: 'beckon',
      credentials: { username: 'beckon', password: 'data-secret', tls: true },
      sentinelPassword: 'sentinel-secret',
    });
    expect(config).toMatchObject({ redisMinReplicas: 1, redisReplicaTimeoutMs: 200 });
    expect(
      loadConfig({ BECKON_DB: ':memory:', REDIS_SENTINELS: 'a:1', REDIS_SENTINEL_NAME: 'shop' }).redisSentinel,
    ).toMatchObject({
      name: 'shop',
      credentials: { username: null, password: null, tls: false },
      sentinelPassword: null,
    });
    // A role needs Redis, and Sentinel is Redis.
    expect(
      loadConfig({ BECKON_DB: ':memory:', REDIS_SENTINELS: 'a:1', BECKON_ROLE: 'backend', BECKON_SECRET: 's' }).role,
    ).toBe('backend');
  });

  it('finds Redis in a cluster, every key under one hash tag made from the prefix', () => {
    const config = loadConfig({ BECKON_DB: ':memory:', REDIS_CLUSTER_NODES: '10.0.0.1:7000,10.0.0.2:7000' });
    expect(config.redisCluster).toEqual({
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7000 },
      ],
      credentials: { username: null, password: null, tls: false },
    });
    expect(redisKeyPrefix(config)).toBe('{beckon}:');
    expect(redisKeyPrefix({ ...config, redisPrefix: 'shop-a' })).toBe('{shop-a}:');
    expect(redisKeyPrefix({ ...config, redisCluster: null })).toBe('beckon:');
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'nodes.internal' })).toThrow(/REDIS_CLUSTER_NODES/);
  });

  it('refuses two answers to where Redis is, and sentinel lists that are not host:port', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_SENTINELS: '127.0.0.1:26379' })).toThrow(
      /REDIS_URL and REDIS_SENTINELS are both set/,
    );
    expect(() => loadConfig({ REDIS_URL: 'redis://a:1', REDIS_SENTINELS: 'b:2', REDIS_CLUSTER_NODES: 'c:3' })).toThrow(
      /REDIS_URL and REDIS_SENTINELS and REDIS_CLUSTER_NODES are all set/,
    );
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'c:3', REDIS_SENTINELS: 'b:2' })).toThrow(
      /REDIS_SENTINELS and REDIS_CLUSTER_NODES are both set/,
    );
    for (const list of ['127.0.0.1', '127.0.0.1:0', 'host:70000', 'redis://a:1', ',']) {
      expect(() => loadConfig({ REDIS_SENTINELS: list }), list).toThrow(/REDIS_SENTINELS/);
    }
    expect(() => loadConfig({ REDIS_SENTINELS: ',' })).toThrow(/lists no host:port/);
    expect(() => loadConfig({ BECKON_REDIS_MIN_REPLICAS: '-1' })).toThrow(/BECKON_REDIS_MIN_REPLICAS/);
    expect(() => loadConfig({ BECKON_REDIS_REPLICA_TIMEOUT_MS: '5' })).toThrow(/BECKON_REDIS_REPLICA_TIMEOUT_MS/);
  });
});
