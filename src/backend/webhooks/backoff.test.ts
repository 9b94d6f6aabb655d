import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY as policy, nextAttemptAt, retryDelayMs } from './backoff.js';

describe('webhook retry schedule', () => {
  it('waits about a second before the first retry', () => {
    for (const random of [0, 0.5, 0.999]) {
      const delay = retryDelayMs(1, policy, random);
      expect(delay).toBeGreaterThanOrEqual(750);
      expect(delay).toBeLessThanOrEqual(1250);
    }
  });

  it('doubles, so every delay is longer than the one before whatever the jitter, until the cap', () => {
    let previousLongest = 0;
    for (let failures = 1; 1000 * 2 ** (failures - 1) * 0.75 < policy.maxDelayMs; failures++) {
      const shortest = retryDelayMs(failures, policy, 0);
      const longest = retryDelayMs(failures, policy, 0.999999);
      expect(shortest).toBeGreaterThan(previousLongest);
      expect(retryDelayMs(failures, policy, 0.5)).toBe(1000 * 2 ** (failures - 1));
      previousLongest = longest;
    }
  });

  it('jitters: different random draws give different delays', () => {
    expect(retryDelayMs(3, policy, 0.1)).not.toBe(retryDelayMs(3, policy, 0.9));
  });

  it('never waits more than five minutes, however many failures', () => {
    for (const failures of [9, 10, 20, 100, 10_000]) {
      for (const random of [0, 0.5, 0.999]) expect(retryDelayMs(failures, policy, random)).toBeLessThanOrEqual(300_000);
    }
    expect(retryDelayMs(20, policy, 0.5)).toBe(300_000);
  });

  it('keeps retrying for 24 hours after the event and then gives up', () => {
    const eventAt = 1_000_000;
    const hour = 3_600_000;
    expect(nextAttemptAt(50, eventAt, eventAt + 23 * hour, policy, 0.5)).toBe(eventAt + 23 * hour + 300_000);
    expect(nextAttemptAt(300, eventAt, eventAt + 24 * hour - 60_000, policy, 0.5)).toBeNull();
  });

  it('sums to roughly 290 attempts over a day at the cap (about five minutes apart)', () => {
    let t = 0;
    let attempts = 1;
    for (;;) {
      const next = nextAttemptAt(attempts, 0, t, policy, 0.5);
      if (next === null) break;
      t = next;
      attempts++;
    }
    expect(attempts).toBeGreaterThan(280);
    expect(attempts).toBeLessThan(300);
    expect(t).toBeLessThanOrEqual(policy.giveUpAfterMs);
  });
});
