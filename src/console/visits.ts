/**
 * The live visits as the console lists them (GET /backend/data/visits,
 * docs/api.md), and the engage it sends for one. Pure functions, tested
 * without a page.
 */
import type { InvitationText, IxnProfile } from '../protocol/gateway.js';
import type { Visit, VisitCaps } from '../protocol/engagement.js';

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
    .map((visit) => ({ ...visit, pages: Array.isArray(visit.pages) ? visit.pages : [] }))
    .sort((a, b) => String(b.startedAt).localeCompare(String(a.startedAt)));
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
