/**
 * What only the Redis store's invitations have: the seq their events take
 * with INCR beside the scripts that take it with GET and SET. The behaviour both stores share is
 * in test/store-contract/.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../../../test/redis-server.js';
import { ixnProfileSchema } from '../../protocol/index.js';
import { createFanoutClient } from './connection.js';
import { openRedisStore, type RedisStore } from './store.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.dispose();
});

type Admin = ReturnType<typeof createFanoutClient>;
const randomPrefix = () => `t${randomBytes(6).toString('hex')}:`;
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const pageInfo = { url: 'https://shop.test/cart', title: 'Shop', visible: true, focused: true, locale: 'en' };

async function withStore(body: (store: RedisStore, admin: Admin, prefix: string) => Promise<void>): Promise<void> {
  const prefix = randomPrefix();
  const store = await openRedisStore({ url: server.url, prefix });
  const admin = createFanoutClient(server.url);
  await admin.connect();
  try {
    await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, T0);
    await store.openPage({ pageId: 'p', visitId: 'v', info: pageInfo }, T0);
    await body(store, admin, prefix);
  } finally {
    admin.destroy();
    await store.close();
  }
}

/** An engage as the core makes it (placed, paced by the settings' version), then its show and decline. */
const engage = (store: RedisStore, interactionId: string, at: number) =>
  store.createAttempt(ixnProfileSchema.parse({ interactionId, visitId: 'v' }), {
    exclusive: false,
    now: at,
    place: true,
    channelsVersion: 0,
  });
const show = (store: RedisStore, interactionId: string, at: number) =>
  store.transition({
    interactionId,
    visitId: 'v',
    from: ['pending'],
    to: 'delivered',
    at,
    pageId: 'p',
    timeoutFromAttempt: true,
  });
const decline = (store: RedisStore, interactionId: string, at: number) =>
  store.transition({ interactionId, visitId: 'v', from: ['pending', 'delivered'], to: 'declined', at, pageId: 'p' });

const seqOf = async (admin: Admin, prefix: string) => Number(await admin.get(`${prefix}seq`));
const logIds = async (admin: Admin, prefix: string) =>
  ((await admin.xRange(`${prefix}log`, '-', '+')) ?? []).map((e) => e.id);

describe('redis invitations', () => {
  it('takes the same consecutive seqs with INCR as the scripts that GET and SET it, in any order', async () => {
    await withStore(async (store, admin, prefix) => {
      const first = await seqOf(admin, prefix);
      await engage(store, 'i', T0 + 1);
      await store.recordBusinessEvent({ visitId: 'v', pageId: 'p', name: 'cart.updated', data: {} }, T0 + 2);
      await show(store, 'i', T0 + 3);
      await store.recordBusinessEvent({ visitId: 'v', pageId: 'p', name: 'cart.updated', data: {} }, T0 + 4);
      await decline(store, 'i', T0 + 5);
      expect(await seqOf(admin, prefix)).toBe(first + 5);
      expect((await logIds(admin, prefix)).slice(-5)).toEqual([1, 2, 3, 4, 5].map((n) => `${first + n}-0`));
      const events = await store.eventsAfter(first, { types: null, visitId: null }, 10);
      expect(events.map((e) => [e.seq, e.type])).toEqual([
        [first + 1, 'engagement.pending'],
        [first + 2, 'page.event'],
        [first + 3, 'engagement.delivered'],
        [first + 4, 'page.event'],
        [first + 5, 'engagement.declined'],
      ]);
    });
  });

  it('starts a new epoch above the log when an invitation finds the seq missing', async () => {
    await withStore(async (store, admin, prefix) => {
      const before = await seqOf(admin, prefix);
      await admin.del(`${prefix}seq`);
      await engage(store, 'i', T0 + 1);
      const after = await seqOf(admin, prefix);
      expect(after).toBeGreaterThan(before);
      expect(String(after)).toMatch(/^\d{1,15}$/);
      expect((await logIds(admin, prefix)).at(-1)).toBe(`${after}-0`);
      await show(store, 'i', T0 + 2);
      expect(await seqOf(admin, prefix)).toBe(after + 1);
    });
  });

  it('changes nothing, the seq included, when the log refuses the event of an invitation', async () => {
    await withStore(async (store, admin, prefix) => {
      await engage(store, 'i', T0 + 1);
      const top = await seqOf(admin, prefix);
      // A seq behind the log's newest entry (the log restored apart from it): its XADD is refused.
      await admin.set(`${prefix}seq`, String(top - 1));
      const before = await admin.hGetAll(`${prefix}a:i`);
      await expect(show(store, 'i', T0 + 2)).rejects.toThrow(/XADD/i);
      expect(await admin.get(`${prefix}seq`)).toBe(String(top - 1));
      expect(await admin.hGetAll(`${prefix}a:i`)).toEqual(before);
      await expect(engage(store, 'j', T0 + 3)).rejects.toThrow(/XADD/i);
      expect(await admin.get(`${prefix}seq`)).toBe(String(top - 1));
      expect(await admin.exists(`${prefix}a:j`)).toBe(0);
    });
  });
});
