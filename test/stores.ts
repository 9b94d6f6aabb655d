/**
 * Which store the server tests run on. The `node` Vitest project runs them on
 * SQLite (a fresh file per server), the `node-redis` project on Redis (one
 * real redis-server for the run, started by `redis.setup.ts`, and a fresh key
 * prefix per server), so that every behaviour is proven on both stores.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { inject } from 'vitest';
import type { StoreConfig } from '../src/store/open.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** redis://127.0.0.1:<port> of the run's redis-server (node-redis project only). */
    redisUrl: string;
  }
}

export const TEST_STORE: 'sqlite' | 'redis' = process.env.BECKON_TEST_STORE === 'redis' ? 'redis' : 'sqlite';

/** A fresh, empty store: a new SQLite file in `dir`, or a new key prefix on the run's Redis. */
export function freshStore(dir: string): StoreConfig {
  if (TEST_STORE === 'sqlite') return { db: join(dir, 'beckon.db'), redisUrl: null, redisPrefix: 'beckon:' };
  return {
    db: join(dir, 'beckon.db'),
    redisUrl: inject('redisUrl'),
    redisPrefix: `t${randomBytes(6).toString('hex')}:`,
  };
}

/** The environment that makes a Beckon process open `store`. */
export function storeEnv(store: StoreConfig): Record<string, string> {
  return store.redisUrl === null
    ? { BECKON_DB: store.db }
    : { BECKON_DB: store.db, REDIS_URL: store.redisUrl, BECKON_REDIS_PREFIX: store.redisPrefix };
}
