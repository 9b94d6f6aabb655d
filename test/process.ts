/**
 * A real Beckon process (`node dist/server/main.js`) for tests that must kill
 * it (SIGKILL, SIGTERM) and start it again on the same database. Run
 * `npm run build` first; `npm test` does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface BeckonProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** Everything the process wrote to stdout (its JSON log lines). */
  output(): string;
  /** Sends `signal` and resolves once the process has exited (a data folder it made itself is removed). */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** A fresh folder for a database that outlives one process. */
export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'beckon-proc-'));
}

/** Starts the built server and resolves once it logs the URL it listens on. */
export async function startBeckonProcess(env: Record<string, string> = {}): Promise<BeckonProcess> {
  const dataDir = env.BECKON_DB ? null : tempDataDir();
  const child = spawn(process.execPath, ['dist/server/main.js'], {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      ...(dataDir ? { BECKON_DB: join(dataDir, 'beckon.db') } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Beckon did not start: ${stderr}`)), 20_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      stdout += `${line}\n`;
      try {
        const entry = JSON.parse(line);
        if (typeof entry.url === 'string') {
          clearTimeout(timer);
          resolve(entry.url);
        }
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Beckon exited with ${code}: ${stderr}`));
    });
  });
  return {
    url,
    port: Number(new URL(url).port),
    child,
    output: () => stdout,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill(signal);
        await exited;
      }
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
