/**
 * A Beckon process for benchmarks: the built server (`dist/server`), the same
 * composition `main.ts` runs, in a child the benchmark controls over IPC. It
 * can be run with `--expose-gc` (memory readings collect garbage first) and
 * `--cpu-prof` (it exits with `process.exit` on request, so the profile is
 * written); it writes a heap snapshot on request (bench/heap-per-page.ts).
 * BENCH_REDIS_URL puts it on a redis-server, and BENCH_ROLE and
 * BENCH_NODE_ID make it one node of a cluster (bench/lib/topology.ts); the
 * shell's REDIS_URL and BECKON_ROLE are ignored, so a benchmark measures
 * what it says it measures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

type AppModule = typeof import('../../src/app.js');
type ConfigModule = typeof import('../../src/config.js');

// BENCH_SERVER_DIST points at another build (e.g. a copy of the previous commit's) for before/after runs.
const dist = process.env.BENCH_SERVER_DIST
  ? pathToFileURL(`${resolve(process.env.BENCH_SERVER_DIST)}/`)
  : new URL('../../dist/server/', import.meta.url);
const { createBeckon } = (await import(new URL('app.js', dist).href)) as AppModule;
const { loadConfig } = (await import(new URL('config.js', dist).href)) as ConfigModule;

const dataDir = mkdtempSync(join(tmpdir(), 'beckon-bench-'));
const config = loadConfig({
  BECKON_SECRET: 'bench-secret-for-signing-visit-tokens',
  LOG_LEVEL: 'warn',
  ...process.env,
  BECKON_DB: join(dataDir, 'beckon.db'),
  // Loopback callers only, and the store and role the benchmark asked for (BENCH_*), whatever the shell exported:
  // the embedded SQLite store and both roles unless a benchmark starts this on its own redis-server.
  BECKON_API_TOKEN: '',
  REDIS_URL: process.env.BENCH_REDIS_URL ?? '',
  BECKON_ROLE: process.env.BENCH_ROLE ?? 'all',
  ...(process.env.BENCH_NODE_ID ? { BECKON_NODE_ID: process.env.BENCH_NODE_ID } : {}),
  // Every simulated visitor and caller comes from 127.0.0.1, where real ones come from many addresses:
  // the per-address limits would measure themselves, not Beckon.
  BECKON_RATE_LIMIT_PER_MINUTE: '10000000',
  BECKON_SOCKET_CONNECTIONS_PER_MINUTE: '10000000',
  HOST: '127.0.0.1',
  PORT: '0',
});
const beckon = await createBeckon(config);
const url = await beckon.listen(0, '127.0.0.1');

function exit(): never {
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(0);
}

const gc = (globalThis as { gc?: () => void }).gc;
process.on('message', (message: { cmd: string }) => {
  if (message.cmd === 'memory') {
    // Twice: the first pass can leave finalizable garbage for the second.
    gc?.();
    gc?.();
    const usage = process.memoryUsage();
    // Committed and used bytes of each V8 space: what of the heap's committed size is not live objects.
    const spaces = Object.fromEntries(
      getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }]),
    );
    process.send!({ type: 'memory', gc: gc !== undefined, ...usage, spaces });
  } else if (message.cmd === 'snapshot') {
    // For bench/heap-per-page.ts: the heap after a full GC, written where the benchmark asked.
    gc?.();
    gc?.();
    const path = writeHeapSnapshot((message as { cmd: string; path: string }).path);
    process.send!({ type: 'snapshot', path });
  } else if (message.cmd === 'exit') {
    exit();
  }
});
// The benchmark went away (or was killed): never outlive it.
process.on('disconnect', exit);
process.send!({ type: 'listening', url });
