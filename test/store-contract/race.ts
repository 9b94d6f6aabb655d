/**
 * Races between processes on one store: one race-worker.ts process per
 * contender, each given the same start time, `leadMs` from now, when every
 * worker is loaded and waiting.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { StoreConfig } from '../../src/store/open.js';

const run = promisify(execFile);
const WORKER = fileURLToPath(new URL('./race-worker.ts', import.meta.url));

export interface RaceResult {
  mode: string;
  wins: string[];
  /** reap mode: whether this worker's forgetNode removed the boot. */
  forgot?: boolean;
}

/**
 * Runs one race-worker process per mode at the same instant (`leadMs` from now, when every
 * worker is loaded and waiting); returns what each won, in the order of `modes`.
 */
export async function race(config: StoreConfig, modes: string[], ids: string[], leadMs = 3000): Promise<RaceResult[]> {
  const startAt = Date.now() + leadMs;
  const results = await Promise.all(
    modes.map((mode) =>
      run(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(config), mode, String(startAt), ...ids]),
    ),
  );
  return results.map(({ stdout }) => JSON.parse(stdout.trim().split('\n').pop()!) as RaceResult);
}
