/**
 * The report's arithmetic on its own (histogram resolution, percentiles,
 * paths, building buckets from hours), then the counters as the real
 * (in-memory SQLite) store keeps them for the attempts the lifecycle settles.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ixnProfileSchema } from '../protocol/index.js';
import { openSqliteStore } from '../store/sqlite/store.js';
import type { BeckonStore } from './store.js';
import { Lifecycle } from './lifecycle.js';
import {
  ANSWER_BOUNDS,
  ANSWER_RESOLUTION,
  DAY_MS,
  HOUR_MS,
  TOP_PAGES,
  answerBucket,
  answerBucketValue,
  bucketStart,
  buildReport,
  hourOf,
  percentile,
  reportPath,
  type ReportHour,
} from './reports.js';

describe('time to answer histogram', () => {
  it('puts every value in the bucket whose bounds hold it, and reports it within the resolution', () => {
    for (let i = 0; i < ANSWER_BOUNDS.length - 1; i++) {
      const lo = ANSWER_BOUNDS[i]!;
      const last = ANSWER_BOUNDS[i + 1]! - 1;
      expect(last).toBeLessThanOrEqual(Math.max(lo, lo * 1.1));
      for (const value of [lo, last]) {
        expect(answerBucket(value)).toBe(i);
        if (value > 0) expect(Math.abs(answerBucketValue(i) - value) / value).toBeLessThanOrEqual(ANSWER_RESOLUTION);
      }
    }
    expect(answerBucket(-5)).toBe(0);
    expect(answerBucket(1e12)).toBe(ANSWER_BOUNDS.length - 1);
  });

  it('takes nearest-rank percentiles of a merged histogram, null when empty', () => {
    const samples = [1000, 1500, 3000, 20_000, 40_000];
    const histogram = new Map<number, number>();
    for (const ms of samples) histogram.set(answerBucket(ms), (histogram.get(answerBucket(ms)) ?? 0) + 1);
    const near = (actual: number | null, exact: number) =>
      expect(Math.abs(actual! - exact)).toBeLessThanOrEqual(exact * ANSWER_RESOLUTION);
    near(percentile(histogram, 0.5), 3000);
    near(percentile(histogram, 0.9), 40_000);
    near(percentile(histogram, 0.2), 1000);
    expect(percentile(new Map(), 0.5)).toBeNull();
  });
});

describe('report paths', () => {
  it('keeps the path only, bounded, and never throws on a bad URL', () => {
    expect(reportPath('https://shop.test/products/42?email=a@b.test#top')).toBe('/products/42');
    expect(reportPath('https://shop.test')).toBe('/');
    expect(reportPath(`https://shop.test/${'a'.repeat(500)}`)).toHaveLength(200);
    expect(reportPath(null)).toBe('(unknown)');
    expect(reportPath('')).toBe('(unknown)');
    expect(reportPath('http://[bad')).toBe('(unknown)');
  });
});

describe('buildReport', () => {
  it('lists every bucket, sums hours into days, and keeps caller-chosen names as plain keys', () => {
    const day = Date.UTC(2026, 10, 30);
    const hours: ReportHour[] = [
      {
        hour: day + 3 * HOUR_MS,
        counts: { created: 2, delivered: 2, accepted: 1, 'ch:chat': 1, 'ps:/a': 2, 'pa:/a': 1 },
      },
      { hour: day + 30 * HOUR_MS, counts: { created: 1, cancelled: 1, 're:__proto__': 1 } },
    ];
    const report = buildReport(hours, { from: day, to: day + 3 * 86_400_000, bucket: 'day' });
    expect(report.buckets.map((b) => [b.start, b.created])).toEqual([
      [new Date(day).toISOString(), 2],
      [new Date(day + 86_400_000).toISOString(), 1],
      [new Date(day + 2 * 86_400_000).toISOString(), 0],
    ]);
    expect(report.buckets[2]!.acceptanceRate).toBeNull();
    expect(report.totals).toMatchObject({ created: 3, delivered: 2, accepted: 1, acceptanceRate: 0.5, cancelled: 1 });
    expect(JSON.parse(JSON.stringify(report.totals.cancelledByReason))).toEqual(JSON.parse('{"__proto__":1}'));
    expect(report.topPages).toEqual([{ path: '/a', shown: 2, accepted: 1, acceptanceRate: 0.5 }]);
  });
});

describe('hours and buckets', () => {
  it('files a moment under the start of its UTC hour, and of its UTC day', () => {
    const hour = Date.UTC(2026, 11, 2, 16, 0, 0);
    expect(hourOf(hour)).toBe(hour);
    expect(hourOf(hour + HOUR_MS - 1)).toBe(hour);
    expect(hourOf(hour + HOUR_MS)).toBe(hour + HOUR_MS);
    expect(bucketStart(hour + 59 * 60_000, 'hour')).toBe(hour);
    expect(bucketStart(hour + 59 * 60_000, 'day')).toBe(Date.UTC(2026, 11, 2));
  });
});

describe('the open last bucket of the histogram', () => {
  it('reports its start, and takes every longer wait', () => {
    const last = ANSWER_BOUNDS.length - 1;
    expect(answerBucketValue(last)).toBe(ANSWER_BOUNDS[last]);
    expect(answerBucket(ANSWER_BOUNDS[last]! + 86_400_000)).toBe(last);
    expect(percentile(new Map([[last, 3]]), 0.5)).toBe(ANSWER_BOUNDS[last]);
  });

  it('takes percentiles in the order of the buckets, whatever order the hours were merged in', () => {
    const slow = answerBucket(60_000);
    const fast = answerBucket(2000);
    const middle = answerBucket(9000);
    const histogram = new Map([
      [slow, 1],
      [fast, 3],
      [middle, 1],
    ]);
    expect(percentile(histogram, 0.5)).toBe(answerBucketValue(fast));
    expect(percentile(histogram, 0.8)).toBe(answerBucketValue(middle));
    expect(percentile(histogram, 1)).toBe(answerBucketValue(slow));
  });
});

describe('the funnel figures', () => {
  const day = Date.UTC(2026, 10, 30);

  it('counts every outcome under its own name, with the time to answer from its histogram', () => {
    const hours: ReportHour[] = [
      {
        hour: day,
        counts: {
          created: 9,
          delivered: 6,
          accepted: 2,
          declined: 3,
          timed_out: 1,
          cancelled: 2,
          expired: 1,
          [`tta:${answerBucket(1000)}`]: 4,
          [`tta:${answerBucket(30_000)}`]: 1,
        },
      },
    ];
    const { totals } = buildReport(hours, { from: day, to: day + DAY_MS, bucket: 'day' });
    expect(totals).toMatchObject({
      created: 9,
      delivered: 6,
      accepted: 2,
      declined: 3,
      timedOut: 1,
      cancelled: 2,
      expired: 1,
      acceptanceRate: 2 / 6,
      timeToAnswerMs: { p50: answerBucketValue(answerBucket(1000)), p90: answerBucketValue(answerBucket(30_000)) },
    });
    const empty = buildReport([], { from: day, to: day + DAY_MS, bucket: 'day' });
    expect(empty.totals.timeToAnswerMs).toEqual({ p50: null, p90: null });
  });

  it('lists channels and reasons in name order', () => {
    const hours: ReportHour[] = [
      { hour: day, counts: { 'ch:voice': 1, 'ch:chat': 2, 're:too-busy': 1, 're:after-hours': 4, 're:(none)': 1 } },
    ];
    const { totals } = buildReport(hours, { from: day, to: day + DAY_MS, bucket: 'day' });
    expect(Object.entries(totals.acceptedByChannel)).toEqual([
      ['chat', 2],
      ['voice', 1],
    ]);
    expect(Object.keys(totals.cancelledByReason)).toEqual(['(none)', 'after-hours', 'too-busy']);
  });

  it('by hour: one bucket per hour of the range, each with only its own hour, in UTC', () => {
    const hours: ReportHour[] = [
      { hour: day + HOUR_MS, counts: { created: 2 } },
      { hour: day + 2 * HOUR_MS, counts: { created: 5 } },
    ];
    const report = buildReport(hours, { from: day, to: day + 3 * HOUR_MS, bucket: 'hour' });
    expect(report).toMatchObject({ bucket: 'hour', timeZone: 'UTC', from: '2026-11-30T00:00:00.000Z' });
    expect(report.to).toBe('2026-11-30T03:00:00.000Z');
    expect(report.buckets.map((b) => [b.start, b.created])).toEqual([
      ['2026-11-30T00:00:00.000Z', 0],
      ['2026-11-30T01:00:00.000Z', 2],
      ['2026-11-30T02:00:00.000Z', 5],
    ]);
  });

  it('leaves out hours before the range and from its end on', () => {
    const hours: ReportHour[] = [
      { hour: day - HOUR_MS, counts: { created: 100 } },
      { hour: day, counts: { created: 1 } },
      { hour: day + DAY_MS - HOUR_MS, counts: { created: 2 } },
      { hour: day + DAY_MS, counts: { created: 1000 } },
    ];
    const report = buildReport(hours, { from: day, to: day + DAY_MS, bucket: 'day' });
    expect(report.totals.created).toBe(3);
    expect(report.buckets.map((b) => b.created)).toEqual([3]);
  });
});

describe('top pages', () => {
  const day = Date.UTC(2026, 10, 30);
  const report = (counts: Record<string, number>) =>
    buildReport([{ hour: day, counts }], { from: day, to: day + DAY_MS, bucket: 'day' }).topPages;

  it('lists the most shown pages first, ties by path, with their acceptance', () => {
    expect(report({ 'ps:/b': 4, 'ps:/c': 9, 'ps:/a': 4, 'pa:/c': 3, 'pa:/a': 1 })).toEqual([
      { path: '/c', shown: 9, accepted: 3, acceptanceRate: 3 / 9 },
      { path: '/a', shown: 4, accepted: 1, acceptanceRate: 0.25 },
      { path: '/b', shown: 4, accepted: 0, acceptanceRate: 0 },
    ]);
    expect(report({ 'ps:/b': 4, 'ps:/a': 4 }).map((p) => p.path)).toEqual(['/a', '/b']);
    expect(report({ 'ps:/a': 4, 'ps:/b': 4 }).map((p) => p.path)).toEqual(['/a', '/b']);
  });

  it(`keeps the first ${TOP_PAGES}, and no page that was never shown`, () => {
    const counts: Record<string, number> = { 'ps:/never': 0, 'pa:/never': 0 };
    for (let i = 1; i <= 12; i++) counts[`ps:/p${String(i).padStart(2, '0')}`] = i;
    const top = report(counts);
    expect(top).toHaveLength(TOP_PAGES);
    expect(top.map((p) => p.shown)).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3]);
    expect(report({ 'ps:/never': 0 })).toEqual([]);
  });
});

describe('the funnel as the store counts it', () => {
  const T0 = Date.UTC(2026, 11, 2, 10, 0, 0);
  let store: BeckonStore;
  let clock: number;
  let core: Lifecycle;

  beforeEach(() => {
    store = openSqliteStore(':memory:');
    clock = T0;
    core = new Lifecycle(store, { strict: false, visitIdleMs: 3_600_000, now: () => clock });
    core.stopDeadlines();
  });
  afterEach(async () => {
    await store.close();
  });

  const engage = (interactionId: string, visitId: string) =>
    core.engage(ixnProfileSchema.parse({ interactionId, visitId, channels: ['chat', 'voice'] }));
  const report = async () =>
    buildReport(await store.reportHours(hourOf(T0), hourOf(T0) + HOUR_MS), {
      from: hourOf(T0),
      to: hourOf(T0) + HOUR_MS,
      bucket: 'hour',
    });

  it('counts an accept by channel and page path, with its time to answer, and a cancel without reason under (none)', async () => {
    const info = { url: 'https://shop.test/cart?coupon=secret', title: 'Cart', visible: true, focused: true };
    const page = await core.enterPage(null, () => null, info);
    await engage('yes', page.visitId);
    await core.markShown('yes', page.visitId, page.pageId);
    clock += 4000;
    await core.answer('yes', page.visitId, page.pageId, 'accepted', 'voice');
    await engage('called-off', page.visitId);
    await core.noengage({ interactionId: 'called-off', visitId: null, reason: null });
    const { totals, topPages } = await report();
    expect(totals).toMatchObject({
      created: 2,
      delivered: 1,
      accepted: 1,
      cancelled: 1,
      acceptedByChannel: { voice: 1 },
      cancelledByReason: { '(none)': 1 },
    });
    expect(Math.abs(totals.timeToAnswerMs.p50! - 4000)).toBeLessThanOrEqual(4000 * ANSWER_RESOLUTION);
    expect(topPages).toEqual([{ path: '/cart', shown: 1, accepted: 1, acceptanceRate: 1 }]);
  });

  it('keeps at most 50 reasons by name in an hour; the rest count under (other)', async () => {
    const page = await core.enterPage(null, () => null, {
      url: 'https://shop.test/',
      title: 'Shop',
      visible: true,
      focused: true,
    });
    const reasons = Array.from({ length: 52 }, (_, i) => `reason-${String(i).padStart(2, '0')}`);
    for (const reason of reasons) {
      await engage(reason, page.visitId);
      await core.noengage({ interactionId: reason, visitId: null, reason });
    }
    // A reason already kept still counts under its name.
    await engage('again', page.visitId);
    await core.noengage({ interactionId: 'again', visitId: null, reason: 'reason-00' });
    const { cancelledByReason } = (await report()).totals;
    expect(cancelledByReason['(other)']).toBe(2);
    expect(cancelledByReason['reason-00']).toBe(2);
    expect(cancelledByReason['reason-49']).toBe(1);
    expect(cancelledByReason['reason-50']).toBeUndefined();
    expect(Object.keys(cancelledByReason)).toHaveLength(51);
  });
});
