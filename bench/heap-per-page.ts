/**
 * What a frontend holds per connected page, object by object: heap snapshots
 * of a frontend (after a full GC) before and after BENCH_PAGES idle pages
 * connect, compared by kind (constructor, closure, native, string…), with
 * who holds the largest kinds (the chain of retainers on a shortest path
 * from the roots). Beside them the process's RSS, heap, external and array
 * buffer memory per page, so that what is outside the V8 heap shows too.
 * RSS is read before the first snapshot and after the pages, so the first
 * snapshot's own memory is in its delta: for RSS per page, read
 * bench/capacity.ts and bench/cluster-capacity.ts, or run this with
 * BENCH_HEAP_SNAPSHOTS=0 (memory readings only).
 *
 * Topologies (BENCH_HEAP_TOPOLOGY): `sqlite`, one process; `cluster`, Redis,
 * one backend and one frontend that holds every page (the socket.io Redis
 * Streams adapter as in production); `both` (the default).
 *
 *   node --import tsx bench/heap-per-page.ts     BENCH_PAGES=10000 BENCH_HEAP_TOPOLOGY=both BENCH_HEAP_TOP=25
 *   BENCH_SERVER_DIST=<copy of another build's dist/server> node --import tsx bench/heap-per-page.ts   # another build
 *   BENCH_KEEP_SNAPSHOTS=1 …   # keep the .heapsnapshot files in bench/results/ (open them in DevTools)
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { byKind, growth, holders, readHeapSnapshot, type KindTotal } from './lib/heap-snapshot.js';
import { PageFleet } from './lib/pages.js';
import { runAsScript, type BenchResult } from './lib/report.js';
import { RESULTS_DIR, type MemoryReading, type ServerHandle } from './lib/server.js';
import { envInt, fmt, markdownTable, now, sleep, type Row } from './lib/stats.js';
import { startTopology, type TopologyKind } from './lib/topology.js';

const numericKeys = ['rss', 'heapUsed', 'heapTotal', 'external', 'arrayBuffers'] as const;
type NumericKey = (typeof numericKeys)[number];

interface Profile {
  topology: TopologyKind;
  pages: number;
  memory: { before: MemoryReading; after: MemoryReading };
  perPage: Record<NumericKey, number>;
  /** Snapshot bytes per page (self sizes), and the kinds that grew most. */
  snapshotPerPage: number;
  kinds: KindTotal[];
  holders: { kind: string; chains: { chain: string; bytes: number; count: number }[] }[];
  /** The chains (an object's kind and its retainers) holding most bytes per page, whatever the kind. */
  chains: { chain: string; bytes: number; count: number }[];
}

async function profile(
  topology: 'sqlite' | 'cluster',
  pages: number,
  top: number,
  snapshots: boolean,
): Promise<Profile> {
  const label = `heap-${topology}-${process.pid}`;
  const cluster = await startTopology(topology, { prefix: 'bench-heap:', frontends: 1, exposeGc: true });
  const frontend: ServerHandle = cluster.frontends[0]!;
  const fleet = new PageFleet(cluster.pageUrls);
  const dir = join(RESULTS_DIR, 'snapshots');
  mkdirSync(dir, { recursive: true });
  const files = [join(dir, `${label}-before.heapsnapshot`), join(dir, `${label}-after.heapsnapshot`)];
  try {
    // Warm up first, so lazy start-up work (JIT, pools, prepared statements) is not counted per page.
    await fleet.add(100, { mode: 'idle' });
    await sleep(1000);
    const before = await frontend.memory();
    if (snapshots) await frontend.snapshot(files[0]!);
    process.stderr.write(`heap-per-page (${topology}): connecting ${pages} pages…\n`);
    await fleet.add(pages, { mode: 'idle' });
    await sleep(envInt('BENCH_SETTLE_SECONDS', 2) * 1000);
    const added = fleet.connected - 100;
    const after = await frontend.memory();
    const perPage = Object.fromEntries(numericKeys.map((key) => [key, (after[key] - before[key]) / added])) as Record<
      NumericKey,
      number
    >;
    const spaces = Object.entries(after.spaces ?? {})
      .map(([name, a]) => {
        const b = before.spaces?.[name] ?? { size: 0, used: 0 };
        return `${name} ${fmt((a.size - b.size) / added, 0)}/${fmt((a.used - b.used) / added, 0)}`;
      })
      .join(', ');
    process.stderr.write(`heap-per-page (${topology}): per page, committed/used bytes by space: ${spaces}\n`);
    if (!snapshots) {
      return {
        topology,
        pages: added,
        memory: { before, after },
        perPage,
        snapshotPerPage: NaN,
        kinds: [],
        holders: [],
        chains: [],
      };
    }
    await frontend.snapshot(files[1]!);
    process.stderr.write(`heap-per-page (${topology}): reading the snapshots…\n`);
    const first = readHeapSnapshot(files[0]!);
    const beforeKinds = byKind(first);
    const firstTotal = first.totalSize;
    const second = readHeapSnapshot(files[1]!);
    const kinds = growth(beforeKinds, byKind(second), added);
    // Chains with about one object per page or more: what each page holds, not what the process holds once.
    const chains = holders(second, null, 3)
      .map((c) => ({ ...c, bytes: c.bytes / added, count: c.count / added }))
      .filter((c) => c.count >= 0.9)
      .slice(0, top * 2);
    return {
      topology,
      pages: added,
      memory: { before, after },
      perPage,
      snapshotPerPage: (second.totalSize - firstTotal) / added,
      kinds: kinds.slice(0, top),
      holders: kinds.slice(0, Math.min(top, 12)).map((k) => ({
        kind: k.kind,
        chains: holders(second, k.kind, 3)
          .slice(0, 3)
          .map((c) => ({ ...c, bytes: c.bytes / added, count: c.count / added })),
      })),
      chains,
    };
  } finally {
    await fleet.close();
    await cluster.stop();
    if (!process.env.BENCH_KEEP_SNAPSHOTS) for (const file of files) rmSync(file, { force: true });
  }
}

