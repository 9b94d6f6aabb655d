/**
 * Opens the store the configuration asks for: SQLite by default (one file,
 * one process or several on one machine), Redis when REDIS_URL,
 * REDIS_SENTINELS or REDIS_CLUSTER_NODES is set; then no SQLite file is
 * opened or created.
 */
import type { BeckonStore } from '../core/store.js';
import { openSqliteStore } from './sqlite/store.js';
import { openRedisStore } from './redis/store.js';
import { redisEndpointOf, redisKeyPrefix, type RedisPlacement } from './redis/endpoint.js';

export interface StoreConfig extends RedisPlacement {
  /** SQLite file, or `:memory:`. */
  db: string;
  /** Replicas that confirm each write made for a caller (BECKON_REDIS_MIN_REPLICAS). */
  redisMinReplicas?: number;
  redisReplicaTimeoutMs?: number;
  /** Starts every Redis key name (BECKON_REDIS_PREFIX). */
  redisPrefix: string;
  /** How long report hours are kept (BECKON_REPORT_RETENTION_DAYS); Redis expires them itself. */
  reportRetentionMs?: number;
}

export interface StoreHooks {
  /** Told each failure of the store's connection (Redis: every reconnect attempt while it is away). */
  onConnectionError?: (error: unknown) => void;
  /** Told when the store's connection is ready again after it was lost (Redis: reconnected, or replaced by its watchdog). */
  onConnectionRestored?: () => void;
}

export async function openStore(config: StoreConfig, hooks: StoreHooks = {}): Promise<BeckonStore> {
  const endpoint = redisEndpointOf(config);
  if (endpoint !== null) {
    return openRedisStore({
      ...(endpoint.kind === 'standalone'
        ? { url: endpoint.url }
        : endpoint.kind === 'sentinel'
          ? { sentinel: endpoint }
          : { cluster: endpoint }),
      ...(config.redisMinReplicas !== undefined ? { minReplicas: config.redisMinReplicas } : {}),
      ...(config.redisReplicaTimeoutMs !== undefined ? { replicaTimeoutMs: config.redisReplicaTimeoutMs } : {}),
      prefix: redisKeyPrefix(config),
      ...(config.reportRetentionMs !== undefined ? { reportRetentionMs: config.reportRetentionMs } : {}),
      ...(hooks.onConnectionError ? { onConnectionError: hooks.onConnectionError } : {}),
      ...(hooks.onConnectionRestored ? { onConnectionRestored: hooks.onConnectionRestored } : {}),
    });
  }
  return openSqliteStore(config.db);
}
