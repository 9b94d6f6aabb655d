/**
 * Channels as data (docs/pacing.md): each channel's business hours and how
 * its invitations are paced, and the capacity a contact centre reports for
 * it. The bodies of `PUT /backend/data/channels/{channel}` and
 * `PUT …/{channel}/capacity`; types are inferred from these schemas.
 */
import { z } from 'zod';
import { CHANNEL_PATTERN } from './names.js';

/** The days of the week as hours name them, Monday first. */
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** How a channel is paced: not at all, at most `maxOnScreen` in progress, or by reported capacity. */
export const PACING_MODES = ['off', 'fixed', 'progressive'] as const;
export type PacingMode = (typeof PACING_MODES)[number];

/** Why a channel is not offered now, as engage's `NO_CAPACITY` details and `/pacing` name it. */
export const CLOSED_REASONS = ['outside-hours', 'capacity-unknown', 'no-free-agents', 'pacing'] as const;
export type ClosedReason = (typeof CLOSED_REASONS)[number];

/** At most this many ranges a day, and closed dates in all: enough for any real timetable, bounded for the store. */
export const MAX_RANGES_PER_DAY = 12;
export const MAX_CLOSED_DATES = 400;

const TIME = /^([01]\d|2[0-3]):([0-5]\d)$|^24:00$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** IANA names are words joined by slashes; offsets (`+01:00`) and empty names are not names. */
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/;

/** Minutes since local midnight of `"HH:MM"`, or null when it is not a time of day (`"24:00"` is 1440). */
export function minutesOf(time: string): number | null {
  if (!TIME.test(time)) return null;
  return Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5));
}

/** True for a `YYYY-MM-DD` that names a real calendar day. */
export function isCalendarDate(text: string): boolean {
  const match = DATE.exec(text);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const at = new Date(Date.UTC(year, month - 1, day));
  return at.getUTCFullYear() === year && at.getUTCMonth() === month - 1 && at.getUTCDate() === day;
}

/** The IANA name the platform resolves `timeZone` to, or null when it is not a time zone it knows by name. */
export function canonicalTimeZone(timeZone: string): string | null {
  if (!ZONE_NAME.test(timeZone)) return null;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

const localTime = z.string().refine((text) => minutesOf(text) !== null, 'must be a local time "HH:MM" (00:00–24:00)');

/** `[start, end)` in local time; `"24:00"` only as an end; no range across midnight (split it). */
const rangeSchema = z.tuple([localTime, localTime]).refine(([start, end]) => minutesOf(start)! < minutesOf(end)!, {
  message: 'must start before it ends (a range across midnight is two ranges)',
});

const daySchema = z
  .array(rangeSchema)
  .max(MAX_RANGES_PER_DAY)
  .superRefine((ranges, ctx) => {
    const sorted = ranges
      .map(([start, end]) => [minutesOf(start)!, minutesOf(end)!] as const)
      .sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]![0] < sorted[i - 1]![1])
        ctx.addIssue({ code: 'custom', message: 'ranges of a day must not overlap' });
    }
  });

export const businessHoursSchema = z.strictObject({
  timeZone: z
    .string()
    .max(64)
    .transform((name, ctx) => {
      const canonical = canonicalTimeZone(name);
      if (canonical === null) {
        ctx.addIssue({ code: 'custom', message: 'must be an IANA time zone name, e.g. Europe/Paris' });
        return z.NEVER;
      }
      return canonical;
    }),
  weekly: z.strictObject(
    Object.fromEntries(WEEKDAYS.map((day) => [day, daySchema.optional()])) as Record<
      Weekday,
      z.ZodOptional<typeof daySchema>
    >,
  ),
  closed: z
    .array(z.string().refine(isCalendarDate, 'must be a calendar date YYYY-MM-DD'))
    .max(MAX_CLOSED_DATES)
    .default([])
    .transform((dates) => [...new Set(dates)].sort()),
});
export type BusinessHours = z.infer<typeof businessHoursSchema>;

const share = z.number().min(0).max(1);
const rate = z.number().gt(0).max(1);

