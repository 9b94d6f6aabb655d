/**
 * WAL checkpoints off the event loop.
 *
 * SQLite's automatic checkpoint runs inside the commit that crosses 1,000
 * WAL pages: that commit copies every page into the database file and
 * fsyncs it, and the event loop waits for it. Here the serving connection
 * never checkpoints on its own (`wal_autocheckpoint = 0`); a worker thread,
 * with a connection of its own to the same file, copies the WAL into the
 * database (PASSIVE: it never waits for, nor blocks, a reader or the writer)
 * a moment after the commits.
 *
 * A PASSIVE checkpoint cannot restart the WAL: SQLite starts writing at the
 * beginning of the WAL again only when a write begins with every frame
 * already copied, and under steady writes new frames arrive while the
 * checkpoint copies and fsyncs, so it seldom catches up and the WAL would
 * grow without bound. So the commit that takes the WAL past `limitPages`
 * pages holds this process's writes back (they queue in the group commit;
 * the event loop goes on) while the worker runs a RESTART checkpoint: it
 * takes the write lock, copies the little the last PASSIVE left, and waits
 * for readers to leave the WAL, so that the next write starts it over.
 * `journal_size_limit` gives the file back down to the bound at that write,
 * so the WAL file's size tells each commit whether the WAL is past it (one
 * `stat`, no query).
 *
 * The worker is started on the first commit, so a store that writes nothing
 * starts no thread; until it is ready SQLite's automatic checkpoint stays
 * on. If it cannot start, dies, or fails several times in a row, the
 * serving connection goes back to SQLite's automatic checkpoint: slower,
 * never unbounded, and never a crash.
 * (docs/decisions.md, "Checkpoints off the event loop")
 */
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

export interface CheckpointOptions {
  /** How often the worker copies the WAL into the file (PASSIVE) while there are commits, in ms. */
  everyMs: number;
  /** WAL size, in pages, past which the worker restarts it (RESTART checkpoint, this process's writes held). */
  limitPages: number;
  /** How long a RESTART waits for another process's writer and for readers, in ms. */
  restartWaitMs: number;
}

export const CHECKPOINT_DEFAULTS: CheckpointOptions = {
  everyMs: 100,
  // 40 MB of 4 KB pages: a restart (a short wait for every writer) once per 40 MB written, not per 4 MB.
  limitPages: 10_000,
  restartWaitMs: 200,
};

/** Failures in a row after which the worker is given up and SQLite checkpoints on the event loop again. */
const MAX_FAILURES = 5;

type Mode = 'PASSIVE' | 'RESTART' | 'TRUNCATE';

/** One checkpoint's outcome, as `PRAGMA wal_checkpoint` reports it. */
export interface CheckpointResult {
  /** 1 when a RESTART or TRUNCATE could not finish (a writer or a reader held it back). */
  busy: number;
  /** Pages in the WAL. */
  log: number;
  /** Pages of the WAL already in the database file. */
  checkpointed: number;
}

export interface WalCheckpoints {
  /** Called after every commit of the serving connection. */
  committed(): void;
  /**
   * A TRUNCATE checkpoint (every page into the file, the WAL emptied),
   * waiting at most `waitMs` for a writer or reader of another connection;
   * resolves to whether it finished. Never rejects.
   */
  truncate(waitMs: number): Promise<boolean>;
  /** Copies the WAL into the file a last time on the worker, then stops it; its connection closes. */
  close(): Promise<void>;
  /** Whether checkpoints run on the worker now (false before it is ready and after it is given up). */
  readonly onWorker: boolean;
}

