import { describe, expect, it } from 'vitest';
import { canonicalTimeZone, isCalendarDate, minutesOf } from '../protocol/channels.js';
import { hoursAt, type HoursInput } from './hours.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A contact centre in Paris: split weekdays, closed at weekends and on Christmas Day. */
const paris: HoursInput = {
  timeZone: 'Europe/Paris',
  weekly: {
    mon: [
      ['09:00', '12:30'],
      ['13:30', '18:00'],
    ],
    tue: [['09:00', '18:00']],
    wed: [['09:00', '18:00']],
    thu: [['09:00', '18:00']],
    fri: [['09:00', '18:00']],
  },
  closed: ['2026-12-25'],
};

describe('business hours', () => {
  it('is open inside a range and says when that range ends, in local time', () => {
    // Monday 2026-11-30, 10:00 in Paris (UTC+1 in winter).
    expect(hoursAt(paris, at('2026-11-30T09:00:00Z'))).toEqual({
      open: true,
      opensAt: null,
      closesAt: at('2026-11-30T11:30:00Z'),
    });
  });

  it('is closed over lunch and opens again at the next range', () => {
    const state = hoursAt(paris, at('2026-11-30T11:45:00Z'));
    expect(state.open).toBe(false);
    expect(iso(state.opensAt)).toBe('2026-11-30T12:30:00.000Z');
    expect(state.closesAt).toBeNull();
  });

  it('counts a range as [start, end): open at its first minute, closed at its end', () => {
    expect(hoursAt(paris, at('2026-11-30T08:00:00Z')).open).toBe(true);
    expect(hoursAt(paris, at('2026-11-30T07:59:59.999Z')).open).toBe(false);
    expect(hoursAt(paris, at('2026-11-30T17:00:00Z')).open).toBe(false);
    expect(hoursAt(paris, at('2026-11-30T16:59:59.999Z')).open).toBe(true);
  });

  it('keeps days missing from the week closed: Friday evening opens on Monday morning', () => {
    const state = hoursAt(paris, at('2026-12-04T18:00:00Z'));
    expect(state.open).toBe(false);
    expect(iso(state.opensAt)).toBe('2026-12-07T08:00:00.000Z');
  });

  it('closes whole local days on closed dates, and opens after them', () => {
    // Christmas Day 2026 is a Friday: closed all day, next opening Monday 28th.
    const state = hoursAt(paris, at('2026-12-25T10:00:00Z'));
    expect(state.open).toBe(false);
    expect(iso(state.opensAt)).toBe('2026-12-28T08:00:00.000Z');
    // The evening before, the next opening skips the closed date too.
    expect(iso(hoursAt(paris, at('2026-12-24T18:00:00Z')).opensAt)).toBe('2026-12-28T08:00:00.000Z');
  });

  it('reads closed dates in the channel time zone, not in UTC', () => {
    // 23:30 UTC on the 24th is already the 25th in Tokyo.
    const tokyo: HoursInput = {
      timeZone: 'Asia/Tokyo',
      weekly: { fri: [['00:00', '24:00']] },
      closed: ['2026-12-25'],
    };
    expect(hoursAt(tokyo, at('2026-12-24T14:59:00Z')).open).toBe(false); // Thursday 23:59 in Tokyo
    expect(hoursAt(tokyo, at('2026-12-24T15:00:00Z')).open).toBe(false); // Friday the 25th, closed
    expect(hoursAt({ ...tokyo, closed: [] }, at('2026-12-24T15:00:00Z')).open).toBe(true);
  });

  it('follows summer time: the same local hours are an hour earlier in UTC', () => {
    // Monday 2026-06-01, 09:00 in Paris is 07:00 UTC (UTC+2).
    expect(hoursAt(paris, at('2026-06-01T06:59:00Z')).open).toBe(false);
    expect(hoursAt(paris, at('2026-06-01T07:00:00Z')).open).toBe(true);
    expect(iso(hoursAt(paris, at('2026-06-01T07:00:00Z')).closesAt)).toBe('2026-06-01T10:30:00.000Z');
  });

  it('opens at the jump when a range starts in the hour a spring-forward skips', () => {
    // Paris jumps from 02:00 to 03:00 on Sunday 2026-03-29 (01:00 UTC): the clock never reads 02:30,
    // and from the jump on it reads a time inside 02:30–04:00.
    const night: HoursInput = { timeZone: 'Europe/Paris', weekly: { sun: [['02:30', '04:00']] } };
    expect(iso(hoursAt(night, at('2026-03-29T00:00:00Z')).opensAt)).toBe('2026-03-29T01:00:00.000Z');
    expect(hoursAt(night, at('2026-03-29T00:59:59Z')).open).toBe(false); // 01:59:59 CET
    const open = hoursAt(night, at('2026-03-29T01:15:00Z')); // 03:15 CEST
    expect(open.open).toBe(true);
    expect(iso(open.closesAt)).toBe('2026-03-29T02:00:00.000Z'); // 04:00 CEST
  });

  it('follows the clock back through the hour a fall-back repeats', () => {
    // Paris goes back from 03:00 to 02:00 on Sunday 2026-10-25 (01:00 UTC): 02:30 happens at 00:30 and 01:30 UTC.
    const night: HoursInput = { timeZone: 'Europe/Paris', weekly: { sun: [['02:30', '05:00']] } };
    expect(iso(hoursAt(night, at('2026-10-24T22:00:00Z')).opensAt)).toBe('2026-10-25T00:30:00.000Z');
    // At the fall-back the clock reads 02:00 again, before the range: closed until the second 02:30.
    expect(iso(hoursAt(night, at('2026-10-25T00:30:00Z')).closesAt)).toBe('2026-10-25T01:00:00.000Z');
    expect(iso(hoursAt(night, at('2026-10-25T01:00:00Z')).opensAt)).toBe('2026-10-25T01:30:00.000Z');
    // 05:00 CET is 04:00 UTC.
    expect(iso(hoursAt(night, at('2026-10-25T01:30:00Z')).closesAt)).toBe('2026-10-25T04:00:00.000Z');
    // A range around the repeated hour stays open through it, three and a half real hours long.
    const wide: HoursInput = { timeZone: 'Europe/Paris', weekly: { sun: [['01:30', '04:00']] } };
    expect(iso(hoursAt(wide, at('2026-10-24T23:30:00Z')).closesAt)).toBe('2026-10-25T03:00:00.000Z');
  });

  it('handles zones west of UTC and their own DST dates', () => {
    // New York jumps on Sunday 2026-03-08 at 02:00 EST (07:00 UTC).
    const ny: HoursInput = { timeZone: 'America/New_York', weekly: { sun: [['08:00', '17:00']] } };
    expect(iso(hoursAt(ny, at('2026-03-08T06:00:00Z')).opensAt)).toBe('2026-03-08T12:00:00.000Z'); // 08:00 EDT
    expect(iso(hoursAt(ny, at('2026-03-01T06:00:00Z')).opensAt)).toBe('2026-03-01T13:00:00.000Z'); // 08:00 EST
  });

  it('handles zones with offsets that are not whole hours', () => {
    const kathmandu: HoursInput = { timeZone: 'Asia/Kathmandu', weekly: { wed: [['10:00', '11:00']] } };
    // Wednesday 2026-12-02 10:00 in Kathmandu (UTC+05:45) is 04:15 UTC.
    expect(iso(hoursAt(kathmandu, at('2026-12-02T00:00:00Z')).opensAt)).toBe('2026-12-02T04:15:00.000Z');
    expect(hoursAt(kathmandu, at('2026-12-02T04:15:00Z')).open).toBe(true);
  });

  it('runs an open period on across midnight when the next day starts at 00:00', () => {
    const late: HoursInput = {
      timeZone: 'UTC',
      weekly: { mon: [['18:00', '24:00']], tue: [['00:00', '02:00']] },
    };
    expect(iso(hoursAt(late, at('2026-11-30T20:00:00Z')).closesAt)).toBe('2026-12-01T02:00:00.000Z');
    expect(hoursAt(late, at('2026-12-01T01:00:00Z')).open).toBe(true);
    // A closed Tuesday cuts the period at midnight.
    expect(iso(hoursAt({ ...late, closed: ['2026-12-01'] }, at('2026-11-30T20:00:00Z')).closesAt)).toBe(
      '2026-12-01T00:00:00.000Z',
    );
  });

  it('says nothing about closing when it is open every day, all day', () => {
    const always: HoursInput = {
      timeZone: 'Europe/Paris',
      weekly: Object.fromEntries(
        ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, [['00:00', '24:00']]]),
      ),
    };
    expect(hoursAt(always, at('2026-12-02T12:00:00Z'))).toEqual({ open: true, opensAt: null, closesAt: null });
    // A closed date within two weeks is a real closing.
    expect(iso(hoursAt({ ...always, closed: ['2026-12-10'] }, at('2026-12-02T12:00:00Z')).closesAt)).toBe(
      '2026-12-09T23:00:00.000Z',
    );
  });

  it('never opens with an empty week, and never opens in a zone it does not know', () => {
    expect(hoursAt({ timeZone: 'UTC', weekly: {} }, at('2026-12-02T12:00:00Z'))).toEqual({
      open: false,
      opensAt: null,
      closesAt: null,
    });
    const unknown = { ...paris, timeZone: 'Mars/Olympus_Mons' };
    expect(hoursAt(unknown, at('2026-11-30T09:00:00Z')).open).toBe(false);
  });
});

