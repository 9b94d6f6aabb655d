/** The report's arithmetic on its own: histogram resolution, percentiles, paths, and building buckets from hours. */
import { describe, expect, it } from 'vitest';
import {
  ANSWER_BOUNDS,
  ANSWER_RESOLUTION,
  HOUR_MS,
  answerBucket,
  answerBucketValue,
  buildReport,
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