export const pacingSettingsSchema = z
  .strictObject({
    mode: z.enum(PACING_MODES).default('off'),
    proactiveShare: share.default(1),
    initialAcceptanceRate: rate.default(0.2),
    minAcceptanceRate: rate.default(0.05),
    maxOnScreen: z.number().int().min(0).max(100_000).nullable().default(null),
    capacityStaleSeconds: z.number().int().min(2).max(3600).default(60),
  })
  .superRefine((pacing, ctx) => {
    if (pacing.mode === 'fixed' && pacing.maxOnScreen === null) {
      ctx.addIssue({ code: 'custom', path: ['maxOnScreen'], message: 'is required in fixed mode' });
    }
  });
export type PacingSettings = z.infer<typeof pacingSettingsSchema>;

/** The body of `PUT /backend/data/channels/{channel}`; absent parts take their defaults (always open, not paced). */
export const channelSettingsSchema = z.strictObject({
  hours: businessHoursSchema.nullable().default(null),
  pacing: pacingSettingsSchema.default(() => pacingSettingsSchema.parse({})),
});
export type ChannelSettings = z.infer<typeof channelSettingsSchema>;

/** A channel as GET answers it: the stored settings and the channel's name. */
export type ChannelRecord = ChannelSettings & { channel: string };

export const channelNameSchema = z
  .string()
  .regex(CHANNEL_PATTERN, 'must be a channel name: a-z, 0-9 and -, at most 32');

const count = z.number().int().min(0).max(1_000_000);

/**
 * The body of `PUT …/channels/{channel}/capacity`: free slots as the contact
 * centre counts them, or the agents' figures they follow from.
 */
export const freeSlotsReportSchema = z.strictObject({ freeSlots: count });
export const agentsReportSchema = z.strictObject({
  agentsReady: count,
  maxPerAgent: count,
  active: count,
  queued: count.default(0),
});
export const capacityReportSchema = z.union([freeSlotsReportSchema, agentsReportSchema]);
export type CapacityReport = z.infer<typeof capacityReportSchema>;

/** The form a report body is in: `freeSlots`, or the agents' figures; so that a bad field is named, not the whole body. */
export function capacityReportFormOf(body: unknown): typeof freeSlotsReportSchema | typeof agentsReportSchema {
  return typeof body === 'object' && body !== null && 'freeSlots' in body ? freeSlotsReportSchema : agentsReportSchema;
}

/** Free slots of a report: given, or what the ready agents can take less what they have and what waits. */
export function freeSlotsOf(report: CapacityReport): number {
  if ('freeSlots' in report) return report.freeSlots;
  return Math.max(0, report.agentsReady * report.maxPerAgent - report.active - report.queued);
}

/** A channel as `GET /channels/{channel}` answers it: its name and its settings as stored. */
export const channelRecordSchema = z.object({ channel: z.string() }).extend(channelSettingsSchema.shape);
export const channelListSchema = z.object({ channels: z.array(channelRecordSchema) });

/** The answer to a capacity report: the free slots it counts, and when Beckon received it. */
export const capacityAnswerSchema = z.object({
  channel: z.string(),
  freeSlots: z.number().int(),
  reportedAt: z.string(),
});
export type CapacityAnswer = z.infer<typeof capacityAnswerSchema>;

/** One channel as `GET /pacing` shows it. */
export const channelStatusSchema = z.object({
  channel: z.string(),
  /** Whether a new invitation may offer it now. */
  open: z.boolean(),
  /** Why not, when closed. */
  reason: z.enum(CLOSED_REASONS).nullable(),
  /** The last report's free slots and when it was received (null before the first). */
  freeSlots: z.number().int().nullable(),
  reportedAt: z.string().nullable(),
  /** Invitations of the channel accepted since that report: each took a slot. */
  acceptedSinceReport: z.number().int(),
  /** Attempts pending or delivered that offer it. */
  inProgress: z.number().int(),
  /** Measured over its latest 200 answered invitations (the initial rate until 20 are answered). */
  acceptanceRate: z.number(),
  /** How many may be in progress at once now; null when it is not paced. */
  allowance: z.number().int().nullable(),
  /** From its hours: when it opens (closed) or closes (open); null without hours or beyond the horizon. */
  opensAt: z.string().nullable(),
  closesAt: z.string().nullable(),
});
export type ChannelStatusBody = z.infer<typeof channelStatusSchema>;
export const pacingStatusSchema = z.object({ channels: z.array(channelStatusSchema) });
