import { describe, expect, it } from 'vitest';
import { freeSlotsOf, pacingSettingsSchema, type PacingSettings } from '../protocol/channels.js';
import { acceptanceRateOf, allowanceOf, decideChannel, type ChannelLoad } from './pacing.js';

/** The defaults a channel stored with no pacing settings gets. */
const DEFAULT_PACING = pacingSettingsSchema.parse({});

const NOW = Date.parse('2026-12-02T10:00:00Z');
const progressive: PacingSettings = { ...DEFAULT_PACING, mode: 'progressive' };
const open = { open: true, opensAt: null, closesAt: null };
const shut = { open: false, opensAt: NOW + 3_600_000, closesAt: null };

/** A channel with a fresh report of `freeSlots` and nothing else going on. */
const load = (overrides: Partial<ChannelLoad> = {}): ChannelLoad => ({
  capacity: { freeSlots: 3, reportedAt: NOW - 1000 },
  acceptedSinceReport: 0,
  inProgress: 0,
  answered: 0,
  accepted: 0,
  ...overrides,
});

describe('acceptance rate', () => {
  it('is the initial rate until 20 invitations are answered, then accepted ÷ answered', () => {
    expect(acceptanceRateOf(progressive, 0, 0)).toBe(0.2);
    expect(acceptanceRateOf(progressive, 19, 19)).toBe(0.2);
    expect(acceptanceRateOf(progressive, 20, 5)).toBe(0.25);
    expect(acceptanceRateOf(progressive, 200, 10)).toBe(0.05);
    expect(acceptanceRateOf({ ...progressive, initialAcceptanceRate: 0.5 }, 3, 0)).toBe(0.5);
  });
});

describe('allowance', () => {
  it('is free slots × proactive share ÷ acceptance rate, rounded down', () => {
    expect(allowanceOf(progressive, 3, 0.2)).toBe(15);
    expect(allowanceOf(progressive, 3, 0.25)).toBe(12);
    expect(allowanceOf(progressive, 1, 0.3)).toBe(3); // 3.33…
    expect(allowanceOf({ ...progressive, proactiveShare: 0.5 }, 3, 0.2)).toBe(7); // 7.5
    expect(allowanceOf(progressive, 0, 0.2)).toBe(0);
  });

  it('divides by the minimum rate when fewer accept than that', () => {
    expect(allowanceOf(progressive, 2, 0)).toBe(40); // 2 ÷ 0.05
    expect(allowanceOf(progressive, 2, 0.01)).toBe(40);
    expect(allowanceOf({ ...progressive, minAcceptanceRate: 0.1 }, 2, 0.01)).toBe(20);
  });
});

describe('free slots from a report', () => {
  it('is what the ready agents can take, less what they already have and what waits', () => {
    expect(freeSlotsOf({ agentsReady: 4, maxPerAgent: 2, active: 5, queued: 1 })).toBe(2);
    expect(freeSlotsOf({ agentsReady: 4, maxPerAgent: 2, active: 8, queued: 3 })).toBe(0);
    expect(freeSlotsOf({ agentsReady: 0, maxPerAgent: 3, active: 0, queued: 0 })).toBe(0);
    expect(freeSlotsOf({ freeSlots: 7 })).toBe(7);
  });
});

describe('the decision for a channel', () => {
  it('offers an unpaced channel whenever its hours are open', () => {
    const off = DEFAULT_PACING;
    expect(decideChannel(off, null, load({ capacity: null, inProgress: 1000 }), NOW)).toMatchObject({
      open: true,
      reason: null,
      allowance: null,
    });
    expect(decideChannel(off, open, load(), NOW).open).toBe(true);
    expect(decideChannel(off, shut, load(), NOW)).toMatchObject({ open: false, reason: 'outside-hours' });
  });

  it('closes outside the hours before looking at anything else', () => {
    expect(decideChannel(progressive, shut, load({ capacity: null }), NOW)).toMatchObject({
      open: false,
      reason: 'outside-hours',
      allowance: 0,
    });
  });

  it('in fixed mode offers while fewer than maxOnScreen are in progress, with no report needed', () => {
    const fixed: PacingSettings = { ...DEFAULT_PACING, mode: 'fixed', maxOnScreen: 2 };
    expect(decideChannel(fixed, open, load({ capacity: null, inProgress: 1 }), NOW)).toMatchObject({
      open: true,
      allowance: 2,
    });
    expect(decideChannel(fixed, open, load({ capacity: null, inProgress: 2 }), NOW)).toMatchObject({
      open: false,
      reason: 'pacing',
      allowance: 2,
    });
  });

  it('closes a progressive channel with no report, or a report older than capacityStaleSeconds', () => {
    expect(decideChannel(progressive, null, load({ capacity: null }), NOW)).toMatchObject({
      open: false,
      reason: 'capacity-unknown',
    });
    const reportedAt = NOW - 60_000;
    expect(decideChannel(progressive, null, load({ capacity: { freeSlots: 3, reportedAt } }), NOW).open).toBe(true);
    expect(
      decideChannel(progressive, null, load({ capacity: { freeSlots: 3, reportedAt: reportedAt - 1 } }), NOW),
    ).toMatchObject({ open: false, reason: 'capacity-unknown' });
    const patient = { ...progressive, capacityStaleSeconds: 120 };
    expect(
      decideChannel(patient, null, load({ capacity: { freeSlots: 3, reportedAt: reportedAt - 1 } }), NOW).open,
    ).toBe(true);
  });

  it('counts every accept since the report as a slot taken', () => {
    expect(decideChannel(progressive, null, load({ acceptedSinceReport: 2 }), NOW)).toMatchObject({
      open: true,
      freeSlotsLeft: 1,
      allowance: 5,
    });
    expect(decideChannel(progressive, null, load({ acceptedSinceReport: 3 }), NOW)).toMatchObject({
      open: false,
      reason: 'no-free-agents',
      freeSlotsLeft: 0,
    });
    expect(decideChannel(progressive, null, load({ acceptedSinceReport: 5 }), NOW).freeSlotsLeft).toBe(0);
  });

  it('offers while fewer are in progress than the allowance, then closes for pacing', () => {
    // 3 free slots at the initial 0.2: 15 may be on screens at once.
    expect(decideChannel(progressive, null, load({ inProgress: 14 }), NOW)).toMatchObject({
      open: true,
      allowance: 15,
    });
    expect(decideChannel(progressive, null, load({ inProgress: 15 }), NOW)).toMatchObject({
      open: false,
      reason: 'pacing',
      freeSlotsLeft: 3,
      allowance: 15,
    });
  });

  it('invites fewer as more visitors accept', () => {
    const eager = load({ answered: 200, accepted: 100 }); // rate 0.5: 3 ÷ 0.5 = 6
    expect(decideChannel(progressive, null, { ...eager, inProgress: 5 }, NOW)).toMatchObject({
      open: true,
      acceptanceRate: 0.5,
      allowance: 6,
    });
    expect(decideChannel(progressive, null, { ...eager, inProgress: 6 }, NOW).open).toBe(false);
  });

  it('closes for pacing when the share left for proactive invitations rounds down to none', () => {
    const shy = { ...progressive, proactiveShare: 0.1 };
    // 1 free slot × 0.1 ÷ 0.2 = 0.5: no invitation may be in progress.
    expect(decideChannel(shy, null, load({ capacity: { freeSlots: 1, reportedAt: NOW } }), NOW)).toMatchObject({
      open: false,
      reason: 'pacing',
      allowance: 0,
    });
  });
});
