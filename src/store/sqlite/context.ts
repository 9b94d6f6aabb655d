/**
 * What every part of the SQLite store shares: the one connection, the group
 * commit every write goes through, the event log that each change writes
 * its event to, inside its own transaction, and the WAL's checkpointer.
 */
import type Database from 'better-sqlite3';
import type { EventDraft } from '../../core/events.js';
import type { GroupCommit } from './group-commit.js';

export interface SqliteContext {
  db: Database.Database;
  /** Runs a change (synchronous work on `db`, usually a `db.transaction`) in the next group commit. */
  write: GroupCommit['run'];
  /** Writes one event to the log; only ever called inside the transaction of the change it reports. */
  recordEvent(draft: EventDraft): void;
  /**
   * Copies the whole WAL into the file and empties it, waiting at most
   * `waitMs` for other connections; resolves to whether it finished.
   */
  truncateWal(waitMs: number): Promise<boolean>;
}
