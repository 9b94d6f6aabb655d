/**
 * One Beckon node of a local cluster: the built server (`node
 * dist/server/main.js`) with a role, started on port 0 (or a given port) on
 * 127.0.0.1, ready once it logs the URL it listens on, and stopped by its PID.
 * Its JSON log lines go to `logFile` when one is given.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';

export interface BeckonNode {
  name: string;
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
  /** Everything it wrote to stdout so far (kept only without a log file). */
  output(): string;
  /** Sends `signal` (by PID) and resolves once it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface NodeOptions {
  name: string;
  role: 'backend' | 'frontend' | 'all';
  /** REDIS_URL, BECKON_SECRET, BECKON_REDIS_PREFIX and anything else the node needs. */
  env: Record<string, string>;
  port?: number;
  logFile?: string;
  /** Working directory holding dist/ (default: the current one). */
  cwd?: string;
}

export async function startNode(options: NodeOptions): Promise<BeckonNode> {
  const child = spawn(process.execPath, ['dist/server/main.js'], {
    cwd: options.cwd ?? process.cwd(),
    env: {
      ...process.env,
      PORT: String(options.port ?? 0),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      BECKON_ROLE: options.role,
      BECKON_NODE_ID: options.name,
      BECKON_TRUST_PROXY: '1',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : null;
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
    log?.write(chunk);
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      // A node that is only slow would otherwise start later with nobody left to stop it.
      child.kill('SIGKILL');
      reject(new Error(`${options.name} did not start: ${stderr}`));
    }, 20_000);
    let found = false;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (log) log.write(`${line}\n`);
      else stdout += `${line}\n`;
      if (found) return;
      try {
        const entry = JSON.parse(line);
        if (typeof entry.url === 'string') {
          found = true;
          clearTimeout(timer);
          resolve(entry.url);
        }
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${options.name} exited with ${code ?? signal}: ${stderr}`));
    });
  });
  return {
    name: options.name,
    url,
    port: Number(new URL(url).port),
    pid: child.pid!,
    child,
    output: () => stdout,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill(signal);
        await exited;
      }
      log?.end();
    },
  };
}
