/**
 * The SQLite store's channels (docs/pacing.md): settings kept as data, the
 * last capacity report, and the counts the pacing rule reads, kept in the
 * same transaction as the attempts they count. `decide` runs inside the
 * create's transaction, so two engages racing for the last seat of an
 * allowance are decided one after the other on the same counts.
 */
import type { Engagement, EngagementState } from '../../protocol/index.js';
import type { ChannelSettings } from '../../protocol/channels.js';
import { ACCEPTANCE_WINDOW, decideChannel, type ChannelDecision, type ChannelLoad } from '../../core/pacing.js';
import type { ChannelStore, PacedChannel } from '../../core/store.js';
import type { SqliteContext } from './context.js';

/** What the attempts module calls inside its own transactions. */
export interface SqliteChannels {
  /** The version of the channel settings now. */
  version(): number;
  /** The decision for each paced channel, on the counts as they are now. */
  decide(pacing: readonly PacedChannel[], now: number): Map<string, ChannelDecision>;
  /** A new attempt counts as in progress on these paced channels until it settles. */
  counted(interactionId: string, channels: readonly string[]): void;
  /** `engagement` (as it is after the change) entered `to`: settle its counts. */
  transitioned(engagement: Engagement, to: EngagementState): void;
  /**
   * An attempt is erased: if it is still in progress, it stops counting on its
   * paced channels, with no outcome (nobody answered it). Before its row goes.
   */
  forget(interactionId: string): void;
}

interface LoadRow {
  in_progress: number;
  free_slots: number | null;
  reported_at: number | null;
  accepted_since_report: number;
  answered: number;
  accepted: number;
}

const ANSWERED: readonly EngagementState[] = ['accepted', 'declined', 'timed_out'];
const TERMINAL: readonly EngagementState[] = ['accepted', 'declined', 'timed_out', 'cancelled', 'expired'];

