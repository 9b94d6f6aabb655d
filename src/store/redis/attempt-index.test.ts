/**
 * A store written by an older version, which kept the four attempt indexes
 * in keys of their own (`active`, `active:g`, `created`, `attempts:g`):
 * opening it moves them into `attempts:ix`, and every reader finds the
 * attempts there; the move drops what was left in progress by attempts that
 * settled or are gone, and is safe to run again and from two nodes at once.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../../../test/redis-server.js';
import { ixnProfileSchema } from '../../protocol/index.js';
import { createFanoutClient } from './connection.js';
import { openRedisStore, type RedisStore } from './store.js';
import { migrateAttemptIndexAt } from './attempt-index.js';
import { lexPrefix } from './records.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.dispose();
});

type Admin = ReturnType<typeof createFanoutClient>;
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const pageInfo = { url: 'https://shop.test/cart', title: 'Shop', visible: true, focused: true, locale: 'en' };
/** The key each tag's family was kept in before attempts:ix. */
const FORMER: Record<string, string> = { 'a:': 'active', 'b:': 'active:g', 'c:': 'created', 'h:': 'attempts:g' };

const engage = (store: RedisStore, interactionId: string, visitId: string, now: number) =>
  store.createAttempt(ixnProfileSchema.parse({ interactionId, visitId }), { exclusive: false, now, place: true });

/**
 * Attempts of every kind, on two visits of one browser (the visit 'v' with
 * a non-ASCII id, so that members count bytes): one settled after a show,
 * one pending, a tombstone of the visit and one of no visit, and one pending
 * on the other visit. Returns what attempts:ix holds for them.
 */
async function writeAttempts(store: RedisStore, admin: Admin, prefix: string): Promise<string[]> {
  await store.startVisit({ visitId: 'vé', globalVisitId: 'g' }, T0);
  await store.openPage({ pageId: 'p', visitId: 'vé', info: pageInfo }, T0);
  await store.startVisit({ visitId: 'w', globalVisitId: 'g' }, T0);
  await store.openPage({ pageId: 'q', visitId: 'w', info: pageInfo }, T0);
  expect((await engage(store, 'settled', 'vé', T0 + 1)).kind).toBe('created');
  await store.transition({ interactionId: 'settled', from: ['pending'], to: 'delivered', at: T0 + 2, pageId: 'p' });
  await store.transition({ interactionId: 'settled', from: ['delivered'], to: 'declined', at: T0 + 3, pageId: 'p' });
  expect((await engage(store, 'pending', 'vé', T0 + 10)).kind).toBe('created');
  await store.createTombstone({ interactionId: 'tomb', visitId: 'vé', reason: null }, T0 + 11);
  await store.createTombstone({ interactionId: 'tomb-alone', visitId: null, reason: null }, T0 + 12);
  expect((await engage(store, 'other', 'w', T0 + 20)).kind).toBe('created');
  return (await admin.zRange(`${prefix}attempts:ix`, 0, -1)).sort();
}

/**
 * attempts:ix turned back into the four keys an older version wrote: the
 * same members without their tag (an attempt's hash holds them so in both
 * versions), plus what the move must drop: the members in progress of an
 * attempt that settled, and of one that is gone.
 */
async function asOlderVersionLeftIt(admin: Admin, prefix: string): Promise<void> {
  for (const member of await admin.zRange(`${prefix}attempts:ix`, 0, -1)) {
    const key = FORMER[member.slice(0, 2)];
    expect(key).toBeDefined();
    await admin.zAdd(`${prefix}${key}`, { score: 0, value: member.slice(2) });
  }
  await admin.del(`${prefix}attempts:ix`);
  const settled = await admin.hmGet(`${prefix}a:settled`, ['am', 'gm']);
  await admin.zAdd(`${prefix}active`, { score: 0, value: settled[0]! });
  await admin.zAdd(`${prefix}active:g`, { score: 0, value: settled[1]! });
  const seq = '9'.repeat(20);
  await admin.zAdd(`${prefix}active`, {
    score: 0,
    value: `${lexPrefix('vé')}${String(T0 + 5).padStart(15, '0')}:${seq}:gone`,
  });
  await admin.zAdd(`${prefix}active:g`, { score: 0, value: `${lexPrefix('g')}${seq}:gone` });
}

async function withOldStore(
  body: (store: RedisStore, admin: Admin, prefix: string, expected: string[]) => Promise<void>,
): Promise<void> {
  const prefix = `t${randomBytes(6).toString('hex')}:`;
  const admin = createFanoutClient(server.url);
  await admin.connect();
  try {
    const before = await openRedisStore({ url: server.url, prefix });
    let expected: string[];
    try {
      expected = await writeAttempts(before, admin, prefix);
    } finally {
      await before.close();
    }
    await asOlderVersionLeftIt(admin, prefix);
    const store = await openRedisStore({ url: server.url, prefix });
    try {
      await body(store, admin, prefix, expected);
    } finally {
      await store.close();
    }
  } finally {
    admin.destroy();
  }
}

const former = (prefix: string) => Object.values(FORMER).map((key) => `${prefix}${key}`);