// The worker's code: one connection, one checkpoint per message, its result or its error back.
// Plain JavaScript evaluated as the worker's script, so that it runs the same from the sources and from the build.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('synchronous = NORMAL');
parentPort.on('message', (request) => {
  if (request.mode === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    db.pragma('busy_timeout = ' + request.waitMs);
    const [result] = db.pragma('wal_checkpoint(' + request.mode + ')');
    parentPort.postMessage({ id: request.id, result });
  } catch (error) {
    parentPort.postMessage({ id: request.id, error: String(error && error.message) });
  }
});
parentPort.postMessage({ ready: true });
`;

const driverPath = () => createRequire(import.meta.url).resolve('better-sqlite3');

/** The checkpointer of the serving connection `db` of `file` (not `:memory:`). */
export function walCheckpoints(
  db: Database.Database,
  file: string,
  options: CheckpointOptions = CHECKPOINT_DEFAULTS,
  holdWrites: (until: Promise<unknown>) => void = () => {},
): WalCheckpoints {
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  // The WAL file's size in bytes for `limitPages` pages: a 32-byte header, and 24 bytes before each page.
  const limitBytes = 32 + options.limitPages * (pageSize + 24);
  db.pragma(`journal_size_limit = ${limitBytes}`);
  // SQLite's own checkpoint, for while there is no worker: its default, or sooner if the bound is smaller.
  const onLoop = `wal_autocheckpoint = ${Math.min(1000, options.limitPages)}`;
  db.pragma(onLoop);

  let worker: Worker | null = null;
  /** The worker has opened its connection: the serving connection no longer checkpoints on its own. */
  let ready = false;
  /** Given up, or closed: SQLite's own checkpoint (on the event loop) from then on. */
  let stopped = false;
  let failures = 0;
  let timer: NodeJS.Timeout | null = null;
  /** Commits since the last PASSIVE; and whether that PASSIVE left pages to copy. */
  let dirty = false;
  let behind = false;
  let nextId = 1;
  const pending = new Map<number, (outcome: CheckpointResult | Error) => void>();
  /** The PASSIVE in flight from the timer, so that two never queue up. */
  let passive: Promise<unknown> | null = null;
  /** The RESTART in flight, during which this process's writes are held; and when the last one that failed ended. */
  let restart: Promise<unknown> | null = null;
  let restartedAt = 0;

  const giveUp = () => {
    if (stopped) return;
    stopped = true;
    if (timer) clearInterval(timer);
    timer = null;
    if (db.open) db.pragma(onLoop);
    for (const settle of pending.values()) settle(new Error('checkpoint worker stopped'));
    pending.clear();
    const dying = worker;
    worker = null;
    void dying?.terminate().catch(() => {});
  };

  const start = () => {
    let started: Worker;
    try {
      started = new Worker(WORKER, { eval: true, workerData: { driver: driverPath(), file } });
    } catch {
      giveUp();
      return;
    }
    worker = started;
    // The checkpointer never keeps the process alive; close() ends it when the store closes.
    started.unref();
    started.on('message', (message: { ready?: true; id?: number; result?: CheckpointResult; error?: string }) => {
      if (message.ready) {
        if (stopped || !db.open) return;
        ready = true;
        db.pragma('wal_autocheckpoint = 0');
        timer = setInterval(tick, options.everyMs);
        timer.unref();
        return;
      }
      if (message.id === undefined) return;
      const settle = pending.get(message.id);
      pending.delete(message.id);
      settle?.(message.result ?? new Error(message.error ?? 'checkpoint failed'));
    });
    // An error in the worker (it could not open the file, a crash) is never the process's: SQLite checkpoints
    // on the event loop again.
    started.on('error', giveUp);
    started.on('exit', () => {
      if (worker === started) giveUp();
      // Closed, or ended by close() after a wait: nothing is answered any more, and no write stays held.
      for (const settle of pending.values()) settle(new Error('checkpoint worker stopped'));
      pending.clear();
    });
  };

  const walBytes = () => {
    try {
      return statSync(`${file}-wal`).size;
    } catch {
      return 0;
    }
  };

  const ask = (mode: Mode, waitMs: number): Promise<CheckpointResult | Error> =>
    new Promise((resolve) => {
      if (stopped || worker === null) {
        resolve(new Error('checkpoint worker stopped'));
        return;
      }
      const id = nextId++;
      pending.set(id, resolve);
      worker.postMessage({ id, mode, waitMs });
    });

  const counted = (outcome: CheckpointResult | Error): CheckpointResult | null => {
    if (outcome instanceof Error) {
      if (++failures >= MAX_FAILURES) giveUp();
      return null;
    }
    failures = 0;
    return outcome;
  };

  /** The timer: copies new commits into the file, concurrently with the writes. */
  function tick(): void {
    if (passive !== null || restart !== null || !(dirty || behind)) return;
    dirty = false;
    passive = ask('PASSIVE', 0).then((outcome) => {
      const result = counted(outcome);
      behind = result === null || result.checkpointed < result.log;
      passive = null;
    });
  }

  /** The WAL is past its bound: writes wait while the worker restarts it. */
  function restartWal(): void {
    restart = ask('RESTART', options.restartWaitMs).then((outcome) => {
      const result = counted(outcome);
      // Not done (another process's writer or a long reader held it back): tried again at the bound after
      // `everyMs`, not at every commit.
      behind = result === null || result.busy !== 0 || result.checkpointed < result.log;
      restartedAt = behind ? Date.now() : 0;
      restart = null;
    });
    holdWrites(restart);
  }

  return {
    committed() {
      dirty = true;
      if (stopped) return;
      if (worker === null) start();
      else if (ready && restart === null && Date.now() - restartedAt >= options.everyMs && walBytes() > limitBytes) {
        restartWal();
      }
    },
    async truncate(waitMs) {
      if (worker === null || stopped) return mainTruncate(db, waitMs);
      // This process's writes queue meanwhile, rather than wait for the lock with the event loop.
      const truncated = ask('TRUNCATE', waitMs);
      holdWrites(truncated);
      const outcome = await truncated;
      if (outcome instanceof Error) return mainTruncate(db, waitMs);
      return outcome.busy === 0;
    },
    async close() {
      if (timer) clearInterval(timer);
      timer = null;
      await restart;
      // A last copy on the worker, so that the serving connection's close (which checkpoints too) has little left.
      if (ready && !stopped) await ask('PASSIVE', 0);
      const closing = worker;
      stopped = true;
      worker = null;
      if (closing === null) return;
      const exited = new Promise<void>((resolve) => closing.once('exit', () => resolve()));
      closing.postMessage({ mode: 'close' });
      // A worker stuck in a checkpoint is not waited for long: the serving connection's close checkpoints too.
      const late = setTimeout(() => void closing.terminate().catch(() => {}), 2000);
      await exited;
      clearTimeout(late);
    },
    get onWorker() {
      return ready && !stopped;
    },
  };
}

/** A TRUNCATE checkpoint on the serving connection itself (`:memory:`, or no worker). */
export function mainTruncate(db: Database.Database, waitMs: number): boolean {
  if (!db.open || db.inTransaction) return false;
  const wait = db.pragma('busy_timeout', { simple: true }) as number;
  db.pragma(`busy_timeout = ${waitMs}`);
  try {
    const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as CheckpointResult[];
    return result?.busy === 0;
  } catch {
    return false;
  } finally {
    db.pragma(`busy_timeout = ${wait}`);
  }
}
