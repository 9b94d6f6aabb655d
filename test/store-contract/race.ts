/**
 * Races between processes on one store: one race-worker.ts process per
 * contender, all started from one barrier. Each worker opens the store,
 * warms up, and says it is ready; only when every one of them is ready does
 * this side hand them all the same start time, a moment ahead. So a worker
 * that was slow to load (a busy machine) cannot start late and leave the
 * race to the others.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { StoreConfig } from '../../src/store/open.js';

const WORKER = fileURLToPath(new URL('./race-worker.ts', import.meta.url));

/** The line a worker prints when it is ready to start. */
export const READY = 'ready';

/** How long the workers may take to get ready (load, open the store) on a busy machine before the race fails. */
const READY_WITHIN_MS = 30_000;

/** From the last worker ready to the start: time for the start line to reach every worker, which is idle meanwhile. */
const START_LEAD_MS = 500;

export interface RaceResult {
  mode: string;
  wins: string[];
  /** reap mode: whether this worker's forgetNode removed the boot. */
  forgot?: boolean;
}

interface Worker {
  /** Resolves when the worker says it is ready (store open, about to wait for the start). */
  ready: Promise<void>;
  /** What it won, once it has exited. */
  result: Promise<RaceResult>;
  start(startAt: number): void;
  /** Kills the worker (by its PID) if it is still running. */
  stop(): void;
}

/**
 * Marks `promise` as handled, so that a failure nobody awaits (another worker
 * failed first) is not reported as unhandled; whoever awaits it still sees it.
 */
const quiet = <T>(promise: Promise<T>): Promise<T> => {
  promise.catch(() => {});
  return promise;
};

function startWorker(config: StoreConfig, mode: string, ids: string[]): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(config), mode, ...ids], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  // A worker that died before its start line shows as its exit (`result`), not as an EPIPE here.
  child.stdin.on('error', () => {});
  const exited = quiet(
    new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => resolve(code));
    }),
  );
  const failed = (what: string, code: number | null) =>
    new Error(`race worker ${mode} ${what} (exit code ${code}):\n${stderr}`);
  const ready = quiet(
    new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: string) => {
        stdout += chunk;
        if (`\n${stdout}`.includes(`\n${READY}\n`)) resolve();
      });
      exited.then((code) => reject(failed('exited before it was ready', code)), reject);
    }),
  );
  const result = quiet(
    exited.then((code) => {
      if (code !== 0) throw failed('failed', code);
      return JSON.parse(stdout.trim().split('\n').pop()!) as RaceResult;
    }),
  );
  return {
    ready,
    result,
    start(startAt) {
      child.stdin.end(`${startAt}\n`);
    },
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/**
 * Runs one race-worker process per mode on the store `config` opens, all
 * starting at the same instant once every one is ready; returns what each
 * won, in the order of `modes`.
 */
export async function race(config: StoreConfig, modes: string[], ids: string[]): Promise<RaceResult[]> {
  const workers = modes.map((mode) => startWorker(config, mode, ids));
  try {
    let giveUp: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(workers.map((worker) => worker.ready)),
      new Promise((_, reject) => {
        giveUp = setTimeout(
          () => reject(new Error(`race workers not ready within ${READY_WITHIN_MS} ms`)),
          READY_WITHIN_MS,
        );
      }),
    ]).finally(() => clearTimeout(giveUp));
    const startAt = Date.now() + START_LEAD_MS;
    for (const worker of workers) worker.start(startAt);
    return await Promise.all(workers.map((worker) => worker.result));
  } finally {
    for (const worker of workers) worker.stop();
  }
}
