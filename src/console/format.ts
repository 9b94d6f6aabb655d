/**
 * How the console writes ids, states, delays and figures. Pure functions, so
 * they read the same on every page and in the tests.
 */

/** Long ids shortened for a line of text; the full id is shown where it is the subject. */
export const short = (id: string): string => (id.length > 10 ? `${id.slice(0, 8)}…` : id);

/** `timed_out` as people write it. */
export const stateLabel = (state: string): string => state.replace(/_/g, ' ');

/** Time since the attempt began: `+250 ms`, `+1.4 s`. */
export const delayLabel = (ms: number): string => (ms < 1000 ? `+${ms} ms` : `+${(ms / 1000).toFixed(1)} s`);

/** A share as a percentage: whole numbers, one decimal below 10 %; no share at all is a dash. */
export const percent = (rate: number | null): string =>
  rate === null ? '—' : `${(rate * 100).toFixed(rate < 0.1 && rate > 0 ? 1 : 0)} %`;

/** A duration from the reports: milliseconds below a second, else seconds; a dash when unknown. */
export const duration = (ms: number): string =>
  !Number.isFinite(ms) ? '—' : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;

/** The time of day to the second, in the person's locale. */
export const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** Where random bytes come from: the browser's crypto, whose randomUUID only secure contexts have. */
export interface RandomSource {
  getRandomValues(array: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer>;
  randomUUID?: () => string;
}

/**
 * A fresh interactionId (a UUID v4). crypto.randomUUID exists only in secure
 * contexts; a console opened over plain http on a LAN address still needs
 * good random ids, so it falls back to getRandomValues.
 */
export function newInteractionId(random: RandomSource = crypto): string {
  if (typeof random.randomUUID === 'function') return random.randomUUID();
  const b = random.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
