/**
 * The store contract for deadlines: a pending attempt expires, a shown one
 * times out, a settled one has none. (A visit that stays idle ends: in
 * presence.test.ts; several processes firing the same deadlines: in
 * processes.test.ts.) Run once on each store (stores.ts).
 */
import { describe, expect, it } from 'vitest';
import { T0, profile, visitWithPage } from './fixtures.js';
import { describeEachStore } from './stores.js';

describeEachStore(({ fresh }) => {
  describe('deadlines', () => {
    it('keeps deadlines: expiry while pending, timeout once shown, none once settled', async () => {
      const store = await fresh();
      await visitWithPage(store, 'v', 'p');
      await visitWithPage(store, 'w', 'q');
      await store.createAttempt(profile({ interactionId: 'waits', visitId: 'v', expirationSeconds: 10 }), {
        exclusive: true,
        now: T0,
        place: false,
      });
      await store.createAttempt(
        profile({ interactionId: 'shown', visitId: 'w', timeoutSeconds: 5, expirationSeconds: 60 }),
        { exclusive: true, now: T0, place: false },
      );
      expect(await store.nextDeadline(60_000)).toBe(T0 + 10_000);
      await store.transition({
        interactionId: 'shown',
        from: ['pending'],
        to: 'delivered',
        at: T0 + 1000,
        pageId: 'q',
        timeoutAt: T0 + 6000,
      });
      expect(await store.nextDeadline(60_000)).toBe(T0 + 6000);
      expect(await store.dueDeadlines(T0 + 5999, 60_000)).toEqual([]);
      expect(await store.dueDeadlines(T0 + 6000, 60_000)).toEqual([{ kind: 'timeout', interactionId: 'shown' }]);
      const due = await store.dueDeadlines(T0 + 10_000, 60_000);
      expect(due).toHaveLength(2);
      expect(due).toEqual(
        expect.arrayContaining([
          { kind: 'timeout', interactionId: 'shown' },
          { kind: 'expire', interactionId: 'waits' },
        ]),
      );
      await store.transition({ interactionId: 'shown', from: ['delivered'], to: 'timed_out', at: T0 + 6000 });
      await store.transition({ interactionId: 'waits', from: ['pending'], to: 'expired', at: T0 + 10_000 });
      expect(await store.dueDeadlines(T0 + 99_000, 60_000)).toEqual([]);
      expect(await store.nextDeadline(60_000)).toBeNull();
    });
  });
});
