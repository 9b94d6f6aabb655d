/**
 * `npm run bench`: every benchmark, one after the other, then one summary
 * table (Markdown, as docs/benchmarks.md holds it) and bench/results/latest.json.
 * Bounded to 12 minutes; each part bounds its own counts (see its header).
 * The cluster capacity benchmark (bench/cluster-capacity.ts, about 4
 * minutes) runs on its own.
 */
import { runCapacity } from './capacity.js';
import { runLatency } from './latency.js';
import { describeMachine, machine, printResult, save, type BenchResult } from './lib/report.js';
import { boundRun } from './lib/procs.js';
import { ensureBuilt } from './lib/server.js';
import { now, table } from './lib/stats.js';
import { runThroughput } from './throughput.js';
import { runWidget } from './widget.js';

boundRun('bench', 720);
const started = now();
const m = machine();
process.stdout.write(`machine: ${describeMachine(m)}\n`);
ensureBuilt();

const parts: [string, () => Promise<BenchResult>][] = [
  ['widget', runWidget],
  ['latency', runLatency],
  ['throughput', runThroughput],
  ['capacity', runCapacity],
];
const results: BenchResult[] = [];
let failed = false;
for (const [name, run] of parts) {
  process.stderr.write(`bench: ${name}…\n`);
  try {
    const result = await run();
    printResult(result);
    results.push(result);
  } catch (error) {
    failed = true;
    process.stderr.write(`bench: ${name} failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  }
}

const seconds = (now() - started) / 1000;
const rows = results.flatMap((r) => r.rows);
process.stdout.write(
  `\n# Summary (${new Date().toISOString().slice(0, 10)}, ${seconds.toFixed(0)} s)\n\nMachine: ${describeMachine(m)}\n\n${table(rows)}\n`,
);
const path = save('latest.json', { at: new Date().toISOString(), seconds, machine: m, results });
process.stdout.write(`\nwrote ${path}\n`);
process.exit(failed ? 1 : 0);
