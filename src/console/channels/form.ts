/**
 * The channel form of the Channels view: a draft of what the operator types,
 * made from stored settings or the defaults, turned into the body of
 * `PUT …/channels/{channel}` (docs/pacing.md#channels), and a refusal's
 * `details` put back beside the fields they name. Pure functions, tested
 * without a page.
 */
import type { ChannelRecord, ChannelSettings, PacingMode, Weekday } from '../../protocol/channels.js';
import { DAYS } from './hours.js';

/** One range of a day as typed: `"HH:MM"` each. */
export interface RangeDraft {
  start: string;
  end: string;
}

/** The form's contents, as typed (numbers as text until sent). */
export interface ChannelDraft {
  channel: string;
  /** Adding a channel (the name can be typed) rather than editing one. */
  isNew: boolean;
  /** Open during the hours below, not at all hours. */
  hoursOn: boolean;
  timeZone: string;
  weekly: Record<Weekday, RangeDraft[]>;
  /** Closed dates, one `YYYY-MM-DD` a line (commas and spaces part them too). */
  closed: string;
  mode: PacingMode;
  proactiveShare: string;
  initialAcceptanceRate: string;
  minAcceptanceRate: string;
  maxOnScreen: string;
  capacityStaleSeconds: string;
}

/** The settings a channel has when a field is left out (docs/pacing.md#channels). */
export const DEFAULT_PACING = {
  mode: 'off',
  proactiveShare: 1,
  initialAcceptanceRate: 0.2,
  minAcceptanceRate: 0.05,
  maxOnScreen: null,
  capacityStaleSeconds: 60,
} as const satisfies ChannelSettings['pacing'];

/** The week a new channel's hours start from: office hours, Monday to Friday. */
const OFFICE_HOURS: Record<Weekday, RangeDraft[]> = {
  mon: [{ start: '09:00', end: '17:00' }],
  tue: [{ start: '09:00', end: '17:00' }],
  wed: [{ start: '09:00', end: '17:00' }],
  thu: [{ start: '09:00', end: '17:00' }],
  fri: [{ start: '09:00', end: '17:00' }],
  sat: [],
  sun: [],
};

/** The form for a channel: its stored settings, or the defaults (in the browser's time zone) for a new one. */
export function draftOf(record: ChannelRecord | null, browserZone: string): ChannelDraft {
  const pacing = record?.pacing ?? DEFAULT_PACING;
  const hours = record?.hours ?? null;
  const weekly = hours
    ? (Object.fromEntries(
        DAYS.map(({ day }) => [day, (hours.weekly[day] ?? []).map(([start, end]) => ({ start, end }))]),
      ) as Record<Weekday, RangeDraft[]>)
    : structuredClone(OFFICE_HOURS);
  return {
    channel: record?.channel ?? '',
    isNew: record === null,
    hoursOn: hours !== null,
    timeZone: hours?.timeZone ?? browserZone,
    weekly,
    closed: (hours?.closed ?? []).join('\n'),
    mode: pacing.mode,
    proactiveShare: String(pacing.proactiveShare),
    initialAcceptanceRate: String(pacing.initialAcceptanceRate),
    minAcceptanceRate: String(pacing.minAcceptanceRate),
    maxOnScreen: pacing.maxOnScreen === null ? '' : String(pacing.maxOnScreen),
    capacityStaleSeconds: String(pacing.capacityStaleSeconds),
  };
}

/** The closed dates typed, in the order typed (a refusal names them by that order). */
export const closedDates = (text: string): string[] => text.split(/[\s,;]+/).filter(Boolean);

/** The number fields of the form: the setting each one is, and what is said of it when it is not a number. */
export const NUMBER_FIELDS = [
  'proactiveShare',
  'initialAcceptanceRate',
  'minAcceptanceRate',
  'maxOnScreen',
  'capacityStaleSeconds',
] as const;
export type NumberField = (typeof NUMBER_FIELDS)[number];

/** Where a problem shows in the form: a field's key (`timeZone`, `weekly.mon.0`, `maxOnScreen`, …), or `form`. */
export type FieldErrors = Map<string, string[]>;

