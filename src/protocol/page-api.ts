/**
 * The page API (`window.Beckon`) and the detail of each DOM event the widget
 * dispatches. Types only: nothing here runs, so the widget can import it
 * freely.
 */
import type { InvitationOffer } from './socket.js';
import type { UserData } from './gateway.js';
import type { EngagementState } from './names.js';
import type { NotificationDetail } from './visitor.js';

/** Flat data of a business event or of identity traits: strings, finite numbers, booleans; at most 2 KB as JSON. */
export type FlatData = Record<string, string | number | boolean>;

export interface BeckonIDs {
  globalVisitId: string;
  visitId: string;
  pageId: string;
}

export interface BeckonApi extends BeckonVisitorApi {
  /** Resolves with this page's ids once the server has given them. */
  getIDs(): Promise<BeckonIDs>;
  /** Accepts the current invitation with one of its channels (for sites that draw their own UI). */
  accept(channel: string): Promise<void>;
  /** Declines the current invitation. */
  decline(): Promise<void>;
  /** "Don't show invitations again" for this browser: declines what is in progress; engage then answers VISITOR_OPTED_OUT. */
  optOut(): Promise<void>;
  /** Undoes `optOut()`: this browser may be invited again. */
  optIn(): Promise<void>;
  /** Resolves, once the server has answered, with whether this browser opted out (kept current across tabs). */
  isOptedOut(): Promise<boolean>;
}

/** What a page tells about its visitor (docs/visitor-context.md). */
export interface BeckonVisitorApi {
  /**
   * Records a business event of this page. Resolves once the server has
   * stored it; rejects with an Error whose `code` is the FAULT code
   * (INVALID_PARAMETER for a bad name or data, RATE_LIMITED past 20 events in
   * 10 s).
   */
  track(name: string, data?: FlatData): Promise<void>;
  /**
   * Says who the visitor is. With the site server's `token` (hex HMAC-SHA256
   * of userId under the identity secret) the identity is verified.
   */
  signIn(userId: string, traits?: FlatData, options?: { token?: string }): Promise<void>;
  /** The visitor signed out: the visit has no identity any more. */
  signOut(): Promise<void>;
  /** Traits of the visitor (signed in or not), merged into what the visit knows. */
  setUserInfo(traits: FlatData): Promise<void>;
}

/** The `detail` of each `beckon:*` DOM event. */
export interface BeckonEventDetails {
  'beckon:ready': BeckonIDs;
  'beckon:invite': InvitationOffer;
  'beckon:withdrawn': { interactionId: string; state: EngagementState };
  'beckon:accepted': { interactionId: string; channel: string; userData: UserData };
  'beckon:declined': { interactionId: string };
  'beckon:timeout': { interactionId: string };
  /** A caller's message to this page (the Notification API). */
  'beckon:notification': NotificationDetail;
}
