/** The machine a run happened on, and writing a benchmark's results to bench/results/. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RESULTS_DIR, ensureBuilt } from './server.js';
import { boundRun } from './procs.js';
import { table, type Row } from './stats.js';

export interface BenchResult {
  name: string;
  rows: Row[];
  /** Raw numbers behind the rows, for latest.json. */
  data: Record<string, unknown>;
  seconds: number;
}

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  /** 1-minute load average when the run started: other work on the machine skews results. */
  loadAverage: number;
  openFilesLimit: string;
}

export function machine(): Machine {
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    model = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? model;
  } catch {
    // not Linux
  }
  let limit = 'unknown';
  try {
    limit = /Max open files\s+(\S+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? limit;
  } catch {
    // not Linux
  }
  return {
    cpus: availableParallelism(),
    cpuModel: model,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    loadAverage: Math.round(loadavg()[0]! * 100) / 100,
    openFilesLimit: limit,
  };
}

export function describeMachine(m: Machine): string {
  return `${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, ulimit -n ${m.openFilesLimit}, load average ${m.loadAverage} at start`;
}

export function save(file: string, value: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, file);
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
  return path;
}

export function printResult(result: BenchResult): void {
  process.stdout.write(`\n## ${result.name} (${result.seconds.toFixed(0)} s)\n\n${table(result.rows)}\n`);
}

/**
 * Runs one benchmark as a script: builds if needed, bounds it in time,
 * prints its table and writes bench/results/<file>.json. A benchmark that
 * runs the sources in its own process, with no server child, says
 * `build: false`.
 */
export async function runAsScript(
  moduleUrl: string,
  file: string,
  limitSeconds: number,
  run: () => Promise<BenchResult>,
  options: { build?: boolean } = {},
): Promise<void> {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  // Larger counts than the defaults (say, a hundred fresh pages of each kind) need longer than the bound
  // set for them: BENCH_LIMIT_SECONDS replaces it, and the run still stops by itself.
  const override = Number(process.env.BENCH_LIMIT_SECONDS);
  boundRun(file, Number.isFinite(override) && override > 0 ? override : limitSeconds);
  const m = machine();
  process.stdout.write(`machine: ${describeMachine(m)}\n`);
  try {
    if (options.build !== false) ensureBuilt();
    const result = await run();
    printResult(result);
    const path = save(`${file}.json`, { at: new Date().toISOString(), machine: m, ...result });
    process.stdout.write(`\nwrote ${path}\n`);
    process.exit(0);
  } catch (error) {
    process.stderr.write(`${file} failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  }
}
