/**
 * What frequency caps cost the store: the store floor of
 * the throughput benchmark (create placed on its page, delivered, declined:
 * three writes per invitation, no HTTP, no sockets), with caps off and with
 * both caps on, in alternating rounds so that a busy machine's drift hits
 * both alike. Caps on: a daily cap the run never reaches (1000) and a quiet
 * time of 1 ms, so that every create runs the whole check (the browser's
 * budget in the window and its last decline) and every transition keeps the
 * budget, yet the benchmark's immediate declines refuse nothing.
 *
 *   npm run bench:caps      BENCH_SECONDS=6 BENCH_ROUNDS=3 BENCH_CONNECTIONS=16
 */
import { storeFloor, type StoreFloor } from './lib/store-floor.js';
import { runAsScript, type BenchResult } from './lib/report.js';
import { envInt, fmt, now, type Row } from './lib/stats.js';
import { startRedisServer } from '../test/redis-server.js';

const CAPS_ON = { perDay: 1000, afterDeclineMs: 1 };

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function runCaps(): Promise<BenchResult> {
  const started = now();
  const seconds = envInt('BENCH_SECONDS', 6);
  const rounds = envInt('BENCH_ROUNDS', 3);
  const inFlight = envInt('BENCH_CONNECTIONS', 16);
  const rows: Row[] = [];
  const data: Record<string, { off: StoreFloor[]; on: StoreFloor[] }> = {};
  const redis = await startRedisServer({ appendfsync: 'always' });
  try {
    for (const [kind, redisUrl] of [
      ['SQLite', null],
      ['Redis', redis.url],
    ] as const) {
      const runs = { off: [] as StoreFloor[], on: [] as StoreFloor[] };
      for (let round = 0; round < rounds; round++) {
        runs.off.push(await storeFloor(seconds, inFlight, { redisUrl }));
        runs.on.push(await storeFloor(seconds, inFlight, { redisUrl, caps: CAPS_ON }));
      }
      data[kind] = runs;
      for (const part of ['alone', 'shared'] as const) {
        const off = median(runs.off.map((r) => r[part].cyclesPerSecond));
        const on = median(runs.on.map((r) => r[part].cyclesPerSecond));
        rows.push({
          measure: `${kind} store, ${part === 'alone' ? 'one invitation at a time' : `${inFlight} invitations in flight`}: caps off / on`,
          value: `${fmt(off, 0)} / ${fmt(on, 0)} invitations/s (on = ${fmt(on / off, 2)}× off)`,
          note: `median of ${rounds} alternating rounds of ${seconds / 2} s each; every round: ${[
            ...runs.off,
            ...runs.on,
          ]
            .map((r) => fmt(r[part].cyclesPerSecond, 0))
            .join(', ')} (off rounds first)`,
        });
      }
    }
  } finally {
    await redis.dispose();
  }
  return { name: 'Frequency caps', rows, data, seconds: (now() - started) / 1000 };
}

await runAsScript(import.meta.url, 'caps', 600, runCaps);