export function sqliteChannels({ db, write }: SqliteContext): { channels: SqliteChannels; store: ChannelStore } {
  const stmt = {
    settings: db.prepare<[string], { settings: string }>(`SELECT settings FROM channels WHERE channel = ?`),
    allSettings: db.prepare<[], { channel: string; settings: string }>(
      `SELECT channel, settings FROM channels ORDER BY channel`,
    ),
    putSettings: db.prepare(
      `INSERT INTO channels (channel, settings) VALUES (?, ?) ON CONFLICT (channel) DO UPDATE SET settings = excluded.settings`,
    ),
    dropSettings: db.prepare(`DELETE FROM channels WHERE channel = ?`),
    version: db.prepare<[], number>(`SELECT version FROM channels_version WHERE id = 1`).pluck(),
    bumpVersion: db.prepare(`UPDATE channels_version SET version = version + 1 WHERE id = 1`),
    dropReport: db.prepare(
      `UPDATE channel_load SET free_slots = NULL, reported_at = NULL, accepted_since_report = 0 WHERE channel = ?`,
    ),
    load: db.prepare<[string], LoadRow>(
      `SELECT in_progress, free_slots, reported_at, accepted_since_report, answered, accepted FROM channel_load WHERE channel = ?`,
    ),
    report: db.prepare(
      `INSERT INTO channel_load (channel, free_slots, reported_at, accepted_since_report) VALUES (@channel, @freeSlots, @at, 0)
       ON CONFLICT (channel) DO UPDATE SET free_slots = @freeSlots, reported_at = @at, accepted_since_report = 0`,
    ),
    addInProgress: db.prepare(
      `INSERT INTO channel_load (channel, in_progress) VALUES (@channel, @delta)
       ON CONFLICT (channel) DO UPDATE SET in_progress = in_progress + @delta`,
    ),
    addAccepted: db.prepare(
      `UPDATE channel_load SET accepted_since_report = accepted_since_report + 1 WHERE channel = ?`,
    ),
    markCounted: db.prepare(`UPDATE engagements SET paced_channels = ? WHERE interaction_id = ?`),
    countedOn: db
      .prepare<[string], string | null>(`SELECT paced_channels FROM engagements WHERE interaction_id = ?`)
      .pluck(),
    countedInProgress: db
      .prepare<[string], string | null>(
        `SELECT paced_channels FROM engagements WHERE interaction_id = ? AND state IN ('pending','delivered')`,
      )
      .pluck(),
    addOutcome: db.prepare(`INSERT INTO channel_outcomes (channel, accepted) VALUES (?, ?)`),
    countOutcome: db.prepare(
      `INSERT INTO channel_load (channel, answered, accepted) VALUES (@channel, 1, @accepted)
       ON CONFLICT (channel) DO UPDATE SET answered = answered + 1, accepted = accepted + @accepted
       RETURNING answered`,
    ),
    oldestOutcome: db.prepare<[string], { seq: number; accepted: number }>(
      `SELECT seq, accepted FROM channel_outcomes WHERE channel = ? ORDER BY seq LIMIT 1`,
    ),
    dropOutcome: db.prepare(`DELETE FROM channel_outcomes WHERE seq = ?`),
    uncountOutcome: db.prepare(
      `UPDATE channel_load SET answered = answered - 1, accepted = accepted - @accepted WHERE channel = @channel`,
    ),
  };

  const loadOf = (channel: string): ChannelLoad => {
    const row = stmt.load.get(channel);
    return {
      capacity:
        row?.free_slots != null && row.reported_at != null
          ? { freeSlots: row.free_slots, reportedAt: row.reported_at }
          : null,
      acceptedSinceReport: row?.accepted_since_report ?? 0,
      inProgress: row?.in_progress ?? 0,
      answered: row?.answered ?? 0,
      accepted: row?.accepted ?? 0,
    };
  };

  // The window keeps the latest ACCEPTANCE_WINDOW answers: one in, and past the window the oldest out.
  const addOutcome = (channel: string, accepted: 0 | 1) => {
    stmt.addOutcome.run(channel, accepted);
    const { answered } = stmt.countOutcome.get({ channel, accepted }) as { answered: number };
    if (answered <= ACCEPTANCE_WINDOW) return;
    const oldest = stmt.oldestOutcome.get(channel)!;
    stmt.dropOutcome.run(oldest.seq);
    stmt.uncountOutcome.run({ channel, accepted: oldest.accepted });
  };

  const channels: SqliteChannels = {
    version: () => stmt.version.get()!,
    decide(pacing, now) {
      const decisions = new Map<string, ChannelDecision>();
      for (const { channel, pacing: settings, hoursOpen } of pacing) {
        const hours = { open: hoursOpen, opensAt: null, closesAt: null };
        decisions.set(channel, decideChannel(settings, hours, loadOf(channel), now));
      }
      return decisions;
    },
    counted(interactionId, paced) {
      if (paced.length === 0) return;
      for (const channel of paced) stmt.addInProgress.run({ channel, delta: 1 });
      stmt.markCounted.run(JSON.stringify(paced), interactionId);
    },
    transitioned(engagement, to) {
      if (!TERMINAL.includes(to)) return;
      const counted = stmt.countedOn.get(engagement.interactionId);
      if (!counted) return;
      const shown = engagement.transitions.delivered !== undefined;
      for (const channel of JSON.parse(counted) as string[]) {
        stmt.addInProgress.run({ channel, delta: -1 });
        const acceptedHere = to === 'accepted' && engagement.channel === channel;
        if (acceptedHere) stmt.addAccepted.run(channel);
        if (shown && ANSWERED.includes(to)) {
          addOutcome(channel, acceptedHere ? 1 : 0);
        }
      }
    },
    forget(interactionId) {
      const counted = stmt.countedInProgress.get(interactionId);
      if (!counted) return;
      for (const channel of JSON.parse(counted) as string[]) stmt.addInProgress.run({ channel, delta: -1 });
    },
  };

  const putChannel = db.transaction((channel: string, settings: ChannelSettings) => {
    const created = stmt.settings.get(channel) === undefined;
    stmt.putSettings.run(channel, JSON.stringify(settings));
    stmt.bumpVersion.run();
    return { created };
  });
  const deleteChannel = db.transaction((channel: string) => {
    if (stmt.dropSettings.run(channel).changes === 0) return false;
    stmt.dropReport.run(channel);
    stmt.bumpVersion.run();
    return true;
  });
  const reportCapacity = db.transaction((channel: string, freeSlots: number, at: number) => {
    if (stmt.settings.get(channel) === undefined) return null;
    stmt.report.run({ channel, freeSlots, at });
    return { reportedAt: at };
  });

  const store: ChannelStore = {
    async putChannel(channel, settings) {
      return write(() => putChannel(channel, settings));
    },
    async channelSettings(names) {
      const rows = names
        ? names.flatMap((channel) => {
            const row = stmt.settings.get(channel);
            return row ? [{ channel, settings: row.settings }] : [];
          })
        : stmt.allSettings.all();
      return new Map(rows.map(({ channel, settings }) => [channel, JSON.parse(settings) as ChannelSettings]));
    },
    async channelConfig() {
      // One read transaction: the version and the settings it counts.
      return db.transaction(() => ({
        version: stmt.version.get()!,
        settings: new Map(
          stmt.allSettings.all().map(({ channel, settings }) => [channel, JSON.parse(settings) as ChannelSettings]),
        ),
      }))();
    },
    async deleteChannel(channel) {
      return write(() => deleteChannel(channel));
    },
    async reportCapacity(channel, freeSlots, at) {
      return write(() => reportCapacity(channel, freeSlots, at));
    },
    async channelLoads(names) {
      return new Map(names.map((channel) => [channel, loadOf(channel)]));
    },
  };
  return { channels, store };
}
