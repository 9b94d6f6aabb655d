/**
 * The store contract for visitor context (docs/visitor-context.md): business
 * events a page tracks, the visit's identity, what a caller reads back (the
 * latest context of live visits, a visit's history, a browser's visits) and
 * the erasure of a browser. Each change is one atomic step with its event,
 * exactly as core/events.ts builds it. The erasure is checked twice: through
 * the store's interface, and by reading everything the store holds, raw
 * (every SQLite row, every Redis key and value), for the browser's ids and
 * what it told about itself. An erasure counts visits, pages, business
 * events (those its visits kept) and attempts. Run once on each store
 * (stores.ts).
 */
import { describe, expect, it } from 'vitest';
import { KEPT_BUSINESS_EVENTS, type ContextData, type PageInfo } from '../../src/protocol/index.js';
import { pacingSettingsSchema } from '../../src/protocol/channels.js';
import { businessEventOf, erasureEventOf, identityEventOf } from '../../src/core/events.js';
import { ERASURE_MARKER_MS } from '../../src/core/erasure.js';
import type { BeckonStore, CreateResult, IdentityChange, PacedChannel } from '../../src/core/store.js';
import { T0, events, expectLogged, pageInfo, profile, visitWithPage } from './fixtures.js';
import { describeEachStore, dumpStorage } from './stores.js';

const IDLE_MS = 30 * 60_000;
// No quiet time after a decline, so that the browser's later attempts are created; the decline is recorded still.
const caps = { perDay: 10, afterDeclineMs: null };
const chat: PacedChannel[] = [
  { channel: 'chat', pacing: pacingSettingsSchema.parse({ mode: 'fixed', maxOnScreen: 10 }), hoursOpen: true },
];

/** The ids and the facts of one browser, each unlike any other browser's, so that a scan finds only its own. */
const browserIds = (tag: string) => ({
  globalVisitId: `GVID-${tag}-browser`,
  endedVisit: `VISIT-${tag}-earlier`,
  liveVisit: `VISIT-${tag}-now`,
  endedPage: `PAGE-${tag}-earlier`,
  closedPage: `PAGE-${tag}-closed`,
  openPage: `PAGE-${tag}-open`,
  userId: `USER-${tag}@example.test`,
  trait: `TRAIT-${tag}-gold`,
  cart: `CART-${tag}-basket`,
  settled: `ixn-${tag}-settled`,
  shown: `ixn-${tag}-shown`,
  pending: `ixn-${tag}-pending`,
});
type BrowserIds = ReturnType<typeof browserIds>;

/**
 * A browser with everything the store can hold of it, from `at`: an ended visit
 * (identity, a business event, an attempt shown and declined under caps, so a
 * decline and a budget entry) and a live one (a closed and an open page, a
 * sign-in with traits, a business event, two paced attempts in progress: one
 * shown, with its timeout, one pending, with its expiry), and an opt-out it
 * took back (the browser's row stays).
 */
async function populate(store: BeckonStore, ids: BrowserIds, at: number): Promise<void> {
  const info = (path: string): PageInfo => pageInfo({ url: `https://shop.test/${path}` });
  await store.setOptOut(ids.globalVisitId, true, at);
  await store.setOptOut(ids.globalVisitId, false, at);

  await store.startVisit({ visitId: ids.endedVisit, globalVisitId: ids.globalVisitId }, at);
  await store.openPage({ pageId: ids.endedPage, visitId: ids.endedVisit, info: info('home') }, at);
  await store.changeIdentity(ids.endedVisit, ids.endedPage, { kind: 'user-info', traits: { tier: ids.trait } }, at);
  await store.recordBusinessEvent(
    { visitId: ids.endedVisit, pageId: ids.endedPage, name: 'viewed', data: { what: ids.cart } },
    at + 1,
  );
  const created: CreateResult[] = [];
  created.push(
    await store.createAttempt(profile({ interactionId: ids.settled, visitId: ids.endedVisit }), {
      exclusive: true,
      now: at + 2,
      place: true,
      caps,
    }),
  );
  await store.transition({
    interactionId: ids.settled,
    from: ['pending'],
    to: 'delivered',
    at: at + 3,
    pageId: ids.endedPage,
    timeoutAt: at + 60_000,
  });
  await store.transition({ interactionId: ids.settled, from: ['delivered'], to: 'declined', at: at + 4 });
  await store.closePage(ids.endedPage, at + 5);
  await store.endVisit(ids.endedVisit, at + 6);

  await store.startVisit({ visitId: ids.liveVisit, globalVisitId: ids.globalVisitId }, at + 10);
  await store.openPage({ pageId: ids.closedPage, visitId: ids.liveVisit, info: info('pricing') }, at + 10);
  await store.openPage({ pageId: ids.openPage, visitId: ids.liveVisit, info: info('cart') }, at + 11);
  await store.closePage(ids.closedPage, at + 12);
  await store.changeIdentity(
    ids.liveVisit,
    ids.openPage,
    { kind: 'sign-in', userId: ids.userId, verified: true, traits: { tier: ids.trait } },
    at + 13,
  );
  await store.recordBusinessEvent(
    { visitId: ids.liveVisit, pageId: ids.openPage, name: 'cart.updated', data: { basket: ids.cart, total: 120 } },
    at + 14,
  );
  created.push(
    await store.createAttempt(profile({ interactionId: ids.shown, visitId: ids.liveVisit, pageId: ids.openPage }), {
      exclusive: false,
      now: at + 15,
      place: true,
      caps,
      pacing: chat,
    }),
  );
  await store.transition({
    interactionId: ids.shown,
    from: ['pending'],
    to: 'delivered',
    at: at + 16,
    pageId: ids.openPage,
    timeoutAt: at + 60_000,
  });
  created.push(
    await store.createAttempt(profile({ interactionId: ids.pending, visitId: ids.liveVisit }), {
      exclusive: false,
      now: at + 17,
      place: true,
      caps,
      pacing: chat,
    }),
  );
  expect(created.map((result) => result.kind)).toEqual(['created', 'created', 'created']);
}

