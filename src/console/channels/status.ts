/**
 * What the Channels view says of each channel, from `GET …/pacing` and
 * `GET …/channels` (docs/pacing.md#seeing-it): both answers read as
 * untrusted input, and turned into the words an operator reads: open or
 * closed and why, free slots and the age of their report, the allowance.
 * Pure functions, tested without a page.
 */
import type {
  BusinessHours,
  ChannelRecord,
  ChannelStatusBody,
  ClosedReason,
  PacingMode,
  PacingSettings,
} from '../../protocol/channels.js';

const asObject = (value: unknown): Record<string, unknown> =>
  value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
const count = (value: unknown): number =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : 0;
const countOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : count(value));
const textOrNull = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** Why a channel is closed, in the words of the view; every reason of the protocol has its words. */
export const REASONS: Record<ClosedReason, string> = {
  'outside-hours': 'outside its business hours',
  'capacity-unknown': 'no recent capacity report',
  'no-free-agents': 'no free agent',
  pacing: 'as many invitations in progress as its allowance',
};
const isReason = (value: unknown): value is ClosedReason => typeof value === 'string' && Object.hasOwn(REASONS, value);

/** The pacing modes, with what each means to an operator. */
export const MODES: Record<PacingMode, { label: string; hint: string }> = {
  off: { label: 'Off', hint: 'only the business hours apply' },
  fixed: { label: 'Fixed', hint: 'at most a set number of invitations in progress' },
  progressive: { label: 'Progressive', hint: 'as many as the free agents can answer, from capacity reports' },
};
const isMode = (value: unknown): value is PacingMode => typeof value === 'string' && Object.hasOwn(MODES, value);

/** `GET …/pacing`, by channel name. */
export function readPacing(body: unknown): ChannelStatusBody[] {
  const channels: unknown[] = Array.isArray(asObject(body).channels) ? (asObject(body).channels as unknown[]) : [];
  return channels
    .map((raw) => {
      const c = asObject(raw);
      const rate = typeof c.acceptanceRate === 'number' && Number.isFinite(c.acceptanceRate) ? c.acceptanceRate : 0;
      return {
        channel: String(c.channel ?? ''),
        open: c.open === true,
        reason: isReason(c.reason) ? c.reason : null,
        freeSlots: countOrNull(c.freeSlots),
        reportedAt: textOrNull(c.reportedAt),
        acceptedSinceReport: count(c.acceptedSinceReport),
        inProgress: count(c.inProgress),
        acceptanceRate: rate,
        allowance: countOrNull(c.allowance),
        opensAt: textOrNull(c.opensAt),
        closesAt: textOrNull(c.closesAt),
      };
    })
    .filter((c) => c.channel !== '')
    .sort((a, b) => a.channel.localeCompare(b.channel));
}

/** `GET …/channels`: each channel's stored settings, by name. */
export function readChannels(body: unknown): Map<string, ChannelRecord> {
  const channels: unknown[] = Array.isArray(asObject(body).channels) ? (asObject(body).channels as unknown[]) : [];
  const records = new Map<string, ChannelRecord>();
  for (const raw of channels) {
    const r = asObject(raw);
    if (typeof r.channel !== 'string' || r.channel === '') continue;
    records.set(r.channel, { channel: r.channel, hours: readHours(r.hours), pacing: readPacingSettings(r.pacing) });
  }
  return records;
}

function readHours(raw: unknown): BusinessHours | null {
  if (raw === null || typeof raw !== 'object') return null;
  const h = asObject(raw);
  const weekly: BusinessHours['weekly'] = {};
  for (const [day, ranges] of Object.entries(asObject(h.weekly))) {
    if (!Array.isArray(ranges)) continue;
    weekly[day as keyof BusinessHours['weekly']] = ranges
      .filter((range): range is unknown[] => Array.isArray(range) && range.length === 2)
      .map(([start, end]) => [String(start), String(end)] as [string, string]);
  }
  return {
    timeZone: String(h.timeZone ?? 'UTC'),
    weekly,
    closed: Array.isArray(h.closed) ? h.closed.map(String) : [],
  };
}

function readPacingSettings(raw: unknown): PacingSettings {
  const p = asObject(raw);
  const number = (value: unknown, fallback: number) =>
    typeof value === 'number' && Number.isFinite(value) ? value : fallback;
  return {
    mode: isMode(p.mode) ? p.mode : 'off',
    proactiveShare: number(p.proactiveShare, 1),
    initialAcceptanceRate: number(p.initialAcceptanceRate, 0.2),
    minAcceptanceRate: number(p.minAcceptanceRate, 0.05),
    maxOnScreen: p.maxOnScreen === null || p.maxOnScreen === undefined ? null : count(p.maxOnScreen),
    capacityStaleSeconds: number(p.capacityStaleSeconds, 60),
  };
}

