/**
 * The GWE-compatible gateway contract (docs/api.md): `ixnProfile` for engage and
 * `cancelData` for noengage, with the GWE spellings accepted as aliases.
 * Types are inferred from these schemas so that they can never drift from
 * what the server accepts.
 */
import { z } from 'zod';
import { CHANNEL_PATTERN, ENGAGEMENT_STATES } from './names.js';

/** GWE spellings accepted for each canonical camelCase name. */
export const FIELD_ALIASES = {
  interactionId: ['interactionID', 'ixnId'],
  visitId: ['visitID'],
  pageId: ['pageID'],
} as const;

/** Keys that could reach an object's prototype; refused anywhere in a request. */
export const POISON_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

/** Deepest nesting accepted inside a profile (unknown keys may nest, but not forever). */
export const MAX_DEPTH = 8;

export const USER_DATA_MAX_BYTES = 8192;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Finds the first key that must be refused: a prototype key, or nesting past
 * MAX_DEPTH. Returns its path, or null when the value is clean.
 */
export function findHostileKey(value: unknown, path: (string | number)[] = [], depth = 0): string | null {
  if (typeof value !== 'object' || value === null) return null;
  if (depth > MAX_DEPTH) return path.join('.') || '(root)';
  for (const key of Object.keys(value)) {
    if ((POISON_KEYS as readonly string[]).includes(key)) return [...path, key].join('.');
    const found = findHostileKey((value as Record<string, unknown>)[key], [...path, key], depth + 1);
    if (found) return found;
  }
  return null;
}

/** Rewrites GWE alias keys to their canonical names; a clash of two different values is an error. */
function canonicalize(aliases: Partial<Record<string, readonly string[]>>) {
  return (input: unknown, ctx: z.core.$RefinementCtx) => {
    if (!isRecord(input)) return input;
    const out: Record<string, unknown> = { ...input };
    for (const [canonical, names] of Object.entries(aliases)) {
      for (const alias of names ?? []) {
        if (!Object.hasOwn(out, alias)) continue;
        const value = out[alias];
        delete out[alias];
        if (Object.hasOwn(out, canonical) && out[canonical] !== value) {
          ctx.addIssue({
            code: 'custom',
            path: [alias],
            message: `${alias} is an alias of ${canonical} and has a different value`,
          });
          continue;
        }
        out[canonical] = value;
      }
    }
    return out;
  };
}

/** A whole number, also accepted as decimal text because SCXML strategies often build strings. */
function wholeNumber(min: number, max: number, fallback: number) {
  return z
    .union([
      z.number(),
      z
        .string()
        .regex(/^\d{1,6}$/, 'must be a whole number')
        .transform(Number),
    ])
    .pipe(
      z
        .int(`must be a whole number from ${min} to ${max}`)
        .min(min, `must be at least ${min}`)
        .max(max, `must be at most ${max}`),
    )
    .default(fallback);
}

/** Ids are printable text: no control characters, so they are safe in logs and URLs. */
const idText = (max: number) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be text') })
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters');

export const channelSchema = z.string().regex(CHANNEL_PATTERN, 'must be a lowercase channel name like "chat"');

/** A BCP 47 language tag that Intl understands, such as `fr` or `de-CH`. */
export const localeSchema = z
  .string()
  .max(35)
  .refine((tag) => {
    try {
      return Intl.getCanonicalLocales(tag).length === 1;
    } catch {
      return false;
    }
  }, 'must be a BCP 47 language tag such as "en" or "fr-CA"');

/** An https URL or a path on the site itself; never `javascript:`, `data:` or protocol-relative. */
export const imageUrlSchema = z
  .string()
  .max(2048)
  .refine((url) => {
    if (url.startsWith('/')) return !url.startsWith('//') && !url.includes('\\');
    try {
      return new URL(url).protocol === 'https:';
    } catch {
      return false;
    }
  }, 'must be an https URL or a site-relative path starting with "/"');

export const invitationTextSchema = z.looseObject({
  title: z.string().max(120, 'must be at most 120 characters').optional(),
  message: z.string().max(1000, 'must be at most 1000 characters').optional(),
  acceptLabels: z.record(channelSchema, z.string().min(1).max(40, 'must be at most 40 characters')).optional(),
  declineLabel: z.string().min(1).max(40, 'must be at most 40 characters').optional(),
  locale: localeSchema.optional(),
  imageUrl: imageUrlSchema.optional(),
});
export type InvitationText = z.infer<typeof invitationTextSchema>;

export const userDataSchema = z
  .record(
    z.string().min(1).max(128),
    z.union([z.string(), z.number().refine(Number.isFinite, 'must be a finite number'), z.boolean()], {
      error: 'userData values must be strings, numbers or booleans (a flat object)',
    }),
  )
  .refine(
    (data) => new TextEncoder().encode(JSON.stringify(data)).length <= USER_DATA_MAX_BYTES,
    `must be at most ${USER_DATA_MAX_BYTES} bytes as JSON`,
  );
export type UserData = z.infer<typeof userDataSchema>;

const KNOWN_PROFILE_KEYS = new Set([
  'interactionId',
  'visitId',
  'pageId',
  'channels',
  'invitation',
  'timeoutSeconds',
  'expirationSeconds',
  'userData',
]);

/** `ixnProfile`, the engage request (docs/api.md). Unknown keys are kept in `extras`. */
export const ixnProfileSchema = z
  .preprocess(
    canonicalize(FIELD_ALIASES),
    z.looseObject({
      interactionId: idText(128),
      visitId: idText(128),
      pageId: idText(128).optional(),
      channels: z
        .array(channelSchema)
        .min(1, 'must name at least one channel')
        .max(8, 'must name at most 8 channels')
        .refine((list) => new Set(list).size === list.length, 'must not repeat a channel')
        .default(['chat']),
      invitation: invitationTextSchema.default({}),
      timeoutSeconds: wholeNumber(5, 600, 30),
      expirationSeconds: wholeNumber(10, 1800, 30),
      userData: userDataSchema.default({}),
    }),
  )
  .transform((profile) => {
    const extras: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(profile)) {
      if (!KNOWN_PROFILE_KEYS.has(key)) extras[key] = value;
    }
    return {
      interactionId: profile.interactionId,
      visitId: profile.visitId,
      pageId: profile.pageId ?? null,
      channels: profile.channels,
      invitation: profile.invitation,
      timeoutSeconds: profile.timeoutSeconds,
      expirationSeconds: profile.expirationSeconds,
      userData: profile.userData,
      extras,
    };
  });
/** What a caller may send as `ixnProfile`. */
export type IxnProfileInput = z.input<typeof ixnProfileSchema>;
/** A validated, canonical engage request. */
export type IxnProfile = z.output<typeof ixnProfileSchema>;

/** `cancelData`, the noengage request (docs/api.md). */
export const cancelDataSchema = z.preprocess(
  canonicalize(FIELD_ALIASES),
  z
    .looseObject({
      interactionId: idText(128),
      visitId: idText(128).optional(),
      reason: z.string().max(256, 'must be at most 256 characters').optional(),
    })
    .transform(({ interactionId, visitId, reason }) => ({
      interactionId,
      visitId: visitId ?? null,
      reason: reason ?? null,
    })),
);
export type CancelDataInput = z.input<typeof cancelDataSchema>;
export type CancelData = z.output<typeof cancelDataSchema>;

/** The 200 answer of engage and noengage. */
export const gatewayOkSchema = z.object({
  status: z.literal('OK'),
  interactionId: z.string(),
  state: z.enum(ENGAGEMENT_STATES),
});
export type GatewayOk = z.infer<typeof gatewayOkSchema>;
