/**
 * Names shared by every part, with no dependencies at all, so that the widget
 * can import them without pulling zod into the page's script.
 */

/** Every state an engagement attempt can be in, in lifecycle order. */
export const ENGAGEMENT_STATES = [
  'pending',
  'delivered',
  'accepted',
  'declined',
  'timed_out',
  'cancelled',
  'expired',
] as const;
export type EngagementState = (typeof ENGAGEMENT_STATES)[number];

/** States an attempt never leaves. */
export const TERMINAL_STATES = ['accepted', 'declined', 'timed_out', 'cancelled', 'expired'] as const;
export type TerminalState = (typeof TERMINAL_STATES)[number];

/** True when an attempt in `state` can no longer change. */
export function isTerminal(state: EngagementState): state is TerminalState {
  return (TERMINAL_STATES as readonly string[]).includes(state);
}

/** What a visitor can answer from the page. */
export const ANSWERS = ['accepted', 'declined', 'timed_out'] as const;
export type Answer = (typeof ANSWERS)[number];

/** A channel name: `chat`, `callback`, `voice` or any site-defined lowercase name. */
export const CHANNEL_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

/** Socket.io event names, both directions. */
export const SOCKET_EVENTS = {
  /** server → page, on every connection: ids, tokens and the invitation to show, if any. */
  session: 'session',
  /** server → page: show this invitation. */
  start: 'invitation:start',
  /** server → page(s): drop this invitation; it settled or moved elsewhere. */
  withdraw: 'invitation:withdraw',
  /** page → server: the invitation is on screen. */
  shown: 'invitation:shown',
  /** page → server: the visitor's answer. */
  answer: 'invitation:answer',
  /** page → server: visibility, focus, url or title changed. */
  pageUpdate: 'page:update',
  /** both ways: opt out of (or back into) invitations for this browser. */
  opt: 'visitor:opt',
  /** page → server: a business event of this page. */
  track: 'visit:track',
  /** page → server: who the visitor is. */
  signIn: 'visit:sign-in',
  /** page → server: the visitor signed out. */
  signOut: 'visit:sign-out',
  /** page → server: traits of the visitor. */
  userInfo: 'visit:user-info',
  /** server → page: a caller's message (the Notification API); the page acknowledges with its pageId. */
  notification: 'notification',
} as const;

/** DOM event names the widget dispatches on its element and on `window`. */
export const DOM_EVENTS = {
  ready: 'beckon:ready',
  invite: 'beckon:invite',
  withdrawn: 'beckon:withdrawn',
  accepted: 'beckon:accepted',
  declined: 'beckon:declined',
  timeout: 'beckon:timeout',
  notification: 'beckon:notification',
} as const;
