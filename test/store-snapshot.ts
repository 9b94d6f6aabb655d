/**
 * Everything a store holds, hashed: equal snapshots mean the store did not
 * change at all. SQLite: every row of every table. Redis: every key under the
 * store's prefix with its serialized value (DUMP), so hostile-input tests can
 * prove "changed nothing" byte for byte on both stores. One exception: the
 * registry of live boots is hashed by member only, since heartbeats move its
 * expiry scores on their own.
 */
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { createClient } from 'redis';
import type { StoreConfig } from '../src/store/open.js';

export interface StoreSnapshot {
  /** Rows per table (SQLite) or keys per type (Redis): a readable summary beside the hash. */
  counts: Record<string, number>;
  hash: string;
}

export async function storeSnapshot(store: StoreConfig): Promise<StoreSnapshot> {
  return store.redisUrl === null ? sqliteSnapshot(store.db) : redisSnapshot(store.redisUrl, store.redisPrefix);
}

function sqliteSnapshot(file: string): StoreSnapshot {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const tables = db
      .prepare<[], { name: string }>(
        `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`,
      )
      .all()
      .map((t) => t.name);
    const counts: Record<string, number> = {};
    const hash = createHash('sha256');
    for (const table of tables) {
      const all = db.prepare(`SELECT * FROM "${table}" ORDER BY rowid`).all();
      counts[table] = all.length;
      hash.update(table).update(JSON.stringify(all));
    }
    return { counts, hash: hash.digest('hex') };
  } finally {
    db.close();
  }
}

async function redisSnapshot(url: string, prefix: string): Promise<StoreSnapshot> {
  const client = createClient({ url, RESP: 2 });
  client.on('error', () => {});
  await client.connect();
  try {
    const keys: string[] = [];
    for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) keys.push(...batch);
    keys.sort();
    const counts: Record<string, number> = {};
    const hash = createHash('sha256');
    for (const key of keys) {
      const type = await client.type(key);
      counts[type] = (counts[type] ?? 0) + 1;
      if (key === `${prefix}nodes`) {
        // The registered boots, without their scores: a heartbeat extends them every 5 s whatever
        // the test does, so a slow test would see a change that is only the clock.
        hash.update(key).update(JSON.stringify(await client.zRange(key, 0, -1)));
        continue;
      }
      const dump = await client.withTypeMapping({ [56]: Buffer } as never).dump(key);
      hash.update(key).update(dump ?? '');
    }
    return { counts, hash: hash.digest('hex') };
  } finally {
    await client.close();
  }
}
