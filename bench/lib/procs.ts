/**
 * Every process a benchmark starts is registered here and killed by its PID
 * when the benchmark ends, fails, is interrupted or runs over its time limit,
 * so a benchmark never leaves anything running.
 */
import { fork, type ChildProcess, type ForkOptions } from 'node:child_process';

const children = new Set<ChildProcess>();

/** Registers a child so that it is killed (by PID) when this process ends. */
export function track<C extends ChildProcess>(child: C): C {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Forks a TypeScript module with tsx and tracks it. */
export function forkTs(
  modulePath: string,
  args: string[] = [],
  options: ForkOptions & { nodeFlags?: string[] } = {},
): ChildProcess {
  const { nodeFlags = [], ...rest } = options;
  return track(
    fork(modulePath, args, {
      execArgv: [...nodeFlags, '--import', 'tsx'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      ...rest,
    }),
  );
}

/** Kills every tracked child that is still running, by PID. */
export function killAll(): void {
  for (const child of children) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
}

/** Resolves once `child` has exited; sends `signal` first if it is still running. */
export async function stopChild(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGKILL',
  graceMs = 5000,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.pid !== undefined && child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

let installed = false;

/**
 * Makes the current process a bounded benchmark: children die with it, and it
 * stops by itself after `seconds` (exit code 1) whatever it is waiting for.
 */
export function boundRun(name: string, seconds: number): void {
  if (!installed) {
    installed = true;
    process.on('exit', killAll);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.on(signal, () => {
        killAll();
        process.exit(130);
      });
    }
  }
  setTimeout(() => {
    process.stderr.write(`${name}: over its ${seconds} s limit, stopping\n`);
    killAll();
    process.exit(1);
  }, seconds * 1000).unref();
}
