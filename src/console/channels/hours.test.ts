import { describe, expect, it } from 'vitest';
import { changeText, closedText, inText, localDate, rangesText, timeZoneNames, weekText } from './hours.js';

describe('hours as the Channels view writes them', () => {
  it('writes a day’s ranges in order, and a day without any as closed', () => {
    expect(
      rangesText([
        ['13:30', '18:00'],
        ['09:00', '12:30'],
      ]),
    ).toBe('09:00–12:30, 13:30–18:00');
    expect(rangesText([])).toBe('closed');
    expect(rangesText(undefined)).toBe('closed');
  });

  it('writes days in a row with the same hours once', () => {
    const office = [['09:00', '18:00']] as [string, string][];
    expect(
      weekText({ mon: office, tue: office, wed: office, thu: office, fri: office, sat: [['10:00', '14:00']] }),
    ).toBe('Mon–Fri 09:00–18:00 · Sat 10:00–14:00 · Sun closed');
    expect(
      weekText({
        mon: [
          ['09:00', '12:30'],
          ['13:30', '18:00'],
        ],
        tue: office,
      }),
    ).toBe('Mon 09:00–12:30, 13:30–18:00 · Tue 09:00–18:00 · Wed–Sun closed');
    expect(weekText({ sat: office, sun: office })).toBe('Mon–Fri closed · Sat, Sun 09:00–18:00');
    expect(weekText({})).toBe('Closed every day');
    const all = [['00:00', '24:00']] as [string, string][];
    expect(weekText({ mon: all, tue: all, wed: all, thu: all, fri: all, sat: all, sun: all })).toBe(
      'Every day 00:00–24:00',
    );
  });

  it('lists the closed dates still to come, soonest first, and counts the rest', () => {
    expect(closedText(['2026-12-25', '2026-01-01', '2026-12-02'], '2026-12-02')).toBe('2026-12-02, 2026-12-25');
    expect(closedText(['2026-01-01'], '2026-12-02')).toBeNull();
    const many = Array.from({ length: 8 }, (_, i) => `2027-01-0${i + 1}`);
    expect(closedText(many, '2026-12-02')).toBe(
      '2027-01-01, 2027-01-02, 2027-01-03, 2027-01-04, 2027-01-05 and 3 more',
    );
  });

  it('reads today in the channel’s zone, where its closed dates are days', () => {
    const lateInUtc = Date.parse('2026-12-02T23:30:00Z');
    expect(localDate(lateInUtc, 'UTC')).toBe('2026-12-02');
    expect(localDate(lateInUtc, 'Europe/Paris')).toBe('2026-12-03');
    expect(localDate(lateInUtc, 'America/New_York')).toBe('2026-12-02');
  });

  it('says when the hours next change, in the channel’s zone, and how far off', () => {
    const now = Date.parse('2026-12-02T16:00:00Z');
    expect(changeText({ opensAt: null, closesAt: '2026-12-02T17:00:00.000Z' }, 'Europe/Paris', now, 'en-GB')).toBe(
      'Closes Wed 18:00 (Europe/Paris), in 1 h',
    );
    expect(changeText({ opensAt: '2026-12-03T08:00:00.000Z', closesAt: null }, 'Europe/Paris', now, 'en-GB')).toBe(
      'Opens Thu 09:00 (Europe/Paris), in 16 h',
    );
    expect(changeText({ opensAt: null, closesAt: null }, 'Europe/Paris', now)).toBeNull();
  });

  it('writes how far off a moment is', () => {
    expect(inText(20_000)).toBe('in less than a minute');
    expect(inText(45 * 60_000)).toBe('in 45 min');
    expect(inText(200 * 60_000)).toBe('in 3 h 20 min');
    expect(inText(60 * 60_000)).toBe('in 1 h');
    expect(inText(5 * 86_400_000)).toBe('in 5 days');
  });

  it('offers UTC among the time zones even where the browser leaves it out', () => {
    expect(timeZoneNames(() => ['Europe/Paris'])).toEqual(['UTC', 'Europe/Paris']);
    expect(timeZoneNames(() => ['UTC', 'Europe/Paris'])).toEqual(['UTC', 'Europe/Paris']);
    expect(
      timeZoneNames(() => {
        throw new RangeError('not supported');
      }),
    ).toEqual(['UTC']);
    expect(timeZoneNames()).toContain('Europe/Paris');
  });
});
