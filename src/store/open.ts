/**
 * Opens the store the configuration asks for: SQLite by default (one file,
 * one process or several on one machine), Redis when REDIS_URL is set.
 * With REDIS_URL set, no SQLite file is opened or created.
 */
import type { BeckonStore } from '../core/store.js';
import { openSqliteStore } from './sqlite/store.js';
import { openRedisStore } from './redis/store.js';

export interface StoreConfig {
  /** SQLite file, or `:memory:`. */
  db: string;
  redisUrl: string | null;
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
  if (config.redisUrl !== null) {
    return openRedisStore({
      url: config.redisUrl,
      prefix: config.redisPrefix,
      ...(config.reportRetentionMs !== undefined ? { reportRetentionMs: config.reportRetentionMs } : {}),
      ...(hooks.onConnectionError ? { onConnectionError: hooks.onConnectionError } : {}),
      ...(hooks.onConnectionRestored ? { onConnectionRestored: hooks.onConnectionRestored } : {}),
    });
  }
  return openSqliteStore(config.db);
}
