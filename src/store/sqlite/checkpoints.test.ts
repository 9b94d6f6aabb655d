/**
 * Checkpoints off the event loop, on a real file: the WAL stays bounded
 * under sustained writes, everything written is there after reopening, and
 * a worker that fails never takes the process with it.
 */
import { existsSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ixnProfileSchema } from '../../protocol/index.js';
import { walCheckpoints } from './checkpoints.js';
import { openSqliteStore } from './store.js';

const dirs: string[] = [];
const fresh = () => {
  const dir = mkdtempSync(join(tmpdir(), 'beckon-checkpoints-'));
  dirs.push(dir);
  return join(dir, 'beckon.db');
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const walBytes = (file: string) => (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('sqlite checkpoints', () => {
  it('keeps the WAL under its bound through sustained writes, and every write is in the file after reopening', async () => {
    const file = fresh();
    const limitPages = 100;
    const pageSize = 4096;
    const store = openSqliteStore(file, { everyMs: 20, limitPages, restartWaitMs: 200 });
    const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
    const visits = 50;
    for (let v = 0; v < visits; v++) await store.startVisit({ visitId: `v${v}`, globalVisitId: `g${v}` }, T0);
    // 3 KB of user data per attempt: every create writes most of a page of its own. The writes go on until
    // far more was written than the bound lets the WAL hold, so only checkpoints that restart it keep it there.
    const userData = { note: 'x'.repeat(3072) };
    const enough = () => created * 3072 > 12 * limitPages * pageSize;
    let maxWal = 0;
    const sampler = setInterval(() => {
      maxWal = Math.max(maxWal, walBytes(file));
    }, 5);
    let created = 0;
    const started = Date.now();
    try {
      // 16 lanes at once, as the group commit sees them under load: each creates, shows and declines one
      // attempt after another (for 20 s at most on a slow machine).
      await Promise.all(
        Array.from({ length: 16 }, async (_, lane) => {
          for (let n = 0; !enough() && Date.now() - started < 20_000; n++) {
            const interactionId = `i-${lane}-${n}`;
            const visitId = `v${(lane * 7 + n) % visits}`;
            const result = await store.createAttempt(ixnProfileSchema.parse({ interactionId, visitId, userData }), {
              exclusive: false,
              now: T0 + 1,
              place: false,
            });
            expect(result.kind).toBe('created');
            created++;
            await store.transition({ interactionId, from: ['pending'], to: 'delivered', at: T0 + 2 });
            await store.transition({ interactionId, from: ['delivered'], to: 'declined', at: T0 + 3 });
          }
        }),
      );
    } finally {
      clearInterval(sampler);
    }
    maxWal = Math.max(maxWal, walBytes(file));
    await store.close();

    expect(enough()).toBe(true);
    // The bound, plus what a few looks' worth of commits add before the restart is done.
    expect(maxWal).toBeLessThanOrEqual(3 * limitPages * pageSize);
    // The last connection's close checkpointed everything into the file and removed the WAL.
    expect(existsSync(`${file}-wal`)).toBe(false);

    const db = new Database(file, { readonly: true });
    try {
      expect(db.prepare(`SELECT count(*) AS n FROM engagements WHERE state = 'declined'`).get()).toEqual({
        n: created,
      });
      expect(
        db.prepare(`SELECT count(*) AS n FROM events WHERE type LIKE 'engagement.%'`).get() as { n: number },
      ).toEqual({ n: 3 * created });
    } finally {
      db.close();
    }
  }, 30_000);

  it('checkpoints on a worker, and goes back to SQLite checkpointing on the event loop when the worker fails', async () => {
    const file = fresh();
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (x)');
    const wal = walCheckpoints(db, file, { everyMs: 10, limitPages: 100, restartWaitMs: 100 });
    try {
      // SQLite's own checkpoint until the worker is there, none on the serving connection from then on.
      expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(100);
      for (let i = 0; i < 50; i++) db.prepare('INSERT INTO t VALUES (?)').run(i);
      wal.committed();
      for (let waited = 0; !wal.onWorker && waited < 5000; waited += 10) await sleep(10);
      expect(wal.onWorker).toBe(true);
      expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
      expect(await wal.truncate(200)).toBe(true);
      expect(walBytes(file)).toBe(0);
      await wal.close();
      expect(wal.onWorker).toBe(false);
    } finally {
      db.close();
    }

    // A worker that cannot open the file (it was moved away under the serving connection): no crash, and the
    // serving connection checkpoints on its own again, so the WAL stays bounded.
    const moved = fresh();
    const other = new Database(moved);
    other.pragma('journal_mode = WAL');
    other.exec('CREATE TABLE t (x)');
    const failing = walCheckpoints(other, moved, { everyMs: 10, limitPages: 100, restartWaitMs: 100 });
    renameSync(moved, `${moved}.elsewhere`);
    try {
      other.prepare('INSERT INTO t VALUES (1)').run();
      failing.committed();
      for (let waited = 0; !failing.onWorker && waited < 1000; waited += 10) await sleep(10);
      expect(failing.onWorker).toBe(false);
      expect(other.pragma('wal_autocheckpoint', { simple: true })).toBe(100);
      // Still usable, and the erasure's checkpoint runs on the serving connection.
      other.prepare('INSERT INTO t VALUES (2)').run();
      expect(await failing.truncate(100)).toBe(true);
      expect(other.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 2 });
      await failing.close();
    } finally {
      other.close();
    }
  }, 30_000);
});
