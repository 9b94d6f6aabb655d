/**
 * A real Beckon process (`node dist/server/main.js`) for tests that must kill
 * it (SIGKILL, SIGTERM) and start it again on the same database. Run
 * `npm run build` first; `npm test` does.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNode } from '../scripts/cluster/node.js';
import type { StoreConfig } from '../src/store/open.js';
import { freshStore, storeEnv } from './stores.js';

export interface BeckonProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** Where its store is: start another process with `storeEnv(store)` to open the same one. */
  store: StoreConfig;
  /** Everything the process wrote to stdout (its JSON log lines). */
  output(): string;
  /** Sends `signal` and resolves once the process has exited (its store stays, for a restart on it). */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const dataDirs: string[] = [];
process.once('exit', () => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh folder for a database that outlives one process; removed when the test worker exits. */
export function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'beckon-proc-'));
  dataDirs.push(dir);
  return dir;
}

/**
 * Starts the built server and resolves once it logs the URL it listens on.
 * Without BECKON_DB or REDIS_URL in `env`, it gets a fresh store of the kind
 * the tests run on (see stores.ts).
 */
export async function startBeckonProcess(env: Record<string, string> = {}): Promise<BeckonProcess> {
  const dataDir = env.BECKON_DB || env.REDIS_URL ? null : tempDataDir();
  const store: StoreConfig = dataDir
    ? freshStore(dataDir)
    : {
        db: env.BECKON_DB ?? join(tempDataDir(), 'beckon.db'),
        redisUrl: env.REDIS_URL ?? null,
        redisPrefix: env.BECKON_REDIS_PREFIX ?? 'beckon:',
      };
  // The same start as `npm run cluster`'s nodes (scripts/cluster/node.ts), with the tests' defaults.
  const node = await startNode({
    // A process restarted on the same store is the same node, as in production (a stable BECKON_NODE_ID),
    // so it closes the pages its killed predecessor held at once instead of waiting for them to be reaped.
    name: env.BECKON_NODE_ID ?? `test-node-${store.redisPrefix}${store.db}`,
    role: (env.BECKON_ROLE as 'all' | 'backend' | 'frontend' | undefined) ?? 'all',
    env: { BECKON_TRUST_PROXY: '0', ...storeEnv(store), ...env },
  });
  return { url: node.url, port: node.port, child: node.child, store, output: node.output, stop: node.stop };
}
