import { describe, expect, it } from 'vitest';
import { CAP_WINDOW_MS, capState, capsOn, cappedMessage, type BrowserBudget } from './caps.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const budget = (ats: number[], lastDeclinedAt: number | null = null): BrowserBudget => ({
  counted: ats.map((at) => ({ at, shown: true })).sort((a, b) => b.at - a.at),
  shown: ats.length,
  lastDeclinedAt,
});

describe('capState', () => {
  it('caps per day once perDay entries count, until the perDay-th newest leaves the window', () => {
    const caps = { perDay: 2, afterDeclineMs: null };
    expect(capState(budget([T0]), caps, T0 + 1)).toMatchObject({ capped: null, retryAfter: null, shownLast24Hours: 1 });
    // Three counted, cap two: it lifts when the second newest (T0 + 10) leaves, not the oldest.
    expect(capState(budget([T0, T0 + 10, T0 + 20]), caps, T0 + 30)).toEqual({
      shownLast24Hours: 3,
      perDay: 2,
      quietUntil: null,
      capped: 'per-day',
      retryAfter: T0 + 10 + CAP_WINDOW_MS,
    });
  });

  it('keeps quiet until last decline + quiet time, and not at that instant', () => {
    const caps = { perDay: null, afterDeclineMs: 1000 };
    expect(capState(budget([], T0), caps, T0 + 999)).toMatchObject({
      capped: 'after-decline',
      quietUntil: T0 + 1000,
      retryAfter: T0 + 1000,
    });
    expect(capState(budget([], T0), caps, T0 + 1000)).toMatchObject({
      capped: null,
      quietUntil: null,
      retryAfter: null,
    });
    expect(capState(budget([], null), caps, T0)).toMatchObject({ capped: null });
  });

  it('names the cap that lifts later when both refuse, per-day on a tie', () => {
    const day = capState(budget([T0], T0), { perDay: 1, afterDeclineMs: 60_000 }, T0 + 1);
    expect(day).toMatchObject({ capped: 'per-day', retryAfter: T0 + CAP_WINDOW_MS, quietUntil: T0 + 60_000 });
    const quiet = capState(budget([T0], T0), { perDay: 1, afterDeclineMs: 2 * CAP_WINDOW_MS }, T0 + 1);
    expect(quiet).toMatchObject({ capped: 'after-decline', retryAfter: T0 + 2 * CAP_WINDOW_MS });
    const tie = capState(budget([T0], T0), { perDay: 1, afterDeclineMs: CAP_WINDOW_MS }, T0 + 1);
    expect(tie).toMatchObject({ capped: 'per-day', retryAfter: T0 + CAP_WINDOW_MS });
  });

  it('is off unless a cap is set, and its fault message names the cap and the time', () => {
    expect(capsOn(undefined)).toBe(false);
    expect(capsOn({ perDay: null, afterDeclineMs: null })).toBe(false);
    expect(capsOn({ perDay: 3, afterDeclineMs: null })).toBe(true);
    expect(capsOn({ perDay: null, afterDeclineMs: 60_000 })).toBe(true);
    expect(cappedMessage('per-day', { perDay: 3, afterDeclineMs: null }, T0)).toMatch(
      /3 invitation\(s\).*BECKON_CAP_PER_DAY.*2026-01-01T12:00:00.000Z/,
    );
    expect(cappedMessage('after-decline', { perDay: null, afterDeclineMs: 45 * 60_000 }, T0)).toMatch(
      /45 minute\(s\).*BECKON_CAP_AFTER_DECLINE_MINUTES.*2026-01-01T12:00:00.000Z/,
    );
  });

  it('without a quiet time, a decline never caps, even one stamped a moment ahead by another process', () => {
    // Clocks of the processes sharing a store may differ a little: the decline can read as just after now.
    const state = capState(budget([], T0 + 5), { perDay: 3, afterDeclineMs: null }, T0);
    expect(state).toEqual({ shownLast24Hours: 0, perDay: 3, quietUntil: null, capped: null, retryAfter: null });
  });

  it('counts reservations toward the cap per day, while reporting only the invitations shown', () => {
    const reserved: BrowserBudget = {
      counted: [
        { at: T0 + 20, shown: false },
        { at: T0 + 10, shown: true },
      ],
      shown: 1,
      lastDeclinedAt: null,
    };
    expect(capState(reserved, { perDay: 2, afterDeclineMs: null }, T0 + 30)).toEqual({
      shownLast24Hours: 1,
      perDay: 2,
      quietUntil: null,
      capped: 'per-day',
      // The second newest of two counted lifts it, reserved or shown alike.
      retryAfter: T0 + 10 + CAP_WINDOW_MS,
    });
  });
});
