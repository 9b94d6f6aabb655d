/**
 * What page views leave behind in the store, and what the retention of pages
 * and visits (store.pruneVisits) and of settled attempts
 * (store.pruneAttempts) takes back. Store calls as the core makes them, no
 * HTTP, no sockets: BENCH_VISITS visits of BENCH_PAGES_PER_VISIT page views
 * each (a page opened through a node, its visibility changed once, closed),
 * then the visit ended; on its first page, one invitation shown and accepted.
 * Measured:
 * - Redis `used_memory` (INFO memory) before the visits, after them (all
 *   pages closed, all visits ended: what Redis kept forever before the
 *   retentions), after pruneVisits (the events and attempts stay until their
 *   own retention), after pruneEvents too, and after pruneAttempts; bytes per
 *   page view at each point;
 * - SQLite rows in visits, pages, events and engagements at the same points;
 * - how long the prune took (records per second, one batch of 1000 at a time,
 *   as the retention loop runs it).
 *
 *   npm run bench:retention   BENCH_VISITS=3000 BENCH_PAGES_PER_VISIT=3
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createClient } from 'redis';
import { startRedisServer } from '../test/redis-server.js';
import { openStore } from '../src/store/open.js';
import { browse } from './lib/browse.js';
import { runAsScript, type BenchResult } from './lib/report.js';
import { envInt, fmt, now, type Row } from './lib/stats.js';

const PREFIX = 'bench-ret:';
const BATCH = 1000;
const IN_FLIGHT = 32;

const NODE = { nodeId: '127.0.0.1:3000', bootId: 'boot-0123456789abcdef' };

async function pruneAll(prune: () => Promise<number>): Promise<{ records: number; ms: number }> {
  const started = now();
  let records = 0;
  for (;;) {
    const dropped = await prune();
    records += dropped;
    if (dropped < BATCH) break;
  }
  return { records, ms: now() - started };
}

async function runRetention(): Promise<BenchResult> {
  const started = now();
  const visits = envInt('BENCH_VISITS', 3000);
  const pagesPerVisit = envInt('BENCH_PAGES_PER_VISIT', 3);
  const pageViews = visits * pagesPerVisit;
  const rows: Row[] = [];
  const data: Record<string, unknown> = { visits, pagesPerVisit };
  const at = Date.now() - 10 * 86_400_000; // ten days ago: past a 7-day retention
  const cut = Date.now() - 7 * 86_400_000;

  const redis = await startRedisServer({ persistence: false });
  const dir = mkdtempSync(join(tmpdir(), 'beckon-bench-retention-'));
  try {
    for (const kind of ['Redis', 'SQLite'] as const) {
      const config = { db: join(dir, 'beckon.db'), redisUrl: kind === 'Redis' ? redis.url : null, redisPrefix: PREFIX };
      const store = await openStore(config);
      const admin = kind === 'Redis' ? createClient({ url: redis.url }) : null;
      await admin?.connect();
      const sqlite = kind === 'SQLite' ? new Database(config.db, { readonly: true }) : null;
      /** Redis: used_memory in bytes; SQLite: rows of visits + pages + events. */
      const reading = async (): Promise<number> => {
        if (admin) {
          await admin.sendCommand(['MEMORY', 'PURGE']);
          return Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
        }
        const count = (table: string) =>
          (sqlite!.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
        return count('visits') + count('pages') + count('events') + count('engagements');
      };
      try {
        await store.heartbeat(
          { nodeId: '127.0.0.1:3000', bootId: 'boot-0123456789abcdef' },
          Date.now() + 3_600_000,
          Date.now(),
        );
        // A warm-up visit, pruned, so that every script is loaded (Redis keeps their source) before the baseline.
        await browse(store, -1, pagesPerVisit, at, { node: NODE });
        await pruneAll(() => store.pruneVisits(cut, BATCH));
        await pruneAll(() => store.pruneEvents(cut, BATCH));
        await pruneAll(() => store.pruneAttempts(cut, BATCH));
        const empty = await reading();
        let next = 0;
        await Promise.all(
          Array.from({ length: IN_FLIGHT }, async () => {
            while (next < visits) await browse(store, next++, pagesPerVisit, at, { node: NODE });
          }),
        );
        const viewed = await reading();
        const presence = await pruneAll(() => store.pruneVisits(cut, BATCH));
        const withEvents = await reading();
        const events = await pruneAll(() => store.pruneEvents(cut, BATCH));
        const pruned = await reading();
        // Redis: what the indexes of the kept attempts weigh (export order, settle time), per attempt.
        const indexes = admin
          ? {
              created: Number(await admin.memoryUsage(`${PREFIX}created`)) / visits,
              settled: Number(await admin.memoryUsage(`${PREFIX}settled`)) / visits,
            }
          : null;
        const attempts = await pruneAll(() => store.pruneAttempts(cut, BATCH));
        const settled = await reading();
        // What is left under the prefix (Redis): each key's MEMORY USAGE, the biggest first.
        const left: Record<string, number> = {};
        if (admin) {
          for await (const keys of admin.scanIterator({ MATCH: `${PREFIX}*`, COUNT: 1000 })) {
            for (const key of keys) left[key.slice(PREFIX.length)] = Number(await admin.memoryUsage(key));
          }
        }
        data[kind] = { empty, viewed, withEvents, pruned, settled, presence, events, attempts, indexes, left };
        const unit = kind === 'Redis' ? 'bytes' : 'rows';
        const per = (value: number) =>
          `${fmt((value - empty) / pageViews, kind === 'Redis' ? 0 : 2)} ${unit} per page view`;
        rows.push(
          {
            measure: `${kind}: after ${pageViews} page views (${visits} visits), all closed and ended`,
            value: per(viewed),
            note: 'what was kept forever before pruneVisits',
          },
          {
            measure: `${kind}: after pruneVisits (events and attempts kept)`,
            value: per(withEvents),
            note: `${presence.records} records in ${fmt(presence.ms, 0)} ms (${fmt(presence.records / (presence.ms / 1000), 0)}/s, batches of ${BATCH})`,
          },
          {
            measure: `${kind}: after pruneEvents too (attempts kept)`,
            value: per(pruned),
            note: `${events.records} events in ${fmt(events.ms, 0)} ms${indexes ? `; per attempt: created index ${fmt(indexes.created, 0)} B, settled index ${fmt(indexes.settled, 0)} B` : ''}`,
          },
          {
            measure: `${kind}: after pruneAttempts too`,
            value: per(settled),
            note: `${attempts.records} attempts in ${fmt(attempts.ms, 0)} ms (${fmt(attempts.records / (attempts.ms / 1000), 0)}/s)${
              admin
                ? `; keys left: ${Object.entries(left)
                    .sort((a, b) => b[1] - a[1])
                    .map(([key, bytes]) => `${key} ${bytes} B`)
                    .join(', ')}`
                : ''
            }`,
          },
        );
      } finally {
        sqlite?.close();
        await admin?.quit();
        await store.close();
      }
    }
  } finally {
    await redis.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  return { name: 'Retention of pages, visits and attempts', rows, data, seconds: (now() - started) / 1000 };
}

await runAsScript(import.meta.url, 'retention', 600, runRetention);
