/**
 * What only the SQLite store has: its migrations, on a real file. The store
 * contract, which both stores pass, is in test/store-contract/.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ixnProfileSchema } from '../../protocol/index.js';
import { MIGRATIONS } from './migrations.js';
import { openSqliteStore } from './store.js';

describe('sqlite migrations', () => {
  /** The index of the migration that added attempt retention (settled_at): the files before it had this version. */
  const ATTEMPT_RETENTION_MIGRATION = MIGRATIONS.findIndex((sql) => sql.includes('ADD COLUMN settled_at'));

  it('gives attempts settled before the attempt retention their settle time, from their transitions', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'beckon-store-'));
    const file = join(dir, 'beckon.db');
    const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
    try {
      let store = openSqliteStore(file);
      await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, T0);
      const create = (interactionId: string) =>
        store.createAttempt(ixnProfileSchema.parse({ interactionId, visitId: 'v' }), {
          exclusive: false,
          now: T0,
          place: false,
        });
      await create('accepted');
      await store.transition({
        interactionId: 'accepted',
        from: ['pending'],
        to: 'delivered',
        at: T0 + 1,
        pageId: 'p',
        timeoutAt: T0 + 60_000,
      });
      await store.transition({ interactionId: 'accepted', from: ['delivered'], to: 'accepted', at: T0 + 7 });
      await create('timed-out');
      await store.transition({
        interactionId: 'timed-out',
        from: ['pending'],
        to: 'delivered',
        at: T0 + 1,
        pageId: 'p',
        timeoutAt: T0 + 60,
      });
      await store.transition({ interactionId: 'timed-out', from: ['delivered'], to: 'timed_out', at: T0 + 60 });
      await store.createTombstone({ interactionId: 'tombstone', visitId: null, reason: null }, T0 + 3);
      await create('pending');
      await store.close();

      // The file as the version before the attempt retention left it: that migration and every one after
      // it undone (visitor context, the channels' tables and column came later).
      const db = new Database(file);
      db.exec(`DROP TABLE erasures; DROP TABLE business_events; DROP INDEX visits_browser;
        DROP INDEX engagements_browser; ALTER TABLE engagements DROP COLUMN global_visit_id;
        ALTER TABLE visits DROP COLUMN user_id; ALTER TABLE visits DROP COLUMN verified;
        ALTER TABLE visits DROP COLUMN traits; ALTER TABLE visits DROP COLUMN identified_at;
        DROP TABLE channels; DROP TABLE channels_version; DROP TABLE channel_load; DROP TABLE channel_outcomes;
        ALTER TABLE engagements DROP COLUMN paced_channels;
        DROP INDEX engagements_settled; ALTER TABLE engagements DROP COLUMN settled_at`);
      db.pragma(`user_version = ${ATTEMPT_RETENTION_MIGRATION}`);
      db.close();

      store = openSqliteStore(file);
      const settled = new Database(file, { readonly: true });
      expect(
        settled.prepare('SELECT interaction_id, settled_at FROM engagements ORDER BY settled_at, interaction_id').all(),
      ).toEqual([
        { interaction_id: 'pending', settled_at: null },
        { interaction_id: 'tombstone', settled_at: T0 + 3 },
        { interaction_id: 'accepted', settled_at: T0 + 7 },
        { interaction_id: 'timed-out', settled_at: T0 + 60 },
      ]);
      settled.close();
      expect(await store.pruneAttempts(T0 + 50, 100)).toBe(2);
      expect(await store.getEngagement('timed-out')).toMatchObject({ state: 'timed_out' });
      expect(await store.getEngagement('pending')).toMatchObject({ state: 'pending' });
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