/** What the store's interface tells of a browser: compared before and after another browser's erasure. */
async function viewOf(store: BeckonStore, ids: BrowserIds, now: number) {
  return {
    visits: await store.visitorVisits(ids.globalVisitId, { after: null, limit: 100 }),
    histories: await Promise.all([ids.endedVisit, ids.liveVisit].map((id) => store.visitHistory(id))),
    contexts: await store.visitContexts([ids.endedVisit, ids.liveVisit], 10),
    pages: await Promise.all([ids.endedPage, ids.closedPage, ids.openPage].map((id) => store.getPage(id))),
    attempts: await Promise.all([ids.settled, ids.shown, ids.pending].map((id) => store.getEngagement(id))),
    active: await store.activeEngagements(ids.liveVisit),
    budget: (await store.browserBudgets([ids.globalVisitId], now)).get(ids.globalVisitId),
    optedOut: await store.isOptedOut(ids.globalVisitId),
    log: [
      ...(await store.eventsAfter(0, { types: null, visitId: ids.endedVisit }, 1000)),
      ...(await store.eventsAfter(0, { types: null, visitId: ids.liveVisit }, 1000)),
    ],
  };
}

const erasedIds = (ids: BrowserIds) => [
  ids.globalVisitId,
  ids.endedVisit,
  ids.liveVisit,
  ids.endedPage,
  ids.closedPage,
  ids.openPage,
  ids.userId,
  ids.trait,
  ids.cart,
];

