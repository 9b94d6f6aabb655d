/**
 * The embedded store: one SQLite file (better-sqlite3, WAL). Writes run in
 * IMMEDIATE transactions, so the check and the change of every
 * compare-and-set are atomic even with several processes on one file.
 *
 * This module opens the file and composes the store from its parts, one per
 * part of the interface (core/store.ts; in words: docs/store-contract.md):
 *   presence.ts    visits, their pages, browsers' opt-outs
 *   nodes.ts       boots, their heartbeats, and the pages each holds
 *   attempts.ts    attempts and their transitions, the opt-out's declines, retention of settled attempts
 *   deadlines.ts   expiries, timeouts, and visits idle long enough to end
 *   event-log.ts   the ordered event log and its listeners
 *   webhooks.ts    the webhook outbox
 *   reports.ts     report counters and the export
 *   caps.ts        frequency caps' budgets and declines
 *   channels.ts    channel settings, capacity reports and pacing counts
 *   visitor.ts     business events, identity, history, erasure of a browser
 * rows.ts reads rows as records; every write of every part goes through one
 * group commit (group-commit.ts), and a change, its event, its counters and
 * its caps budget are one transaction.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { BeckonStore } from '../../core/store.js';
import { sqliteAttempts } from './attempts.js';
import { sqliteCaps } from './caps.js';
import { sqliteChannels } from './channels.js';
import { sqliteVisitor } from './visitor.js';
import { mainTruncate, walCheckpoints, type CheckpointOptions } from './checkpoints.js';
import type { SqliteContext } from './context.js';
import { sqliteDeadlines } from './deadlines.js';
import { sqliteEventLog } from './event-log.js';
import { groupCommit } from './group-commit.js';
import { migrate } from './migrations.js';
import { sqliteNodes } from './nodes.js';
import { sqlitePresence } from './presence.js';
import { sqliteReportStore, sqliteReports } from './reports.js';
import { sqliteWebhooks } from './webhooks.js';

/**
 * Opens (creating if needed) the SQLite store at `file`; `:memory:` works for tests.
 * `checkpoints` changes when the WAL is checkpointed (checkpoints.ts; tests make it small).
 */
export function openSqliteStore(file: string, checkpoints?: CheckpointOptions): BeckonStore {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // NORMAL is durable across process crashes in WAL mode (only power loss can drop the last commits).
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  // Deleted rows are overwritten with zeros, not merely unlinked: an erased browser's ids must not
  // linger in free space of the file (docs/decisions.md, "Visitor context").
  db.pragma('secure_delete = ON');
  migrate(db);

  const log = sqliteEventLog(db);
  // Every write goes through the group commit; after each batch, the event
  // log tells its listeners if the batch wrote events, and the checkpointer
  // that the WAL has grown.
  const writes = groupCommit(db, () => {
    log.afterCommit();
    wal?.committed();
  });
  // A file's WAL is checkpointed by a worker thread, not by the commits on the event loop; `:memory:` has no WAL.
  const wal = file === ':memory:' ? null : walCheckpoints(db, file, checkpoints, writes.hold);
  const context: SqliteContext = {
    db,
    write: writes.run,
    recordEvent: log.record,
    truncateWal: async (waitMs) => (wal ? wal.truncate(waitMs) : mainTruncate(db, waitMs)),
  };

  // Report counters and caps budgets: written inside the attempts' transactions, next to the change they count.
  const reports = sqliteReports(db);
  const caps = sqliteCaps(db);
  const presence = sqlitePresence(context);
  const channels = sqliteChannels(context);

  return {
    kind: 'sqlite',
    ...presence.methods,
    ...sqliteNodes(context),
    ...sqliteAttempts(context, { presence, reports, caps, channels: channels.channels }),
    ...channels.store,
    ...sqliteDeadlines(context),
    ...log.methods(writes.run),
    ...sqliteWebhooks(context, log),
    ...sqliteReportStore(context, reports),
    ...sqliteVisitor(context, { channels: channels.channels }),
    async durabilityWarnings() {
      // WAL with synchronous=NORMAL survives a crash of the process; only `:memory:` forgets at exit.
      return file === ':memory:' ? ['BECKON_DB is :memory:: everything is lost when the process exits.'] : [];
    },
    async ping() {
      try {
        db.prepare('SELECT 1').get();
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      if (!db.open) return;
      writes.flush();
      // The worker stops first, so that the serving connection is the last one open here and its close
      // checkpoints the whole WAL into the file (and removes it, when no other process has the file open).
      await wal?.close();
      if (!db.open) return;
      writes.flush();
      db.close();
    },
  };
}
