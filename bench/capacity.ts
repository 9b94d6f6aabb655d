/**
 * Capacity of one Beckon process.
 *
 * 1. Memory per connected page: the server's RSS (/proc/<pid>/status) and
 *    V8 heap (after a full GC, the server runs with --expose-gc) before and
 *    after 10,000 more pages connect; the delta divided by the pages.
 * 2. The largest number of pages one process holds while engage p99 stays
 *    under 50 ms: pages are added in steps, and at each step a probe page
 *    measures engage → `delivered` acknowledgement (the page got the
 *    invitation, said it is shown, and the server confirmed) over a series
 *    of sequential engage calls.
 *
 *   npm run bench:capacity       BENCH_PAGES=10000 BENCH_CAPACITY_STEPS=10000,15000,19500 BENCH_PROBES=300
 */
import { PageFleet } from './lib/pages.js';
import { ProbePage, type ProbeResult } from './lib/probe.js';
import { runAsScript, type BenchResult } from './lib/report.js';
import { startBeckon, type MemoryReading } from './lib/server.js';
import { envInt, envInts, fmt, now, sleep, type Row } from './lib/stats.js';

const P99_LIMIT_MS = 50;

interface Step {
  pages: number;
  connected: number;
  failed: number;
  probe: ProbeResult;
  rssMiB: number;
}

export async function runCapacity(): Promise<BenchResult> {
  const started = now();
  const pages = envInt('BENCH_PAGES', 10_000);
  const probes = envInt('BENCH_PROBES', 300);
  const steps = envInts('BENCH_CAPACITY_STEPS', [pages, 15_000, 19_500])
    .filter((n) => n >= pages)
    .sort((a, b) => a - b);
  const warmPages = 100;
  const server = await startBeckon({ exposeGc: true });
  const fleet = new PageFleet(server.url);
  let probe: ProbePage | null = null;
  let before: MemoryReading;
  let after: MemoryReading;
  const results: Step[] = [];
  let stopReason = `the last step (${steps[steps.length - 1]?.toLocaleString('en-US')} pages) was reached`;
  try {
    // Warm up first, so lazy start-up work (JIT, prepared statements, pools) is not counted per page.
    probe = await ProbePage.open(server.url);
    await fleet.add(warmPages, { mode: 'idle' });
    await probe.run(50, 'warm');
    await sleep(1000);
    before = await server.memory();
    const connectStart = now();
    await fleet.add(pages, { mode: 'idle' });
    const connectSeconds = (now() - connectStart) / 1000;
    await sleep(2000);
    after = await server.memory();
    const added = fleet.connected - warmPages;

    for (const step of steps) {
      const target = step + warmPages;
      if (fleet.connected < target) await fleet.add(target - fleet.connected - fleet.failed, { mode: 'idle' });
      const result = await probe.run(probes, `cap-${step}`);
      results.push({
        pages: step,
        connected: fleet.connected - warmPages,
        failed: fleet.failed,
        probe: result,
        rssMiB: server.rss() / 2 ** 20,
      });
      process.stderr.write(
        `capacity: ${fleet.connected} pages, engage → delivered p99 ${fmt(result.delivered.p99)} ms, ${fleet.failed} failed to connect\n`,
      );
      if (fleet.failed > 0) {
        stopReason = `pages failed to connect at ${step.toLocaleString('en-US')} (${fleet.failureSamples[0] ?? 'unknown'})`;
        break;
      }
      if (result.delivered.p99 > P99_LIMIT_MS || result.failures > 0) {
        stopReason = `p99 went over ${P99_LIMIT_MS} ms at ${step.toLocaleString('en-US')}`;
        break;
      }
    }
    const perPage = {
      rss: (after.rss - before.rss) / added,
      heap: (after.heapUsed - before.heapUsed) / added,
      external: (after.external - before.external) / added,
    };
    const held = results.filter(
      (s) => s.failed === 0 && s.probe.failures === 0 && s.probe.delivered.p99 <= P99_LIMIT_MS,
    );
    const maxPages = held.length ? Math.max(...held.map((s) => s.connected)) : 0;
    const rows: Row[] = [
      {
        measure: `memory per connected page (RSS, over ${added.toLocaleString('en-US')} pages)`,
        value: `${fmt(perPage.rss / 1024)} KB`,
        target: '≤ 25 KB',
        met: perPage.rss <= 25 * 1024,
        note: `RSS ${fmt(before.rss / 2 ** 20)} → ${fmt(after.rss / 2 ** 20)} MiB; connected in ${fmt(connectSeconds)} s`,
      },
      {
        measure: 'memory per connected page (V8 heap after GC)',
        value: `${fmt(perPage.heap / 1024)} KB`,
        note: `heap ${fmt(before.heapUsed / 2 ** 20)} → ${fmt(after.heapUsed / 2 ** 20)} MiB; external ${fmt(perPage.external)} B/page`,
      },
      ...results.map((s) => ({
        measure: `engage → delivered ack, ${s.connected.toLocaleString('en-US')} pages connected`,
        value: `p50 ${fmt(s.probe.delivered.p50)} / p99 ${fmt(s.probe.delivered.p99)} ms`,
        note: `at page p99 ${fmt(s.probe.atPage.p99)} ms; n=${s.probe.delivered.n}; RSS ${fmt(s.rssMiB, 0)} MiB`,
      })),
      {
        measure: `most pages held with engage p99 ≤ ${P99_LIMIT_MS} ms`,
        value: maxPages.toLocaleString('en-US'),
        target: '≥ 10,000',
        met: maxPages >= 10_000,
        note: `stopped: ${stopReason}`,
      },
    ];
    return {
      name: 'Capacity',
      rows,
      data: { pages, probes, before, after, perPage, connectSeconds, steps: results, maxPages, stopReason },
      seconds: (now() - started) / 1000,
    };
  } finally {
    probe?.close();
    await server.stop();
    await fleet.close();
  }
}

await runAsScript(import.meta.url, 'capacity', 300, runCapacity);
