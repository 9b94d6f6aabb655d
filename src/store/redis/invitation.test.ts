/**
 * What only the Redis store's invitations have: the commands an invitation
 * runs inside its scripts, and the seq its events take with INCR beside the
 * scripts that take it with GET and SET. The behaviour both stores share is
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

/**
 * The commands of one store call, from MONITOR, which tells the commands a
 * script runs ('[0 lua]') from those a client sends: those inside its scripts
 * by name, `evalsha` for the script calls, and any other command the store
 * sent as 'sent <name>'. The connection watchdog's TIME, sent every second
 * whatever the store does, is left out.
 */
async function countedAlone(admin: Admin, lines: string[], call: () => Promise<unknown>) {
  const from = lines.length;
  await call();
  const marker = `counted-${randomBytes(4).toString('hex')}`;
  await admin.echo(marker);
  while (!lines.slice(from).some((line) => line.includes(marker))) await new Promise((r) => setTimeout(r, 5));
  const calls: Record<string, number> = {};
  for (const line of lines.slice(from)) {
    const match = /\[\d+ ([^\]]+)\] "(\w+)"/.exec(line);
    if (!match) continue;
    const name = match[2]!.toLowerCase();
    const inScript = match[1] === 'lua';
    if (!inScript && (name === 'time' || name === 'echo')) continue;
    const key = inScript || name === 'evalsha' ? name : `sent ${name}`;
    calls[key] = (calls[key] ?? 0) + 1;
  }
  return calls;
}

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

  it('runs 30 commands inside its three scripts, one script call each', async () => {
    await withStore(async (store, admin) => {
      // Every script loaded first (a first call may load it with SCRIPT LOAD).
      await engage(store, 'warm', T0);
      await show(store, 'warm', T0 + 1);
      await decline(store, 'warm', T0 + 2);
      const monitor = createFanoutClient(server.url);
      await monitor.connect();
      const lines: string[] = [];
      await monitor.monitor((line) => lines.push(line));
      let created, shown, declined;
      try {
        created = await countedAlone(admin, lines, () => engage(store, 'i', T0 + 10));
        shown = await countedAlone(admin, lines, () => show(store, 'i', T0 + 11));
        declined = await countedAlone(admin, lines, () => decline(store, 'i', T0 + 12));
      } finally {
        monitor.destroy();
      }
      expect(created).toEqual({
        evalsha: 1,
        // the clock check; the checks: the id, the settings' version, the visit, the opt-out, the visit's
        // attempt in progress, its open pages (placement)
        time: 1,
        exists: 1,
        get: 1,
        hmget: 1,
        hget: 1,
        zrangebylex: 1,
        hgetall: 1,
        // the event, the attempt, its four entries in the index of attempts (in progress by visit and by
        // browser, by creation, its history) in one command, its deadline, and the report's count
        incr: 1,
        xadd: 1,
        hset: 1,
        zadd: 2,
        hincrby: 1,
      });
      expect(shown).toEqual({
        evalsha: 1,
        // the clock check, the attempt, the event, its deadlines (its timeout set, its expiry parked), the
        // path of its page, the count, the attempt
        time: 1,
        hgetall: 1,
        incr: 1,
        xadd: 1,
        zadd: 1,
        hget: 1,
        hincrby: 1,
        hset: 1,
      });
      expect(declined).toEqual({
        evalsha: 1,
        // the clock check, the attempt, the event, its two entries in progress (one command) and its
        // deadlines, the settled index, the count, the attempt
        time: 1,
        hgetall: 1,
        incr: 1,
        xadd: 1,
        zrem: 2,
        zadd: 1,
        hincrby: 1,
        hset: 1,
      });
      const inScripts = [created, shown, declined].reduce(
        (sum, calls) => sum + Object.values(calls).reduce((a, b) => a + b, 0) - (calls.evalsha ?? 0),
        0,
      );
      expect(inScripts).toBe(30);
    });
  });
});