describe('reading hours', () => {
  it('reads local times from 00:00 to 24:00', () => {
    expect(minutesOf('00:00')).toBe(0);
    expect(minutesOf('09:30')).toBe(570);
    expect(minutesOf('23:59')).toBe(1439);
    expect(minutesOf('24:00')).toBe(1440);
    for (const bad of ['24:01', '9:00', '09:60', '25:00', '09:00:00', '', ' 09:00'])
      expect(minutesOf(bad), bad).toBeNull();
  });

  it('reads calendar dates that exist', () => {
    expect(isCalendarDate('2026-12-25')).toBe(true);
    expect(isCalendarDate('2028-02-29')).toBe(true);
    for (const bad of ['2026-02-29', '2026-13-01', '2026-12-32', '26-12-25', '2026-12-25T00:00', '']) {
      expect(isCalendarDate(bad), bad).toBe(false);
    }
  });

  it('accepts IANA time zone names and nothing else', () => {
    expect(canonicalTimeZone('Europe/Paris')).toBe('Europe/Paris');
    expect(canonicalTimeZone('UTC')).toBe('UTC');
    expect(canonicalTimeZone('America/Argentina/Buenos_Aires')).not.toBeNull();
    for (const bad of ['+01:00', 'Europe/Nowhere', '', 'Europe/Paris ', '../etc/passwd']) {
      expect(canonicalTimeZone(bad), bad).toBeNull();
    }
  });
});
