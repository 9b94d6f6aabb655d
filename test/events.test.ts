/**
 * The event model and the SSE stream (docs/events.md): one event per
 * transition and visit change, with every field; filters; resume with
 * Last-Event-ID; heartbeats; refusal of bad input. Real server on port 0,
 * real SQLite file, real socket.io pages, real fetch reading the stream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventRetention } from '../src/backend/events/retention.js';
import { openStore } from '../src/store/open.js';
import type { BeckonStore } from '../src/core/store.js';
import { ixnProfileSchema, type BeckonEvent } from '../src/protocol/index.js';
import { freshStore } from './stores.js';
import { eventually, EventStreamClient, startServer, TestPage, type TestServer } from './support.js';

let server: TestServer;
const cleanup: (() => void)[] = [];

beforeAll(async () => {
  server = await startServer({ visitIdleMs: 1500 }, { events: { heartbeatMs: 100, pollMs: 100 } });
});
afterAll(async () => {
  for (const done of cleanup) done();
  await server.close();
});

async function stream(query = '', headers: Record<string, string> = {}, on = server): Promise<EventStreamClient> {
  const client = await EventStreamClient.open(on.url, query, headers);
  cleanup.push(() => client.close());
  expect(client.response.status).toBe(200);
  return client;
}

async function page(on = server, auth = {}): Promise<TestPage> {
  const opened = await TestPage.open(on.url, auth);
  cleanup.push(() => opened.close());
  return opened;
}

let counter = 0;
const newId = (label: string) => `ev-${label}-${++counter}-${Date.now()}`;

/** Engages a page's visit and has the page show it; returns the interactionId. */
async function shownOn(p: TestPage, extra: Record<string, unknown> = {}): Promise<string> {
  const interactionId = newId('shown');
  const reply = await server.engage({ interactionId, visitId: p.session.visitId, ...extra });
  expect(reply.status).toBe(200);
  await p.next('invitation:start', (s) => s.interactionId === interactionId);
  expect((await p.shown(interactionId)).ok).toBe(true);
  return interactionId;
}

const of = (visitId: string) => (e: BeckonEvent) => e.visitId === visitId;

describe('events', () => {
  it('one event per transition and visit change, each with id, type, at, ids, channel, reason, userData', async () => {
    const all = await stream();
    const visitor = await page();
    const { visitId, pageId } = visitor.session;
    const userData = { tier: 'gold', basket: 129.5, returning: true };

    const accepted = await shownOn(visitor, { channels: ['chat', 'callback'], userData });
    expect((await visitor.answer(accepted, 'accepted', 'callback')).ok).toBe(true);
    const cancelled = newId('cancel');
    expect((await server.engage({ interactionId: cancelled, visitId })).status).toBe(200);
    expect((await server.noengage({ interactionId: cancelled, reason: 'no-agents' })).status).toBe(200);
    visitor.close();

    await all.next((e) => e.type === 'visit.ended' && e.visitId === visitId);
    const seen = all.events.filter(of(visitId));
    expect(seen.map((e) => [e.type, e.interactionId])).toEqual([
      ['visit.started', null],
      ['page.entered', null],
      ['engagement.pending', accepted],
      ['engagement.delivered', accepted],
      ['engagement.accepted', accepted],
      ['engagement.pending', cancelled],
      ['engagement.cancelled', cancelled],
      ['page.left', null],
      ['visit.ended', null],
    ]);

    const [started, entered, pending, delivered, won, , withdrawn, left] = seen;
    expect(started).toMatchObject({ pageId: null, channel: null, reason: null, userData: {} });
    expect(entered!.pageId).toBe(pageId);
    expect(left!.pageId).toBe(pageId);
    for (const e of [pending, delivered, won]) expect(e!.userData).toEqual(userData);
    expect(delivered).toMatchObject({ pageId, channel: null });
    expect(won).toMatchObject({ pageId, channel: 'callback', reason: null });
    expect(withdrawn).toMatchObject({ reason: 'no-agents', channel: null });

    // Unique ids, increasing seq, the SSE id is the seq, and `at` is the time the record gives the transition.
    expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length);
    const seqs = seen.map((e) => e.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    for (const e of seen) expect(all.ids[all.events.indexOf(e)]).toBe(String(e.seq));
    const record = (await server.status(accepted)).body;
    expect(won!.at).toBe(record.transitions.accepted);
    expect(delivered!.at).toBe(record.transitions.delivered);
    expect(Object.keys(record.transitions)).toHaveLength(3);

    // What the stream sent is what the outbox holds.
    const stored = await server.beckon.store.eventsAfter(0, { types: null, visitId }, 100);
    expect(stored).toEqual(seen);
  });

  it('a noengage for an id never engaged reports one engagement.cancelled with its reason', async () => {
    const all = await stream();
    const interactionId = newId('tombstone');
    expect((await server.noengage({ interactionId, reason: 'pacing' })).status).toBe(200);
    expect((await server.noengage({ interactionId, reason: 'again' })).status).toBe(200);
    const event = await all.next((e) => e.interactionId === interactionId);
    expect(event).toMatchObject({ type: 'engagement.cancelled', visitId: null, reason: 'pacing', userData: {} });
    const stored = await server.beckon.store.eventsAfter(event.seq - 1, { types: null, visitId: null }, 1000);
    expect(stored.filter((e) => e.interactionId === interactionId)).toHaveLength(1);
  });

  it('racing answers from two tabs and a noengage settle once: exactly one terminal event', async () => {
    const first = await page();
    const second = await page(server, { visitToken: first.session.visitToken });
    const before = await server.beckon.store.lastEventSeq();
    for (let round = 0; round < 5; round++) {
      const interactionId = await shownOn(first, { pageId: first.session.pageId });
      await Promise.allSettled([
        first.answer(interactionId, 'accepted', 'chat'),
        second.answer(interactionId, 'declined'),
        server.noengage({ interactionId, reason: 'race' }),
        first.answer(interactionId, 'timed_out'),
      ]);
      const events = (
        await server.beckon.store.eventsAfter(before, { types: null, visitId: first.session.visitId }, 1000)
      ).filter((e) => e.interactionId === interactionId);
      const terminal = events.filter((e) => !['engagement.pending', 'engagement.delivered'].includes(e.type));
      expect(events.map((e) => e.type).slice(0, 2)).toEqual(['engagement.pending', 'engagement.delivered']);
      expect(terminal).toHaveLength(1);
      expect(terminal[0]!.type).toBe(`engagement.${(await server.status(interactionId)).body.state}`);
    }
  });
});

