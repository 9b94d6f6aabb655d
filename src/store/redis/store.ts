/**
 * The Redis store (REDIS_URL): the same semantics as the SQLite store, for
 * any number of processes on one Redis. Every change is one Lua script (the
 * `.lua` files beside this module, scripts.ts) that checks, then writes the
 * event and the change together; reads are plain commands. All keys start
 * with the configured prefix (BECKON_REDIS_PREFIX); keys.ts names them and
 * docs/redis-keys.md explains them.
 *
 * One module per part of the interface (core/store.ts), composed here:
 * presence.ts, attempts.ts, caps.ts, event-log.ts, webhook-outbox.ts,
 * reports.ts, channels.ts; context.ts is what they share.
 *
 * Times come from the caller (the interface passes `now`/`at`), not from
 * Redis TIME: the core decides them, and the contract fixes them. Event ids
 * are UUIDs made here and passed in ARGV, one per event.
 */
import type { BeckonStore } from '../../core/store.js';
import { StoreConnection, durabilityWarnings, type ClientTarget, type ConnectionHealth } from './connection.js';
import { SentinelPrimary } from './sentinel.js';
import { ClusterPrimary } from './cluster.js';
import type { ClusterEndpoint, PrimaryLocator, RedisCredentials, SentinelEndpoint } from './endpoint.js';
import { SCRIPTS } from './scripts.js';
import { EventListeners } from '../listeners.js';
import { redisKeys } from './keys.js';
import { storeContext } from './context.js';
import { presenceStore } from './presence.js';
import { attemptStore } from './attempts.js';
import { capStore } from './caps.js';
import { eventLog } from './event-log.js';
import { webhookOutbox } from './webhook-outbox.js';
import { reportStore } from './reports.js';
import { channelStore } from './channels.js';
import { visitorStore } from './visitor.js';
import { migrateAttemptIndex } from './attempt-index.js';

export interface RedisStoreOptions {
  /**
   * Where Redis is: a URL (one Redis), the primary Sentinel names, or the
   * primary of the prefix's slot in a Redis Cluster (both followed when they
   * move). In a cluster the prefix must be one hash tag (redisKeyPrefix).
   */
  url?: string;
  sentinel?: SentinelEndpoint;
  cluster?: ClusterEndpoint;
  /** Replicas that confirm each write made for a caller (BECKON_REDIS_MIN_REPLICAS); none by default. */
  minReplicas?: number;
  /** How long such a write waits for them (BECKON_REDIS_REPLICA_TIMEOUT_MS). */
  replicaTimeoutMs?: number;
  /** Starts every key name (BECKON_REDIS_PREFIX). */
  prefix: string;
  /** How long opening waits for Redis before failing with StoreUnavailableError. */
  openTimeoutMs?: number;
  /** Connection errors (each reconnect attempt reports one); none by default. */
  onConnectionError?: (error: unknown) => void;
  /** The connection is ready again after it was lost (not called for the first connection). */
  onConnectionRestored?: () => void;
  /** How long report hours are kept after they end (BECKON_REPORT_RETENTION_DAYS); 400 days by default. */
  reportRetentionMs?: number;
}

export interface RedisStore extends BeckonStore {
  readonly kind: 'redis';
  /** The connection's state, for /readyz and logs. */
  health(): ConnectionHealth;
  /** What about this Redis could lose data (durabilityWarnings in connection.ts), to log at start. */
  durabilityWarnings(): Promise<string[]>;
}

const DEFAULT_REPORT_RETENTION_MS = 400 * 86_400_000;

/** Opens the Redis store; fails with StoreUnavailableError if Redis does not answer within `openTimeoutMs`. */
export async function openRedisStore(options: RedisStoreOptions): Promise<RedisStore> {
  const keys = redisKeys(options.prefix);
  const hooks = options.onConnectionError ? { onError: options.onConnectionError } : {};
  const locator: PrimaryLocator | null = options.sentinel
    ? await SentinelPrimary.open(options.sentinel, hooks)
    : options.cluster
      ? await ClusterPrimary.open(options.cluster, keys.seq, hooks)
      : null;
  const credentials = (options.sentinel ?? options.cluster)?.credentials;
  let conn: StoreConnection<typeof SCRIPTS>;
  try {
    conn = await StoreConnection.open(SCRIPTS, {
      target: locator && credentials ? primaryTarget(locator, credentials) : { address: () => ({ url: options.url! }) },
      ...((options.minReplicas ?? 0) > 0
        ? {
            replication: {
              minReplicas: options.minReplicas!,
              timeoutMs: options.replicaTimeoutMs ?? 200,
              markKey: keys.replicationMark,
            },
          }
        : {}),
      ...(options.openTimeoutMs !== undefined ? { openTimeoutMs: options.openTimeoutMs } : {}),
      ...(options.onConnectionError ? { onError: options.onConnectionError } : {}),
      ...(options.onConnectionRestored ? { onRestored: options.onConnectionRestored } : {}),
    });
  } catch (error) {
    await locator?.close();
    throw error;
  }
  locator?.onMove(() => conn.primaryMoved());
  const context = storeContext({
    keys,
    conn,
    listeners: new EventListeners(),
    reportRetentionMs: options.reportRetentionMs ?? DEFAULT_REPORT_RETENTION_MS,
  });
  // A store an older version wrote: its attempt indexes move into attempts:ix before this one serves.
  try {
    await migrateAttemptIndex(
      keys,
      (read) => conn.run(read),
      (migrationKeys, args, more) => context.exec('migrateAttemptIndex', migrationKeys, args, more),
    );
  } catch (error) {
    await conn.close();
    await locator?.close();
    throw error;
  }
  return {
    kind: 'redis',
    ...presenceStore(context),
    ...attemptStore(context),
    ...capStore(context),
    ...eventLog(context),
    ...webhookOutbox(context),
    ...reportStore(context),
    ...channelStore(context),
    ...visitorStore(context),
    ping: () => conn.ping(),
    health: () => conn.health(),
    durabilityWarnings: () => conn.run((c) => durabilityWarnings(c)),
    close: async () => {
      await conn.close();
      await locator?.close();
    },
  };
}

/** Clients to the primary the locator names now, each checked with ROLE (connection.ts). */
function primaryTarget(locator: PrimaryLocator, credentials: RedisCredentials): ClientTarget {
  return {
    address: () => ({ ...locator.current, ...credentials }),
    primaryOnly: {
      relocate: () => locator.refresh(),
      ...(locator.unreachable ? { unreachable: (reachable: () => boolean) => locator.unreachable!(reachable) } : {}),
    },
  };
}
