/**
 * What only the SQLite store has: its migrations, and what an erasure leaves
 * in the bytes of the file, on a real file. The store contract, which both
 * stores pass, is in test/store-contract/.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ixnProfileSchema } from '../../protocol/index.js';
import type { BeckonStore } from '../../core/store.js';
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

describe('sqlite erasure, in the bytes of the file', () => {
  it("leaves none of an erased browser's ids in the database file or its WAL, not even in free space", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'beckon-store-'));
    const file = join(dir, 'beckon.db');
    const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
    const info = { url: 'https://shop.test/', title: 'Shop', visible: true, focused: true, locale: 'en' };
    /** A browser whose rows are written, rewritten and moved: each update may leave an old copy of a row behind. */
    const browse = async (store: BeckonStore, tag: string, at: number) => {
      const visitId = `VISIT-${tag}-bytes`;
      await store.startVisit({ visitId, globalVisitId: `GVID-${tag}-bytes` }, at);
      for (let n = 0; n < 20; n++) {
        const pageId = `PAGE-${tag}-bytes-${n}`;
        await store.openPage({ pageId, visitId, info }, at + n);
        await store.updatePage(pageId, { title: `Shop ${'x'.repeat(n * 7)}` }, at + n);
        await store.recordBusinessEvent({ visitId, pageId, name: 'viewed', data: { sku: `SKU-${tag}-${n}` } }, at + n);
        await store.changeIdentity(
          visitId,
          pageId,
          { kind: 'user-info', traits: { [`t${n}`]: 'y'.repeat(n) } },
          at + n,
        );
        if (n < 19) await store.closePage(pageId, at + n);
      }
      await store.changeIdentity(
        visitId,
        `PAGE-${tag}-bytes-19`,
        { kind: 'sign-in', userId: `USER-${tag}-bytes`, verified: true, traits: {} },
        at + 30,
      );
      await store.createAttempt(ixnProfileSchema.parse({ interactionId: `ixn-${tag}`, visitId }), {
        exclusive: true,
        now: at + 31,
        place: true,
      });
      await store.transition({
        interactionId: `ixn-${tag}`,
        from: ['pending'],
        to: 'delivered',
        at: at + 32,
        timeoutAt: at + 60_000,
      });
    };
    const bytes = () =>
      ['beckon.db', 'beckon.db-wal']
        .filter((name) => existsSync(join(dir, name)))
        .map((name) => readFileSync(join(dir, name)).toString('latin1'))
        .join('');
    const idsOf = (tag: string) => [
      `GVID-${tag}-bytes`,
      `VISIT-${tag}-bytes`,
      `PAGE-${tag}-bytes-`,
      `USER-${tag}-bytes`,
      `SKU-${tag}-`,
    ];
    try {
      const store = openSqliteStore(file);
      await browse(store, 'erase', T0);
      await browse(store, 'keep', T0 + 1000);
      const before = bytes();
      for (const id of [...idsOf('erase'), ...idsOf('keep')]) expect(before).toContain(id);

      await store.eraseVisitor('GVID-erase-bytes', { key: 'marker', until: T0 + 86_400_000 }, T0 + 2000);
      const after = bytes();
      for (const id of idsOf('erase')) expect(after.includes(id), id).toBe(false);
      for (const id of idsOf('keep')) expect(after).toContain(id);
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
