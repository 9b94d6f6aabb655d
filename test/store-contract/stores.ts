/**
 * The two stores the contract holds to the same behaviour, and a fresh,
 * empty one of each for every test: SQLite on a new file in the temp folder,
 * Redis on a real redis-server (started for the test file and stopped by its
 * PID, as test/redis-server.ts does) under a new random key prefix. Both are
 * opened through `openStore`, as Beckon opens them, and each comes with the
 * configuration another process opens the same store with (the races in
 * processes.test.ts). `dumpStorage` reads everything a store holds, raw,
 * past its interface (the erasure scan in visitor.test.ts).
 *
 * Every contract file runs its tests once per store, in one
 * `describeEachStore`; the `node` Vitest project runs them (the `node-redis`
 * project leaves them out, having nothing to add). The contract in words:
 * docs/store-contract.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe } from 'vitest';
import type { BeckonStore } from '../../src/core/store.js';
import { openStore, type StoreConfig } from '../../src/store/open.js';
import { startRedisServer, type RedisServer } from '../redis-server.js';
import { startSentinelTopology, type SentinelTopology } from '../../scripts/cluster/sentinel.js';
import { startRedisCluster, type RedisCluster } from '../../scripts/cluster/redis-cluster.js';
import { redisKeyPrefix } from '../../src/store/redis/endpoint.js';
import { ClusterPrimary } from '../../src/store/redis/cluster.js';

/**
 * `redis-sentinel`: Redis found through three sentinels, with one replica
 * confirming every write made for a caller (BECKON_REDIS_MIN_REPLICAS=1), so
 * that the contract holds through the client that follows the primary and
 * through WAIT. `redis-cluster`: a six-node Redis Cluster, every key under
 * one hash tag.
 */
