/**
 * The store contract for reports and the export: the hourly counters written
 * with each change, checked against a scripted history through the same
 * report builder the API uses, and the export's order and paging. Run once
 * on each store (stores.ts).
 */
import { describe, expect, it } from 'vitest';
import { ixnProfileSchema, type Engagement, type PageInfo } from '../../src/protocol/index.js';
import { ANSWER_RESOLUTION, HOUR_MS, buildReport, hourOf, REPORT_CAPS } from '../../src/core/reports.js';
import type { BeckonStore } from '../../src/core/store.js';
import { describeEachStore } from './stores.js';

const pageInfo = (url: string): PageInfo => ({ url, title: 'Shop', visible: true, focused: true, locale: 'en' });
const profile = (input: Record<string, unknown> & { interactionId: string; visitId: string }) =>
  ixnProfileSchema.parse(input);
const MIN = 60_000;

/** Within the histogram's resolution of the exact value. */
function expectNear(actual: number | null, exact: number): void {
  expect(actual).not.toBeNull();
  expect(Math.abs(actual! - exact)).toBeLessThanOrEqual(exact * ANSWER_RESOLUTION + 1);
}

describeEachStore(({ fresh }) => {
  describe('reports and export', () => {
    /**
     * Recent hours (the Redis hashes expire at the hour's end + 400 days, so
     * a history far in the past would be gone at once, as it should be).
     */
    const H0 = hourOf(Date.now()) - 10 * HOUR_MS;
    const H1 = H0 + HOUR_MS;
    const H3 = H0 + 3 * HOUR_MS;

    /**
     * A known mix across hours 0, 1 and 3 (2 stays empty). Visit v1's page is
     * on /products (the query string must not reach the report), v2's on /checkout.
     */
    async function scriptedHistory(store: BeckonStore): Promise<void> {
      await store.startVisit({ visitId: 'v1', globalVisitId: 'g1' }, H0);
      await store.startVisit({ visitId: 'v2', globalVisitId: 'g2' }, H0);
      await store.openPage(
        { pageId: 'p1', visitId: 'v1', info: pageInfo('https://shop.test/products?email=a@b.test#top') },
        H0,
      );
      await store.openPage({ pageId: 'p2', visitId: 'v2', info: pageInfo('https://shop.test/checkout') }, H0);
      const create = (interactionId: string, visitId: string, at: number, channels = ['chat', 'callback']) =>
        store.createAttempt(profile({ interactionId, visitId, channels }), { exclusive: false, now: at, place: false });
      const show = (interactionId: string, pageId: string, at: number) =>
        store.transition({ interactionId, from: ['pending'], to: 'delivered', at, pageId, timeoutAt: at + 30_000 });
      const answer = (interactionId: string, to: 'accepted' | 'declined', at: number, channel?: string) =>
        store.transition({ interactionId, from: ['pending', 'delivered'], to, at, ...(channel ? { channel } : {}) });

      // Hour 0
      await create('a1', 'v1', H0 + 1000);
      await show('a1', 'p1', H0 + 2000);
      await answer('a1', 'accepted', H0 + 3500, 'chat'); // 1.5 s
      await create('a2', 'v1', H0 + 3000);
      await show('a2', 'p1', H0 + 4000);
      await answer('a2', 'declined', H0 + 7000); // 3 s
      await create('a3', 'v1', H0 + 5000);
      await store.transition({ interactionId: 'a3', from: ['pending'], to: 'expired', at: H0 + 40_000 });
      await create('a4', 'v1', H0 + 6000);
      await store.transition({
        interactionId: 'a4',
        from: ['pending', 'delivered'],
        to: 'cancelled',
        at: H0 + 7000,
        reason: 'no-agents',
      });
      // Created and shown in hour 0, accepted in hour 1: each step counts in its own hour.
      await create('a8', 'v2', H0 + 59 * MIN);
      await show('a8', 'p2', H0 + 59.5 * MIN);
      // A second show (not from pending: refused) counts nothing.
      expect(await show('a8', 'p1', H0 + 59.6 * MIN)).toBeNull();

      // Hour 1
      await answer('a8', 'accepted', H1 + 10_000, 'callback'); // 40 s
      await create('a5', 'v2', H1);
      await show('a5', 'p2', H1 + 1000);
      await store.transition({ interactionId: 'a5', from: ['delivered'], to: 'timed_out', at: H1 + 31_000 });
      await create('a6', 'v2', H1 + 100);
      await show('a6', 'p2', H1 + 200);
      await store.transition({
        interactionId: 'a6',
        from: ['pending', 'delivered'],
        to: 'cancelled',
        at: H1 + 300,
        reason: 'pacing',
      });
      await create('a7', 'v2', H1 + 400);
      await store.transition({ interactionId: 'a7', from: ['pending', 'delivered'], to: 'cancelled', at: H1 + 500 });

      // Hour 3: a tombstone (not counted), an accept, and a decline by opting out.
      await store.createTombstone({ interactionId: 't1', visitId: null, reason: 'no-agents' }, H3 + 10);
      await create('a9', 'v1', H3 + 1000);
      await show('a9', 'p1', H3 + 2000);
      await answer('a9', 'accepted', H3 + 22_000, 'chat'); // 20 s
      await create('a10', 'v2', H3 + 3000);
      await show('a10', 'p2', H3 + 4000);
      expect(await store.setOptOut('g2', true, H3 + 5000)).toHaveLength(1); // 1 s
    }

    const zero = {
      created: 0,
      delivered: 0,
      accepted: 0,
      acceptedByChannel: {},
      declined: 0,
      timedOut: 0,
      cancelled: 0,
      cancelledByReason: {},
      expired: 0,
      refused: { UNKNOWN_VISIT: 0, VISITOR_OPTED_OUT: 0, ENGAGEMENT_IN_PROGRESS: 0, VISITOR_CAPPED: 0, NO_CAPACITY: 0 },
      narrowed: 0,
    };

    it('counts every transition in the UTC hour it happened, and answers the funnel', async () => {
      const store = await fresh();
      await scriptedHistory(store);
      const report = buildReport(await store.reportHours(H0, H0 + 4 * HOUR_MS), {
        from: H0,
        to: H0 + 4 * HOUR_MS,
        bucket: 'hour',
      });
      expect(report.buckets.map((b) => b.start)).toEqual(
        [0, 1, 2, 3].map((i) => new Date(H0 + i * HOUR_MS).toISOString()),
      );
      const [b0, b1, b2, b3] = report.buckets;
      expect(b0).toMatchObject({
        created: 5,
        delivered: 3,
        accepted: 1,
        acceptedByChannel: { chat: 1 },
        declined: 1,
        timedOut: 0,
        cancelled: 1,
        cancelledByReason: { 'no-agents': 1 },
        expired: 1,
        acceptanceRate: 1 / 3,
      });
      expectNear(b0!.timeToAnswerMs.p50, 1500);
      expectNear(b0!.timeToAnswerMs.p90, 3000);
      expect(b1).toMatchObject({
        created: 3,
        delivered: 2,
        accepted: 1,
        acceptedByChannel: { callback: 1 },
        declined: 0,
        timedOut: 1,
        cancelled: 2,
        cancelledByReason: { pacing: 1, '(none)': 1 },
        expired: 0,
        acceptanceRate: 0.5,
      });
      expectNear(b1!.timeToAnswerMs.p50, 40_000);
      // Nothing delivered: no acceptance rate, no time to answer.
      expect(b2).toEqual({
        start: new Date(H0 + 2 * HOUR_MS).toISOString(),
        ...zero,
        acceptanceRate: null,
        timeToAnswerMs: { p50: null, p90: null },
      });
      expect(b3).toMatchObject({
        created: 2,
        delivered: 2,
        accepted: 1,
        acceptedByChannel: { chat: 1 },
        declined: 1,
        cancelled: 0,
        acceptanceRate: 0.5,
      });
      expectNear(b3!.timeToAnswerMs.p50, 1000);
      expectNear(b3!.timeToAnswerMs.p90, 20_000);

      expect(report.totals).toMatchObject({
        created: 10,
        delivered: 7,
        accepted: 3,
        acceptedByChannel: { callback: 1, chat: 2 },
        declined: 2,
        timedOut: 1,
        cancelled: 3,
        cancelledByReason: { '(none)': 1, 'no-agents': 1, pacing: 1 },
        expired: 1,
        acceptanceRate: 3 / 7,
      });
      // Answers took 1, 1.5, 3, 20 and 40 s: the median is 3 s, the 90th percentile 40 s.
      expectNear(report.totals.timeToAnswerMs.p50, 3000);
      expectNear(report.totals.timeToAnswerMs.p90, 40_000);
      // Totals are the sum of the buckets.
      for (const field of [
        'created',
        'delivered',
        'accepted',
        'declined',
        'timedOut',
        'cancelled',
        'expired',
      ] as const) {
        expect(report.buckets.reduce((sum, b) => sum + b[field], 0)).toBe(report.totals[field]);
      }
      expect(report.topPages).toEqual([
        { path: '/checkout', shown: 4, accepted: 1, acceptanceRate: 0.25 },
        { path: '/products', shown: 3, accepted: 2, acceptanceRate: 2 / 3 },
      ]);
      // Day buckets are sums of the same hours.
      const day = hourOf(H0) - (H0 % 86_400_000);
      const byDay = buildReport(await store.reportHours(day, day + 2 * 86_400_000), {
        from: day,
        to: day + 2 * 86_400_000,
        bucket: 'day',
      });
      expect(byDay.totals).toEqual(report.totals);
      expect(byDay.buckets.reduce((sum, b) => sum + b.delivered, 0)).toBe(7);
    });

    it('keeps the figures when the events are pruned, and drops hours only past their retention', async () => {
      const store = await fresh();
      await scriptedHistory(store);
      const before = await store.reportHours(H0, H0 + 4 * HOUR_MS);
      expect(before.map((h) => h.hour)).toEqual([H0, H1, H3]);
      while ((await store.pruneEvents(Number.MAX_SAFE_INTEGER, 1000)) > 0);
      expect(await store.eventsAfter(0, { types: null, visitId: null }, 10)).toEqual([]);
      expect(await store.reportHours(H0, H0 + 4 * HOUR_MS)).toEqual(before);
      // Hours 0 and 1 ended by H0 + 2 h: SQLite deletes them; Redis lets each expire on its own (EXPIREAT).
      const pruned = await store.pruneReports(H0 + 2 * HOUR_MS);
      const after = await store.reportHours(H0, H0 + 4 * HOUR_MS);
      if (store.kind === 'sqlite') {
        expect(pruned).toBeGreaterThan(0);
        expect(after.map((h) => h.hour)).toEqual([H3]);
      } else {
        expect(pruned).toBe(0);
        expect(after).toEqual(before);
      }
    });

    it('bounds the distinct names an hour keeps, counting the rest as (other)', async () => {
      const store = await fresh();
      await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, H0);
      const extra = 3;
      for (let i = 0; i < REPORT_CAPS.re + extra; i++) {
        await store.createAttempt(profile({ interactionId: `c${i}`, visitId: 'v' }), {
          exclusive: false,
          now: H0 + i,
          place: false,
        });
        await store.transition({
          interactionId: `c${i}`,
          from: ['pending'],
          to: 'cancelled',
          at: H0 + 100 + i,
          reason: `reason-${i}`,
        });
      }
      // A known name still counts as itself after the cap.
      await store.createAttempt(profile({ interactionId: 'again', visitId: 'v' }), {
        exclusive: false,
        now: H0 + 500,
        place: false,
      });
      await store.transition({
        interactionId: 'again',
        from: ['pending'],
        to: 'cancelled',
        at: H0 + 501,
        reason: 'reason-0',
      });
      const { totals } = buildReport(await store.reportHours(H0, H1), { from: H0, to: H1, bucket: 'hour' });
      expect(Object.keys(totals.cancelledByReason)).toHaveLength(REPORT_CAPS.re + 1);
      expect(totals.cancelledByReason['(other)']).toBe(extra);
      expect(totals.cancelledByReason['reason-0']).toBe(2);
      expect(totals.cancelled).toBe(REPORT_CAPS.re + extra + 1);
    });

    it('lists attempts by creation time, then id, in pages, each once, tombstones included', async () => {
      const store = await fresh();
      await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, H0);
      const made: { id: string; at: number }[] = [];
      // Ties on the same millisecond, ids out of order, and one just outside each end of the range.
      const times = [H0 - 1, H0, H0, H0, H0 + 5, H0 + 5, H0 + 9, H1 - 1, H1];
      for (const [i, at] of times.entries()) {
        const id = `x${(7 * i) % 10}-${i}`;
        await store.createAttempt(profile({ interactionId: id, visitId: 'v' }), {
          exclusive: false,
          now: at,
          place: false,
        });
        made.push({ id, at });
      }
      await store.createTombstone({ interactionId: 'tomb', visitId: null, reason: null }, H0 + 5);
      made.push({ id: 'tomb', at: H0 + 5 });
      const expected = made
        .filter((m) => m.at >= H0 && m.at < H1)
        .sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        .map((m) => m.id);

      const seen: Engagement[] = [];
      let after = null;
      for (let round = 0; round < 20; round++) {
        const page = await store.engagementsCreated({ from: H0, to: H1, after, limit: 3 });
        seen.push(...page);
        if (page.length < 3) break;
        const last = page[page.length - 1]!;
        after = { createdAt: Date.parse(last.createdAt), interactionId: last.interactionId };
      }
      expect(seen.map((e) => e.interactionId)).toEqual(expected);
      // Each as the status endpoint answers it.
      for (const engagement of seen) expect(engagement).toEqual(await store.getEngagement(engagement.interactionId));
      expect(await store.engagementsCreated({ from: H1 + 1, to: H1 + 2, after: null, limit: 10 })).toEqual([]);
    });
  });
});
