/**
 * Channels and pacing on Redis (ChannelStore in core/store.ts): settings
 * kept as data, capacity reports, and the counts the pacing rule reads,
 * changed by the same scripts as the attempts they count (createAttempt,
 * transition, setOptOut; includes/channels.lua). Here: the channel scripts
 * (putChannel.lua, deleteChannel.lua, reportCapacity.lua), the reads, and
 * the pacing arguments of the scripts that decide and count.
 */
import type { IxnProfile } from '../../protocol/index.js';
import type { ChannelSettings } from '../../protocol/channels.js';
import { ACCEPTANCE_WINDOW, MIN_ANSWERED_FOR_RATE, type ChannelLoad } from '../../core/pacing.js';
import type { ChannelStore, PacedChannel } from '../../core/store.js';
import { parsedEvenUnconfirmed, type StoreContext } from './context.js';
import { int } from './records.js';

/** The kinds of field of one channel in `channels:load` (keys.ts), as channelLoads reads them. */
const LOAD_KINDS = ['ip', 'fs', 'ra', 'as', 'ow', 'oa'] as const;

/**
 * The pacing arguments of createAttempt: with a paced channel among those
 * asked for, each channel asked for with its pacing (9 values, see
 * createAttempt.lua); with none, nothing (the script reads nothing more).
 */
export function createPacingArguments(channels: IxnProfile['channels'], pacing: readonly PacedChannel[] | undefined) {
  const paced = new Map((pacing ?? []).map((entry) => [entry.channel, entry]));
  const anyPaced = channels.some((channel) => paced.has(channel));
  const more = anyPaced
    ? channels.flatMap((channel) => {
        const entry = paced.get(channel);
        if (!entry) return [channel, JSON.stringify(channel), '', '', '', '', '', '', ''];
        const p = entry.pacing;
        return [
          channel,
          JSON.stringify(channel),
          p.mode,
          entry.hoursOpen ? '1' : '0',
          p.maxOnScreen === null ? '' : String(p.maxOnScreen),
          String(p.proactiveShare),
          String(p.initialAcceptanceRate),
          String(p.minAcceptanceRate),
          String(p.capacityStaleSeconds),
        ];
      })
    : [];
  return {
    args: {
      minAnsweredForRate: String(MIN_ANSWERED_FOR_RATE),
      askedCount: String(anyPaced ? channels.length : 0),
    },
    more,
  };
}

/** The pacing argument of transition and setOptOut: how many outcomes a channel keeps. */
export const settlePacingArguments = () => ({ acceptanceWindow: String(ACCEPTANCE_WINDOW) });

export function channelStore({ conn, keys: k, exec }: StoreContext): ChannelStore {
  return {
    async putChannel(channel, settings) {
      const put = exec(
        'putChannel',
        { channelsKey: k.channels, channelsVersionKey: k.channelsVersion },
        { channel, settings: JSON.stringify(settings) },
        { confirm: () => 'wrote' },
      );
      return parsedEvenUnconfirmed(put, (reply) => ({ created: reply[1] === 1 }));
    },

    async channelSettings(names) {
      if (names === undefined) {
        const all = await conn.run((c) => c.hGetAll(k.channels));
        const sorted = Object.keys(all).sort();
        return new Map(sorted.map((channel) => [channel, JSON.parse(all[channel]!) as ChannelSettings]));
      }
      if (names.length === 0) return new Map();
      const values = await conn.run((c) => c.hmGet(k.channels, [...names]));
      const found = new Map<string, ChannelSettings>();
      names.forEach((channel, i) => {
        const value = values[i];
        if (value != null) found.set(channel, JSON.parse(value) as ChannelSettings);
      });
      return found;
    },

    async channelConfig() {
      // MULTI: the version and the settings it counts, as of one moment.
      const [version, all] = (await conn.run((c) =>
        c.multi().get(k.channelsVersion).hGetAll(k.channels).exec(),
      )) as unknown as [string | null, Record<string, string>];
      const sorted = Object.keys(all).sort();
      return {
        version: Number(version ?? 0),
        settings: new Map(sorted.map((channel) => [channel, JSON.parse(all[channel]!) as ChannelSettings])),
      };
    },

    async deleteChannel(channel) {
      const deleted = exec(
        'deleteChannel',
        { channelsKey: k.channels, channelLoadKey: k.channelLoad, channelsVersionKey: k.channelsVersion },
        { channel },
        { confirm: (reply) => (reply[1] === 1 ? 'wrote' : 'nothing') },
      );
      return parsedEvenUnconfirmed(deleted, (reply) => reply[1] === 1);
    },

    async reportCapacity(channel, freeSlots, at) {
      const reported = exec(
        'reportCapacity',
        { channelsKey: k.channels, channelLoadKey: k.channelLoad },
        { channel, freeSlots: String(freeSlots), at: int(at) },
        { confirm: (reply) => (reply[0] === 'ok' ? 'wrote' : 'nothing') },
      );
      return parsedEvenUnconfirmed(reported, (reply) => (reply[0] === 'ok' ? { reportedAt: at } : null));
    },

    async channelLoads(names) {
      if (names.length === 0) return new Map();
      const fields = names.flatMap((channel) => LOAD_KINDS.map((kind) => `${kind}:${channel}`));
      const values = await conn.run((c) => c.hmGet(k.channelLoad, fields));
      return new Map(
        names.map((channel, i): [string, ChannelLoad] => {
          const [inProgress, freeSlots, reportedAt, acceptedSince, outcomes, accepted] = values.slice(
            i * LOAD_KINDS.length,
            (i + 1) * LOAD_KINDS.length,
          );
          return [
            channel,
            {
              capacity:
                freeSlots != null && reportedAt != null
                  ? { freeSlots: Number(freeSlots), reportedAt: Number(reportedAt) }
                  : null,
              acceptedSinceReport: Number(acceptedSince ?? 0),
              inProgress: Number(inProgress ?? 0),
              // The outcome window holds one character per answered invitation.
              answered: outcomes?.length ?? 0,
              accepted: Number(accepted ?? 0),
            },
          ];
        }),
      );
    },
  };
}
