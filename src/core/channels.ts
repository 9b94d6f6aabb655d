/**
 * Channels at engage and in the pacing view (docs/pacing.md): reads the
 * settings of the channels asked for, judges their business hours now, and
 * hands the store what it needs to decide atomically; turns a refusal into
 * the `NO_CAPACITY` FAULT; and tells an operator, channel by channel, whether
 * it is open and why.
 */
import type { ChannelSettings, ClosedReason } from '../protocol/channels.js';
import type { FaultDetail, IxnProfile } from '../protocol/index.js';
import { BeckonFault } from './faults.js';
import { hoursAt, type HoursState } from './hours.js';
import { decideChannel } from './pacing.js';
import type { BeckonStore, PacedChannel } from './store.js';

/** What `/pacing` says of one channel. */
export interface ChannelStatus {
  channel: string;
  open: boolean;
  reason: ClosedReason | null;
  /** As reported, and when the store received the report; null before the first (or when not reported). */
  freeSlots: number | null;
  reportedAt: string | null;
  acceptedSinceReport: number;
  inProgress: number;
  acceptanceRate: number;
  /** How many may be in progress now; null when the channel is not paced. */
  allowance: number | null;
  /** From the hours: when a closed channel opens, when an open one closes (null: no hours, or beyond the horizon). */
  opensAt: string | null;
  closesAt: string | null;
}

const REASON_MESSAGES: Record<ClosedReason, string> = {
  'outside-hours': 'is outside its business hours',
  'capacity-unknown': 'has no recent capacity report',
  'no-free-agents': 'has no free agent',
  pacing: 'has as many invitations in progress as its allowance',
};

/** How long a channel's hours state may be reused when nothing is due to change sooner. */
const HOURS_MEMO_MS = 60_000;

export class Channels {
  /** Hours states by their settings, reused until the next opening or closing: the engage path asks often. */
  readonly #hoursMemo = new Map<string, { state: HoursState; from: number; until: number }>();

  /**
   * Every channel's settings as last read, and their version: engage paces by
   * them without a read of its own, and the store refuses a create made from
   * an old version (`channels-changed`), after which they are read again.
   */
  #config: Promise<{ version: number; settings: Map<string, ChannelSettings> }> | null = null;

  constructor(private readonly store: BeckonStore) {}

  /** Forgets the settings kept in memory (this node changed them; the next engage reads them). */
  forget(): void {
    this.#config = null;
  }

  #current(fresh: boolean) {
    if (fresh || this.#config === null) {
      const read = this.store.channelConfig();
      this.#config = read;
      // A failed read is not kept: the next engage tries again.
      read.catch(() => {
        if (this.#config === read) this.#config = null;
      });
    }
    return this.#config!;
  }

  /** Whether `settings`' hours are open at `now` (null: no hours, always open). */
  hours(settings: ChannelSettings, now: number): HoursState | null {
    if (settings.hours === null) return null;
    const key = JSON.stringify(settings.hours);
    const memo = this.#hoursMemo.get(key);
    if (memo && memo.from <= now && now < memo.until) return memo.state;
    const state = hoursAt(settings.hours, now);
    const change = state.open ? state.closesAt : state.opensAt;
    if (this.#hoursMemo.size > 1000) this.#hoursMemo.clear();
    this.#hoursMemo.set(key, { state, from: now, until: Math.min(change ?? Infinity, now + HOURS_MEMO_MS) });
    return state;
  }

  /**
   * The channels of an engage that have settings, as the store decides them,
   * their hours now, and the version of the settings they come from. `fresh`
   * reads the settings again instead of using those in memory.
   */
  async paced(
    channels: readonly string[],
    now: number,
    fresh = false,
  ): Promise<{ paced: PacedChannel[]; hours: Map<string, HoursState>; version: number }> {
    const { version, settings } = await this.#current(fresh);
    const paced: PacedChannel[] = [];
    const hours = new Map<string, HoursState>();
    for (const channel of channels) {
      const channelSettings = settings.get(channel);
      if (!channelSettings) continue;
      const state = this.hours(channelSettings, now);
      if (state) hours.set(channel, state);
      paced.push({ channel, pacing: channelSettings.pacing, hoursOpen: state?.open ?? true });
    }
    return { paced, hours, version };
  }

  /**
   * The FAULT for an engage no channel of which is open: one detail per
   * channel with its reason, and `retryAfter` when the hours say when the
   * first channel closed by them opens.
   */
  noCapacity(
    profile: IxnProfile,
    closed: readonly { channel: string; reason: ClosedReason }[],
    hours: ReadonlyMap<string, HoursState>,
  ): BeckonFault {
    const details: FaultDetail[] = closed.map(({ channel, reason }) => ({
      path: `ixnProfile.channels.${profile.channels.indexOf(channel)}`,
      channel,
      reason,
      message: `${channel} ${REASON_MESSAGES[reason]}`,
    }));
    const opensAt = closed
      .filter(({ reason }) => reason === 'outside-hours')
      .map(({ channel }) => hours.get(channel)?.opensAt ?? null)
      .filter((at): at is number => at !== null);
    const retryAfter = opensAt.length > 0 ? new Date(Math.min(...opensAt)).toISOString() : null;
    return new BeckonFault('NO_CAPACITY', {
      message: `No channel asked for can be offered now: ${details.map((d) => d.message).join('; ')}.`,
      details,
      ...(retryAfter !== null ? { extra: { retryAfter } } : {}),
    });
  }

  /** Every configured channel as the pacing view shows it, by name. */
  async status(now: number): Promise<ChannelStatus[]> {
    const settings = await this.store.channelSettings();
    const names = [...settings.keys()].sort();
    const loads = await this.store.channelLoads(names);
    return names.map((channel) => {
      const channelSettings = settings.get(channel)!;
      const load = loads.get(channel)!;
      const hours = this.hours(channelSettings, now);
      const decision = decideChannel(channelSettings.pacing, hours, load, now);
      const iso = (at: number | null | undefined) => (at == null ? null : new Date(at).toISOString());
      return {
        channel,
        open: decision.open,
        reason: decision.reason,
        freeSlots: load.capacity?.freeSlots ?? null,
        reportedAt: iso(load.capacity?.reportedAt),
        acceptedSinceReport: load.acceptedSinceReport,
        inProgress: load.inProgress,
        acceptanceRate: decision.acceptanceRate,
        allowance: decision.allowance,
        opensAt: iso(hours?.opensAt),
        closesAt: iso(hours?.closesAt),
      };
    });
  }
}
