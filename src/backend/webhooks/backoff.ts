/**
 * The webhook retry schedule (docs/events.md): first retry after about a second,
 * doubling with jitter, at most five minutes apart, for up to 24 hours.
 * Pure, so the schedule is unit-tested rather than waited for.
 */

export interface RetryPolicy {
  /** Delay before the first retry (1 s; tests shorten it). */
  baseMs: number;
  /** Longest wait between two attempts. */
  maxDelayMs: number;
  /** After this long since the event happened, a failing delivery is given up. */
  giveUpAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  baseMs: 1000,
  maxDelayMs: 5 * 60_000,
  giveUpAfterMs: 24 * 60 * 60_000,
};

/** Jitter spreads retries of many receivers over ±25% so that they do not arrive in waves. */
const JITTER = 0.25;

/**
 * How long to wait after the `failures`-th failed attempt (1 = the first).
 * `random` is in [0, 1). With ±25% jitter each delay is still longer than the
 * one before (1.5× its smallest vs 1.25× its largest) until the cap.
 */
export function retryDelayMs(failures: number, policy: RetryPolicy, random: number): number {
  const exponent = Math.min(Math.max(failures, 1) - 1, 40);
  const doubled = policy.baseMs * 2 ** exponent;
  const jittered = doubled * (1 - JITTER + 2 * JITTER * random);
  return Math.round(Math.min(jittered, policy.maxDelayMs));
}

/** When to try again after a failure, or null to give up because the event is too old. */
export function nextAttemptAt(
  failures: number,
  eventAt: number,
  now: number,
  policy: RetryPolicy,
  random: number,
): number | null {
  const at = now + retryDelayMs(failures, policy, random);
  return at - eventAt > policy.giveUpAfterMs ? null : at;
}
