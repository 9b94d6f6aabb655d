/**
 * The store contract for the webhook outbox: what is queued once webhooks
 * are on, one event per visit at a time and in order, leases that run out,
 * retries and giving up. Run once on each store (stores.ts).
 */
import { describe, expect, it } from 'vitest';
import type { BeckonStore } from '../../src/core/store.js';
import { T0, visitWithPage } from './fixtures.js';
import { describeEachStore } from './stores.js';

describeEachStore(({ fresh }) => {
  describe('webhook outbox', () => {
    const turnOn = (store: BeckonStore, types: Parameters<BeckonStore['queueWebhookEvents']>[0]['types'] = null) =>
      store.queueWebhookEvents({ types, now: T0, maxAgeMs: 86_400_000, limit: 1000 });

    it('starts with what happens after webhooks are turned on, of the chosen types, and not too old', async () => {
      const store = await fresh();
      await store.startVisit({ visitId: 'history', globalVisitId: 'g' }, T0);
      expect(await turnOn(store, ['visit.started', 'page.entered'])).toBe(0);
      await visitWithPage(store, 'v', 'p', T0 + 1);
      await store.closePage('p', T0 + 2);
      await store.startVisit({ visitId: 'too-old', globalVisitId: 'g' }, T0 - 86_400_000 - 1);
      expect(
        await store.queueWebhookEvents({
          types: ['visit.started', 'page.entered'],
          now: T0 + 3,
          maxAgeMs: 86_400_000,
          limit: 2,
        }),
      ).toBe(2);
      expect(
        await store.queueWebhookEvents({
          types: ['visit.started', 'page.entered'],
          now: T0 + 3,
          maxAgeMs: 86_400_000,
          limit: 10,
        }),
      ).toBe(2);
      expect(await store.queueWebhookEvents({ types: null, now: T0 + 3, maxAgeMs: 86_400_000, limit: 10 })).toBe(0);
      expect(await store.webhookBacklog()).toEqual({ waiting: 2, failed: 0 });
      const claimed = await store.claimWebhookDeliveries(T0 + 3, T0 + 100, 10);
      expect(claimed.map((d) => [d.event.type, d.event.visitId, d.attempts])).toEqual([['visit.started', 'v', 0]]);
    });

    it('hands out one event per visit at a time, in order, leased until acknowledged or run out', async () => {
      const store = await fresh();
      await turnOn(store);
      await visitWithPage(store, 'a', 'a1', T0 + 1); // a: visit.started, page.entered
      await visitWithPage(store, 'b', 'b1', T0 + 2); // b: visit.started, page.entered
      await turnOn(store);
      expect(await store.nextWebhookAt()).toBe(T0);

      const first = await store.claimWebhookDeliveries(T0 + 10, T0 + 1000, 10);
      expect(first.map((d) => [d.event.visitId, d.event.type])).toEqual([
        ['a', 'visit.started'],
        ['b', 'visit.started'],
      ]);
      // Leased: nobody else gets them, nor the events behind them.
      expect(await store.claimWebhookDeliveries(T0 + 999, T0 + 2000, 10)).toEqual([]);
      expect(await store.nextWebhookAt()).toBe(T0 + 1000);

      await store.webhookDelivered(first[0]!.event.seq);
      const next = await store.claimWebhookDeliveries(T0 + 20, T0 + 5000, 10);
      expect(next.map((d) => [d.event.visitId, d.event.type])).toEqual([['a', 'page.entered']]);

      // b's sender died: its lease runs out and another sender gets the same event again.
      const retaken = await store.claimWebhookDeliveries(T0 + 1000, T0 + 5000, 10);
      expect(retaken.map((d) => d.event.seq)).toEqual([first[1]!.event.seq]);
      expect(retaken[0]!.event).toEqual(first[1]!.event);
      // A late acknowledgement of the same event settles it once; acknowledging twice changes nothing.
      await store.webhookDelivered(first[1]!.event.seq);
      await store.webhookDelivered(first[1]!.event.seq);
      expect(await store.webhookBacklog()).toEqual({ waiting: 2, failed: 0 });
    });

    it('retries a failed attempt when due, and gives up on it without holding up the visit', async () => {
      const store = await fresh();
      await turnOn(store);
      await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, T0 + 1);
      await store.endVisit('v', T0 + 2);
      await turnOn(store);
      const [head] = await store.claimWebhookDeliveries(T0, T0 + 100, 10);
      await store.webhookAttemptFailed(head!.event.seq, 1, T0 + 500, 'HTTP 500');
      expect(await store.claimWebhookDeliveries(T0 + 499, T0 + 600, 10)).toEqual([]);
      expect(await store.nextWebhookAt()).toBe(T0 + 500);
      const [retry] = await store.claimWebhookDeliveries(T0 + 500, T0 + 600, 10);
      expect(retry).toMatchObject({ attempts: 1, event: { seq: head!.event.seq } });
      await store.webhookAttemptFailed(head!.event.seq, 2, null, 'HTTP 500');
      expect(await store.webhookBacklog()).toEqual({ waiting: 1, failed: 1 });
      const [after] = await store.claimWebhookDeliveries(T0 + 600, T0 + 700, 10);
      expect(after?.event.type).toBe('visit.ended');
      await store.webhookDelivered(after!.event.seq);
      expect(await store.webhookBacklog()).toEqual({ waiting: 0, failed: 1 });
      expect(await store.nextWebhookAt()).toBeNull();
      expect(await store.claimWebhookDeliveries(T0 + 99_999, T0 + 999_999, 10)).toEqual([]);
    });
  });
});
