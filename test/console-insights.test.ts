/**
 * The figures the console's insights view derives from a report
 * (src/console/insights/report.ts): acceptance by hour of day from hour buckets,
 * by channel from the totals, the preset ranges, and a report read as
 * untrusted input. The view itself is tested in Chromium (e2e/insights.spec.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { byChannel, byHourOfDay, presetRange, readReport } from '../src/console/insights/report.js';

const zone = process.env.TZ;
afterEach(() => {
  if (zone === undefined) delete process.env.TZ;
  else process.env.TZ = zone;
});

const bucket = (start: string, delivered: number, accepted: number) => ({
  start: Date.parse(start),
  delivered,
  accepted,
});

describe('acceptance by hour of day', () => {
  it('adds up the buckets of each hour across days, in the browser time zone', () => {
    process.env.TZ = 'Europe/Paris'; // UTC+1 in December
    const hours = byHourOfDay([
      bucket('2026-12-01T08:00:00Z', 4, 1),
      bucket('2026-12-02T08:00:00Z', 6, 4),
      bucket('2026-12-02T09:00:00Z', 2, 0),
      bucket('2026-12-02T10:00:00Z', 0, 0),
    ]);
    expect(hours).toHaveLength(24);
    expect(hours[9]).toEqual({ hour: 9, delivered: 10, accepted: 5, rate: 0.5 });
    expect(hours[10]).toEqual({ hour: 10, delivered: 2, accepted: 0, rate: 0 });
    // Nothing shown is no rate at all, not 0 %.
    expect(hours[11]!.rate).toBeNull();
    expect(hours[8]!.rate).toBeNull();
  });
});

describe('acceptance by channel', () => {
  it('is each channel’s accepted count over everything shown, most accepted first', () => {
    const totals = readReport({
      totals: { delivered: 8, accepted: 4, acceptedByChannel: { chat: 1, callback: 3 } },
    }).totals;
    expect(byChannel(totals)).toEqual([
      { channel: 'callback', accepted: 3, rate: 0.375 },
      { channel: 'chat', accepted: 1, rate: 0.125 },
    ]);
  });

  it('has no rate when nothing was shown', () => {
    const totals = readReport({ totals: { delivered: 0, acceptedByChannel: { chat: 0 } } }).totals;
    expect(byChannel(totals)).toEqual([{ channel: 'chat', accepted: 0, rate: null }]);
  });
});

describe('preset ranges', () => {
  const now = Date.parse('2026-12-02T10:37:12Z');

  it('start on a UTC bucket boundary n − 1 buckets back and end now', () => {
    expect(presetRange('24h', now)).toEqual({
      from: '2026-12-01T11:00:00.000Z',
      to: '2026-12-02T10:37:12.000Z',
      bucket: 'hour',
    });
    expect(presetRange('7d', now)).toEqual({
      from: '2026-11-26T00:00:00.000Z',
      to: '2026-12-02T10:37:12.000Z',
      bucket: 'day',
    });
    expect(presetRange('30d', now).from).toBe('2026-11-03T00:00:00.000Z');
  });
});

describe('reading a report', () => {
  it('keeps numbers, drops what is not one, and orders buckets by time', () => {
    const report = readReport({
      totals: {
        created: '5',
        delivered: -1,
        accepted: 2.9,
        acceptanceRate: 'high',
        acceptedByChannel: { chat: 2, '(other)': '9' },
      },
      buckets: [
        { start: '2026-12-02T10:00:00Z', created: 1 },
        { start: 'yesterday' },
        { start: '2026-12-02T09:00:00Z', created: 2 },
      ],
      topPages: [{ path: '/a', shown: 3, accepted: 1, acceptanceRate: 1 / 3 }, null],
    });
    expect(report.totals).toMatchObject({
      created: 0,
      delivered: 0,
      accepted: 2,
      acceptanceRate: null,
      acceptedByChannel: { chat: 2, '(other)': 0 },
    });
    expect(report.buckets.map((b: { created: number }) => b.created)).toEqual([2, 1]);
    expect(report.topPages).toEqual([
      { path: '/a', shown: 3, accepted: 1, acceptanceRate: 1 / 3 },
      { path: '', shown: 0, accepted: 0, acceptanceRate: null },
    ]);
  });

  it('reads nothing from a body that is not a report', () => {
    for (const body of [null, 'text', [], { buckets: 'x', totals: 7 }]) {
      const report = readReport(body);
      expect(report.buckets).toEqual([]);
      expect(report.totals.created).toBe(0);
    }
  });
});
