/**
 * What only the Redis store's visitor context has: what one business event
 * costs Redis, and an erasure that reads the log in bounded steps. The
 * behaviour both stores share is in test/store-contract/visitor.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../../../test/redis-server.js';
import { ixnProfileSchema } from '../../protocol/index.js';
import { createFanoutClient } from './connection.js';
import { backfillRetentionIndexes } from './retention-backfill.js';
import { openRedisStore, type RedisStore } from './store.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.dispose();
});

const randomPrefix = () => `t${randomBytes(6).toString('hex')}:`;
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const pageInfo = { url: 'https://shop.test/', title: 'Shop', visible: true, focused: true, locale: 'en' };

async function withStore(body: (store: RedisStore, prefix: string) => Promise<void>): Promise<void> {
  const prefix = randomPrefix();
  const store = await openRedisStore({ url: server.url, prefix });
  try {
    await body(store, prefix);
  } finally {
    await store.close();
  }
}

/** Calls per command since the last reset, from INFO commandstats. */
async function commandCalls(admin: ReturnType<typeof createFanoutClient>): Promise<Map<string, number>> {
  const info = await admin.info('commandstats');
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm)) calls.set(match[1]!, Number(match[2]));
  return calls;
}

describe('redis visitor context', () => {
  it('records a business event in one script call: 8 commands inside it, none outside', async () => {
    await withStore(async (store) => {
      await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, T0);
      await store.openPage({ pageId: 'p', visitId: 'v', info: pageInfo }, T0);
      await store.recordBusinessEvent({ visitId: 'v', pageId: 'p', name: 'warm', data: {} }, T0 + 1); // script loaded
      const admin = createFanoutClient(server.url);
      await admin.connect();
      try {
        await admin.configResetStat();
        const event = { visitId: 'v', pageId: 'p', name: 'cart.updated', data: { total: 120 } };
        expect(await store.recordBusinessEvent(event, T0 + 2)).toBe('stored');
        const calls = await commandCalls(admin);
        calls.delete('info'); // this read
        calls.delete('config|resetstat');
        expect(Object.fromEntries(calls)).toEqual({
          evalsha: 1,
          // inside the script: the clock check, the page and the visit, the log, the visit's kept list
          time: 1,
          hmget: 2,
          get: 1,
          xadd: 1,
          set: 1,
          lpush: 1,
          ltrim: 1,
        });
      } finally {
        admin.destroy();
      }
    });
  });

  it("erases a browser's events from a log longer than one step, and only those", async () => {
    await withStore(async (store) => {
      // The erased visit starts after a stretch of another browser's events, then both interleave.
      await store.startVisit({ visitId: 'other', globalVisitId: 'someone-else' }, T0);
      await store.openPage({ pageId: 'other-page', visitId: 'other', info: pageInfo }, T0);
      for (let i = 0; i < 100; i++)
        await store.recordBusinessEvent({ visitId: 'other', pageId: 'other-page', name: 'before', data: { i } }, T0);
      await store.startVisit({ visitId: 'gone', globalVisitId: 'erased-browser' }, T0 + 1);
      await store.openPage({ pageId: 'gone-page', visitId: 'gone', info: pageInfo }, T0 + 1);
      for (let i = 0; i < 600; i++) {
        await store.recordBusinessEvent({ visitId: 'gone', pageId: 'gone-page', name: 'e', data: { i } }, T0 + 2);
        await store.recordBusinessEvent({ visitId: 'other', pageId: 'other-page', name: 'o', data: { i } }, T0 + 2);
      }
      const otherBefore = await store.eventsAfter(0, { types: null, visitId: 'other' }, 10_000);
      expect(otherBefore).toHaveLength(2 + 100 + 600);

      const counts = await store.eraseVisitor('erased-browser', { key: 'm', until: T0 + 1000 }, T0 + 3);
      expect(counts).toEqual({ visits: 1, pages: 1, events: 100, attempts: 0 });
      expect(await store.eventsAfter(0, { types: null, visitId: 'gone' }, 10_000)).toEqual([]);
      expect(await store.eventsAfter(0, { types: null, visitId: 'other' }, 10_000)).toEqual(otherBefore);
      const all = await store.eventsAfter(0, { types: null, visitId: null }, 10_000);
      expect(all.map((e) => e.type).at(-1)).toBe('visitor.erased');
      expect(all).toHaveLength(otherBefore.length + 1);
    });
  });

  it('finishes the log of an erasure that stopped half way when it is asked again', async () => {
    await withStore(async (store, prefix) => {
      await store.startVisit({ visitId: 'gone', globalVisitId: 'erased-browser' }, T0);
      await store.openPage({ pageId: 'gone-page', visitId: 'gone', info: pageInfo }, T0);
      await store.recordBusinessEvent({ visitId: 'gone', pageId: 'gone-page', name: 'e', data: {} }, T0 + 1);
      const admin = createFanoutClient(server.url);
      await admin.connect();
      try {
        // As a first call leaves it when it stops after its records: the visit is gone, 'erasing' names it.
        const seq = (await store.eventsAfter(0, { types: ['visit.started'], visitId: 'gone' }, 1))[0]!.seq;
        for (const key of ['v:gone', 'vp:gone', 've:gone', 'pg:gone-page', 'pages:v', 'visits:g', 'live', 'open'])
          await admin.del(`${prefix}${key}`);
        await admin.zAdd(`${prefix}erasing:m`, { score: seq, value: 'gone' });

        expect(await store.eraseVisitor('erased-browser', { key: 'm', until: T0 + 1000 }, T0 + 2)).toEqual({
          visits: 0,
          pages: 0,
          events: 0,
          attempts: 0,
        });
        expect(await store.eventsAfter(0, { types: null, visitId: 'gone' }, 100)).toEqual([]);
        expect(await admin.exists(`${prefix}erasing:m`)).toBe(0);
      } finally {
        admin.destroy();
      }
    });
  });

  it('indexes visits, pages and attempts written before visitor context (retention-backfill.ts), once', async () => {
    await withStore(async (store, prefix) => {
      await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, T0);
      await store.openPage({ pageId: 'p', visitId: 'v', info: pageInfo }, T0 + 1);
      await store.createAttempt(ixnProfileSchema.parse({ interactionId: 'i', visitId: 'v' }), {
        exclusive: true,
        now: T0 + 2,
        place: true,
      });
      await store.transition({ interactionId: 'i', from: ['pending'], to: 'expired', at: T0 + 3 });
      const history = await store.visitHistory('v');
      expect(history!.attempts).toHaveLength(1);
      expect(history!.pages).toHaveLength(1);
      const admin = createFanoutClient(server.url);
      await admin.connect();
      try {
        // As a store written before this version left them.
        await admin.del([`${prefix}visits:g`, `${prefix}pages:v`]);
        await admin.zRemRangeByLex(`${prefix}attempts:ix`, '[h:', '(h;');
        await admin.hDel(`${prefix}v:v`, 'ss');
        await admin.hDel(`${prefix}pg:p`, 'enteredAt');
        await admin.hDel(`${prefix}a:i`, 'hm');
        expect(await store.visitorVisits('g', { after: null, limit: 10 })).toEqual({ visits: [], more: false });
        expect((await store.visitHistory('v'))!.attempts).toEqual([]);

        expect((await backfillRetentionIndexes(server.url, prefix)).history).toBe(3);
        expect((await backfillRetentionIndexes(server.url, prefix)).history).toBe(0);
        expect(await store.visitHistory('v')).toEqual(history);
        expect(await store.visitorVisits('g', { after: null, limit: 10 })).toEqual({ visits: [history], more: false });
        // And an erasure finds all of it, reading the log from its start (the visit's start is not known).
        expect(await store.eraseVisitor('g', { key: 'm', until: T0 + 1000 }, T0 + 10)).toEqual({
          visits: 1,
          pages: 1,
          events: 0,
          attempts: 1,
        });
        expect(await store.eventsAfter(0, { types: null, visitId: 'v' }, 100)).toEqual([]);
      } finally {
        admin.destroy();
      }
    });
  });
});
