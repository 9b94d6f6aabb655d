/**
 * Starting the servers under test: Beckon (built, in a child we control) and
 * the bare baselines. Builds `dist/` first when it is missing or older than
 * the sources, so `npm run bench` works on a fresh clone.
 */
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { forkTs, stopChild } from './procs.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const RESULTS_DIR = join(ROOT, 'bench', 'results');

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/** Runs `npm run build` when dist/ is missing or older than src/. */
export function ensureBuilt(): void {
  const server = join(ROOT, 'dist', 'server', 'app.js');
  const widget = join(ROOT, 'dist', 'widget', 'beckon.js');
  const stale =
    !existsSync(server) ||
    !existsSync(widget) ||
    Math.min(statSync(server).mtimeMs, statSync(widget).mtimeMs) < newest(join(ROOT, 'src'));
  if (stale) {
    process.stderr.write('bench: building (dist/ is missing or older than src/)…\n');
    execSync('npm run build', { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  }
}

export interface MemoryReading {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** Committed (`size`) and live (`used`) bytes of each V8 heap space. */
  spaces?: Record<string, { size: number; used: number }>;
}

export interface ServerHandle {
  url: string;
  child: ChildProcess;
  pid: number;
  /** Heap and RSS of the server after a full GC (needs `exposeGc`). */
  memory(): Promise<MemoryReading>;
  /** VmRSS of the server from /proc, in bytes. */
  rss(): number;
  /** Writes a V8 heap snapshot (after a full GC with `exposeGc`) to `path`; resolves when it is written. */
  snapshot(path: string): Promise<void>;
  /** Lines the server wrote to stderr or logged at warn and above. */
  complaints(): string[];
  stop(): Promise<void>;
}

export function procRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status);
  return kb ? Number(kb[1]) * 1024 : Number.NaN;
}

async function startChild(
  module: string,
  args: string[],
  nodeFlags: string[],
  env: Record<string, string>,
): Promise<ServerHandle> {
  const child = forkTs(join(ROOT, module), args, { nodeFlags, cwd: ROOT, env: { ...process.env, ...env } });
  const complaints: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) complaints.push(line.slice(0, 500));
    if (complaints.length > 50) complaints.splice(0, complaints.length - 50);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${module} did not start:\n${complaints.join('\n')}`)), 60_000);
    child.on('message', (message: { type: string; url?: string }) => {
      if (message.type === 'listening') {
        clearTimeout(timer);
        resolve(message.url!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${module} exited with ${code}:\n${complaints.join('\n')}`));
    });
  });
  return {
    url,
    child,
    pid: child.pid!,
    memory: () =>
      new Promise((resolve) => {
        const onMessage = (message: MemoryReading & { type: string }) => {
          if (message.type !== 'memory') return;
          child.off('message', onMessage);
          resolve({ ...message, rss: procRss(child.pid!) });
        };
        child.on('message', onMessage);
        child.send({ cmd: 'memory' });
      }),
    rss: () => procRss(child.pid!),
    snapshot: (path) =>
      new Promise((resolve) => {
        const onMessage = (message: { type: string }) => {
          if (message.type !== 'snapshot') return;
          child.off('message', onMessage);
          resolve();
        };
        child.on('message', onMessage);
        child.send({ cmd: 'snapshot', path });
      }),
    complaints: () => [...complaints],
    async stop() {
      if (child.connected) child.send({ cmd: 'exit' });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const timer = setTimeout(() => void stopChild(child), 10_000);
      if (child.exitCode === null && child.signalCode === null) await exited;
      clearTimeout(timer);
    },
  };
}

export interface BeckonOptions {
  env?: Record<string, string>;
  /** Collect garbage before memory readings. */
  exposeGc?: boolean;
  /** Write a V8 CPU profile into bench/results/profiles/ when the server stops (BENCH_CPU_PROF=1). */
  cpuProfile?: string;
}

/** Starts Beckon (LOG_LEVEL=warn unless BENCH_LOG_LEVEL says otherwise) on 127.0.0.1, port 0. */
export function startBeckon(options: BeckonOptions = {}): Promise<ServerHandle> {
  const flags: string[] = [];
  if (options.exposeGc) flags.push('--expose-gc');
  const profile = options.cpuProfile ?? (process.env.BENCH_CPU_PROF ? 'beckon' : undefined);
  if (profile) {
    // One folder per run: V8 writes one file per thread (tsx's loader thread too); the largest is the main thread.
    const dir = join(RESULTS_DIR, 'profiles', `${profile}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    mkdirSync(dir, { recursive: true });
    flags.push('--cpu-prof', `--cpu-prof-dir=${dir}`);
  }
  return startChild('bench/lib/server-child.ts', [], flags, {
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
    ...options.env,
  });
}

/** Starts a bare baseline server: `fastify` (a route) or `socketio` (a route that emits to a room). */
export function startBaseline(kind: 'fastify' | 'socketio'): Promise<ServerHandle> {
  return startChild('bench/lib/baseline-server.ts', [kind], [], {});
}
