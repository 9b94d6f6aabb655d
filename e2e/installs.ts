/**
 * What the install tests share: a folder outside this checkout, an
 * environment that cannot reach this checkout's node_modules, and commands
 * run there with their output kept for the failure message. The packages are
 * installed from their tarballs, their dependencies from the npm registry
 * (through the machine's npm cache, which `npm ci` has filled).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export const repository = process.cwd();

/** A fresh folder under the system's temp folder (never inside this checkout); removed by `remove`. */
export function installFolder(label: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `beckon-${label}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The environment of a command in an install folder: no npm_* variables of the
 * `npm test` that runs us, and no PATH entry into this checkout (npm puts its
 * node_modules/.bin first), so only what was installed there can be found.
 */
export function outsideEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (
      !/^npm_/i.test(key) &&
      !/^(INIT_CWD|NODE_PATH|NODE_OPTIONS|VITEST.*|TEST_WORKER_INDEX|PW_.*|BECKON_.*|REDIS_URL|PORT|HOST)$/.test(key)
    )
      env[key] = value;
  }
  env.PATH = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((entry) => !entry.startsWith(repository))
    .join(delimiter);
  return { ...env, ...extra };
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command in `cwd` to its end (or `timeoutMs`); never rejects on a non-zero exit. */
export function run(
  command: string,
  args: string[],
  cwd: string,
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd, env: outsideEnv(options.env), timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Fails with the command's output when it did not exit 0. */
export function succeeded(result: Run, what: string): Run {
  if (result.code !== 0) throw new Error(`${what} exited with ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

/**
 * `npm install` in `dir`, offline first: the registry is asked only for what
 * the cache lacks. better-sqlite3 compiles from source there (its prebuilt
 * binary cannot be downloaded here; the attempt fails at once).
 */
export async function npmInstall(dir: string, specs: string[], timeoutMs: number): Promise<number> {
  const started = Date.now();
  succeeded(
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=warn', ...specs], dir, {
      timeoutMs,
    }),
    `npm install ${specs.join(' ')}`,
  );
  return Date.now() - started;
}

/** A long-running command in its own process group, so that stopping it stops npx and what npx started. */
export function startInGroup(command: string, args: string[], cwd: string, env: Record<string, string>): ChildProcess {
  return spawn(command, args, { cwd, env: outsideEnv(env), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** SIGTERM to the group of a child started by startInGroup; resolves when the child has exited. */
export async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    process.kill(-child.pid!, 'SIGTERM');
  } catch {
    // already gone
  }
  await exited;
}