/** How long ago, in a few characters: `just now`, `12 s ago`, `4 min ago`, `3 h ago`, `2 days ago`. */
export function agoText(ms: number): string {
  const seconds = Math.floor(Math.max(0, ms) / 1000);
  if (seconds < 1) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 48 * 3600) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} days ago`;
}

/** The free slots of a channel as the view writes them, and whether their report is too old to count. */
export interface CapacityLine {
  text: string;
  /** The report is older than `capacityStaleSeconds`: pacing treats the channel as closed. */
  stale: boolean;
}

/**
 * `3 free, reported 12 s ago`; with accepts since the report, what is left
 * of it: `2 free (3 reported, 1 accepted since), reported 40 s ago`. Only a
 * progressive channel uses capacity; the others say so.
 */
export function capacityLine(
  status: Pick<ChannelStatusBody, 'freeSlots' | 'reportedAt' | 'acceptedSinceReport'>,
  pacing: Pick<PacingSettings, 'mode' | 'capacityStaleSeconds'> | null,
  now: number,
): CapacityLine {
  const reportedAt = Date.parse(status.reportedAt ?? '');
  const used = pacing?.mode === 'progressive';
  if (status.freeSlots === null || Number.isNaN(reportedAt)) {
    return { text: used ? 'no report yet' : 'not used by this pacing mode', stale: false };
  }
  const left = Math.max(0, status.freeSlots - status.acceptedSinceReport);
  const slots =
    status.acceptedSinceReport > 0
      ? `${left} free (${status.freeSlots} reported, ${status.acceptedSinceReport} accepted since)`
      : `${status.freeSlots} free`;
  const age = now - reportedAt;
  const stale = used && pacing !== null && age > pacing.capacityStaleSeconds * 1000;
  return { text: `${slots}, reported ${agoText(age)}${used ? '' : ' (not used by this pacing mode)'}`, stale };
}

/** Open or closed, and why, in a sentence. */
export function stateText(
  status: Pick<ChannelStatusBody, 'open' | 'reason' | 'freeSlots' | 'inProgress' | 'allowance'>,
  pacing: Pick<PacingSettings, 'mode' | 'capacityStaleSeconds'> | null,
): string {
  if (status.open) {
    if (status.allowance === null) return 'Open: not paced, offered whenever asked for.';
    const more = Math.max(0, status.allowance - status.inProgress);
    return `Open: ${more} more ${more === 1 ? 'invitation' : 'invitations'} may be in progress.`;
  }
  switch (status.reason) {
    case 'outside-hours':
      return 'Closed: outside its business hours.';
    case 'capacity-unknown':
      return status.freeSlots === null
        ? 'Closed: no capacity report yet.'
        : `Closed: the last capacity report is older than ${pacing?.capacityStaleSeconds ?? 60} s.`;
    case 'no-free-agents':
      return 'Closed: no free agent; every reported slot is taken.';
    case 'pacing':
      return pacing?.mode === 'fixed'
        ? `Closed: ${status.inProgress} in progress, the most allowed.`
        : `Closed: ${status.inProgress} in progress, as many as its allowance of ${status.allowance ?? 0}.`;
    default:
      return 'Closed.';
  }
}

/** The allowance as the view writes it: `6 at once`, or `not paced`. */
export const allowanceText = (allowance: number | null): string =>
  allowance === null ? 'not paced' : `${allowance} at once`;

/** The pacing settings in a line: `Progressive · proactive share 100 % · initial rate 20 %, at least 5 % · stale after 60 s`. */
export function pacingText(pacing: PacingSettings): string {
  const pct = (share: number) => `${Math.round(share * 1000) / 10} %`;
  switch (pacing.mode) {
    case 'off':
      return 'Off: not paced';
    case 'fixed':
      return `Fixed: at most ${pacing.maxOnScreen ?? 0} in progress`;
    case 'progressive':
      return [
        'Progressive',
        `proactive share ${pct(pacing.proactiveShare)}`,
        `initial rate ${pct(pacing.initialAcceptanceRate)}, at least ${pct(pacing.minAcceptanceRate)}`,
        `report stale after ${pacing.capacityStaleSeconds} s`,
      ].join(' · ');
  }
}

/**
 * The server's clock minus the browser's, from an answer's `Date` header, so
 * that the age of a report reads the same on a browser whose clock is off.
 * The header has whole seconds; within two seconds the browser is trusted.
 */
export function clockOffset(dateHeader: string | null, received: number): number {
  const server = Date.parse(dateHeader ?? '');
  if (Number.isNaN(server)) return 0;
  const offset = server - received;
  return Math.abs(offset) < 2000 ? 0 : offset;
}
