import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { groupCommit, type GroupCommit } from './group-commit.js';

// A real SQLite file in WAL mode, as the store opens it, and a second
// connection that sees only what was committed.
let dir: string;
let db: Database.Database;
let reader: Database.Database;
let writes: GroupCommit;
let batches: number;

/** Frames in the WAL now: every commit appends at least one. */
const walFrames = () => (db.pragma('wal_checkpoint(PASSIVE)') as { log: number }[])[0]!.log;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'beckon-group-commit-'));
  db = new Database(join(dir, 'test.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  // Keep every frame in the WAL so that the test can count commits.
  db.pragma('wal_autocheckpoint = 0');
  db.exec('CREATE TABLE items (id TEXT PRIMARY KEY, state TEXT NOT NULL)');
  reader = new Database(join(dir, 'test.db'), { readonly: true });
  batches = 0;
  writes = groupCommit(db, () => batches++);
});

afterEach(() => {
  reader.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const insert = (id: string) => db.transaction(() => void db.prepare('INSERT INTO items VALUES (?, ?)').run(id, 'new'));
/** A compare-and-set, as the store's transitions are. */
const move = (id: string, from: string, to: string) =>
  db.transaction(
    () => db.prepare('UPDATE items SET state = ? WHERE id = ? AND state = ?').run(to, id, from).changes === 1,
  );
const committed = (id: string) =>
  reader.prepare('SELECT state FROM items WHERE id = ?').get(id) as { state: string } | undefined;

describe('group commit', () => {
  it('starts no batch while held, and commits what queued meanwhile together once released', async () => {
    let release!: () => void;
    writes.hold(new Promise<void>((resolve) => (release = resolve)));
    const settled: string[] = [];
    const pending = Array.from({ length: 10 }, (_, i) =>
      writes.run(insert(`held-${i}`)).then(() => settled.push(`held-${i}`)),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(batches).toBe(0);
    expect(settled).toEqual([]);
    expect(committed('held-0')).toBeUndefined();
    release();
    await Promise.all(pending);
    expect(batches).toBe(1);
    expect(committed('held-9')).toEqual({ state: 'new' });
  });

  it('holds a batch that was already scheduled when the hold began', async () => {
    const first = writes.run(insert('scheduled-before-hold'));
    let release!: () => void;
    writes.hold(new Promise<void>((resolve) => (release = resolve)));
    const second = writes.run(insert('queued-during-hold'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(batches).toBe(0);
    expect(committed('scheduled-before-hold')).toBeUndefined();
    release();
    await Promise.all([first, second]);
    expect(batches).toBe(1);
    expect(committed('queued-during-hold')).toEqual({ state: 'new' });
  });

  it('commits the writes of one turn together, in one transaction', async () => {
    const before = walFrames();
    await Promise.all(Array.from({ length: 50 }, (_, i) => writes.run(insert(`together-${i}`))));
    const together = walFrames() - before;
    expect(batches).toBe(1);

    for (let i = 0; i < 50; i++) await writes.run(insert(`apart-${i}`));
    const apart = walFrames() - before - together;
    expect(batches).toBe(51);
    // Fifty rows on one page: one commit writes it once; fifty commits write it fifty times.
    expect(together).toBeLessThan(5);
    expect(apart).toBeGreaterThanOrEqual(50);
  });

  it('settles a write only once it is committed and visible to other connections', async () => {
    const done = writes.run(insert('durable'));
    expect(committed('durable')).toBeUndefined();
    await done;
    expect(committed('durable')).toEqual({ state: 'new' });
  });

  it('runs the writes in the order asked, each seeing the ones before it', async () => {
    const results = await Promise.all([
      writes.run(insert('order')),
      writes.run(move('order', 'new', 'delivered')),
      writes.run(move('order', 'new', 'cancelled')), // lost the race: already delivered
      writes.run(move('order', 'delivered', 'accepted')),
    ]);
    expect(results).toEqual([undefined, true, false, true]);
    expect(committed('order')).toEqual({ state: 'accepted' });
  });

  it('rolls back and rejects a failing write alone; the others of its batch commit', async () => {
    const outcomes = await Promise.allSettled([
      writes.run(insert('kept-1')),
      // A plain function, not a transaction: the group commit gives each write its own savepoint.
      writes.run(() => {
        db.prepare('INSERT INTO items VALUES (?, ?)').run('half-done', 'new');
        throw new Error('refused half way');
      }),
      writes.run(insert('kept-1')), // primary key taken by the first
      writes.run(insert('kept-2')),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason.message).toBe('refused half way');
    expect(committed('half-done')).toBeUndefined();
    expect(committed('kept-1')).toEqual({ state: 'new' });
    expect(committed('kept-2')).toEqual({ state: 'new' });
    expect(batches).toBe(1);
  });

  it('rejects every write of a batch that could not commit, and keeps none of it', async () => {
    // Another connection holds the write lock past the busy timeout.
    db.pragma('busy_timeout = 50');
    const other = new Database(join(dir, 'test.db'));
    other.exec('BEGIN IMMEDIATE');
    try {
      const outcomes = await Promise.allSettled([writes.run(insert('blocked-1')), writes.run(insert('blocked-2'))]);
      expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
      expect((outcomes[0] as PromiseRejectedResult).reason.code).toBe('SQLITE_BUSY');
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect(committed('blocked-1')).toBeUndefined();
    // And the next batch works.
    await writes.run(insert('after'));
    expect(committed('after')).toEqual({ state: 'new' });
  });

  it('flush commits what is queued at once (the store calls it before closing)', async () => {
    const queued = writes.run(insert('flushed'));
    writes.flush();
    expect(committed('flushed')).toEqual({ state: 'new' });
    await expect(queued).resolves.toBeUndefined();
  });
});