describeEachStore(({ fresh, freshWithConfig, kind }) => {
  describe('business events', () => {
    it('stores a business event of an open page with its page.event, exactly as core/events.ts builds it', async () => {
      const store = await fresh();
      await visitWithPage(store, 'v', 'p');
      const event = {
        visitId: 'v',
        pageId: 'p',
        name: 'cart.updated',
        data: { total: 120.5, currency: 'EUR', vip: true },
      };
      expect(await store.recordBusinessEvent(event, T0 + 10)).toBe('stored');
      const log = await events(store);
      expect(log.map((e) => e.type)).toEqual(['visit.started', 'page.entered', 'page.event']);
      expectLogged(log[2], businessEventOf(event, T0 + 10));
      expect(log[2]).toMatchObject({ name: 'cart.updated', data: { total: 120.5, currency: 'EUR', vip: true } });
      expect(await store.visitContexts(['v'], 10)).toEqual(
        new Map([
          ['v', { identity: null, events: [{ name: 'cart.updated', data: event.data, at: T0 + 10, pageId: 'p' }] }],
        ]),
      );
      // An empty data object is kept as empty.
      expect(await store.recordBusinessEvent({ visitId: 'v', pageId: 'p', name: 'ping', data: {} }, T0 + 11)).toBe(
        'stored',
      );
      expectLogged(
        (await events(store)).at(-1),
        businessEventOf({ visitId: 'v', pageId: 'p', name: 'ping', data: {} }, T0 + 11),
      );
      expect((await store.visitContexts(['v'], 1)).get('v')?.events).toEqual([
        { name: 'ping', data: {}, at: T0 + 11, pageId: 'p' },
      ]);
    });

    it('records nothing for a page that is closed, unknown or of another visit, nor for a visit that ended', async () => {
      const store = await fresh();
      await visitWithPage(store, 'v', 'p');
      await store.openPage({ pageId: 'closed', visitId: 'v', info: pageInfo() }, T0);
      await store.closePage('closed', T0 + 1);
      await visitWithPage(store, 'w', 'q');
      // A visit that ended while its page was still open (the reaper closes it later).
      await visitWithPage(store, 'ended', 'still-open');
      await store.endVisit('ended', T0 + 2);
      const before = await events(store);
      const data: ContextData = { n: 1 };
      for (const [visitId, pageId] of [
        ['v', 'closed'],
        ['v', 'nope'],
        ['v', 'q'], // a page of another visit
        ['w', 'p'],
        ['nope', 'p'],
        ['ended', 'still-open'],
      ] as const) {
        expect(await store.recordBusinessEvent({ visitId, pageId, name: 'click', data }, T0 + 5)).toBe('no-page');
      }
      expect(await events(store)).toEqual(before);
      expect(await store.visitContexts(['v', 'w', 'ended', 'nope'], 10)).toEqual(new Map());
    });

    it(`keeps a visit's latest ${KEPT_BUSINESS_EVENTS}, newest first, and hands out the recent ones asked for`, async () => {
      const store = await fresh();
      await visitWithPage(store, 'v', 'p');
      await visitWithPage(store, 'w', 'q');
      const total = KEPT_BUSINESS_EVENTS + 5;
      for (let i = 0; i < total; i++)
        await store.recordBusinessEvent({ visitId: 'v', pageId: 'p', name: `e${i}`, data: { i } }, T0 + i);
      await store.recordBusinessEvent({ visitId: 'w', pageId: 'q', name: 'other', data: {} }, T0);
      const kept = (await store.visitHistory('v'))!.events;
      expect(kept).toHaveLength(KEPT_BUSINESS_EVENTS);
      expect(kept[0]).toEqual({ name: `e${total - 1}`, data: { i: total - 1 }, at: T0 + total - 1, pageId: 'p' });
      expect(kept.at(-1)).toEqual({ name: 'e5', data: { i: 5 }, at: T0 + 5, pageId: 'p' });
      expect(kept.map((e) => e.name)).toEqual(
        Array.from({ length: KEPT_BUSINESS_EVENTS }, (_, n) => `e${total - 1 - n}`),
      );
      const contexts = await store.visitContexts(['v', 'w'], 3);
      expect(contexts.get('v')!.events.map((e) => e.name)).toEqual([`e${total - 1}`, `e${total - 2}`, `e${total - 3}`]);
      expect(contexts.get('w')!.events.map((e) => e.name)).toEqual(['other']);
      // The log has every one of them: the visit's limit is not the log's retention.
      expect((await events(store)).filter((e) => e.type === 'page.event')).toHaveLength(total + 1);
      // The older ones are gone from the store, not merely left out of the answer: an erasure finds the kept ones only.
      expect(await store.eraseVisitor('browser-of-v', { key: 'k', until: T0 + 1_000_000 }, T0 + 1000)).toEqual({
        visits: 1,
        pages: 1,
        events: KEPT_BUSINESS_EVENTS,
        attempts: 0,
      });
    });
  });

  describe('identity', () => {
    it('signs in, merges user info, replaces on a new sign-in and removes on sign-out, each with its event', async () => {
      const store = await fresh();
      await visitWithPage(store, 'v', 'p');
      const signIn = await store.changeIdentity(
        'v',
        'p',
        { kind: 'sign-in', userId: 'alice', verified: true, traits: { tier: 'gold', age: 40 } },
        T0 + 1,
      );
      expect(signIn).toEqual({
        identity: { userId: 'alice', verified: true, traits: { tier: 'gold', age: 40 }, at: T0 + 1 },
      });

      const info = await store.changeIdentity('v', 'p', { kind: 'user-info', traits: { age: 41, vip: false } }, T0 + 2);
      const merged = { userId: 'alice', verified: true, traits: { tier: 'gold', age: 41, vip: false }, at: T0 + 2 };
      expect(info).toEqual({ identity: merged });
      expect((await store.visitContexts(['v'], 10)).get('v')).toEqual({ identity: merged, events: [] });
      expect((await store.visitHistory('v'))!.identity).toEqual(merged);

      // Another user signs in on the same visit: the traits start again with what it brings.
      const other = await store.changeIdentity(
        'v',
        'p',
        { kind: 'sign-in', userId: 'bob', verified: false, traits: { plan: 'free' } },
        T0 + 3,
      );
      expect(other).toEqual({ identity: { userId: 'bob', verified: false, traits: { plan: 'free' }, at: T0 + 3 } });

      expect(await store.changeIdentity('v', 'p', { kind: 'sign-out' }, T0 + 4)).toEqual({ identity: null });
      expect(await store.visitContexts(['v'], 10)).toEqual(new Map());
      expect((await store.visitHistory('v'))!.identity).toBeNull();

      const log = (await events(store)).slice(2);
      expect(log.map((e) => e.type)).toEqual([
        'visit.identified',
        'visit.identified',
        'visit.identified',
        'visit.signed_out',
      ]);
      expectLogged(
        log[0],
        identityEventOf('v', 'p', { userId: 'alice', verified: true, traits: { tier: 'gold', age: 40 } }, T0 + 1),
      );
      expectLogged(log[1], identityEventOf('v', 'p', merged, T0 + 2));
      expectLogged(
        log[2],
        identityEventOf('v', 'p', { userId: 'bob', verified: false, traits: { plan: 'free' } }, T0 + 3),
      );
      expectLogged(log[3], identityEventOf('v', 'p', null, T0 + 4));
      // The data is exactly the identity after the change, without its time.
      expect(log[1]!.data).toEqual({ userId: 'alice', verified: true, traits: { tier: 'gold', age: 41, vip: false } });
      expect(log[3]!.data).toEqual({});
    });

    it('gives an anonymous visit user info with no userId, not verified, and a later sign-in replaces it', async () => {
      const store = await fresh();
      await visitWithPage(store, 'v', 'p');
      expect(await store.changeIdentity('v', 'p', { kind: 'user-info', traits: { lang: 'fr' } }, T0 + 1)).toEqual({
        identity: { userId: null, verified: false, traits: { lang: 'fr' }, at: T0 + 1 },
      });
      expect(await store.changeIdentity('v', 'p', { kind: 'user-info', traits: { seen: 2 } }, T0 + 2)).toEqual({
        identity: { userId: null, verified: false, traits: { lang: 'fr', seen: 2 }, at: T0 + 2 },
      });
      expect(
        await store.changeIdentity('v', 'p', { kind: 'sign-in', userId: 'u1', verified: true, traits: {} }, T0 + 3),
      ).toEqual({ identity: { userId: 'u1', verified: true, traits: {}, at: T0 + 3 } });
      const log = (await events(store)).slice(2);
      expectLogged(
        log[0],
        identityEventOf('v', 'p', { userId: null, verified: false, traits: { lang: 'fr' } }, T0 + 1),
      );
      expect(log[0]!.data).toEqual({ userId: null, verified: false, traits: { lang: 'fr' } });
      expectLogged(log[2], identityEventOf('v', 'p', { userId: 'u1', verified: true, traits: {} }, T0 + 3));
    });

    it('changes and records nothing for a sign-out with no identity', async () => {
      const store = await fresh();
      await visitWithPage(store, 'v', 'p');
      const before = await events(store);
      expect(await store.changeIdentity('v', 'p', { kind: 'sign-out' }, T0 + 1)).toEqual({ identity: null });
      expect(await events(store)).toEqual(before);
      // Signed in and out: a second sign-out is nothing either.
      await store.changeIdentity('v', 'p', { kind: 'sign-in', userId: 'u', verified: false, traits: {} }, T0 + 2);
      await store.changeIdentity('v', 'p', { kind: 'sign-out' }, T0 + 3);
      const after = await events(store);
      expect(await store.changeIdentity('v', 'p', { kind: 'sign-out' }, T0 + 4)).toEqual({ identity: null });
      expect(await events(store)).toEqual(after);
    });

    it('answers no-visit for a visit that ended or is unknown, and records nothing', async () => {
      const store = await fresh();
      await visitWithPage(store, 'v', 'p');
      await store.changeIdentity('v', 'p', { kind: 'sign-in', userId: 'u', verified: true, traits: { a: 1 } }, T0 + 1);
      await store.endVisit('v', T0 + 2);
      const before = await events(store);
      const changes: IdentityChange[] = [
        { kind: 'sign-in', userId: 'x', verified: true, traits: {} },
        { kind: 'user-info', traits: { b: 2 } },
        { kind: 'sign-out' },
      ];
      for (const change of changes) {
        expect(await store.changeIdentity('v', 'p', change, T0 + 3)).toBe('no-visit');
        expect(await store.changeIdentity('nope', 'p', change, T0 + 3)).toBe('no-visit');
      }
      expect(await events(store)).toEqual(before);
      // The ended visit keeps the identity it had.
      expect((await store.visitHistory('v'))!.identity).toEqual({
        userId: 'u',
        verified: true,
        traits: { a: 1 },
        at: T0 + 1,
      });
    });
  });

  describe('reading context back', () => {
    it('answers the context of each visit named that has any, and nothing for the others', async () => {
      const store = await fresh();
      await visitWithPage(store, 'a', 'pa');
      await visitWithPage(store, 'b', 'pb');
      await visitWithPage(store, 'c', 'pc');
      await store.changeIdentity('a', 'pa', { kind: 'sign-in', userId: 'ua', verified: false, traits: {} }, T0 + 1);
      await store.recordBusinessEvent({ visitId: 'b', pageId: 'pb', name: 'one', data: { x: 'y' } }, T0 + 2);
      await store.recordBusinessEvent({ visitId: 'b', pageId: 'pb', name: 'two', data: {} }, T0 + 3);
      expect(await store.visitContexts(['a', 'b', 'c', 'unknown'], 10)).toEqual(
        new Map<string, unknown>([
          ['a', { identity: { userId: 'ua', verified: false, traits: {}, at: T0 + 1 }, events: [] }],
          [
            'b',
            {
              identity: null,
              events: [
                { name: 'two', data: {}, at: T0 + 3, pageId: 'pb' },
                { name: 'one', data: { x: 'y' }, at: T0 + 2, pageId: 'pb' },
              ],
            },
          ],
        ]),
      );
      expect(await store.visitContexts([], 10)).toEqual(new Map());
    });

    it("answers a visit's history, live or ended: every page with closed ones, its identity, events newest first, attempts oldest first", async () => {
      const store = await fresh();
      await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, T0);
      await store.openPage(
        { pageId: 'first', visitId: 'v', info: pageInfo({ url: 'https://shop.test/a', title: 'A' }) },
        T0 + 1,
      );
      await store.openPage(
        { pageId: 'second', visitId: 'v', info: pageInfo({ url: 'https://shop.test/b', title: 'B' }) },
        T0 + 2,
      );
      await store.openPage(
        { pageId: 'third', visitId: 'v', info: pageInfo({ url: 'https://shop.test/c', title: 'C' }) },
        T0 + 3,
      );
      await store.closePage('first', T0 + 4);
      await store.changeIdentity(
        'v',
        'second',
        { kind: 'sign-in', userId: 'u', verified: true, traits: { t: 1 } },
        T0 + 5,
      );
      await store.recordBusinessEvent({ visitId: 'v', pageId: 'second', name: 'a', data: {} }, T0 + 6);
      await store.recordBusinessEvent({ visitId: 'v', pageId: 'third', name: 'b', data: { k: 'v' } }, T0 + 7);
      await store.createAttempt(profile({ interactionId: 'later-id-first', visitId: 'v' }), {
        exclusive: false,
        now: T0 + 8,
        place: true,
      });
      await store.createAttempt(profile({ interactionId: 'earlier-id-second', visitId: 'v' }), {
        exclusive: false,
        now: T0 + 9,
        place: false,
      });
      await store.transition({ interactionId: 'earlier-id-second', from: ['pending'], to: 'cancelled', at: T0 + 10 });
      await store.startVisit({ visitId: 'other', globalVisitId: 'g' }, T0);

      const pages = async () => Promise.all(['first', 'second', 'third'].map((id) => store.getPage(id)));
      const attempts = async () =>
        Promise.all(['later-id-first', 'earlier-id-second'].map((id) => store.getEngagement(id)));
      const live = await store.visitHistory('v');
      expect(live).toEqual({
        visit: await store.getVisit('v'),
        identity: { userId: 'u', verified: true, traits: { t: 1 }, at: T0 + 5 },
        pages: await pages(),
        events: [
          { name: 'b', data: { k: 'v' }, at: T0 + 7, pageId: 'third' },
          { name: 'a', data: {}, at: T0 + 6, pageId: 'second' },
        ],
        attempts: await attempts(),
      });
      expect(live!.visit).toMatchObject({ visitId: 'v', globalVisitId: 'g', startedAt: T0, endedAt: null });
      expect(live!.pages.map((p) => [p.pageId, p.closedAt])).toEqual([
        ['first', T0 + 4],
        ['second', null],
        ['third', null],
      ]);

      // Ended, its pages closed: still all there.
      await store.closePage('second', T0 + 11);
      await store.closePage('third', T0 + 12);
      await store.endVisit('v', T0 + 13);
      const ended = await store.visitHistory('v');
      expect(ended).toMatchObject({ visit: { endedAt: T0 + 13 }, identity: { userId: 'u' } });
      expect(ended!.pages).toEqual(await pages());
      expect(ended!.pages.map((p) => p.closedAt)).toEqual([T0 + 4, T0 + 11, T0 + 12]);
      expect(ended!.attempts).toEqual(await attempts());
      expect(ended!.events).toEqual(live!.events);

      // A visit with nothing but itself, and one never seen.
      expect(await store.visitHistory('other')).toEqual({
        visit: await store.getVisit('other'),
        identity: null,
        pages: [],
        events: [],
        attempts: [],
      });
      expect(await store.visitHistory('unknown')).toBeNull();
    });

    it("pages a browser's visits newest first (startedAt, then visitId), live and ended, with a cursor", async () => {
      const store = await fresh();
      const starts: [string, number][] = [
        ['a', T0],
        ['b', T0 + 10],
        ['c', T0 + 10],
        ['d', T0 + 20],
        ['e', T0 + 30],
      ];
      for (const [visitId, at] of starts) await store.startVisit({ visitId, globalVisitId: 'g' }, at);
      await store.startVisit({ visitId: 'x', globalVisitId: 'someone-else' }, T0 + 15);
      await store.openPage({ pageId: 'pd', visitId: 'd', info: pageInfo() }, T0 + 21);
      await store.recordBusinessEvent({ visitId: 'd', pageId: 'pd', name: 'n', data: {} }, T0 + 22);
      await store.endVisit('b', T0 + 40);

      const histories = async (ids: string[]) => Promise.all(ids.map((id) => store.visitHistory(id)));
      const first = await store.visitorVisits('g', { after: null, limit: 2 });
      expect(first).toEqual({ visits: await histories(['e', 'd']), more: true });
      const second = await store.visitorVisits('g', { after: { startedAt: T0 + 20, visitId: 'd' }, limit: 2 });
      expect(second).toEqual({ visits: await histories(['c', 'b']), more: true });
      const third = await store.visitorVisits('g', { after: { startedAt: T0 + 10, visitId: 'b' }, limit: 2 });
      expect(third).toEqual({ visits: await histories(['a']), more: false });
      // Exactly the rest: no more.
      expect(await store.visitorVisits('g', { after: { startedAt: T0 + 10, visitId: 'c' }, limit: 2 })).toEqual({
        visits: await histories(['b', 'a']),
        more: false,
      });
      expect(await store.visitorVisits('g', { after: null, limit: 100 })).toEqual({
        visits: await histories(['e', 'd', 'c', 'b', 'a']),
        more: false,
      });
      expect(await store.visitorVisits('g', { after: { startedAt: T0, visitId: 'a' }, limit: 5 })).toEqual({
        visits: [],
        more: false,
      });
      expect(await store.visitorVisits('someone-else', { after: null, limit: 5 })).toEqual({
        visits: await histories(['x']),
        more: false,
      });
      expect(await store.visitorVisits('nobody', { after: null, limit: 5 })).toEqual({ visits: [], more: false });
    });
  });

  describe('retention of visitor context', () => {
    it("drops a pruned visit's identity and business events with it, and lists it no more", async () => {
      const store = await fresh();
      await visitWithPage(store, 'v', 'p');
      await store.changeIdentity('v', 'p', { kind: 'sign-in', userId: 'u', verified: true, traits: { a: 1 } }, T0 + 1);
      await store.recordBusinessEvent({ visitId: 'v', pageId: 'p', name: 'n', data: { b: 2 } }, T0 + 2);
      await store.closePage('p', T0 + 3);
      await store.endVisit('v', T0 + 4);
      await visitWithPage(store, 'kept', 'kp');
      await store.changeIdentity('kept', 'kp', { kind: 'user-info', traits: { c: 3 } }, T0 + 5);
      const keptContext = await store.visitContexts(['kept'], 10);

      expect(await store.pruneVisits(T0 + 50, 100)).toBe(2);
      expect(await store.visitHistory('v')).toBeNull();
      expect(await store.visitContexts(['v'], 10)).toEqual(new Map());
      expect(await store.visitorVisits('browser-of-v', { after: null, limit: 10 })).toEqual({
        visits: [],
        more: false,
      });
      expect(await store.visitContexts(['kept'], 10)).toEqual(keptContext);
      // The same id started again is a new visit with nothing of the pruned one.
      await visitWithPage(store, 'v', 'p2', T0 + 100);
      expect(await store.visitContexts(['v'], 10)).toEqual(new Map());
      expect(await store.visitHistory('v')).toMatchObject({ identity: null, events: [], attempts: [] });
    });
  });

  describe('erasure', () => {
    it('erases a browser: visits, pages, identity, business events, caps, opt-out, attempts in progress too, its events and webhook deliveries', async () => {
      const store = await fresh();
      const gone = browserIds('erase');
      const kept = browserIds('keep');
      // Webhooks on before anything happens, so that every event waits in the outbox.
      await store.queueWebhookEvents({ types: null, now: T0, maxAgeMs: 86_400_000, limit: 100 });
      await populate(store, gone, T0);
      await populate(store, kept, T0 + 1000);
      expect(
        await store.queueWebhookEvents({ types: null, now: T0 + 2000, maxAgeMs: 86_400_000, limit: 10_000 }),
      ).toBeGreaterThan(0);
      // One of its deliveries has been given up on (kept as failed), another is leased to a sender right now.
      const claimed = await store.claimWebhookDeliveries(T0 + 2000, T0 + 2000 + 60_000, 100);
      const lanes = claimed.filter((d) => d.event.visitId === gone.endedVisit || d.event.visitId === gone.liveVisit);
      expect(lanes).toHaveLength(2);
      await store.webhookAttemptFailed(lanes[0]!.event.seq, 5, null, 'HTTP 500');
      expect((await store.channelLoads(['chat'])).get('chat')!.inProgress).toBe(4);
      expect((await store.browserBudgets([gone.globalVisitId], T0 + 2000)).get(gone.globalVisitId)).toMatchObject({
        shown: 2,
        lastDeclinedAt: T0 + 4,
      });
      expect(await store.nextDeadline(IDLE_MS)).toBe(T0 + 17 + 30_000); // its pending attempt's expiry comes first

      const keptBefore = await viewOf(store, kept, T0 + 3000);
      const now = T0 + 3000;
      const marker = { key: 'marker-of-the-erased-browser', until: now + ERASURE_MARKER_MS };
      const counts = await store.eraseVisitor(gone.globalVisitId, marker, now);
      expect(counts).toEqual({ visits: 2, pages: 3, events: 2, attempts: 3 });

      // Nothing of it through the interface.
      for (const visitId of [gone.endedVisit, gone.liveVisit]) {
        expect(await store.getVisit(visitId)).toBeNull();
        expect(await store.visitHistory(visitId)).toBeNull();
        expect(await store.activeEngagements(visitId)).toEqual([]);
        expect(await store.eventsAfter(0, { types: null, visitId }, 1000)).toEqual([]);
      }
      for (const pageId of [gone.endedPage, gone.closedPage, gone.openPage])
        expect(await store.getPage(pageId)).toBeNull();
      for (const id of [gone.settled, gone.shown, gone.pending]) expect(await store.getEngagement(id)).toBeNull();
      expect(await store.visitContexts([gone.endedVisit, gone.liveVisit], 10)).toEqual(new Map());
      expect(await store.visitorVisits(gone.globalVisitId, { after: null, limit: 10 })).toEqual({
        visits: [],
        more: false,
      });
      expect((await store.browserBudgets([gone.globalVisitId], now)).get(gone.globalVisitId)).toEqual({
        counted: [],
        shown: 0,
        lastDeclinedAt: null,
      });
      expect(await store.isOptedOut(gone.globalVisitId)).toBe(false);
      expect((await store.liveVisits()).map((v) => v.visitId)).toEqual([kept.liveVisit]);
      const exported = await store.engagementsCreated({ from: T0, to: T0 + 86_400_000, after: null, limit: 100 });
      expect(exported.map((e) => e.interactionId)).toEqual([kept.settled, kept.shown, kept.pending]);
      // Its attempts in progress no longer count on the paced channel, nor wait for a deadline.
      expect((await store.channelLoads(['chat'])).get('chat')!.inProgress).toBe(2);
      expect(await store.nextDeadline(IDLE_MS)).toBe(T0 + 1017 + 30_000);
      const due = await store.dueDeadlines(T0 + 86_400_000, IDLE_MS);
      expect(JSON.stringify(due)).not.toContain('ixn-erase');
      expect(due).toEqual(
        expect.arrayContaining([
          { kind: 'timeout', interactionId: kept.shown },
          { kind: 'expire', interactionId: kept.pending },
        ]),
      );

      // The log keeps no event of its visits, and ends with visitor.erased naming no id.
      const log = await events(store);
      const named = JSON.stringify(log);
      for (const id of erasedIds(gone)) expect(named).not.toContain(id);
      expectLogged(log.at(-1), erasureEventOf(counts, now));
      expect(log.at(-1)).toMatchObject({ visitId: null, pageId: null, interactionId: null, data: counts });
      // Nor the outbox: no delivery of its events, the failed one included; the other browser's still wait.
      expect(await store.webhookBacklog()).toEqual({ waiting: expect.any(Number), failed: 0 });
      const deliveries = await store.claimWebhookDeliveries(T0 + 86_400_000, T0 + 86_400_000 + 1, 1000);
      for (const id of erasedIds(gone)) expect(JSON.stringify(deliveries)).not.toContain(id);
      expect(deliveries.map((d) => d.event.visitId)).toEqual(expect.arrayContaining([kept.endedVisit, kept.liveVisit]));

      // The other browser is as it was.
      expect(await viewOf(store, kept, now)).toEqual(keptBefore);

      // The marker answers the erasure time until it runs out.
      expect(await store.erasedAt(marker.key, now + 1)).toBe(now);
      expect(await store.erasedAt(marker.key, marker.until - 1)).toBe(now);
      expect(await store.erasedAt(marker.key, marker.until)).toBeNull(); // `until` is when it runs out
      expect(await store.erasedAt(marker.key, marker.until + 1)).toBeNull();
      expect(await store.erasedAt('marker-of-no-one', now + 1)).toBeNull();

      // A page of the erased visit that comes back is not opened, and records nothing.
      await store
        .openPage({ pageId: gone.openPage, visitId: gone.liveVisit, info: pageInfo() }, now + 1)
        .catch(() => {});
      expect(await store.getPage(gone.openPage)).toBeNull();
      expect(
        await store.recordBusinessEvent(
          { visitId: gone.liveVisit, pageId: gone.openPage, name: 'late', data: {} },
          now + 2,
        ),
      ).toBe('no-page');
      expect(await store.changeIdentity(gone.liveVisit, gone.openPage, { kind: 'sign-out' }, now + 2)).toBe('no-visit');
      expect(
        (
          await store.createAttempt(profile({ interactionId: 'late', visitId: gone.liveVisit }), {
            exclusive: true,
            now: now + 2,
            place: true,
          })
        ).kind,
      ).toBe('no-visit');

      // Idempotent: again, nothing is found, nothing is recorded; the marker is renewed.
      const seq = await store.lastEventSeq();
      expect(
        await store.eraseVisitor(gone.globalVisitId, { key: marker.key, until: marker.until + 10 }, now + 10),
      ).toEqual({
        visits: 0,
        pages: 0,
        events: 0,
        attempts: 0,
      });
      expect(await store.lastEventSeq()).toBe(seq);
      expect(await store.erasedAt(marker.key, now + 11)).toBe(now + 10);
      expect(await store.erasedAt(marker.key, marker.until + 5)).toBe(now + 10);
    });

    it('erases an opted-out browser: its opt-out goes, so a new browser id is not opted out by it', async () => {
      const store = await fresh();
      await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, T0);
      await store.setOptOut('g', true, T0 + 1);
      await store.setOptOut('other', true, T0 + 1);
      expect(await store.eraseVisitor('g', { key: 'k', until: T0 + ERASURE_MARKER_MS }, T0 + 2)).toEqual({
        visits: 1,
        pages: 0,
        events: 0,
        attempts: 0,
      });
      expect(await store.isOptedOut('g')).toBe(false);
      expect(await store.isOptedOut('other')).toBe(true);
    });

    it('erases the attempts of visits retention already pruned, with their events', async () => {
      const store = await fresh();
      await visitWithPage(store, 'old', 'old-page');
      await store.createAttempt(profile({ interactionId: 'old-attempt', visitId: 'old' }), {
        exclusive: true,
        now: T0 + 1,
        place: true,
      });
      await store.transition({ interactionId: 'old-attempt', from: ['pending'], to: 'expired', at: T0 + 2 });
      await store.closePage('old-page', T0 + 3);
      await store.endVisit('old', T0 + 4);
      expect(await store.pruneVisits(T0 + 50, 100)).toBe(2);
      expect(await store.getEngagement('old-attempt')).toMatchObject({ visitId: 'old' });

      const counts = await store.eraseVisitor('browser-of-old', { key: 'k', until: T0 + ERASURE_MARKER_MS }, T0 + 100);
      expect(counts).toEqual({ visits: 0, pages: 0, events: 0, attempts: 1 });
      expect(await store.getEngagement('old-attempt')).toBeNull();
      expect(await store.eventsAfter(0, { types: null, visitId: 'old' }, 100)).toEqual([]);
      expectLogged((await events(store)).at(-1), erasureEventOf(counts, T0 + 100));
    });

    it('answers zeros and records nothing for a browser it knows nothing of, and still remembers the marker', async () => {
      const store = await fresh();
      await visitWithPage(store, 'v', 'p');
      const before = await events(store);
      expect(await store.eraseVisitor('nobody', { key: 'k', until: T0 + 1000 }, T0 + 10)).toEqual({
        visits: 0,
        pages: 0,
        events: 0,
        attempts: 0,
      });
      expect(await events(store)).toEqual(before);
      expect(await store.erasedAt('k', T0 + 11)).toBe(T0 + 10);
      expect(await store.erasedAt('k', T0 + 1001)).toBeNull();
      expect(await store.getVisit('v')).not.toBeNull();
    });

    it('leaves nothing of the browser anywhere in the storage, read raw, while the other browser is all there', async () => {
      const { store, config } = await freshWithConfig();
      const gone = browserIds('erase');
      const kept = browserIds('keep');
      await store.queueWebhookEvents({ types: null, now: T0, maxAgeMs: 86_400_000, limit: 100 });
      await populate(store, gone, T0);
      await populate(store, kept, T0 + 1000);
      await store.queueWebhookEvents({ types: null, now: T0 + 2000, maxAgeMs: 86_400_000, limit: 10_000 });
      const claimed = await store.claimWebhookDeliveries(T0 + 2000, T0 + 2000 + 60_000, 100);
      const failed = claimed.find((d) => d.event.visitId === gone.liveVisit)!;
      await store.webhookAttemptFailed(failed.event.seq, 5, null, 'HTTP 500');
      // Before: the scan sees both browsers, so it reads what the store holds.
      const before = (await dumpStorage(kind, config)).join('\n');
      for (const id of [...erasedIds(gone), ...erasedIds(kept)]) expect(before).toContain(id);

      await store.eraseVisitor(gone.globalVisitId, { key: 'marker', until: T0 + ERASURE_MARKER_MS }, T0 + 3000);
      // Its events may have been queued again since: the visitor.erased event names none of it anyway.
      await store.queueWebhookEvents({ types: null, now: T0 + 3001, maxAgeMs: 86_400_000, limit: 10_000 });

      const after = await dumpStorage(kind, config);
      for (const id of erasedIds(gone))
        expect(
          after.filter((line) => line.includes(id)),
          id,
        ).toEqual([]);
      const text = after.join('\n');
      for (const id of erasedIds(kept)) expect(text, id).toContain(id);
    });
  });
});
