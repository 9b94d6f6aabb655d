/**
 * Which page of a visit shows its invitation (docs/lifecycle.md, "Tabs and
 * navigation"): exactly one. Where it already is, if that page is still open;
 * else the page the caller named, if open; else the page most recently
 * visible and focused.
 */
import type { Engagement, InvitationOffer } from '../protocol/index.js';
import type { PageRecord } from './store.js';

/**
 * Attention order of a visit's open pages: the page the visitor is looking
 * at (visible and focused) first, then visible ones, then the most recently
 * active, then the most recently connected. Stores return open pages in this
 * order, and apply it themselves when engage places a new attempt.
 */
export function byAttention(a: PageRecord, b: PageRecord): number {
  const rank = (page: PageRecord) => (page.visible && page.focused ? 2 : page.visible ? 1 : 0);
  return rank(b) - rank(a) || b.activeAt - a.activeAt || b.connectedAt - a.connectedAt;
}

/** The page that should show `attempt` now, or null when no page of the visit is open. */
export function chooseTarget(attempt: Engagement, openPages: readonly PageRecord[]): string | null {
  const isOpen = (pageId: string | null) => pageId !== null && openPages.some((page) => page.pageId === pageId);
  if (isOpen(attempt.shownPageId)) return attempt.shownPageId;
  if (isOpen(attempt.pageId)) return attempt.pageId;
  // openPages comes in attention order.
  return openPages[0]?.pageId ?? null;
}

/** The invitation as a page receives it, with the time it has left on screen; null if none is left. */
export function toOffer(attempt: Engagement, now: number): InvitationOffer | null {
  const remainingMs = attempt.timeoutAt === null ? attempt.timeoutSeconds * 1000 : Date.parse(attempt.timeoutAt) - now;
  if (remainingMs <= 0) return null;
  return {
    interactionId: attempt.interactionId,
    channels: attempt.channels,
    invitation: attempt.invitation,
    timeoutSeconds: attempt.timeoutSeconds,
    remainingMs,
    userData: attempt.userData,
  };
}