describe('the index of attempts of a store an older version wrote', () => {
  it('is moved when the store opens, and every reader finds the attempts there', async () => {
    await withOldStore(async (store, admin, prefix, expected) => {
      expect(await admin.exists(former(prefix))).toBe(0);
      expect((await admin.zRange(`${prefix}attempts:ix`, 0, -1)).sort()).toEqual(expected);
      // A visit's attempt in progress: read, refused beside, placed.
      expect((await store.activeEngagements('vé')).map((e) => e.interactionId)).toEqual(['pending']);
      const busy = await store.createAttempt(ixnProfileSchema.parse({ interactionId: 'busy', visitId: 'vé' }), {
        exclusive: true,
        now: T0 + 30,
        place: true,
      });
      expect(busy).toMatchObject({ kind: 'visit-busy', active: { interactionId: 'pending' } });
      const live = await store.liveVisits();
      expect(Object.fromEntries(live.map((visit) => [visit.visitId, visit.activeInteractionId]))).toEqual({
        vé: 'pending',
        w: 'other',
      });
      // A visit's history, and a browser's visits.
      expect((await store.visitHistory('vé'))!.attempts.map((e) => e.interactionId)).toEqual([
        'settled',
        'pending',
        'tomb',
      ]);
      // The export by creation, in createdAt then id order, a page at a time.
      const first = await store.engagementsCreated({ from: T0, to: T0 + 100, after: null, limit: 3 });
      const last = first.at(-1)!;
      const rest = await store.engagementsCreated({
        from: T0,
        to: T0 + 100,
        after: { createdAt: Date.parse(last.createdAt), interactionId: last.interactionId },
        limit: 10,
      });
      expect([...first, ...rest].map((e) => e.interactionId)).toEqual([
        'settled',
        'pending',
        'tomb',
        'tomb-alone',
        'other',
      ]);
      // Again, by hand: nothing left to move.
      expect(await migrateAttemptIndexAt(server.url, prefix)).toEqual({ moved: 0, dropped: 0 });
      // Retention: the settled attempts go with every entry that names them.
      expect(await store.pruneAttempts(T0 + 1000, 100)).toBe(3);
      expect((await admin.zRange(`${prefix}attempts:ix`, 0, -1)).sort()).toEqual(
        expected.filter((member) => !/:(settled|tomb|tomb-alone)$/.test(member)),
      );
    });
  });

  it('takes migrated attempts in progress out on an opt-out, and all of them on an erasure', async () => {
    await withOldStore(async (store, admin, prefix) => {
      const declined = await store.setOptOut('g', true, T0 + 40);
      expect(declined.map((e) => [e.interactionId, e.state]).sort()).toEqual([
        ['other', 'declined'],
        ['pending', 'declined'],
      ]);
      expect(await store.activeEngagements('vé')).toEqual([]);
      expect(await store.eraseVisitor('g', { key: 'm', until: T0 + 100_000 }, T0 + 50)).toMatchObject({
        visits: 2,
        attempts: 4,
      });
      // What is left names no visit: the tombstone of none, by creation.
      expect(await admin.zRange(`${prefix}attempts:ix`, 0, -1)).toEqual([
        `c:${String(T0 + 12).padStart(15, '0')}:tomb-alone`,
      ]);
    });
  });

  it('costs a store with nothing to move one EXISTS of the four former keys when it opens', async () => {
    const prefix = `t${randomBytes(6).toString('hex')}:`;
    const monitor = createFanoutClient(server.url);
    await monitor.connect();
    const lines: string[] = [];
    await monitor.monitor((line) => lines.push(line));
    try {
      const store = await openRedisStore({ url: server.url, prefix });
      await store.close();
    } finally {
      monitor.destroy();
    }
    expect(lines.filter((line) => line.includes(prefix)).map((line) => line.replace(/^.*?\] /, ''))).toEqual([
      former(prefix)
        .map((key) => `"${key}"`)
        .reduce((command, key) => `${command} ${key}`, '"EXISTS"'),
    ]);
  });

  it('moves each member once when two nodes move it at once, and drops what is no longer in progress', async () => {
    const prefix = `t${randomBytes(6).toString('hex')}:`;
    const admin = createFanoutClient(server.url);
    await admin.connect();
    try {
      const store = await openRedisStore({ url: server.url, prefix });
      let expected: string[];
      try {
        expected = await writeAttempts(store, admin, prefix);
        for (let i = 0; i < 40; i++) {
          await store.createTombstone(
            { interactionId: `t${i}`, visitId: i % 2 ? 'w' : null, reason: null },
            T0 + 30 + i,
          );
        }
        expected = (await admin.zRange(`${prefix}attempts:ix`, 0, -1)).sort();
      } finally {
        await store.close();
      }
      await asOlderVersionLeftIt(admin, prefix);
      const [one, two] = await Promise.all([
        migrateAttemptIndexAt(server.url, prefix, 7),
        migrateAttemptIndexAt(server.url, prefix, 7),
      ]);
      expect(one.moved + two.moved).toBe(expected.length);
      expect(one.dropped + two.dropped).toBe(4);
      expect(await admin.exists(former(prefix))).toBe(0);
      expect((await admin.zRange(`${prefix}attempts:ix`, 0, -1)).sort()).toEqual(expected);
    } finally {
      admin.destroy();
    }
  });
});
