/**
 * The pacing rule (docs/pacing.md): whether a channel may be offered in a new
 * invitation now, from its business hours, the capacity the contact centre
 * reported and what is already on visitors' screens. Pure functions: the
 * stores apply them atomically with the create (SQLite inside the
 * transaction; Redis in the create script, which mirrors `allowanceOf` and
 * `acceptanceRateOf` to the digit), so racing engages never exceed an
 * allowance.
 */
import type { HoursState } from './hours.js';

/** How a channel is paced: not at all, at most `maxOnScreen` in progress, or by reported capacity. */
export const PACING_MODES = ['off', 'fixed', 'progressive'] as const;
export type PacingMode = (typeof PACING_MODES)[number];

/** Why a channel is not offered now, as engage's `NO_CAPACITY` details and `/pacing` name it. */
export const CLOSED_REASONS = ['outside-hours', 'capacity-unknown', 'no-free-agents', 'pacing'] as const;
export type ClosedReason = (typeof CLOSED_REASONS)[number];

export interface PacingSettings {
  mode: PacingMode;
  /** Share of the free slots that proactive invitations may fill (0–1); the rest is kept for visitors who ask. */
  proactiveShare: number;
  /** The acceptance rate assumed until `MIN_ANSWERED_FOR_RATE` invitations of the channel are answered. */
  initialAcceptanceRate: number;
  /** A floor on the acceptance rate, so that a run of declines cannot make the allowance unbounded. */
  minAcceptanceRate: number;
  /** `fixed` mode: at most this many invitations of the channel in progress. */
  maxOnScreen: number | null;
  /** A capacity report older than this closes the channel (`capacity-unknown`). */
  capacityStaleSeconds: number;
}

export const DEFAULT_PACING: PacingSettings = {
  mode: 'off',
  proactiveShare: 1,
  initialAcceptanceRate: 0.2,
  minAcceptanceRate: 0.05,
  maxOnScreen: null,
  capacityStaleSeconds: 60,
};

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

/** Free slots from the long form of a capacity report: what the ready agents can take, less what they have. */
export function freeSlotsOf(report: {
  agentsReady: number;
  maxPerAgent: number;
  active: number;
  queued: number;
}): number {
  return Math.max(0, report.agentsReady * report.maxPerAgent - report.active - report.queued);
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
