/**
 * A fleet of simulated pages spread over page-simulator processes (see
 * `page-sim.ts`), so that the pages' own CPU and memory are not the
 * benchmark's. Given several URLs (a cluster's frontends), each simulator
 * alternates its pages between them. Connections are opened in bounded concurrent batches.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { forkTs, stopChild } from './procs.js';
import { ROOT } from './server.js';

export interface FleetStats {
  open: number;
  received: number;
  delivered: number;
  declined: number;
  failures: number;
  disconnects: number;
  failureSamples: string[];
}

export interface FleetOptions {
  mode: 'idle' | 'responder';
  /** Pages per simulator process (default 2,500). */
  perProcess?: number;
  /** Handshakes in flight per simulator process (default 25). */
  concurrency?: number;
  wantVisitIds?: boolean;
}

function request<T>(child: ChildProcess, command: object, reply: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { type: string }) => {
      if (message.type !== reply) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message as T);
    };
    const onExit = (code: number | null) => reject(new Error(`page simulator exited with ${code}`));
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send(command);
  });
}

export class PageFleet {
  private readonly sims: ChildProcess[] = [];
  readonly visitIds: string[] = [];
  connected = 0;
  failed = 0;
  failureSamples: string[] = [];

  private readonly urls: readonly string[];

  /** `url`: one server, or several frontends of a cluster (each simulator alternates its pages between them). */
  constructor(url: string | readonly string[]) {
    this.urls = typeof url === 'string' ? [url] : url;
  }

  /** Adds `count` pages (in new simulator processes) and resolves once they all have a session or failed. */
  async add(count: number, options: FleetOptions): Promise<void> {
    if (count <= 0) return;
    const perProcess = options.perProcess ?? 2500;
    const jobs: Promise<void>[] = [];
    for (let left = count; left > 0; left -= perProcess) {
      const n = Math.min(left, perProcess);
      const child = forkTs(join(ROOT, 'bench/lib/page-sim.ts'), [], { cwd: ROOT });
      child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(`page-sim: ${chunk}`));
      this.sims.push(child);
      jobs.push(
        (async () => {
          await new Promise<void>((resolve) => child.once('message', () => resolve()));
          const result = await request<{
            connected: number;
            failed: number;
            visitIds: string[];
            failureSamples: string[];
          }>(
            child,
            {
              cmd: 'connect',
              urls: this.urls,
              count: n,
              concurrency: options.concurrency ?? 25,
              mode: options.mode,
              wantVisitIds: options.wantVisitIds ?? false,
            },
            'connected',
          );
          this.connected += result.connected;
          this.failed += result.failed;
          this.visitIds.push(...result.visitIds);
          this.failureSamples.push(...result.failureSamples);
        })(),
      );
    }
    await Promise.all(jobs);
  }

  async stats(): Promise<FleetStats> {
    const all = await Promise.all(this.sims.map((sim) => request<FleetStats>(sim, { cmd: 'stats' }, 'stats')));
    const sum: FleetStats = {
      open: 0,
      received: 0,
      delivered: 0,
      declined: 0,
      failures: 0,
      disconnects: 0,
      failureSamples: [],
    };
    for (const s of all) {
      for (const key of ['open', 'received', 'delivered', 'declined', 'failures', 'disconnects'] as const)
        sum[key] += s[key];
      sum.failureSamples.push(...s.failureSamples);
    }
    return sum;
  }

  reset(): void {
    for (const sim of this.sims) sim.send({ cmd: 'reset' });
  }

  /** Kills every simulator process (by PID). */
  async close(): Promise<void> {
    await Promise.all(this.sims.map((sim) => stopChild(sim, 'SIGKILL')));
    this.sims.length = 0;
  }
}
