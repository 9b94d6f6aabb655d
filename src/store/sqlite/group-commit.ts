import type Database from 'better-sqlite3';

/**
 * Group commit for the SQLite store.
 *
 * Every change Beckon makes is a small compare-and-set with its outbox event,
 * and each commit rewrites whole 4 KB pages of every table and index it
 * touched into the WAL: the commit, not the SQL, is most of a write's cost
 * (measured in bench/: one invitation's four commits ran at ~1,500/s alone,
 * and at ~4,000/s when sixteen invitations shared each commit).
 *
 * So writes asked for in the same turn of the event loop run together, in
 * submission order, in one IMMEDIATE transaction, each inside its own
 * savepoint: a write that throws is rolled back alone and rejects alone, the
 * others commit. Each promise settles only after the COMMIT, so a caller that
 * answers 200 after awaiting its write still answers only for what is
 * durable. Compare-and-set semantics are unchanged: each write still sees
 * every write queued before it.
 *
 * The wait is one `setImmediate`: requests that arrived in the same poll of
 * the event loop (and the microtasks they started) all join the batch.
 */
export interface GroupCommit {
  /** Runs `write` (any synchronous work on the database) in the next batch, in a savepoint of its own. */
  run<R>(write: () => R): Promise<R>;
  /** Commits what is queued now, synchronously (before closing the database). */
  flush(): void;
  /**
   * Starts no batch until `until` settles; writes asked for meanwhile queue
   * and commit together after it. The checkpointer holds the writes while
   * it restarts the WAL (checkpoints.ts), without blocking the event loop.
   */
  hold(until: Promise<unknown>): void;
}

interface Job {
  write: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  outcome?: { ok: true; value: unknown } | { ok: false; error: unknown };
}

/**
 * @param afterCommit called once after each batch that committed (or rolled
 *   back), before any of its promises settle; the store tells its event
 *   listeners there.
 */
export function groupCommit(db: Database.Database, afterCommit: () => void): GroupCommit {
  let queue: Job[] = [];
  let scheduled = false;
  let held = 0;

  // Called inside the batch's transaction, better-sqlite3 runs this as a
  // SAVEPOINT: a write that throws is rolled back alone, and rethrows.
  const inSavepoint = db.transaction((write: () => unknown) => write());

  const runBatch = db.transaction((jobs: Job[]) => {
    for (const job of jobs) {
      try {
        job.outcome = { ok: true, value: inSavepoint(job.write) };
      } catch (error) {
        // Some errors (disk full, I/O) make SQLite roll back the whole
        // transaction instead of the savepoint: then nothing of this batch is
        // kept, and going on would run the rest outside any transaction.
        if (!db.inTransaction) throw error;
        job.outcome = { ok: false, error };
      }
    }
  });

  function flush(): void {
    if (queue.length === 0) return;
    const jobs = queue;
    queue = [];
    let failure: { error: unknown } | null = null;
    try {
      runBatch.immediate(jobs);
    } catch (error) {
      failure = { error };
    } finally {
      afterCommit();
    }
    for (const job of jobs) {
      if (failure) job.reject(failure.error);
      else if (job.outcome?.ok) job.resolve(job.outcome.value);
      else job.reject(job.outcome ? job.outcome.error : new Error('write did not run'));
    }
  }

  function schedule(): void {
    if (scheduled || held > 0 || queue.length === 0) return;
    scheduled = true;
    // A hold that began after this was scheduled still holds: its release schedules again.
    setImmediate(() => {
      scheduled = false;
      if (held === 0) flush();
    });
  }

  return {
    run<R>(write: () => R): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        queue.push({ write, resolve: resolve as (value: unknown) => void, reject });
        schedule();
      });
    },
    flush,
    hold(until) {
      held++;
      const release = () => {
        held--;
        schedule();
      };
      until.then(release, release);
    },
  };
}
