/**
 * The pacing rule (docs/pacing.md): whether a channel may be offered in a new
 * invitation now, from its business hours, the capacity the contact centre
 * reported and what is already on visitors' screens. Pure functions: the
 * stores apply them atomically with the create (SQLite inside the
 * transaction; Redis in the create script, which mirrors `allowanceOf` and
 * `acceptanceRateOf` to the digit), so racing engages never exceed an
 * allowance.
 */
import type { ClosedReason, PacingSettings } from '../protocol/channels.js';
import type { HoursState } from './hours.js';

/** The measured acceptance rate looks at this many of the channel's latest answered invitations. */
export const ACCEPTANCE_WINDOW = 200;
/** Until this many are answered, the configured initial rate stands in for the measured one. */
export const MIN_ANSWERED_FOR_RATE = 20;

/** What the store knows of a channel at the moment of the engage. */
export interface ChannelLoad {
  /** The last capacity report's free slots and when the store received it; null before the first. */
  capacity: { freeSlots: number; reportedAt: number } | null;
  /** Invitations of the channel accepted (with this channel) since that report: each took a slot. */
  acceptedSinceReport: number;
  /** Attempts pending or delivered that offer the channel. */
  inProgress: number;
  /** Of the channel's latest answered invitations (at most `ACCEPTANCE_WINDOW`): how many, and how many accepted with it. */
  answered: number;
  accepted: number;
}

export interface ChannelDecision {
  open: boolean;
  /** Why not, when closed. */
  reason: ClosedReason | null;
  /** Free slots reported, minus accepts since: null when pacing does not use capacity or none is known. */
  freeSlotsLeft: number | null;
  acceptanceRate: number;
  /** How many may be in progress at once now; null when unlimited (pacing off). */
  allowance: number | null;
}

/**
 * The acceptance rate the allowance divides by: accepted ÷ answered over the
 * window once enough are answered, the configured initial rate before.
 */
export function acceptanceRateOf(settings: PacingSettings, answered: number, accepted: number): number {
  if (answered < MIN_ANSWERED_FOR_RATE) return settings.initialAcceptanceRate;
  return accepted / answered;
}

/**
 * How many invitations of the channel may be in progress at once: each one
 * shown is accepted with the channel's rate, so inviting free ÷ rate fills
 * the free slots on average; the proactive share keeps part of them for
 * visitors who come by themselves.
 */
export function allowanceOf(settings: PacingSettings, freeSlotsLeft: number, rate: number): number {
  return Math.floor((freeSlotsLeft * settings.proactiveShare) / Math.max(rate, settings.minAcceptanceRate));
}

/**
 * The decision for one channel. `hours` is null for a channel open at all
 * hours. The order of the reasons is the order an operator fixes them in:
 * hours first, then a missing report, then the agents, then the pacing.
 */
export function decideChannel(
  settings: PacingSettings,
  hours: HoursState | null,
  load: ChannelLoad,
  now: number,
): ChannelDecision {
  const acceptanceRate = acceptanceRateOf(settings, load.answered, load.accepted);
  const closed = (reason: ClosedReason, freeSlotsLeft: number | null, allowance: number | null): ChannelDecision => ({
    open: false,
    reason,
    freeSlotsLeft,
    acceptanceRate,
    allowance,
  });
  if (hours !== null && !hours.open) {
    return closed('outside-hours', null, settings.mode === 'off' ? null : 0);
  }
  if (settings.mode === 'off') {
    return { open: true, reason: null, freeSlotsLeft: null, acceptanceRate, allowance: null };
  }
  if (settings.mode === 'fixed') {
    const allowance = settings.maxOnScreen ?? 0;
    if (load.inProgress >= allowance) return closed('pacing', null, allowance);
    return { open: true, reason: null, freeSlotsLeft: null, acceptanceRate, allowance };
  }
  const capacity = load.capacity;
  if (capacity === null || now - capacity.reportedAt > settings.capacityStaleSeconds * 1000) {
    return closed('capacity-unknown', null, 0);
  }
  const freeSlotsLeft = Math.max(0, capacity.freeSlots - load.acceptedSinceReport);
  if (freeSlotsLeft === 0) return closed('no-free-agents', 0, 0);
  const allowance = allowanceOf(settings, freeSlotsLeft, acceptanceRate);
  if (load.inProgress >= allowance) return closed('pacing', freeSlotsLeft, allowance);
  return { open: true, reason: null, freeSlotsLeft, acceptanceRate, allowance };
}
