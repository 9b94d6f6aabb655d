/**
 * The realtime contract between the frontend server and a page, as zod
 * schemas (the server validates every inbound payload with them) and as the
 * socket.io event maps threaded through `Server<…>` and `Socket<…>`.
 */
import { z } from 'zod';
import { ANSWERS, type EngagementState } from './names.js';
import type { FaultCode } from './faults.js';
import type { InvitationText, UserData } from './gateway.js';
import type { ContextAck, NotificationDetail, SignInMessage, TrackMessage, UserInfoMessage } from './visitor.js';

/** What a page says about itself when it connects and whenever it changes. */
export const pageInfoSchema = z.strictObject({
  url: z.string().max(2048),
  title: z.string().max(300),
  visible: z.boolean(),
  focused: z.boolean(),
  locale: z.string().max(35).optional(),
});
export type PageInfo = z.infer<typeof pageInfoSchema>;

/** socket.io handshake `auth`: the tokens the page kept, and the page itself. */
export const handshakeAuthSchema = z.strictObject({
  /** Signed globalVisitId + visitId, kept in localStorage by the widget. */
  visitToken: z.string().max(512).optional(),
  /** Signed pageId, kept in memory for reconnects of the same page load. */
  pageToken: z.string().max(512).optional(),
  page: pageInfoSchema,
});
export type HandshakeAuth = z.infer<typeof handshakeAuthSchema>;

/** At least one field: an update that says nothing (or only `__proto__`, which parsing drops) is refused. */
export const pageUpdateSchema = pageInfoSchema
  .partial()
  .refine((update) => Object.keys(update).length > 0, 'must change at least one field');
export type PageUpdate = z.infer<typeof pageUpdateSchema>;

const interactionIdSchema = z.string().min(1).max(128);

export const shownSchema = z.strictObject({ interactionId: interactionIdSchema });
export type Shown = z.infer<typeof shownSchema>;

export const answerSchema = z.strictObject({
  interactionId: interactionIdSchema,
  outcome: z.enum(ANSWERS),
  /** Required with `accepted`: one of the channels offered. */
  channel: z.string().max(32).optional(),
});
export type AnswerMessage = z.infer<typeof answerSchema>;

/** An invitation as a page receives it. */
export interface InvitationOffer {
  interactionId: string;
  channels: string[];
  invitation: InvitationText;
  timeoutSeconds: number;
  /** Time left on screen; less than timeoutSeconds when it follows the visitor. */
  remainingMs: number;
  userData: UserData;
}

export const optSchema = z.strictObject({ optedOut: z.boolean() });
/** page → server: the visitor chose "don't show invitations again" (or changed their mind). */
export type OptMessage = z.infer<typeof optSchema>;

export interface Session {
  /** True when this browser opted out: no invitation is shown and engage answers VISITOR_OPTED_OUT. */
  optedOut: boolean;
  globalVisitId: string;
  visitId: string;
  pageId: string;
  visitToken: string;
  pageToken: string;
  /** The invitation this page should show now, if any. */
  invitation: InvitationOffer | null;
}

export interface Withdrawal {
  interactionId: string;
  /** The state it settled in, or the state it still has when it moved to another page. */
  state: EngagementState;
}

/** Answer to a page's acknowledgement or answer. */
/** The server's verdict on a page's report; a refusal with ALREADY_SETTLED names the state it settled in. */
export type PageAck =
  { ok: true; state: EngagementState } | { ok: false; code: FaultCode; message: string; state?: EngagementState };

export interface ServerToClientEvents {
  session: (session: Session) => void;
  'invitation:start': (offer: InvitationOffer) => void;
  'invitation:withdraw': (withdrawal: Withdrawal) => void;
  /** Every tab of the browser learns of an opt-out or opt-in made in one of them. */
  'visitor:opt': (opt: OptMessage) => void;
  /** A message from a caller (the Notification API) to this page; the page acknowledges with its pageId. */
  notification: (notification: NotificationDetail, ack: (pageId: string) => void) => void;
}

export interface ClientToServerEvents {
  'page:update': (update: PageUpdate) => void;
  'invitation:shown': (shown: Shown, ack?: (result: PageAck) => void) => void;
  'invitation:answer': (answer: AnswerMessage, ack?: (result: PageAck) => void) => void;
  'visitor:opt': (opt: OptMessage, ack?: (result: OptAck) => void) => void;
  /** A business event of this page (docs/visitor-context.md). */
  'visit:track': (event: TrackMessage, ack?: (result: ContextAck) => void) => void;
  'visit:sign-in': (signIn: SignInMessage, ack?: (result: ContextAck) => void) => void;
  'visit:sign-out': (signOut: Record<string, never>, ack?: (result: ContextAck) => void) => void;
  'visit:user-info': (info: UserInfoMessage, ack?: (result: ContextAck) => void) => void;
}

export type OptAck = { ok: true; optedOut: boolean } | { ok: false; code: FaultCode; message: string };

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface InterServerEvents {}

/** What the server keeps on each socket after the handshake. */
export interface SocketData {
  globalVisitId: string;
  visitId: string;
  pageId: string;
}
