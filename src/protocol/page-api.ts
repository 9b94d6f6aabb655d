/**
 * The page API (`window.Beckon`) and the detail of each DOM event the widget
 * dispatches. Types only: nothing here runs, so the widget can import it
 * freely.
 */
import type { InvitationOffer } from './socket.js';
import type { UserData } from './gateway.js';
import type { EngagementState } from './names.js';

export interface BeckonIDs {
  globalVisitId: string;
  visitId: string;
  pageId: string;
}

export interface BeckonApi {
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

/** The `detail` of each `beckon:*` DOM event. */
export interface BeckonEventDetails {
  'beckon:ready': BeckonIDs;
  'beckon:invite': InvitationOffer;
  'beckon:withdrawn': { interactionId: string; state: EngagementState };
  'beckon:accepted': { interactionId: string; channel: string; userData: UserData };
  'beckon:declined': { interactionId: string };
  'beckon:timeout': { interactionId: string };
}