function report(p: Profile): string {
  const kb = (bytes: number) => `${fmt(bytes / 1024, 2)} KB`;
  const kindTable = markdownTable(
    ['kind', 'bytes per page', 'objects per page'],
    p.kinds.map((k) => [k.kind, fmt(k.bytes, 0), fmt(k.count, 2)]),
  );
  const holderTable = markdownTable(
    ['kind', 'held by (nearest first)', 'bytes per page'],
    p.holders.flatMap((h) => h.chains.map((c) => [h.kind, c.chain, fmt(c.bytes, 0)])),
  );
  if (p.kinds.length === 0) {
    return `\n### ${p.topology}: ${p.pages.toLocaleString('en-US')} pages: RSS ${kb(p.perPage.rss)}, heap used ${kb(p.perPage.heapUsed)}, heap total ${kb(p.perPage.heapTotal)}, external ${kb(p.perPage.external)} per page\n`;
  }
  const chainTable = markdownTable(
    ['object ← held by (nearest first)', 'bytes per page', 'objects per page'],
    p.chains.map((c) => [c.chain, fmt(c.bytes, 0), fmt(c.count, 2)]),
  );
  return [
    `\n### ${p.topology}: ${p.pages.toLocaleString('en-US')} pages on one frontend\n`,
    `per page: RSS ${kb(p.perPage.rss)}, heap used ${kb(p.perPage.heapUsed)}, heap total ${kb(p.perPage.heapTotal)}, ` +
      `external ${kb(p.perPage.external)} (array buffers ${kb(p.perPage.arrayBuffers)}), snapshot ${kb(p.snapshotPerPage)}\n`,
    kindTable,
    '',
    holderTable,
    '',
    chainTable,
    '',
  ].join('\n');
}

export async function runHeapPerPage(): Promise<BenchResult> {
  const started = now();
  const pages = envInt('BENCH_PAGES', 10_000);
  const top = envInt('BENCH_HEAP_TOP', 25);
  const which = process.env.BENCH_HEAP_TOPOLOGY ?? 'both';
  const snapshots = process.env.BENCH_HEAP_SNAPSHOTS !== '0';
  const topologies = (which === 'both' ? ['sqlite', 'cluster'] : [which]) as ('sqlite' | 'cluster')[];
  const profiles: Profile[] = [];
  for (const topology of topologies) {
    const p = await profile(topology, pages, top, snapshots);
    process.stdout.write(report(p));
    profiles.push(p);
  }
  const rows: Row[] = profiles.map((p) => ({
    measure: `memory per page, ${p.topology === 'sqlite' ? 'one process' : 'cluster frontend'} (${p.pages.toLocaleString('en-US')} pages)`,
    value: `${fmt(p.perPage.rss / 1024)} KB RSS`,
    note: `heap used ${fmt(p.perPage.heapUsed / 1024)} KB, heap total ${fmt(p.perPage.heapTotal / 1024)} KB, external ${fmt(p.perPage.external / 1024)} KB; largest: ${p.kinds
      .slice(0, 3)
      .map((k) => `${k.kind} ${fmt(k.bytes, 0)} B`)
      .join(', ')}`,
  }));
  return {
    name: `Heap per page${process.env.BENCH_SERVER_DIST ? ` (${process.env.BENCH_SERVER_DIST})` : ''}`,
    rows,
    data: { pages, profiles },
    seconds: (now() - started) / 1000,
  };
}

await runAsScript(import.meta.url, 'heap-per-page', 900, runHeapPerPage);
