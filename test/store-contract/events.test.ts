/**
 * The store contract for the event log: unique ids, strictly increasing
 * positions, filters, listeners told after the commit, and pruning that keeps
 * an event still waiting for its webhook. Run once on each store (stores.ts).
 */
import { describe, expect, it } from 'vitest';
import { ALL, T0, events, profile, visitWithPage } from './fixtures.js';
import { describeEachStore } from './stores.js';

describeEachStore(({ fresh }) => {
  describe('event log', () => {
    it('gives every event a unique id and a strictly increasing position, and filters by type and visit', async () => {
      const store = await fresh();
      expect(await store.lastEventSeq()).toBe(0);
      await visitWithPage(store, 'a', 'a1');
      await visitWithPage(store, 'b', 'b1');
      await store.createAttempt(profile({ interactionId: 'x', visitId: 'a' }), {
        exclusive: true,
        now: T0,
        place: true,
      });
      const log = await events(store);
      expect(log.map((e) => e.type)).toEqual([
        'visit.started',
        'page.entered',
        'visit.started',
        'page.entered',
        'engagement.pending',
      ]);
      for (let i = 1; i < log.length; i++) expect(log[i]!.seq).toBeGreaterThan(log[i - 1]!.seq);
      expect(new Set(log.map((e) => e.id)).size).toBe(log.length);
      expect(await store.lastEventSeq()).toBe(log.at(-1)!.seq);

      expect(await store.eventsAfter(log[1]!.seq, ALL, 2)).toEqual(log.slice(2, 4));
      expect(
        await store.eventsAfter(log[1]!.seq, { types: ['visit.started', 'engagement.pending'], visitId: null }, 10),
      ).toEqual([log[2], log[4]]);
      expect(await store.eventsAfter(0, { types: null, visitId: 'a' }, 10)).toEqual([log[0], log[1], log[4]]);
      expect(await store.eventsAfter(0, { types: ['page.entered'], visitId: 'b' }, 10)).toEqual([log[3]]);
      expect(await store.eventsAfter(log.at(-1)!.seq, ALL, 10)).toEqual([]);
    });

    it('tells listeners after a change that recorded events has committed', async () => {
      const store = await fresh();
      let told = 0;
      let seenAtTell = -1;
      const stop = store.onEvents(() => {
        told++;
        void store.lastEventSeq().then((seq) => (seenAtTell = seq));
      });
      await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, T0);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(told).toBeGreaterThan(0);
      expect(seenAtTell).toBe(await store.lastEventSeq());
      stop();
      const before = told;
      await store.startVisit({ visitId: 'w', globalVisitId: 'g' }, T0);
      expect(told).toBe(before);
    });

    it('prunes old events, oldest first, keeping any still waiting for its webhook', async () => {
      const store = await fresh();
      for (let i = 0; i < 5; i++) await store.startVisit({ visitId: `old-${i}`, globalVisitId: 'g' }, T0 + i);
      // Webhooks on from here: the next event waits in the outbox.
      expect(await store.queueWebhookEvents({ types: null, now: T0 + 10, maxAgeMs: 86_400_000, limit: 100 })).toBe(0);
      await store.startVisit({ visitId: 'old-waiting', globalVisitId: 'g' }, T0 + 5);
      expect(await store.queueWebhookEvents({ types: null, now: T0 + 10, maxAgeMs: 86_400_000, limit: 100 })).toBe(1);
      await store.startVisit({ visitId: 'young', globalVisitId: 'g' }, T0 + 1000);

      expect(await store.pruneEvents(T0 + 500, 3)).toBe(3);
      expect(await store.pruneEvents(T0 + 500, 3)).toBe(2);
      expect(await store.pruneEvents(T0 + 500, 3)).toBe(0);
      expect((await events(store)).map((e) => e.visitId)).toEqual(['old-waiting', 'young']);

      // Delivered: now it can go.
      const [delivery] = await store.claimWebhookDeliveries(T0 + 20, T0 + 60_000, 10);
      await store.webhookDelivered(delivery!.event.seq);
      expect(await store.pruneEvents(T0 + 500, 10)).toBe(1);
      expect((await events(store)).map((e) => e.visitId)).toEqual(['young']);
    });
  });
});
