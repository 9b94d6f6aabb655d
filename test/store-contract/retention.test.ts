/**
 * The store contract for retention. Presence records: closed pages and ended
 * visits go in bounded batches once they are older than the retention, with
 * nothing that a live visit, an open page or an attempt in progress needs;
 * attempts of pruned visits stay readable with their ids as plain values.
 * Settled attempts: those that reached a terminal state (tombstones included)
 * before the cut go in bounded batches, oldest settled first, with every
 * entry that names them (the export, deadlines, the browser's caps budget);
 * attempts in progress and recent ones stay, and so do the events. A pruned
 * id is unknown afterwards: an engage with it is a new attempt. Run once on
 * each store (stores.ts).
 */
import { describe, expect, it } from 'vitest';
import { ixnProfileSchema, type PageInfo } from '../../src/protocol/index.js';
import type { BeckonStore } from '../../src/core/store.js';
import { describeEachStore } from './stores.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const ALL = { types: null, visitId: null } as const;
const info: PageInfo = { url: 'https://shop.test/', title: 'Shop', visible: true, focused: true, locale: 'en' };
const profile = (input: Record<string, unknown> & { interactionId: string; visitId: string }) =>
  ixnProfileSchema.parse(input);

describeEachStore(({ fresh }) => {
  describe('retention of pages and visits', () => {
    /** A visit with pages opened at `at` and closed at the given times (null: left open). */
    async function visit(
      store: BeckonStore,
      visitId: string,
      at: number,
      pages: Record<string, number | null>,
    ): Promise<void> {
      await store.startVisit({ visitId, globalVisitId: `browser-of-${visitId}` }, at);
      for (const pageId of Object.keys(pages)) await store.openPage({ pageId, visitId, info }, at);
      for (const [pageId, closedAt] of Object.entries(pages))
        if (closedAt !== null) await store.closePage(pageId, closedAt);
    }

    it('deletes closed pages and ended visits older than the retention, in bounded batches, and nothing else', async () => {
      const store = await fresh();
      const before = T0 + 50;
      // Ended long ago: both pages and the visit go.
      await visit(store, 'ended', T0, { e1: T0 + 10, e2: T0 + 20 });
      await store.endVisit('ended', T0 + 30);
      // A long visit still live: its closed page goes, its open page and the visit stay.
      await visit(store, 'long', T0, { l1: T0 + 15, l2: null });
      // Live and idle (no page open): the closed page goes, the visit stays (it may resume).
      await visit(store, 'idle', T0, { i1: T0 + 5 });
      // Ended after the cut: everything stays.
      await visit(store, 'recent', T0, { r1: T0 + 100 });
      await store.endVisit('recent', T0 + 200);
      // Ended, with an attempt still pending: the page goes, the visit stays while the attempt is in progress.
      await visit(store, 'busy', T0, { b1: T0 + 1 });
      await store.createAttempt(profile({ interactionId: 'in-progress', visitId: 'busy', expirationSeconds: 1800 }), {
        exclusive: true,
        now: T0 + 1,
        place: false,
      });
      await store.endVisit('busy', T0 + 2);
      // Ended, its attempt shown on its page and answered: visit and page go, the attempt stays as it was.
      await visit(store, 'answered', T0, { a1: null });
      await store.createAttempt(profile({ interactionId: 'settled', visitId: 'answered', pageId: 'a1' }), {
        exclusive: true,
        now: T0,
        place: true,
      });
      await store.transition({
        interactionId: 'settled',
        from: ['pending'],
        to: 'delivered',
        at: T0 + 1,
        pageId: 'a1',
        timeoutAt: T0 + 60_000,
      });
      await store.transition({
        interactionId: 'settled',
        from: ['delivered'],
        to: 'accepted',
        at: T0 + 2,
        channel: 'chat',
      });
      const settled = await store.getEngagement('settled');
      expect(settled).toMatchObject({ visitId: 'answered', pageId: 'a1', shownPageId: 'a1', state: 'accepted' });
      await store.closePage('a1', T0 + 3);
      await store.endVisit('answered', T0 + 4);

      const countsBefore = await store.counts();
      const liveBefore = await store.liveVisits();
      const logBefore = await store.eventsAfter(0, ALL, 1000);
      const deadlineBefore = await store.nextDeadline(30 * 60_000);
      const dueBefore = await store.dueDeadlines(T0 + 86_400_000, 30 * 60_000);
      // The busy attempt's expiry (the idle visit ends 4 ms later).
      expect(deadlineBefore).toBe(T0 + 1 + 1_800_000);

      // Six pages first (oldest closed first), then the two visits: at most three records a call.
      expect(await store.pruneVisits(before, 3)).toBe(3);
      expect(await store.getPage('b1')).toBeNull(); // closed at +1, the oldest
      expect(await store.getPage('a1')).toBeNull();
      expect(await store.getPage('i1')).toBeNull();
      expect(await store.getPage('e1')).not.toBeNull();
      expect(await store.pruneVisits(before, 3)).toBe(3);
      expect(await store.pruneVisits(before, 3)).toBe(2);
      expect(await store.pruneVisits(before, 3)).toBe(0);
      // Idempotent: once more, and with a big batch, nothing is left to go.
      expect(await store.pruneVisits(before, 1000)).toBe(0);

      for (const pageId of ['e1', 'e2', 'l1', 'i1', 'b1', 'a1']) expect(await store.getPage(pageId)).toBeNull();
      expect(await store.getVisit('ended')).toBeNull();
      expect(await store.getVisit('answered')).toBeNull();
      expect(await store.getVisit('long')).toMatchObject({ endedAt: null });
      expect(await store.getVisit('idle')).toMatchObject({ endedAt: null, idleSince: T0 + 5 });
      expect(await store.getVisit('recent')).toMatchObject({ endedAt: T0 + 200 });
      expect(await store.getVisit('busy')).toMatchObject({ endedAt: T0 + 2 });
      expect(await store.getPage('l2')).toMatchObject({ visitId: 'long', closedAt: null });
      expect(await store.getPage('r1')).toMatchObject({ visitId: 'recent', closedAt: T0 + 100 });
      expect((await store.openPages('long')).map((p) => p.pageId)).toEqual(['l2']);
      expect(await store.openPages('ended')).toEqual([]);

      // What live visits, metrics and deadlines see did not change; nor did the log.
      expect(await store.counts()).toEqual(countsBefore);
      expect(await store.liveVisits()).toEqual(liveBefore);
      expect(await store.eventsAfter(0, ALL, 1000)).toEqual(logBefore);
      expect(await store.nextDeadline(30 * 60_000)).toBe(deadlineBefore);
      expect(await store.dueDeadlines(T0 + 86_400_000, 30 * 60_000)).toEqual(dueBefore);
      // The attempts are kept whole; the one of a pruned visit still names it.
      expect(await store.getEngagement('settled')).toEqual(settled);
      expect(await store.getEngagement('in-progress')).toMatchObject({ visitId: 'busy', state: 'pending' });
      expect((await store.activeEngagements('busy')).map((e) => e.interactionId)).toEqual(['in-progress']);

      // Once the attempt has settled, the ended visit goes too.
      await store.transition({ interactionId: 'in-progress', from: ['pending'], to: 'expired', at: T0 + 40 });
      expect(await store.pruneVisits(before, 1000)).toBe(1);
      expect(await store.getVisit('busy')).toBeNull();
      expect(await store.getEngagement('in-progress')).toMatchObject({ visitId: 'busy', state: 'expired' });
    });

    it('keeps a page that opened again and a visit that has a page again, and prunes them once they close for good', async () => {
      const store = await fresh();
      await visit(store, 'v', T0, { back: T0 + 1 });
      await store.openPage({ pageId: 'back', visitId: 'v', info }, T0 + 2); // a reconnect after the close
      expect(await store.pruneVisits(T0 + 50, 100)).toBe(0);
      expect(await store.getPage('back')).toMatchObject({ closedAt: null });

      // A visit that ended while a page was still open (the reaper closes it later).
      await visit(store, 'w', T0, { late: null });
      await store.endVisit('w', T0 + 10);
      expect(await store.pruneVisits(T0 + 50, 100)).toBe(0);
      expect(await store.getVisit('w')).not.toBeNull();
      // Its page closes after the cut: neither goes before the page is old enough.
      await store.closePage('late', T0 + 60);
      expect(await store.pruneVisits(T0 + 50, 100)).toBe(0);
      expect(await store.getVisit('w')).not.toBeNull();
      expect(await store.getPage('late')).not.toBeNull();
      expect(await store.pruneVisits(T0 + 61, 100)).toBe(2);
      expect(await store.getVisit('w')).toBeNull();
      expect(await store.getPage('late')).toBeNull();

      // A pruned page id that connects again is a new page (of whatever visit it names now).
      await store.closePage('back', T0 + 70);
      await store.endVisit('v', T0 + 80);
      expect(await store.pruneVisits(T0 + 100, 100)).toBe(2);
      await store.startVisit({ visitId: 'v2', globalVisitId: 'browser-of-v' }, T0 + 200);
      await store.openPage({ pageId: 'back', visitId: 'v2', info }, T0 + 200);
      expect(await store.getPage('back')).toMatchObject({ visitId: 'v2', connectedAt: T0 + 200, closedAt: null });
      expect(await store.pruneVisits(T0 + 300, 100)).toBe(0);
    });

    it('is not held up by ended visits that must stay, however many come first', async () => {
      const store = await fresh();
      for (let i = 0; i < 5; i++) {
        await store.startVisit({ visitId: `busy-${i}`, globalVisitId: `b${i}` }, T0);
        await store.createAttempt(profile({ interactionId: `x${i}`, visitId: `busy-${i}` }), {
          exclusive: true,
          now: T0,
          place: false,
        });
        await store.endVisit(`busy-${i}`, T0 + 1 + i);
      }
      for (let i = 0; i < 3; i++) {
        await store.startVisit({ visitId: `done-${i}`, globalVisitId: `d${i}` }, T0);
        await store.endVisit(`done-${i}`, T0 + 10 + i);
      }
      expect(await store.pruneVisits(T0 + 50, 2)).toBe(2);
      expect(await store.pruneVisits(T0 + 50, 2)).toBe(1);
      expect(await store.pruneVisits(T0 + 50, 2)).toBe(0);
      for (let i = 0; i < 3; i++) expect(await store.getVisit(`done-${i}`)).toBeNull();
      for (let i = 0; i < 5; i++) expect(await store.getVisit(`busy-${i}`)).not.toBeNull();
    });

    it('deletes nothing with a limit of zero or nothing old enough', async () => {
      const store = await fresh();
      await visit(store, 'v', T0, { p: T0 + 1 });
      await store.endVisit('v', T0 + 2);
      expect(await store.pruneVisits(T0 + 50, 0)).toBe(0);
      expect(await store.pruneVisits(T0 + 1, 100)).toBe(0); // closed at +1 is not before +1
      expect(await store.getPage('p')).not.toBeNull();
      expect(await store.pruneVisits(T0 + 2, 100)).toBe(1); // the page; the visit ended at +2
      expect(await store.getVisit('v')).not.toBeNull();
      expect(await store.pruneVisits(T0 + 3, 100)).toBe(1);
      expect(await store.getVisit('v')).toBeNull();
    });
  });

  describe('retention of settled attempts', () => {
    const caps = { perDay: 10, afterDeclineMs: null };
    const create = (store: BeckonStore, interactionId: string, now: number) =>
      store.createAttempt(profile({ interactionId, visitId: 'v' }), { exclusive: false, now, place: false, caps });
    const exported = async (store: BeckonStore) =>
      (await store.engagementsCreated({ from: T0, to: T0 + 86_400_000, after: null, limit: 100 })).map(
        (e) => e.interactionId,
      );

    it('deletes attempts settled before the cut, oldest first in bounded batches, with their entries, and nothing else', async () => {
      const store = await fresh();
      await store.startVisit({ visitId: 'v', globalVisitId: 'browser-of-v' }, T0);
      await store.openPage({ pageId: 'p', visitId: 'v', info }, T0);
      // Settled before the cut (T0 + 50): accepted (shown, so in the caps budget), declined while
      // pending (its reserved budget entry stays), expired (its entry released), a tombstone.
      await create(store, 'accepted', T0);
      await store.transition({
        interactionId: 'accepted',
        from: ['pending'],
        to: 'delivered',
        at: T0 + 1,
        pageId: 'p',
        timeoutAt: T0 + 60_000,
      });
      await store.transition({
        interactionId: 'accepted',
        from: ['delivered'],
        to: 'accepted',
        at: T0 + 2,
        channel: 'chat',
      });
      await create(store, 'declined', T0 + 1);
      await store.transition({ interactionId: 'declined', from: ['pending'], to: 'declined', at: T0 + 3 });
      await create(store, 'expired', T0 + 2);
      await store.transition({ interactionId: 'expired', from: ['pending'], to: 'expired', at: T0 + 4 });
      await store.createTombstone({ interactionId: 'tombstone', visitId: 'v', reason: 'too late' }, T0 + 5);
      // Created before the cut but settled after it: stays.
      await create(store, 'timed-out', T0 + 3);
      await store.transition({
        interactionId: 'timed-out',
        from: ['pending'],
        to: 'delivered',
        at: T0 + 4,
        pageId: 'p',
        timeoutAt: T0 + 60,
      });
      await store.transition({ interactionId: 'timed-out', from: ['delivered'], to: 'timed_out', at: T0 + 60 });
      // In progress, however old: stay.
      await create(store, 'pending', T0 + 6);
      await create(store, 'delivered', T0 + 7);
      await store.transition({
        interactionId: 'delivered',
        from: ['pending'],
        to: 'delivered',
        at: T0 + 8,
        pageId: 'p',
        timeoutAt: T0 + 600_000,
      });

      expect(await exported(store)).toEqual([
        'accepted',
        'declined',
        'expired',
        'timed-out',
        'tombstone',
        'pending',
        'delivered',
      ]);
      const budgetBefore = (await store.browserBudgets(['browser-of-v'], T0 + 100)).get('browser-of-v')!;
      expect(budgetBefore).toMatchObject({ shown: 3 }); // accepted, timed-out, delivered
      expect(budgetBefore.counted).toHaveLength(5); // and declined, pending (reserved)
      const kept = await Promise.all(['timed-out', 'pending', 'delivered'].map((id) => store.getEngagement(id)));
      const logBefore = await store.eventsAfter(0, ALL, 1000);
      const deadlineBefore = await store.nextDeadline(30 * 60_000);
      const dueBefore = await store.dueDeadlines(T0 + 86_400_000, 30 * 60_000);
      const activeBefore = await store.activeEngagements('v');

      expect(await store.pruneAttempts(T0 + 50, 0)).toBe(0);
      expect(await store.pruneAttempts(T0 + 2, 100)).toBe(0); // settled at +2 is not before +2
      expect(await store.pruneAttempts(T0 + 50, 3)).toBe(3);
      expect(await store.getEngagement('tombstone')).toMatchObject({ state: 'cancelled' }); // settled last
      for (const id of ['accepted', 'declined', 'expired']) expect(await store.getEngagement(id)).toBeNull();
      expect(await store.pruneAttempts(T0 + 50, 3)).toBe(1);
      expect(await store.pruneAttempts(T0 + 50, 3)).toBe(0);
      // Idempotent: once more, with a big batch, nothing is left to go.
      expect(await store.pruneAttempts(T0 + 50, 1000)).toBe(0);
      expect(await store.getEngagement('tombstone')).toBeNull();

      // The export no longer lists them, nor does the browser's budget count them.
      expect(await exported(store)).toEqual(['timed-out', 'pending', 'delivered']);
      const budgetAfter = (await store.browserBudgets(['browser-of-v'], T0 + 100)).get('browser-of-v')!;
      expect(budgetAfter).toMatchObject({ shown: 2 });
      expect(budgetAfter.counted).toHaveLength(3);
      // The rest is as it was: the others whole, deadlines, attempts in progress, the log.
      expect(await Promise.all(['timed-out', 'pending', 'delivered'].map((id) => store.getEngagement(id)))).toEqual(
        kept,
      );
      expect(await store.nextDeadline(30 * 60_000)).toBe(deadlineBefore);
      expect(await store.dueDeadlines(T0 + 86_400_000, 30 * 60_000)).toEqual(dueBefore);
      expect(await store.activeEngagements('v')).toEqual(activeBefore);
      expect(await store.eventsAfter(0, ALL, 1000)).toEqual(logBefore);
      expect(await store.getVisit('v')).toMatchObject({ endedAt: null });

      // Attempts in progress never go, whatever the cut; the one settled after the first cut does.
      expect(await store.pruneAttempts(T0 + 10 * 86_400_000, 1000)).toBe(1);
      expect(await store.getEngagement('timed-out')).toBeNull();
      expect((await store.activeEngagements('v')).map((e) => e.interactionId)).toEqual(['pending', 'delivered']);
    });

    it('settles attempts declined by an opt-out at the opt-out, and prunes them like the others', async () => {
      const store = await fresh();
      await store.startVisit({ visitId: 'v', globalVisitId: 'browser-of-v' }, T0);
      await create(store, 'opted', T0);
      expect((await store.setOptOut('browser-of-v', true, T0 + 10)).map((e) => e.state)).toEqual(['declined']);
      expect(await store.pruneAttempts(T0 + 10, 100)).toBe(0);
      expect(await store.pruneAttempts(T0 + 11, 100)).toBe(1);
      expect(await store.getEngagement('opted')).toBeNull();
      expect(await store.isOptedOut('browser-of-v')).toBe(true); // the browser's choice is not the attempt's
    });

    it("forgets a pruned id: an engage with it, even a tombstone's, is a new attempt, pruned again only once it settles", async () => {
      const store = await fresh();
      await store.startVisit({ visitId: 'v', globalVisitId: 'browser-of-v' }, T0);
      await create(store, 'again', T0);
      await store.transition({ interactionId: 'again', from: ['pending'], to: 'cancelled', at: T0 + 1 });
      await store.createTombstone({ interactionId: 'late', visitId: null, reason: null }, T0 + 2);
      expect(await store.pruneAttempts(T0 + 50, 100)).toBe(2);

      expect((await create(store, 'again', T0 + 100)).kind).toBe('created');
      expect((await create(store, 'late', T0 + 101)).kind).toBe('created');
      expect(await store.getEngagement('again')).toMatchObject({
        state: 'pending',
        createdAt: new Date(T0 + 100).toISOString(),
      });
      expect(await exported(store)).toEqual(['again', 'late']);
      expect(await store.pruneAttempts(T0 + 1000, 100)).toBe(0);
      await store.transition({ interactionId: 'late', from: ['pending'], to: 'expired', at: T0 + 200 });
      expect(await store.pruneAttempts(T0 + 1000, 100)).toBe(1);
      expect(await exported(store)).toEqual(['again']);
    });
  });
});
