/**
 * The limits of what a page tells about its visitor (docs/visitor-context.md),
 * with no dependencies at all: the widget checks a page's input with these
 * before it sends it, without pulling zod into every page's script, and the
 * schemas in visitor.ts are built from the same numbers. A test holds the two
 * to the same verdicts.
 */

/** A business event's name, and a notification's channel. */
export const EVENT_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/;
/** Event data, traits: at most this many bytes as JSON (UTF-8). */
export const CONTEXT_DATA_MAX_BYTES = 2048;
/** Identity and identity tokens. */
export const USER_ID_MAX = 128;
/** A key of event data or traits: 1 to this many characters. */
export const DATA_KEY_MAX = 128;
/** Per page, at most `max` business events in any `windowMs` are stored; more are refused with RATE_LIMITED. */
export const PAGE_EVENT_RATE = { max: 20, windowMs: 10_000 } as const;

/** Keys a flat object may not have: a page may try them to reach an object's prototype. */
export const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Size of a value as JSON, in UTF-8 bytes. */
export const jsonBytes = (value: unknown): number => new TextEncoder().encode(JSON.stringify(value)).length;

/**
 * What is wrong with flat data (event data, traits), as a sentence, or null
 * when it is a plain object of strings, finite numbers and booleans with
 * keys of 1–128 characters (no prototype keys), at most 2 KB as JSON.
 */
export function flatDataProblem(data: unknown): string | null {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return 'must be an object';
  const proto = Object.getPrototypeOf(data) as unknown;
  if (proto !== Object.prototype && proto !== null) return 'must be a plain object';
  for (const key of Reflect.ownKeys(data)) {
    if (typeof key !== 'string') return 'must have text keys only';
    if (key.length < 1 || key.length > DATA_KEY_MAX) return `keys must be 1 to ${DATA_KEY_MAX} characters`;
    if (PROTOTYPE_KEYS.has(key)) return 'must not have the keys __proto__, constructor or prototype';
    const value = (data as Record<string, unknown>)[key];
    if (typeof value === 'number' ? !Number.isFinite(value) : typeof value !== 'string' && typeof value !== 'boolean') {
      return 'values must be strings, finite numbers or booleans (a flat object)';
    }
  }
  return jsonBytes(data) <= CONTEXT_DATA_MAX_BYTES ? null : `must be at most ${CONTEXT_DATA_MAX_BYTES} bytes as JSON`;
}

/** What is wrong with a business event's name, or null. */
export function eventNameProblem(name: unknown): string | null {
  return typeof name === 'string' && EVENT_NAME_PATTERN.test(name)
    ? null
    : 'must start with a letter, then up to 63 letters, digits or _ . : -';
}

/** What is wrong with a userId, or null. */
export function userIdProblem(userId: unknown): string | null {
  return typeof userId === 'string' && userId.length >= 1 && userId.length <= USER_ID_MAX
    ? null
    : `must be text of 1 to ${USER_ID_MAX} characters`;
}
