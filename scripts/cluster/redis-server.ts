/**
 * A real redis-server (Debian's package) for tests, benchmarks and
 * `npm run cluster`: its own free port on 127.0.0.1, its own temporary
 * folder, AOF on, started and stopped by PID. `kill -9` and restart on the
 * same port and folder are how tests take it away and bring it back.
 *
 * Its settings are written once to `redis.conf` in its folder and every start
 * reads that file: what Sentinel writes there with CONFIG REWRITE (whose
 * replica a node is) survives a restart, as on a real machine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

export { freePort } from './ports.js';

export interface RedisServer {
  /** redis://127.0.0.1:<port> */
  url: string;
  port: number;
  dir: string;
  pid(): number | undefined;
  /** The running redis-server process (a new one after each restart). */
  child(): ChildProcess | null;
  /** Stops it (SIGTERM saves the AOF; SIGKILL is a crash) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and folder (what it persisted comes back). */
  restart(): Promise<void>;
  /** Stops it and removes its folder. */
  dispose(): Promise<void>;
}

export interface RedisServerOptions {
  /** `always` fsyncs before every reply; `everysec` may lose a second. */
  appendfsync?: 'always' | 'everysec' | 'no';
  /** Off: no AOF at all (and no RDB), a Redis that forgets everything when it restarts. */
  persistence?: boolean;
  /** A given port instead of a free one. */
  port?: number;
  /** More lines for redis.conf, e.g. `replicaof 127.0.0.1 6380` or `requirepass …`. */
  config?: readonly string[];
  /** Where its folder is made (default the system's temporary folder). */
  parentDir?: string;
}

/** A value for redis.conf, quoted so that a path with spaces stays one argument. */
export function confValue(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * Resolves once a Redis process listens on `port` and is done loading
 * (RESP over a plain socket: no client library needed). A server with a
 * password answers NOAUTH, which is as good as PONG here.
 */
export async function answersPing(port: number, timeoutMs: number, what = 'redis-server'): Promise<void> {
  const started = Date.now();
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.setTimeout(500);
      socket.once('error', () => resolve(false));
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
      socket.connect(port, '127.0.0.1', () => socket.write('*1\r\n$4\r\nPING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        const reply = data.toString();
        resolve(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'));
      });
    });
    if (ok) return;
    if (Date.now() - started > timeoutMs) throw new Error(`${what} on port ${port} did not answer PING`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Runs `command args` and resolves once it answers PING on `port`; rejects
 * with its stderr if it exits first.
 */
export async function launchRedisProcess(
  command: string,
  args: readonly string[],
  port: number,
  logFile: string,
): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) =>
      reject(new Error(`${command} on port ${port} exited with ${code ?? signal}: ${stderr.trim()} (see ${logFile})`)),
    ),
  );
  exited.catch(() => {});
  try {
    await Promise.race([answersPing(port, 10_000, command), exited]);
  } catch (error) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    throw error;
  }
  return child;
}

/** Sends `signal` to `child` by its PID and resolves once it has exited (at once if it already has). */
export async function stopProcess(child: ChildProcess | null, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(options.parentDir ?? tmpdir(), 'beckon-redis-'));
  const persistence = options.persistence ?? true;
  const logFile = join(dir, 'redis.log');
  const configFile = join(dir, 'redis.conf');
  writeFileSync(
    configFile,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${confValue(dir)}`,
      'save ""',
      `appendonly ${persistence ? 'yes' : 'no'}`,
      `appendfsync ${options.appendfsync ?? 'always'}`,
      'daemonize no',
      'loglevel warning',
      `logfile ${confValue(logFile)}`,
      ...(options.config ?? []),
      '',
    ].join('\n'),
  );
  let child: ChildProcess | null = null;

  const launch = async () => {
    child = await launchRedisProcess('redis-server', [configFile], port, logFile);
  };
  const stop = (signal: NodeJS.Signals = 'SIGTERM') => stopProcess(child, signal);

  try {
    await launch();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    pid: () => child?.pid,
    child: () => child,
    stop,
    restart: launch,
    async dispose() {
      await stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
