/**
 * The live visits as the console lists them (GET /backend/data/visits,
 * docs/api.md), with their identity and business events, and the engage it
 * sends for one. Pure functions, tested
 * without a page.
 */
import type { InvitationText, IxnProfile } from '../protocol/gateway.js';
import type { Visit, VisitCaps } from '../protocol/engagement.js';
import type { BusinessEvent, Identity } from '../protocol/visit-context.js';

/** The channels the invite form offers, as the widget names them. */
export const CHANNELS = [
  ['chat', 'Chat'],
  ['callback', 'Callback'],
  ['voice', 'Voice'],
] as const;

/** The list as the server sent it, read defensively: newest visit first, pages always a list. */
export function readVisits(body: unknown): Visit[] {
  const visits = (body as { visits?: unknown } | null)?.visits;
  if (!Array.isArray(visits)) return [];
  return (visits as Visit[])
    .map((visit) => ({
      ...visit,
      pages: Array.isArray(visit.pages) ? visit.pages : [],
      identity: readIdentity(visit.identity),
      events: Array.isArray(visit.events) ? visit.events.filter(isBusinessEvent) : [],
    }))
    .sort((a, b) => String(b.startedAt).localeCompare(String(a.startedAt)));
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isBusinessEvent = (event: unknown): event is BusinessEvent =>
  isPlainObject(event) && typeof event.name === 'string' && isPlainObject(event.data);

/** A visit's identity as sent, or null when there is none (or it is not one). */
function readIdentity(identity: unknown): Identity | null {
  if (!isPlainObject(identity)) return null;
  return {
    userId: typeof identity.userId === 'string' ? identity.userId : null,
    verified: identity.verified === true,
    traits: isPlainObject(identity.traits) ? (identity.traits as Identity['traits']) : {},
    at: typeof identity.at === 'string' ? identity.at : '',
  };
}

/** A flat value as a person reads it: text as it is, numbers and booleans as JSON writes them. */
const valueText = (value: unknown): string => (typeof value === 'string' ? value : (JSON.stringify(value) ?? ''));

/** `key=value` pairs of traits or event data, in the order given, e.g. `tier=gold · total=120`. */
export function pairsText(data: Record<string, unknown>, max = 6): string {
  const pairs = Object.entries(data).map(([key, value]) => `${key}=${valueText(value)}`);
  const shown = pairs.slice(0, max).join(' · ');
  return pairs.length > max ? `${shown} · +${pairs.length - max} more` : shown;
}

/** What the console says of a visit's identity; null when the visit has none. */
export interface IdentityNote {
  /** The userId, or "anonymous" for user info without a sign-in. */
  who: string;
  /** Signed in with the site server's token (BECKON_IDENTITY_SECRET). */
  verified: boolean;
  /** Shown beside the userId: verified, not verified, or nothing for an anonymous visitor. */
  mark: string;
  traits: string;
}

export function identityNote(identity: Identity | null | undefined): IdentityNote | null {
  if (!identity) return null;
  const signedIn = identity.userId !== null;
  return {
    who: signedIn ? identity.userId! : 'anonymous',
    verified: signedIn && identity.verified,
    mark: !signedIn ? '' : identity.verified ? 'verified' : 'not verified',
    traits: pairsText(identity.traits),
  };
}

const CAP_NAMES: Record<string, string> = { 'per-day': 'daily cap', 'after-decline': 'quiet time after a decline' };

/** What the console says of a browser's frequency caps (docs/lifecycle.md); null when none is set. */
export type CapNote = { capped: true; text: string; title: string; until: string } | { capped: false; text: string };

/** "capped (daily cap) until 14:05" while an engage would be refused, else "2/3 shown in 24 h". */
export function capNote(caps: VisitCaps | null | undefined): CapNote | null {
  if (!caps || typeof caps !== 'object') return null;
  if (caps.capped && caps.retryAfter) {
    const name = CAP_NAMES[caps.capped] ?? caps.capped;
    return {
      capped: true,
      text: `capped (${name}) until `,
      title: `Engage answers VISITOR_CAPPED (${name})`,
      until: caps.retryAfter,
    };
  }
  if (typeof caps.perDay !== 'number') return null;
  return { capped: false, text: `${caps.shownLast24Hours}/${caps.perDay} shown in 24 h` };
}

/** What the invite form holds, trimmed. */
export interface InviteFields {
  title: string;
  message: string;
  channels: string[];
  /** Empty for "most recently active". */
  pageId: string;
  timeoutSeconds: number;
}

export function readInviteForm(data: FormData): InviteFields {
  return {
    title: String(data.get('title')).trim(),
    message: String(data.get('message')).trim(),
    channels: data.getAll('channels').map(String),
    pageId: String(data.get('pageId') ?? ''),
    timeoutSeconds: Number(data.get('timeoutSeconds')),
  };
}

/** The engage request's ixnProfile as the console sends it (docs/api.md). */
export type InviteProfile = Pick<IxnProfile, 'interactionId' | 'visitId' | 'channels' | 'timeoutSeconds'> & {
  pageId?: string;
  invitation?: Pick<InvitationText, 'title' | 'message'>;
};

/** The ixnProfile of an engage from the invite form: only what was filled in, so the server's defaults apply. */
export function inviteProfile(fields: InviteFields, visitId: string, interactionId: string): InviteProfile {
  const { title, message } = fields;
  return {
    interactionId,
    visitId,
    ...(fields.pageId ? { pageId: fields.pageId } : {}),
    channels: fields.channels,
    ...(title || message ? { invitation: { ...(title ? { title } : {}), ...(message ? { message } : {}) } } : {}),
    timeoutSeconds: fields.timeoutSeconds,
  };
}