export const STORE_KINDS = ['sqlite', 'redis', 'redis-sentinel', 'redis-cluster'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

export interface ContractStore {
  store: BeckonStore;
  /** How another process opens this same store (through `openStore`). */
  config: StoreConfig;
}

/** What a contract test gets: fresh stores of one kind, closed and removed after the test. */
export interface StoresUnderTest {
  kind: StoreKind;
  /** A fresh, empty store. */
  fresh(): Promise<BeckonStore>;
  /** A fresh, empty store, and how another process opens it. */
  freshWithConfig(): Promise<ContractStore>;
}

interface StoreFactory {
  /** A fresh, empty store. */
  open(): Promise<ContractStore>;
  /** Removes what `open` made (files, keys) after the store was closed. */
  dispose(opened: ContractStore): Promise<void>;
}

const sqlite: StoreFactory = {
  async open() {
    const config = {
      db: join(mkdtempSync(join(tmpdir(), 'beckon-store-')), 'beckon.db'),
      redisUrl: null,
      redisPrefix: 'beckon:',
    };
    return { store: await openStore(config), config };
  },
  async dispose({ config }) {
    rmSync(dirname(config.db), { recursive: true, force: true });
  },
};

/** Redis as `where()` names it: a fresh key prefix per store, its keys deleted afterwards. */
function redis(
  where: () => Pick<StoreConfig, 'redisUrl' | 'redisSentinel' | 'redisCluster' | 'redisMinReplicas'>,
): StoreFactory {
  return {
    async open() {
      const config: StoreConfig = {
        db: '/nonexistent',
        ...where(),
        redisPrefix: `t${randomBytes(6).toString('hex')}:`,
      };
      return { store: await openStore(config), config };
    },
    async dispose({ config }) {
      const client = createClient({ url: await redisUrlOf(config) });
      client.on('error', () => {}); // a failure shows as the rejected command
      await client.connect();
      try {
        for await (const keys of client.scanIterator({ MATCH: `${redisKeyPrefix(config)}*`, COUNT: 500 })) {
          if (keys.length > 0) await client.unlink(keys);
        }
      } finally {
        client.destroy();
      }
    },
  };
}

/**
 * Defines the contract tests of `body` once per store, each store in a
 * `store contract: <kind>` block of its own.
 */
export function describeEachStore(body: (stores: StoresUnderTest) => void): void {
  for (const kind of STORE_KINDS) {
    describe(`store contract: ${kind}`, () => {
      let factory = sqlite;
      if (kind === 'redis') {
        let server: RedisServer | undefined;
        beforeAll(async () => {
          server = await startRedisServer();
        });
        afterAll(async () => {
          await server?.dispose();
        });
        factory = redis(() => ({ redisUrl: server!.url }));
      }
      if (kind === 'redis-sentinel') {
        let topology: SentinelTopology | undefined;
        beforeAll(async () => {
          topology = await startSentinelTopology();
        }, 60_000);
        afterAll(async () => {
          await topology?.dispose();
        });
        factory = redis(() => ({
          redisUrl: null,
          redisSentinel: {
            sentinels: topology!.sentinels.map(({ host, port }) => ({ host, port })),
            name: topology!.name,
            credentials: { username: null, password: null, tls: false },
            sentinelPassword: null,
          },
          redisMinReplicas: 1,
        }));
      }
      if (kind === 'redis-cluster') {
        let cluster: RedisCluster | undefined;
        beforeAll(async () => {
          cluster = await startRedisCluster();
        }, 90_000);
        afterAll(async () => {
          await cluster?.dispose();
        });
        factory = redis(() => ({
          redisUrl: null,
          redisCluster: {
            nodes: cluster!.nodes.map(({ host, port }) => ({ host, port })),
            credentials: { username: null, password: null, tls: false },
          },
        }));
      }

      const opened: ContractStore[] = [];
      afterEach(async () => {
        for (const item of opened.splice(0)) {
          await item.store.close();
          await factory.dispose(item);
        }
      });
      const freshWithConfig = async (): Promise<ContractStore> => {
        const item = await factory.open();
        opened.push(item);
        return item;
      };
      body({ kind, fresh: async () => (await freshWithConfig()).store, freshWithConfig });
    });
  }
}

/**
 * Everything a store holds, raw, one string per record, past the store's own
 * interface: for SQLite every row of every table in the file (each column as
 * text, through a connection of its own), for Redis every key under the
 * store's prefix with its value read by type. A test that looks for an id in
 * it finds it wherever the store put it.
 */
export async function dumpStorage(kind: StoreKind, config: StoreConfig): Promise<string[]> {
  return kind === 'sqlite' ? dumpSqlite(config.db) : dumpRedis(await redisUrlOf(config), redisKeyPrefix(config));
}

/** The URL of the Redis a store's configuration names: its URL, or the primary holding its keys now. */
async function redisUrlOf(config: StoreConfig): Promise<string> {
  if (config.redisUrl !== null) return config.redisUrl;
  if (config.redisCluster) {
    const located = await ClusterPrimary.open(config.redisCluster, `${redisKeyPrefix(config)}seq`);
    await located.close();
    return `redis://${located.current.host}:${located.current.port}`;
  }
  const sentinel = config.redisSentinel!;
  const client = createClient({ socket: sentinel.sentinels[0]! });
  client.on('error', () => {});
  await client.connect();
  try {
    const [host, port] = (await client.sendCommand(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', sentinel.name])) as string[];
    return `redis://${host}:${port}`;
  } finally {
    client.destroy();
  }
}

function dumpSqlite(file: string): string[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const tables = db
      .prepare<[], string>(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
      .pluck()
      .all();
    const lines: string[] = [];
    for (const table of tables) {
      const columns = (db.pragma(`table_info("${table}")`) as { name: string }[]).map((column) => column.name);
      const select = columns.map((column) => `CAST("${column}" AS TEXT)`).join(', ');
      for (const row of db.prepare(`SELECT ${select} FROM "${table}"`).raw().all())
        lines.push(`${table}: ${JSON.stringify(row)}`);
    }
    return lines;
  } finally {
    db.close();
  }
}

async function dumpRedis(url: string, prefix: string): Promise<string[]> {
  const client = createClient({ url });
  client.on('error', () => {}); // a failure shows as the rejected command
  await client.connect();
  try {
    const lines: string[] = [];
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      for (const key of keys) {
        const type = await client.type(key);
        let value: unknown;
        if (type === 'string') value = await client.get(key);
        else if (type === 'hash') value = await client.hGetAll(key);
        else if (type === 'list') value = await client.lRange(key, 0, -1);
        else if (type === 'set') value = await client.sMembers(key);
        else if (type === 'zset') value = await client.zRangeWithScores(key, 0, -1);
        else if (type === 'stream') value = await client.xRange(key, '-', '+');
        else if (type === 'none')
          continue; // expired between the scan and the read
        else throw new Error(`${key} is a ${type}: the dump cannot read it`);
        lines.push(`${key} (${type}): ${JSON.stringify(value)}`);
      }
    }
    return lines;
  } finally {
    client.destroy();
  }
}
