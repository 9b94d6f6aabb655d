/**
 * What `secure_delete` costs the SQLite store: the store runs with it on, so
 * that deleted rows (an erased browser's above all) are overwritten rather
 * than left in free space of the file (docs/decisions.md, "Visitor context").
 * The same page views and retention as bench/retention.ts (store calls as the
 * core makes them: each visit's pages opened, changed, closed, one invitation
 * shown and accepted, the visit ended; then pruneVisits, pruneEvents and
 * pruneAttempts in batches of 1000), timed with secure_delete on and off,
 * alternating, BENCH_ROUNDS times each; the median of each. For the "off"
 * runs the store's own `PRAGMA secure_delete = ON` is turned into OFF here,
 * so the store is otherwise the one Beckon runs.
 *
 *   node --import tsx bench/secure-delete.ts   BENCH_VISITS=2000 BENCH_PAGES_PER_VISIT=3 BENCH_ROUNDS=3
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../src/store/sqlite/store.js';
import { browse } from './lib/browse.js';
import { envInt, fmt, now } from './lib/stats.js';

const BATCH = 1000;
const IN_FLIGHT = 32;

let secureDelete = true;
const pragma = Database.prototype.pragma;
Database.prototype.pragma = function (this: Database.Database, source: string, options?: Database.PragmaOptions) {
  return pragma.call(this, !secureDelete && source === 'secure_delete = ON' ? 'secure_delete = OFF' : source, options);
} as typeof pragma;

async function pruneAll(prune: () => Promise<number>): Promise<void> {
  while ((await prune()) >= BATCH);
}

async function round(on: boolean, visits: number, pagesPerVisit: number) {
  secureDelete = on;
  const dir = mkdtempSync(join(tmpdir(), 'beckon-bench-secure-delete-'));
  const store = openSqliteStore(join(dir, 'beckon.db'));
  try {
    const at = Date.now() - 10 * 86_400_000;
    const cut = Date.now() - 7 * 86_400_000;
    let started = now();
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < visits) await browse(store, next++, pagesPerVisit, at, { businessEvents: true });
      }),
    );
    const writeMs = now() - started;
    started = now();
    await pruneAll(() => store.pruneVisits(cut, BATCH));
    await pruneAll(() => store.pruneEvents(cut, BATCH));
    await pruneAll(() => store.pruneAttempts(cut, BATCH));
    const pruneMs = now() - started;
    const wal = statSync(join(dir, 'beckon.db-wal')).size;
    return { writeMs, pruneMs, wal };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main() {
  const visits = envInt('BENCH_VISITS', 2000);
  const pagesPerVisit = envInt('BENCH_PAGES_PER_VISIT', 3);
  const rounds = envInt('BENCH_ROUNDS', 3);
  const results = { on: [] as Awaited<ReturnType<typeof round>>[], off: [] as Awaited<ReturnType<typeof round>>[] };
  for (let r = 0; r < rounds; r++) {
    for (const mode of r % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
      results[mode].push(await round(mode === 'on', visits, pagesPerVisit));
    }
  }
  const views = visits * pagesPerVisit;
  console.log(`${visits} visits of ${pagesPerVisit} page views, ${rounds} rounds each, medians:`);
  for (const mode of ['off', 'on'] as const) {
    const write = median(results[mode].map((r) => r.writeMs));
    const prune = median(results[mode].map((r) => r.pruneMs));
    const wal = median(results[mode].map((r) => r.wal));
    console.log(
      `secure_delete ${mode.padEnd(3)}  page views ${fmt(views / (write / 1000), 0)}/s (${fmt(write, 0)} ms)` +
        `  retention ${fmt(prune, 0)} ms  WAL ${fmt(wal / 2 ** 20, 1)} MiB`,
    );
  }
}

await main();
