import { describe, expect, it } from 'vitest';
import { capacityReportSchema, channelSettingsSchema, freeSlotsOf } from './channels.js';

/** The paths zod names for a bad body, joined as the FAULT details name them. */
const badPaths = (body: unknown) => {
  const result = channelSettingsSchema.safeParse(body);
  if (result.success) return [];
  return result.error.issues.map((issue) => issue.path.join('.'));
};

describe('channel settings', () => {
  it('takes the example of the docs and keeps it as given', () => {
    const body = {
      hours: {
        timeZone: 'Europe/Paris',
        weekly: {
          mon: [
            ['09:00', '12:30'],
            ['13:30', '18:00'],
          ],
          tue: [['09:00', '18:00']],
        },
        closed: ['2026-12-25'],
      },
      pacing: {
        mode: 'progressive',
        proactiveShare: 1.0,
        initialAcceptanceRate: 0.2,
        minAcceptanceRate: 0.05,
        maxOnScreen: null,
        capacityStaleSeconds: 60,
      },
    };
    expect(channelSettingsSchema.parse(body)).toEqual(body);
  });

  it('fills what is left out: always open, not paced, the default rates', () => {
    expect(channelSettingsSchema.parse({})).toEqual({
      hours: null,
      pacing: {
        mode: 'off',
        proactiveShare: 1,
        initialAcceptanceRate: 0.2,
        minAcceptanceRate: 0.05,
        maxOnScreen: null,
        capacityStaleSeconds: 60,
      },
    });
    expect(channelSettingsSchema.parse({ hours: { timeZone: 'UTC', weekly: {} } }).hours?.closed).toEqual([]);
  });

  it('sorts closed dates and drops repeats', () => {
    const hours = { timeZone: 'UTC', weekly: {}, closed: ['2027-01-01', '2026-12-25', '2027-01-01'] };
    expect(channelSettingsSchema.parse({ hours }).hours?.closed).toEqual(['2026-12-25', '2027-01-01']);
  });

  it('names the field that is wrong', () => {
    expect(badPaths({ hours: { timeZone: 'Paris', weekly: {} } })).toEqual(['hours.timeZone']);
    expect(badPaths({ hours: { timeZone: '+01:00', weekly: {} } })).toEqual(['hours.timeZone']);
    expect(badPaths({ hours: { timeZone: 'UTC', weekly: { monday: [] } } })).toEqual(['hours.weekly']);
    expect(badPaths({ hours: { timeZone: 'UTC', weekly: { mon: [['9:00', '12:00']] } } })).toEqual([
      'hours.weekly.mon.0.0',
    ]);
    // 24:00 is only an end: as a start nothing can come after it.
    expect(badPaths({ hours: { timeZone: 'UTC', weekly: { mon: [['24:00', '24:00']] } } })).toEqual([
      'hours.weekly.mon.0',
    ]);
    expect(badPaths({ hours: { timeZone: 'UTC', weekly: {}, closed: ['2026-02-30'] } })).toEqual(['hours.closed.0']);
    expect(badPaths({ pacing: { mode: 'aggressive' } })).toEqual(['pacing.mode']);
    expect(badPaths({ pacing: { proactiveShare: 1.5 } })).toEqual(['pacing.proactiveShare']);
    expect(badPaths({ pacing: { minAcceptanceRate: 0 } })).toEqual(['pacing.minAcceptanceRate']);
    expect(badPaths({ pacing: { capacityStaleSeconds: 1 } })).toEqual(['pacing.capacityStaleSeconds']);
    expect(badPaths({ pacing: { capacityStaleSeconds: 3601 } })).toEqual(['pacing.capacityStaleSeconds']);
    expect(badPaths({ pacing: { maxOnScreen: 2.5 } })).toEqual(['pacing.maxOnScreen']);
    expect(badPaths({ pacing: { mode: 'fixed' } })).toEqual(['pacing.maxOnScreen']);
    expect(badPaths({ color: 'red' })).toEqual(['']);
  });

  it('refuses ranges across midnight, backwards or overlapping', () => {
    const day = (ranges: unknown) => badPaths({ hours: { timeZone: 'UTC', weekly: { fri: ranges } } });
    expect(day([['22:00', '02:00']])).toEqual(['hours.weekly.fri.0']);
    expect(day([['09:00', '09:00']])).toEqual(['hours.weekly.fri.0']);
    expect(
      day([
        ['09:00', '12:00'],
        ['11:00', '14:00'],
      ]),
    ).toEqual(['hours.weekly.fri']);
    expect(
      day([
        ['13:00', '14:00'],
        ['09:00', '13:00'],
      ]),
    ).toEqual([]);
    expect(day([['18:00', '24:00']])).toEqual([]);
    expect(
      day(
        Array.from({ length: 13 }, (_, i) => [`${String(i).padStart(2, '0')}:00`, `${String(i).padStart(2, '0')}:30`]),
      ),
    ).toEqual(['hours.weekly.fri']);
  });
});

describe('capacity reports', () => {
  it('takes free slots, or the agents figures with queued 0 by default', () => {
    expect(freeSlotsOf(capacityReportSchema.parse({ freeSlots: 3 }))).toBe(3);
    expect(freeSlotsOf(capacityReportSchema.parse({ agentsReady: 4, maxPerAgent: 2, active: 5, queued: 1 }))).toBe(2);
    expect(freeSlotsOf(capacityReportSchema.parse({ agentsReady: 4, maxPerAgent: 2, active: 5 }))).toBe(3);
  });

  it('refuses anything else', () => {
    for (const bad of [
      {},
      { freeSlots: -1 },
      { freeSlots: 1.5 },
      { freeSlots: '3' },
      { agentsReady: 2 },
      { freeSlots: 1, active: 2 },
    ]) {
      expect(capacityReportSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});