const add = (errors: FieldErrors, key: string, message: string) =>
  errors.set(key, [...(errors.get(key) ?? []), message]);

/** A channel name as engage's `channels` has it. */
const CHANNEL_NAME = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * The body of `PUT …/channels/{channel}` from the form; or, when a field is
 * not even of the right kind (a number field that holds no number, a name
 * that cannot be a channel), the problems by field, and nothing is sent.
 * Everything else is the server's to judge: its `details` come back through
 * `fieldErrors`. A number field left blank takes its default (`maxOnScreen`:
 * none).
 */
export function channelBody(
  draft: ChannelDraft,
  existing: ReadonlySet<string> = new Set(),
): { channel: string; body: ChannelSettings } | { errors: FieldErrors } {
  const errors: FieldErrors = new Map();
  const channel = draft.channel.trim();
  if (draft.isNew) {
    if (channel === '') add(errors, 'channel', 'Enter the channel’s name, as engage names it (e.g. chat).');
    else if (!CHANNEL_NAME.test(channel)) {
      add(errors, 'channel', 'must start with a-z and hold only a-z, 0-9 and -, at most 32 characters');
    } else if (existing.has(channel)) add(errors, 'channel', `${channel} already has settings: edit it instead`);
  }
  const numbers = {} as Record<NumberField, number | null>;
  for (const field of NUMBER_FIELDS) {
    const text = draft[field].trim();
    if (text === '') {
      numbers[field] = DEFAULT_PACING[field];
      continue;
    }
    const value = Number(text);
    if (Number.isFinite(value)) numbers[field] = value;
    else add(errors, field, 'must be a number');
  }
  if (errors.size > 0) return { errors };
  const weekly: NonNullable<ChannelSettings['hours']>['weekly'] = {};
  for (const { day } of DAYS) {
    const ranges = draft.weekly[day];
    if (ranges.length > 0) weekly[day] = ranges.map(({ start, end }) => [start.trim(), end.trim()]);
  }
  return {
    channel,
    body: {
      hours: draft.hoursOn ? { timeZone: draft.timeZone.trim(), weekly, closed: closedDates(draft.closed) } : null,
      pacing: {
        mode: draft.mode,
        proactiveShare: numbers.proactiveShare!,
        initialAcceptanceRate: numbers.initialAcceptanceRate!,
        minAcceptanceRate: numbers.minAcceptanceRate!,
        maxOnScreen: numbers.maxOnScreen,
        capacityStaleSeconds: numbers.capacityStaleSeconds!,
      },
    },
  };
}

const SIDES = ['From', 'To'];

/**
 * A refusal's `details` by the field of the form each names (its `path` is
 * the field's path in the body): `hours.weekly.mon.0.1` is the end of
 * Monday's first range, `hours.closed.2` the third closed date sent.
 * Anything the form has no field for is under `form`.
 */
export function fieldErrors(
  details: readonly { path: string; message: string }[],
  body: ChannelSettings | null,
): FieldErrors {
  const errors: FieldErrors = new Map();
  for (const { path, message } of details) {
    const [head, name, day, index, side] = path.split('.');
    if (head === 'channel' && name === undefined) add(errors, 'channel', message);
    else if (head === 'pacing' && name !== undefined) add(errors, name, message);
    else if (head === 'hours' && name === 'timeZone') add(errors, 'timeZone', message);
    else if (head === 'hours' && name === 'closed') {
      // Here the third part is the date's place in the list sent.
      const date = day === undefined ? undefined : body?.hours?.closed[Number(day)];
      add(errors, 'closed', date === undefined ? message : `${date}: ${message}`);
    } else if (head === 'hours' && name === 'weekly' && day !== undefined && index !== undefined) {
      add(
        errors,
        `weekly.${day}.${index}`,
        side !== undefined ? `${SIDES[Number(side)] ?? side}: ${message}` : message,
      );
    } else if (head === 'hours' && name === 'weekly' && day !== undefined) add(errors, `weekly.${day}`, message);
    else add(errors, 'form', `${path}: ${message}`);
  }
  return errors;
}
