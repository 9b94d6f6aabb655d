import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = fileURLToPath(new URL('.', import.meta.url));

/** Runs `body` in a real Node process with the guard installed; its exit code and output. */
function runGuarded(body: string) {
  const script = `
    import { keepRunningThroughStrayRedisFailures } from './stray-errors.ts';
    import { TimeoutError, ClientOfflineError } from 'redis';
    keepRunningThroughStrayRedisFailures({ warn: (_d, message) => console.log('warned: ' + message) });
    ${body}
    setTimeout(() => console.log('still running'), 100);
  `;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: here,
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

describe('errors of a Redis client that reach no caller', () => {
  it('are logged and the process goes on: a timeout thrown from a timer, an offline client rejected unheard', () => {
    const run = runGuarded(`
      setTimeout(() => { throw new TimeoutError(); }, 0);
      Promise.reject(new ClientOfflineError());
    `);
    expect(run.code, run.err).toBe(0);
    expect(run.out.match(/warned: a Redis call failed/g)).toHaveLength(2);
    expect(run.out).toContain('still running');
  });

  it('still end the process when they are anything else', () => {
    const thrown = runGuarded(`setTimeout(() => { throw new TypeError('a bug'); }, 0);`);
    expect(thrown.code).toBe(1);
    expect(thrown.err).toContain('a bug');
    expect(thrown.out).not.toContain('still running');
    const rejected = runGuarded(`Promise.reject(new RangeError('another bug'));`);
    expect(rejected.code).not.toBe(0);
    expect(rejected.err).toContain('another bug');
  });
});