describe('the event stream', () => {
  it('starts with a reconnect delay and sends only what happens after it opened', async () => {
    await page(); // something in the log before the stream opens
    const before = await server.beckon.store.lastEventSeq();
    const fresh = await stream();
    await fresh.until((c) => c.retryMs !== null);
    expect(fresh.retryMs).toBe(2000);
    const visitor = await page();
    await fresh.next((e) => e.type === 'page.entered' && e.visitId === visitor.session.visitId);
    expect(fresh.events.every((e) => e.seq > before)).toBe(true);
  });

  it('sends heartbeat comments so that proxies keep it open', async () => {
    const quiet = await stream('?visitId=nobody-has-this-visit');
    await quiet.until((c) => c.comments.filter((text) => text === 'ping').length >= 3);
    expect(quiet.events).toHaveLength(0);
  });

  it('filters by type (exact names and families) and by visit', async () => {
    const visitor = await page();
    const other = await page();
    const { visitId } = visitor.session;
    // Every stream resumes from the same point: opened one after another "from now", a page's
    // entry written while they open would be in some of them and not in others.
    const from = { 'Last-Event-ID': String(await server.beckon.store.lastEventSeq()) };
    const all = await stream('', from);
    const accepts = await stream('?types=engagement.accepted,page.*', from);
    const mine = await stream(`?visitId=${encodeURIComponent(visitId)}`, from);
    const both = await stream(`?types=engagement.*&visitId=${encodeURIComponent(visitId)}`, from);

    const id = await shownOn(visitor);
    await visitor.answer(id, 'accepted', 'chat');
    const theirs = await shownOn(other);
    await other.answer(theirs, 'declined');
    const extra = await page(server, { visitToken: visitor.session.visitToken });
    extra.close();
    const last = await all.next((e) => e.type === 'page.left' && e.pageId === extra.session.pageId);

    const upTo = (e: BeckonEvent) => e.seq <= last.seq;
    const expected = {
      accepts: all.events.filter((e) => upTo(e) && (e.type === 'engagement.accepted' || e.type.startsWith('page.'))),
      mine: all.events.filter((e) => upTo(e) && e.visitId === visitId),
      both: all.events.filter((e) => upTo(e) && e.visitId === visitId && e.type.startsWith('engagement.')),
    };
    expect(expected.accepts.some((e) => e.type === 'engagement.accepted')).toBe(true);
    expect(expected.both.map((e) => e.type)).toEqual([
      'engagement.pending',
      'engagement.delivered',
      'engagement.accepted',
    ]);
    await accepts.until((c) => c.events.some((e) => e.seq === last.seq));
    await mine.until((c) => c.events.some((e) => e.seq === last.seq));
    await both.until((c) => c.events.length >= 3);
    expect(accepts.events.filter(upTo)).toEqual(expected.accepts);
    expect(mine.events.filter(upTo)).toEqual(expected.mine);
    expect(both.events.filter(upTo)).toEqual(expected.both);
  });

  it('resumes with Last-Event-ID: replays exactly the missed events, then follows live', async () => {
    const witness = await stream();
    const visitor = await page();
    const reader = await stream();
    const first = await shownOn(visitor);
    const lastSeen = await reader.next((e) => e.type === 'engagement.delivered' && e.interactionId === first);
    const lastId = reader.ids[reader.events.indexOf(lastSeen)]!;
    reader.close();

    // Missed while disconnected: the answer, a second attempt, another page.
    await visitor.answer(first, 'declined');
    const second = await shownOn(visitor);
    const missedUpTo = await witness.next((e) => e.type === 'engagement.delivered' && e.interactionId === second);

    const resumed = await stream('', { 'Last-Event-ID': lastId });
    await resumed.until((c) => c.events.some((e) => e.seq === missedUpTo.seq));
    const missed = witness.events.filter((e) => e.seq > Number(lastId) && e.seq <= missedUpTo.seq);
    expect(missed.length).toBeGreaterThanOrEqual(3);
    expect(resumed.events.slice(0, missed.length)).toEqual(missed);

    // …and then live, still without gaps or repeats.
    await visitor.answer(second, 'accepted', 'chat');
    const live = await witness.next((e) => e.type === 'engagement.accepted' && e.interactionId === second);
    await resumed.until((c) => c.events.some((e) => e.seq === live.seq));
    const all = witness.events.filter((e) => e.seq > Number(lastId) && e.seq <= live.seq);
    expect(resumed.events.filter((e) => e.seq <= live.seq)).toEqual(all);
  });

  it('resumes with a filter and with the lastEventId query parameter (for EventSource)', async () => {
    const visitor = await page();
    const { visitId } = visitor.session;
    const start = await server.beckon.store.lastEventSeq();
    const id = await shownOn(visitor);
    await visitor.answer(id, 'accepted', 'chat');
    await page(); // another visit's events in between
    const resumed = await stream(`?visitId=${encodeURIComponent(visitId)}&types=engagement.*&lastEventId=${start}`);
    await resumed.until((c) => c.events.length >= 3);
    expect(resumed.events.map((e) => [e.type, e.interactionId])).toEqual([
      ['engagement.pending', id],
      ['engagement.delivered', id],
      ['engagement.accepted', id],
    ]);
  });

  it('treats a Last-Event-ID beyond the log (a reset store) as its end, not as never', async () => {
    const resumed = await stream('', { 'Last-Event-ID': '999999999999' });
    const visitor = await page();
    await resumed.next((e) => e.type === 'visit.started' && e.visitId === visitor.session.visitId);
  });

  it('sees events written by another process sharing the store', async () => {
    const all = await stream();
    const otherProcess = await openStore(server.store);
    try {
      await otherProcess.startVisit(
        { visitId: 'visit-from-elsewhere', globalVisitId: 'browser-elsewhere' },
        Date.now(),
      );
    } finally {
      await otherProcess.close();
    }
    await all.next((e) => e.type === 'visit.started' && e.visitId === 'visit-from-elsewhere');
  });

  it('refuses bad filters and ids with INVALID_PARAMETER naming them, and stays up', async () => {
    const cases: [string, Record<string, string>, string][] = [
      ['?types=engagement.won', {}, 'types'],
      ['?types=*', {}, 'types'],
      ['?types=', {}, 'types'],
      ['?types=page.*&types=visit.*', {}, 'types'],
      ['?type=page.left', {}, 'type'],
      [`?visitId=${'v'.repeat(129)}`, {}, 'visitId'],
      ['?visitId=a%0Ab', {}, 'visitId'],
      ['', { 'Last-Event-ID': 'abc' }, 'Last-Event-ID'],
      ['', { 'Last-Event-ID': '-1' }, 'Last-Event-ID'],
      ['', { 'Last-Event-ID': '1.5' }, 'Last-Event-ID'],
      ['', { 'Last-Event-ID': '1e3' }, 'Last-Event-ID'],
      ['', { 'Last-Event-ID': '9'.repeat(40) }, 'Last-Event-ID'],
      ['?lastEventId=x', {}, 'lastEventId'],
      ['?lastEventId=5', { 'Last-Event-ID': '6' }, 'lastEventId'],
    ];
    for (const [query, headers, path] of cases) {
      const reply = await server.get(`/backend/data/events${query}`, headers);
      expect(reply.status, query + JSON.stringify(headers)).toBe(400);
      expect(reply.body).toMatchObject({ status: 'FAULT', code: 'INVALID_PARAMETER', details: [{ path }] });
    }
    expect((await server.get('/healthz')).status).toBe(200);
  });

  it('is served on the GWE 8.5 prefix too, and needs the caller credentials', async () => {
    const secured = await startServer({ apiToken: 'events-token' });
    try {
      expect((await secured.get('/backend/data/events')).status).toBe(401);
      expect((await secured.get('/server/data/events', { authorization: 'Bearer wrong' })).status).toBe(401);
      for (const prefix of ['/backend/data', '/server/data'] as const) {
        const client = await EventStreamClient.open(secured.url, '', { authorization: 'Bearer events-token' }, prefix);
        expect(client.response.status).toBe(200);
        expect(client.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
        expect(client.response.headers.get('cache-control')).toMatch(/no-cache/);
        await client.until((c) => c.comments.includes('connected'));
        client.close();
      }
    } finally {
      await secured.close();
    }
  });

  it('ends open streams when the server closes, so shutdown does not wait on them', async () => {
    const closing = await startServer();
    const client = await stream('', {}, closing);
    await closing.close();
    await client.until((c) => c.ended);
  });
});

describe('event retention', () => {
  const DAY = 86_400_000;
  const ALL = { types: null, visitId: null } as const;

  /** A fresh store of the kind the run uses, closed (and its folder removed) after `use`. */
  async function withStore(use: (store: BeckonStore) => Promise<void>): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'beckon-retention-'));
    const store = await openStore(freshStore(dir));
    try {
      await use(store);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('deletes events older than the retention, oldest first in batches, and keeps the young ones', async () => {
    await withStore(async (store) => {
      const now = Date.now();
      for (let v = 0; v < 5; v++)
        await store.startVisit({ visitId: `old-${v}`, globalVisitId: `b-old-${v}` }, now - 10 * DAY);
      await store.startVisit({ visitId: 'edge', globalVisitId: 'b-edge' }, now - 7 * DAY + 60_000);
      await store.startVisit({ visitId: 'young', globalVisitId: 'b-young' }, now - DAY);
      const retention = new EventRetention(store, {
        retentionMs: 7 * DAY,
        batch: 2,
        now: () => now,
        onError: (e) => {
          throw e;
        },
      });
      expect((await retention.pruneNow()).events).toBe(5);
      const kept = await store.eventsAfter(0, ALL, 100);
      expect(kept.map((e) => e.visitId)).toEqual(['edge', 'young']);
      // Live visits are not touched (however old), only the log.
      expect(await store.getVisit('old-0')).not.toBeNull();
      expect((await retention.pruneNow()).events).toBe(0);
    });
  });

  const SHOP_PAGE = { url: 'https://shop.test/', title: 'Shop', visible: true, focused: true };

  it('deletes ended visits and closed pages older than the same retention, in batches, and keeps their attempts', async () => {
    await withStore(async (store) => {
      const now = Date.now();
      const old = now - 10 * DAY;
      for (let v = 0; v < 3; v++) {
        await store.startVisit({ visitId: `gone-${v}`, globalVisitId: `b-${v}` }, old);
        await store.openPage({ pageId: `gone-page-${v}`, visitId: `gone-${v}`, info: SHOP_PAGE }, old);
      }
      await store.createAttempt(ixnProfileSchema.parse({ interactionId: 'kept', visitId: 'gone-0' }), {
        exclusive: true,
        now: old,
        place: true,
      });
      await store.transition({ interactionId: 'kept', from: ['pending'], to: 'cancelled', at: old + 1 });
      for (let v = 0; v < 3; v++) {
        await store.closePage(`gone-page-${v}`, old + 2);
        await store.endVisit(`gone-${v}`, old + 3);
      }
      // A page closed yesterday: kept.
      await store.startVisit({ visitId: 'recent', globalVisitId: 'b-recent' }, now - DAY);
      await store.openPage({ pageId: 'recent-page', visitId: 'recent', info: SHOP_PAGE }, now - DAY);
      await store.closePage('recent-page', now - DAY + 1);

      const retention = new EventRetention(store, {
        retentionMs: 7 * DAY,
        batch: 2,
        now: () => now,
        onError: (e) => {
          throw e;
        },
      });
      expect(await retention.pruneNow()).toEqual({ events: expect.any(Number), presence: 6, attempts: 0 });
      for (let v = 0; v < 3; v++) {
        expect(await store.getVisit(`gone-${v}`)).toBeNull();
        expect(await store.getPage(`gone-page-${v}`)).toBeNull();
      }
      expect(await store.getEngagement('kept')).toMatchObject({ visitId: 'gone-0', state: 'cancelled' });
      expect(await store.getPage('recent-page')).not.toBeNull();
      expect(await retention.pruneNow()).toEqual({ events: 0, presence: 0, attempts: 0 });

      // A shorter retention for pages and visits (BECKON_VISIT_RETENTION_HOURS): yesterday's page goes, the events stay.
      const shorter = new EventRetention(store, {
        retentionMs: 7 * DAY,
        visitRetentionMs: 3_600_000,
        now: () => now,
        onError: (e) => {
          throw e;
        },
      });
      const events = (await store.eventsAfter(0, ALL, 1000)).length;
      expect(await shorter.pruneNow()).toEqual({ events: 0, presence: 1, attempts: 0 });
      expect(await store.getPage('recent-page')).toBeNull();
      expect(await store.getVisit('recent')).not.toBeNull(); // live (idle) visits stay, whatever their age
      expect(await store.eventsAfter(0, ALL, 1000)).toHaveLength(events);
    });
  });

  it('deletes attempts settled before their own retention after the pages and visits, in batches, and keeps those in progress', async () => {
    await withStore(async (store) => {
      const now = Date.now();
      const old = now - 500 * DAY;
      await store.startVisit({ visitId: 'v', globalVisitId: 'b-v' }, old);
      for (let i = 0; i < 3; i++) {
        await store.createAttempt(ixnProfileSchema.parse({ interactionId: `settled-${i}`, visitId: 'v' }), {
          exclusive: false,
          now: old,
          place: false,
        });
        await store.transition({ interactionId: `settled-${i}`, from: ['pending'], to: 'cancelled', at: old + 1 + i });
      }
      await store.createTombstone({ interactionId: 'tombstone', visitId: null, reason: null }, old);
      // In progress for ever so long (its expiry passed unseen): never pruned.
      await store.createAttempt(ixnProfileSchema.parse({ interactionId: 'in-progress', visitId: 'v' }), {
        exclusive: false,
        now: old,
        place: false,
      });
      // Settled 399 days ago: within the default retention of 400 days.
      await store.createAttempt(ixnProfileSchema.parse({ interactionId: 'recent', visitId: 'v' }), {
        exclusive: false,
        now: old,
        place: false,
      });
      await store.transition({ interactionId: 'recent', from: ['pending'], to: 'expired', at: now - 399 * DAY });

      const retention = new EventRetention(store, {
        retentionMs: 7 * DAY,
        attemptRetentionMs: 400 * DAY,
        batch: 2,
        now: () => now,
        onError: (e) => {
          throw e;
        },
      });
      expect(await retention.pruneNow()).toEqual({ events: expect.any(Number), presence: 0, attempts: 4 });
      for (const id of ['settled-0', 'settled-1', 'settled-2', 'tombstone'])
        expect(await store.getEngagement(id)).toBeNull();
      expect(await store.getEngagement('in-progress')).toMatchObject({ state: 'pending' });
      expect(await store.getEngagement('recent')).toMatchObject({ state: 'expired' });
      expect((await retention.pruneNow()).attempts).toBe(0);
      // Without an attempt retention (a caller that gives none), attempts stay.
      const keepAll = new EventRetention(store, {
        retentionMs: 7 * DAY,
        now: () => now + 10 * DAY,
        onError: (e) => {
          throw e;
        },
      });
      expect((await keepAll.pruneNow()).attempts).toBe(0);
      expect(await store.getEngagement('recent')).not.toBeNull();
    });
  });

  it('forgets a pruned attempt: its status answers 404 and an engage or noengage with its id is new', async () => {
    const own = await startServer();
    const visitor = await page(own);
    try {
      const interactionId = newId('pruned');
      expect((await own.engage({ interactionId, visitId: visitor.session.visitId })).status).toBe(200);
      expect((await own.noengage({ interactionId, reason: 'pacing' })).body).toMatchObject({ state: 'cancelled' });
      expect((await own.engage({ interactionId, visitId: visitor.session.visitId })).body).toMatchObject({
        code: 'ENGAGEMENT_CANCELLED',
      });
      const tombstone = newId('pruned-tombstone');
      expect((await own.noengage({ interactionId: tombstone })).status).toBe(200);
      expect((await own.status(tombstone)).body).toMatchObject({ state: 'cancelled' });
      expect((await own.engage({ interactionId: tombstone, visitId: visitor.session.visitId })).body).toMatchObject({
        code: 'ENGAGEMENT_CANCELLED',
      });

      // What the hourly run does once they settled longer ago than BECKON_ATTEMPT_RETENTION_DAYS.
      expect(await own.beckon.store.pruneAttempts(Date.now() + 1, 1000)).toBe(2);
      for (const id of [interactionId, tombstone]) {
        const reply = await own.status(id);
        expect([reply.status, reply.body.code]).toEqual([404, 'UNKNOWN_ENGAGEMENT']);
      }
      // The same ids are new: the engage is a new attempt, the late engage after the noengage is no longer refused.
      expect((await own.engage({ interactionId, visitId: visitor.session.visitId })).body).toMatchObject({
        state: 'pending',
      });
      await visitor.next('invitation:start', (s) => s.interactionId === interactionId);
      expect((await own.noengage({ interactionId })).status).toBe(200);
      expect((await own.engage({ interactionId: tombstone, visitId: visitor.session.visitId })).body).toMatchObject({
        state: 'pending',
      });
    } finally {
      visitor.close();
      await own.close();
    }
  });

  it('keeps an old event still waiting for its webhook, and deletes a given-up delivery with its event', async () => {
    await withStore(async (store) => {
      const now = Date.now();
      await store.queueWebhookEvents({ types: null, now, maxAgeMs: DAY, limit: 100 }); // webhooks on from here
      await store.startVisit({ visitId: 'waiting', globalVisitId: 'b-1' }, now - 10 * DAY);
      await store.startVisit({ visitId: 'failed', globalVisitId: 'b-2' }, now - 10 * DAY);
      await store.startVisit({ visitId: 'unsent', globalVisitId: 'b-3' }, now - 10 * DAY);
      expect(await store.queueWebhookEvents({ types: ['visit.started'], now, maxAgeMs: 30 * DAY, limit: 100 })).toBe(3);
      const [waiting, failed, unsent] = await store.claimWebhookDeliveries(now, now, 10);
      await store.webhookAttemptFailed(failed!.event.seq, 5, null, 'gave up after 24 hours');
      await store.webhookDelivered(unsent!.event.seq);
      expect(await store.webhookBacklog()).toEqual({ waiting: 1, failed: 1 });

      const retention = new EventRetention(store, {
        retentionMs: 7 * DAY,
        now: () => now,
        onError: (e) => {
          throw e;
        },
      });
      expect((await retention.pruneNow()).events).toBe(2);
      expect((await store.eventsAfter(0, ALL, 100)).map((e) => e.seq)).toEqual([waiting!.event.seq]);
      expect(await store.webhookBacklog()).toEqual({ waiting: 1, failed: 0 });
    });
  });

  it('runs when Beckon starts: a log kept past the retention is pruned, and the stream resumes at what is left', async () => {
    const first = await startServer();
    const visitor = await TestPage.open(first.url);
    visitor.close();
    const before = await first.beckon.store.eventsAfter(0, ALL, 100);
    expect(before.length).toBeGreaterThan(0);
    await first.beckon.close();

    // The same store, restarted with a retention shorter than the age of those events.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = await startServer({ ...first.store, eventRetentionMs: 10 });
    try {
      await eventually(async () => {
        const left = await second.beckon.store.eventsAfter(0, ALL, 100);
        expect(left.filter((e) => before.some((b) => b.id === e.id))).toEqual([]);
      });
      // Resuming from an id that was pruned replays from the oldest event kept, without error.
      const resumed = await stream('', { 'last-event-id': String(before[0]!.seq) }, second);
      const fresh = await page(second);
      await resumed.next((e) => e.type === 'visit.started' && e.visitId === fresh.session.visitId);
    } finally {
      await second.close();
      rmSync(first.dir, { recursive: true, force: true });
    }
  });
});
