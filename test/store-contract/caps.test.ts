/**
 * The store contract for frequency caps (core/caps.ts): the per-day cap and
 * the quiet time after a decline, per browser, checked in the same atomic
 * step as the engage. Explicit times throughout. (Processes racing engages at
 * the cap: in processes.test.ts.) Run once on each store (stores.ts).
 */
import { describe, expect, it } from 'vitest';
import { ixnProfileSchema, type PageInfo } from '../../src/protocol/index.js';
import { CAP_WINDOW_MS, capState, type CapSettings } from '../../src/core/caps.js';
import type { BeckonStore } from '../../src/core/store.js';
import { describeEachStore } from './stores.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const MINUTE = 60_000;
const page: PageInfo = { url: 'https://shop.test/', title: 'Shop', visible: true, focused: true, locale: 'en' };

describeEachStore(({ fresh }) => {
  describe('frequency caps', () => {
    /** A live visit of browser `g` with an open page. */
    const visitOf = async (store: BeckonStore, visitId: string, globalVisitId = 'g', at = T0) => {
      await store.startVisit({ visitId, globalVisitId }, at);
      await store.openPage({ pageId: `page-of-${visitId}`, visitId, info: page }, at);
    };
    /** Creates an attempt (not exclusive, so several may be in progress) under `caps`. */
    const engage = (store: BeckonStore, interactionId: string, now: number, caps?: CapSettings, visitId = 'v') =>
      store.createAttempt(ixnProfileSchema.parse({ interactionId, visitId }), {
        exclusive: false,
        now,
        place: false,
        ...(caps ? { caps } : {}),
      });
    const show = (store: BeckonStore, interactionId: string, at: number) =>
      store.transition({ interactionId, from: ['pending'], to: 'delivered', at, timeoutAt: at + 30_000 });
    const settle = (store: BeckonStore, interactionId: string, to: 'accepted' | 'declined' | 'timed_out', at: number) =>
      store.transition({
        interactionId,
        from: ['delivered'],
        to,
        at,
        ...(to === 'accepted' ? { channel: 'chat' } : {}),
      });
    const stateOf = async (store: BeckonStore, caps: CapSettings, now: number, globalVisitId = 'g') =>
      capState((await store.browserBudgets([globalVisitId], now)).get(globalVisitId)!, caps, now);

    it('refuses the engage over the per-day cap until the oldest counted show leaves the 24 hours', async () => {
      const store = await fresh();
      await visitOf(store, 'v');
      const caps = { perDay: 2, afterDeclineMs: null };
      expect((await engage(store, 'one', T0, caps)).kind).toBe('created');
      await show(store, 'one', T0 + 1000);
      await settle(store, 'one', 'accepted', T0 + 2000);
      expect((await engage(store, 'two', T0 + 10_000, caps)).kind).toBe('created');
      await show(store, 'two', T0 + 11_000);
      await settle(store, 'two', 'timed_out', T0 + 41_000);

      // Counted from its show (T0 + 1000), not its creation: the cap lifts 24 hours after that.
      const lifts = T0 + 1000 + CAP_WINDOW_MS;
      expect(await engage(store, 'three', T0 + 60_000, caps)).toEqual({
        kind: 'capped',
        cap: 'per-day',
        retryAfter: lifts,
      });
      expect(await engage(store, 'three', lifts - 1, caps)).toEqual({
        kind: 'capped',
        cap: 'per-day',
        retryAfter: lifts,
      });
      expect(await store.getEngagement('three')).toBeNull(); // refused: nothing was made
      expect(await stateOf(store, caps, lifts - 1)).toEqual({
        shownLast24Hours: 2,
        perDay: 2,
        quietUntil: null,
        capped: 'per-day',
        retryAfter: lifts,
      });
      // An id that exists answers as before, capped or not (idempotency first).
      expect((await engage(store, 'one', lifts - 1, caps)).kind).toBe('exists');
      // Without caps nothing is checked (caps are off by default), and nothing is recorded: an attempt
      // created then is not counted, even once shown, and its decline starts no quiet time.
      expect((await engage(store, 'uncapped', lifts - 1)).kind).toBe('created');
      await show(store, 'uncapped', lifts - 1);
      await settle(store, 'uncapped', 'declined', lifts - 1);
      expect((await store.browserBudgets(['g'], lifts - 1)).get('g')).toMatchObject({ shown: 2, lastDeclinedAt: null });

      expect((await engage(store, 'three', lifts, caps)).kind).toBe('created');
      expect(await stateOf(store, caps, lifts)).toMatchObject({
        shownLast24Hours: 1,
        capped: 'per-day',
        retryAfter: T0 + 11_000 + CAP_WINDOW_MS,
      });
      const events = (await store.eventsAfter(0, { types: ['engagement.pending'], visitId: null }, 100)).map(
        (e) => e.interactionId,
      );
      expect(events).toEqual(['one', 'two', 'uncapped', 'three']);
    });

    it('counts attempts in progress, and never those cancelled or expired before they were shown', async () => {
      const store = await fresh();
      await visitOf(store, 'v');
      const caps = { perDay: 1, afterDeclineMs: null };
      // A pending attempt holds its place (from its creation), so a racing second one cannot overshoot.
      expect((await engage(store, 'waiting', T0, caps)).kind).toBe('created');
      expect(await engage(store, 'second', T0 + 5, caps)).toEqual({
        kind: 'capped',
        cap: 'per-day',
        retryAfter: T0 + CAP_WINDOW_MS,
      });
      expect(await stateOf(store, caps, T0 + 5)).toMatchObject({ shownLast24Hours: 0, capped: 'per-day' });

      await store.transition({ interactionId: 'waiting', from: ['pending'], to: 'cancelled', at: T0 + 10 });
      expect(await stateOf(store, caps, T0 + 10)).toMatchObject({
        shownLast24Hours: 0,
        capped: null,
        retryAfter: null,
      });
      expect((await engage(store, 'expires', T0 + 20, caps)).kind).toBe('created');
      await store.transition({ interactionId: 'expires', from: ['pending'], to: 'expired', at: T0 + 30_020 });
      expect((await engage(store, 'shown', T0 + 30_030, caps)).kind).toBe('created');
      await show(store, 'shown', T0 + 30_040);
      // Shown, then withdrawn by noengage: it was shown, so it counts.
      await store.transition({ interactionId: 'shown', from: ['delivered'], to: 'cancelled', at: T0 + 30_050 });
      expect(await engage(store, 'after', T0 + 30_060, caps)).toEqual({
        kind: 'capped',
        cap: 'per-day',
        retryAfter: T0 + 30_040 + CAP_WINDOW_MS,
      });
      expect(await stateOf(store, caps, T0 + 30_060)).toMatchObject({ shownLast24Hours: 1 });
    });

    it('keeps quiet after a decline or close until the quiet time ends; a timeout or an opt-out does not start it', async () => {
      const store = await fresh();
      await visitOf(store, 'v');
      const caps = { perDay: null, afterDeclineMs: 30 * MINUTE };
      await engage(store, 'timed', T0, caps);
      await show(store, 'timed', T0 + 100);
      await settle(store, 'timed', 'timed_out', T0 + 30_100);
      expect((await engage(store, 'declined', T0 + 40_000, caps)).kind).toBe('created');
      await show(store, 'declined', T0 + 40_100);
      await settle(store, 'declined', 'declined', T0 + 45_000);

      const quietUntil = T0 + 45_000 + 30 * MINUTE;
      expect(await engage(store, 'next', T0 + 46_000, caps)).toEqual({
        kind: 'capped',
        cap: 'after-decline',
        retryAfter: quietUntil,
      });
      expect(await engage(store, 'next', quietUntil - 1, caps)).toEqual({
        kind: 'capped',
        cap: 'after-decline',
        retryAfter: quietUntil,
      });
      expect(await stateOf(store, caps, quietUntil - 1)).toEqual({
        shownLast24Hours: 2,
        perDay: null,
        quietUntil,
        capped: 'after-decline',
        retryAfter: quietUntil,
      });
      expect((await engage(store, 'next', quietUntil, caps)).kind).toBe('created');
      expect(await stateOf(store, caps, quietUntil)).toMatchObject({ quietUntil: null, capped: null });

      // Opting out declines what is in progress (reason opted-out): not the visitor's answer to an invitation.
      await store.setOptOut('g', true, quietUntil + 10);
      expect((await store.getEngagement('next'))?.state).toBe('declined');
      await store.setOptOut('g', false, quietUntil + 20);
      expect((await engage(store, 'back', quietUntil + 30, caps)).kind).toBe('created');
    });

    it('holds per browser across its visits, not per visit, and leaves other browsers alone', async () => {
      const store = await fresh();
      await visitOf(store, 'v', 'g');
      await visitOf(store, 'v2', 'g');
      await visitOf(store, 'w', 'h');
      const caps = { perDay: 1, afterDeclineMs: 10 * MINUTE };
      await engage(store, 'first', T0, caps, 'v');
      await show(store, 'first', T0 + 10);
      await settle(store, 'first', 'declined', T0 + 20);
      // Both caps refuse: the one that lifts later is named.
      expect(await engage(store, 'other-visit', T0 + 30, caps, 'v2')).toEqual({
        kind: 'capped',
        cap: 'per-day',
        retryAfter: T0 + 10 + CAP_WINDOW_MS,
      });
      expect(await engage(store, 'quiet-only', T0 + 30, { perDay: 5, afterDeclineMs: 10 * MINUTE }, 'v2')).toEqual({
        kind: 'capped',
        cap: 'after-decline',
        retryAfter: T0 + 20 + 10 * MINUTE,
      });
      expect((await engage(store, 'other-browser', T0 + 30, caps, 'w')).kind).toBe('created');

      const budgets = await store.browserBudgets(['g', 'h', 'nobody'], T0 + 40);
      expect(budgets.get('g')).toEqual({ counted: [{ at: T0 + 10, shown: true }], shown: 1, lastDeclinedAt: T0 + 20 });
      expect(budgets.get('h')).toEqual({ counted: [{ at: T0 + 30, shown: false }], shown: 0, lastDeclinedAt: null });
      expect(budgets.get('nobody')).toEqual({ counted: [], shown: 0, lastDeclinedAt: null });
      // A day later the show has left the window; the decline is still remembered.
      expect(await store.browserBudgets(['g'], T0 + 10 + CAP_WINDOW_MS)).toEqual(
        new Map([['g', { counted: [], shown: 0, lastDeclinedAt: T0 + 20 }]]),
      );
    });
  });
});
