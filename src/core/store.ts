/**
 * The engagement store as the core needs it: the single source of truth for
 * visits, pages, attempts, the event log and the webhook outbox. The core
 * owns this interface (the port); `src/store/` implements it and imports the
 * core, never the other way round. A store stores atomically and does not
 * decide: the rules live here in `src/core/`. Every method that changes
 * state is one atomic step (an SQLite transaction, one Redis script), with
 * the compare-and-set on the state and the event it records together, so
 * the same call racing on several tabs, sockets or processes takes effect
 * once and records one event (built by `core/events.ts`).
 *
 * Two implementations, `src/store/sqlite/` and `src/store/redis/`, pass one
 * contract suite; `src/store/open.ts` picks one from the configuration.
 */
import type {
  BeckonEvent,
  Engagement,
  EngagementState,
  EventType,
  IxnProfile,
  PageInfo,
  PageUpdate,
} from '../protocol/index.js';
import type { ChannelSettings, ClosedReason, PacingSettings } from '../protocol/channels.js';
import type { ContextData, ErasureCounts } from '../protocol/visitor.js';
import type { ReportHour } from './reports.js';
import type { BrowserBudget, CapName, CapSettings } from './caps.js';
import type { ChannelLoad } from './pacing.js';

export interface VisitRecord {
  visitId: string;
  globalVisitId: string;
  startedAt: number;
  /** When its last open page closed; null while a page is open. */
  idleSince: number | null;
  endedAt: number | null;
}

export interface PageRecord {
  pageId: string;
  visitId: string;
  url: string;
  title: string;
  visible: boolean;
  focused: boolean;
  locale: string | null;
  connectedAt: number;
  /** Last time the page was visible and focused (or connected); picks the tab that shows an invitation. */
  activeAt: number;
  closedAt: number | null;
  /**
   * The node (boot) that holds, or last held, its socket; null when opened
   * without one (or before presence was recorded). Both stores always set
   * them; optional only so that records made by hand need not.
   */
  nodeId?: string | null;
  bootId?: string | null;
}

/**
 * Which process holds a page's socket: a stable node id (BECKON_NODE_ID,
 * default host:port) and one id per boot of it (a restart is a new boot).
 */
export interface NodeRef {
  nodeId: string;
  bootId: string;
}

/** How long a forgotten (reaped) boot is remembered, so that its late heartbeat still answers 'reaped'. */
export const REAPED_MEMORY_MS = 86_400_000;

/** How many of the most recently reaped boots `reapedBootsWithPages` looks at by default (a bound on each sweep). */
export const REAPED_SCAN = 200;

/** An open page as the node holding it sees it: what closing it needs. */
export interface HeldPage {
  pageId: string;
  visitId: string;
  node: NodeRef;
}

export interface LiveVisit extends VisitRecord {
  pages: PageRecord[];
  activeInteractionId: string | null;
}

/** What `createAttempt` found. */
export type CreateResult =
  | { kind: 'created'; engagement: Engagement }
  | { kind: 'exists'; engagement: Engagement }
  | { kind: 'visit-busy'; active: Engagement }
  | { kind: 'no-visit' }
  | { kind: 'opted-out' }
  /** A frequency cap (core/caps.ts) refuses it: which one, and when it lifts (epoch ms). */
  | { kind: 'capped'; cap: CapName; retryAfter: number }
  /** Pacing (core/pacing.ts) closed every channel asked for: each with its reason, in the order asked. */
  | { kind: 'no-capacity'; closed: { channel: string; reason: ClosedReason }[] }
  /** The channel settings moved on since `channelsVersion`: nothing was checked or changed; read them again. */
  | { kind: 'channels-changed' };

/**
 * A channel asked for in an engage that has settings (docs/pacing.md): how
 * it is paced, and whether its business hours are open now (the core reads
 * the hours; the store counts). Channels without settings are not paced.
 */
export interface PacedChannel {
  channel: string;
  pacing: PacingSettings;
  hoursOpen: boolean;
}

export interface TransitionRequest {
  interactionId: string;
  /** The states the attempt must be in for the change to happen (compare-and-set). */
  from: readonly EngagementState[];
  to: EngagementState;
  at: number;
  /** The change only happens for an attempt of this visit. */
  visitId?: string;
  channel?: string;
  reason?: string;
  /** Sets timeoutAt if it is not set yet (first show fixes the deadline). */
  timeoutAt?: number;
  /**
   * Sets timeoutAt, if neither it nor `timeoutAt` is set, to `at` plus the
   * attempt's own timeoutSeconds: a first show fixes the deadline without
   * the caller reading the attempt first.
   */
  timeoutFromAttempt?: boolean;
  pageId?: string;
}

/** A due deadline: an attempt to expire or time out, or a visit to end. */
export type DueDeadline =
  | { kind: 'expire'; interactionId: string }
  | { kind: 'timeout'; interactionId: string }
  | { kind: 'end-visit'; visitId: string };

/** Which events a reader wants; null means any. */
export interface EventFilter {
  types: readonly EventType[] | null;
  visitId: string | null;
}

/** An event waiting in the webhook outbox, claimed for one delivery attempt. */
export interface WebhookDelivery {
  event: BeckonEvent;
  /** Attempts already made before this one. */
  attempts: number;
}

/** Where the webhook outbox stands: deliveries waiting (or retrying), and those given up on. */
export interface WebhookBacklog {
  waiting: number;
  failed: number;
}

/** The store cannot be reached (Redis down or restarting); nothing was changed. */
export class StoreUnavailableError extends Error {
  constructor(message = 'The store is unreachable.', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/**
 * A write made for a caller reached the primary store, but the replicas it
 * was to wait for did not confirm it in time (docs/operations.md, "Redis
 * with failover"). The write stands and is acted on; the caller is told
 * NOT_REPLICATED and may retry with the same interactionId. `result` is what
 * the write answered.
 */
export class NotReplicatedError extends Error {
  constructor(
    readonly result: unknown,
    message = 'The change is stored but its replicas did not confirm it.',
  ) {
    super(message);
    this.name = 'NotReplicatedError';
  }
}

/**
 * Where a visit's invitation stands after a page entered or left, placed in
 * the same atomic step by the rule of core/placement.ts (`chooseTarget`):
 * the visit's oldest attempt in progress stays on its page while that page
 * is open, else goes to the page it was created for if open, else to the
 * first open page in attention order (see `openPages`); with no page open it
 * stays where it is.
 */
export interface VisitPlacement {
  /** The visit's oldest attempt in progress after the step (the one to show); null when it has none. */
  attempt: Engagement | null;
  /** Present when this step moved it: the page it was placed on before (null: none). */
  movedFrom?: string | null;
}

/** What `enterPage` did. */
export type EnteredPage =
  /** The visit is not live (unknown, ended, or idle past `visitIdleMs`, which this call ended): nothing else changed. */
  | { kind: 'not-live' }
  | ({
      kind: 'entered';
      /** The visit's browser. */
      globalVisitId: string;
      /** This call started the visit. */
      started: boolean;
      /** Whether the page was opened (false: its id belongs to another visit, and nothing of the page changed). */
      opened: boolean;
      /** Whether the browser opted out of invitations. */
      optedOut: boolean;
    } & VisitPlacement);

/**
 * What `leavePage` did: nothing when the page was not open (or not held by
 * `heldBy`); else whether the visit's invitation moved (`VisitPlacement`),
 * with the attempt after the move and the page it was on (null: none).
 */
export type LeftPage = { closed: false } | { closed: true; moved: { attempt: Engagement; from: string | null } | null };

/** Visits, their pages, and browsers' opt-outs. */
export interface PresenceStore {
  /** Starts a visit (records `visit.started`). */
  startVisit(visit: { visitId: string; globalVisitId: string }, now: number): Promise<void>;
  getVisit(visitId: string): Promise<VisitRecord | null>;
  /**
   * Opens (or re-opens after a reconnect) a page of a live visit (records
   * `page.entered`), held by `node`: a reconnect through another node (or a
   * new boot) moves the page to it. Without `node` the page is held by none
   * (single-node callers): `pagesHeldBy` never lists it.
   */
  openPage(page: { pageId: string; visitId: string; info: PageInfo; node?: NodeRef }, now: number): Promise<void>;
  updatePage(pageId: string, update: PageUpdate, now: number): Promise<void>;
  /**
   * Closes a page (records `page.left`, takes it out of its node's held
   * pages); returns false if it was not open. With `heldBy`, only while that
   * boot still holds it: a page that reconnected through another node
   * meanwhile stays open (the reaper's and a closing socket's guard).
   */
  closePage(pageId: string, now: number, heldBy?: NodeRef): Promise<boolean>;
  getPage(pageId: string): Promise<PageRecord | null>;
  /**
   * A page view's entry in one atomic step: resumes the visit if it is live
   * (`start`: starts it for that browser if it does not exist), opens the page
   * as `openPage` does, places the visit's invitation (`VisitPlacement`), and
   * reads the browser's opt-out. A live visit idle (no page open) for
   * `visitIdleMs` or more has ended all the same: it is ended here (records
   * `visit.ended`) and the answer is 'not-live'. Records what `startVisit`
   * and `openPage` record.
   */
  enterPage(
    entry: {
      visitId: string;
      start?: { globalVisitId: string };
      pageId: string;
      info: PageInfo;
      node?: NodeRef;
      visitIdleMs: number;
    },
    now: number,
  ): Promise<EnteredPage>;
  /**
   * A page view's exit in one atomic step: closes the page as `closePage`
   * does (with `heldBy`, only while that boot holds it) and, when it closed
   * and another page of the visit is open, places the visit's invitation
   * (`VisitPlacement`). `visitId` is the page's visit; a page of another
   * visit is not closed.
   */
  leavePage(page: { pageId: string; visitId: string }, now: number, heldBy?: NodeRef): Promise<LeftPage>;
  /**
   * Open pages of a visit in attention order (core/placement.ts): visible and
   * focused first, then visible, then the most recently active, then the most
   * recently connected.
   */
  openPages(visitId: string): Promise<PageRecord[]>;
  liveVisits(): Promise<LiveVisit[]>;
  /** Ends a visit (records `visit.ended`); returns false if it had already ended. */
  endVisit(visitId: string, now: number): Promise<boolean>;
  /** Records a browser's choice about invitations; opting out declines its attempts in progress (returned). */
  setOptOut(globalVisitId: string, optedOut: boolean, now: number): Promise<Engagement[]>;
  isOptedOut(globalVisitId: string): Promise<boolean>;
  /** After a restart of the only node no socket is left: close every page it held. */
  closeAllPages(now: number): Promise<number>;
  /**
   * Registers this boot, or extends its registration until `expiresAt`.
   * 'reaped': the boot was registered, then forgotten (`forgetNode`) as dead:
   * the caller must drop its sockets and register a new boot; this call does
   * not register it again. Several boots of one node id may be registered.
   */
  heartbeat(node: NodeRef, expiresAt: number, now: number): Promise<'alive' | 'reaped'>;
  /** Registered boots whose `expiresAt` < now, the longest expired first, at most `limit`. */
  expiredNodes(now: number, limit: number): Promise<NodeRef[]>;
  /**
   * Forgets a dead boot: removes its registration only if it is still expired
   * at `now` (a boot that renewed meanwhile stays) and remembers it as reaped
   * (for a day), so that its next heartbeat answers 'reaped'. True when this
   * call removed it: only then close its pages (`pagesOfBoot`, `closePage`
   * with `heldBy`).
   */
  forgetNode(node: NodeRef, now: number): Promise<boolean>;
  /**
   * Open pages held by a node id under any boot but `exceptBootId` (null:
   * every boot), at most `limit`: a restarted node closes those of its
   * previous boots before it listens.
   */
  pagesHeldBy(nodeId: string, exceptBootId: string | null, limit: number): Promise<HeldPage[]>;
  /** Open pages held by one boot, at most `limit`: the reaper closes those of a boot it forgot. */
  pagesOfBoot(node: NodeRef, limit: number): Promise<HeldPage[]>;
  /**
   * The nodes holding the sockets of a page (the node recorded for it, also after it closed: a close
   * may race a command on its way) or of a visit's open pages, each once; a page opened without a
   * node counts for none. Page commands are addressed to these nodes (docs/architecture.md,
   * "Page commands between nodes").
   */
  pageHolders(target: { pageId: string } | { visitId: string }): Promise<string[]>;
  /**
   * Boots forgotten as dead (`forgetNode`) at or after `since` that still hold
   * open pages, the most recently reaped first, at most `limit`: a reaper that
   * died between `forgetNode` and closing the pages leaves them open, and any
   * node closes them (`pagesOfBoot`, `closePage` with `heldBy`). Only the
   * `scan` most recently reaped boots are looked at.
   */
  reapedBootsWithPages(since: number, limit: number, scan?: number): Promise<NodeRef[]>;
  /**
   * Retention of presence records (one bounded batch): deletes pages that
   * closed before `before` (epoch ms), oldest first, then visits that ended
   * before `before` once none of their pages is left, none is open and none
   * of their attempts is in progress, with every index entry that names them.
   * At most `limit` records (pages and visits) go; returns how many went, so
   * a caller repeats while it gets `limit`. Attempts, events, opt-outs and
   * caps stay: an attempt keeps its visitId and pageId as plain values.
   * Idempotent: a record that came back (a page re-opened, a visit that
   * got a page again) between the read and the delete stays.
   */
  pruneVisits(before: number, limit: number): Promise<number>;
  /** How many visits are live and how many of their pages are open (for metrics). */
  counts(): Promise<{ liveVisits: number; openPages: number }>;
}

/** Engagement attempts and their deadlines. */
export interface AttemptStore {
  /**
   * Creates a pending attempt unless one with this id exists, the visit is
   * not live, the browser opted out, or (exclusive) the visit already has an
   * attempt in progress. With `place`, the new attempt, if it is the visit's
   * oldest in progress (the one to show), is also placed in the same write,
   * so that engage needs one commit before the page is told, not two. The
   * rule is data, not a callback, so that one Redis script can apply it:
   * the page the profile names if it is open, else the first open page in
   * attention order (see `openPages`), else none (it waits for a page).
   * With `caps` (core/caps.ts), the browser's frequency caps are checked in
   * the same atomic step, after the checks above (an existing id answers
   * first), and the new attempt enters the browser's budget; without, nothing
   * is checked or recorded.
   */
  createAttempt(
    profile: IxnProfile,
    options: {
      exclusive: boolean;
      now: number;
      place: boolean;
      caps?: CapSettings;
      /**
       * The asked channels that are paced. In the same atomic step, after
       * every check above, each is decided by `decideChannel` (core/pacing.ts)
       * on the store's counts of it: a closed one is left out of the channels
       * offered (the attempt is created with the others, and the report counts
       * it as narrowed), and with none left the engage is refused
       * (`no-capacity`). The attempt counts as in progress on each paced
       * channel it offers until it settles.
       */
      pacing?: readonly PacedChannel[];
      /**
       * The version of the channel settings (`channelConfig`) that `pacing`
       * was made from. When the settings have moved on since, right after the
       * existing-id check, nothing else is checked, counted or created and
       * the answer is `channels-changed`: a caller may keep the settings in
       * memory and still never pace by old ones. Absent: not checked.
       */
      channelsVersion?: number;
    },
  ): Promise<CreateResult>;
  /**
   * What the frequency caps see of each browser at `now` (core/caps.ts):
   * budget entries in the window, newest first (all of them, so `shown` is
   * exact), and the last decline; one for every browser asked about (empty
   * when nothing is recorded).
   */
  browserBudgets(globalVisitIds: readonly string[], now: number): Promise<Map<string, BrowserBudget>>;
  /** Records a cancelled attempt for an id never engaged, so a late engage is refused. */
  createTombstone(
    cancel: { interactionId: string; visitId: string | null; reason: string | null },
    now: number,
  ): Promise<CreateResult>;
  getEngagement(interactionId: string): Promise<Engagement | null>;
  /** The attempt in progress (pending or delivered) for a visit, oldest first. */
  activeEngagements(visitId: string): Promise<Engagement[]>;
  /** Compare-and-set state change with its event; null when the attempt was not in a `from` state. */
  transition(request: TransitionRequest): Promise<Engagement | null>;
  /**
   * Compare-and-set of the page an invitation is placed on (only while it is
   * in progress); false when someone else moved it first.
   */
  placeOn(interactionId: string, expected: string | null, pageId: string | null): Promise<boolean>;
  /** The earliest time anything is due (expiry, timeout, end of an idle visit), or null when nothing waits. */
  nextDeadline(visitIdleMs: number): Promise<number | null>;
  /** What is due at `now` (a bounded batch); firing it is a compare-and-set, so a deadline settles once however many processes look. */
  dueDeadlines(now: number, visitIdleMs: number): Promise<DueDeadline[]>;
  /**
   * Retention of attempts (one bounded batch): deletes settled attempts
   * (accepted, declined, timed_out, cancelled, expired; tombstones included)
   * whose settle time (their terminal transition; a tombstone's creation) is
   * before `before` (epoch ms), oldest settled first, with every entry that
   * names them (the export's created index, deadlines, the browser's caps
   * budget entry). Never an attempt in progress. At most `limit` go; returns
   * how many went, so a caller repeats while it gets `limit`. Afterwards the
   * id is unknown: getEngagement answers null and a create with it is new.
   * Events, report counters, opt-outs and cap declines stay (their own
   * retention). Idempotent.
   */
  pruneAttempts(before: number, limit: number): Promise<number>;
}

/** The ordered event log written with every change. */
export interface EventLog {
  /** Calls `listener` after each committed change that recorded events; returns the unsubscribe. */
  onEvents(listener: () => void): () => void;
  /** The `seq` of the newest event, 0 when there is none. */
  lastEventSeq(): Promise<number>;
  /**
   * Deletes up to `limit` of the oldest events written before `before` (epoch
   * ms), with the failed webhook deliveries of those events; an event still
   * waiting for its webhook is kept. Returns how many events went.
   */
  pruneEvents(before: number, limit: number): Promise<number>;
  /** Up to `limit` events with `seq` greater than `afterSeq` that pass `filter`, oldest first. */
  eventsAfter(afterSeq: number, filter: EventFilter, limit: number): Promise<BeckonEvent[]>;
}

/** The webhook outbox: per-visit order, leases that run out when a sender dies. */
export interface WebhookOutbox {
  /**
   * Moves newly recorded events of `types` (null: all) into the webhook outbox,
   * at most `limit` events scanned; returns how many were scanned (0: caught up).
   * The first call ever starts at the newest event, so turning webhooks on does
   * not replay history. Events older than `maxAgeMs` are skipped.
   */
  queueWebhookEvents(options: {
    types: readonly EventType[] | null;
    now: number;
    maxAgeMs: number;
    limit: number;
  }): Promise<number>;
  /**
   * Claims up to `limit` deliveries that are due, only the oldest waiting one of
   * each visit (so a visit's events go out in order), and leases each until
   * `leaseUntil` so that no other claim takes it meanwhile.
   */
  claimWebhookDeliveries(now: number, leaseUntil: number, limit: number): Promise<WebhookDelivery[]>;
  /** The receiver took it: drop it from the outbox. */
  webhookDelivered(seq: number): Promise<void>;
  /** The attempt failed: retry at `retryAt`, or give up when null (kept as failed). */
  webhookAttemptFailed(seq: number, attempts: number, retryAt: number | null, error: string): Promise<void>;
  /** When the next waiting delivery is due, or null when none waits. */
  nextWebhookAt(): Promise<number | null>;
  webhookBacklog(): Promise<WebhookBacklog>;
}

/** Where a page of the export ended: the last attempt listed (attempts are ordered by createdAt, then id). */
export interface ExportPosition {
  createdAt: number;
  interactionId: string;
}

/**
 * The report counters (core/reports.ts), written by createAttempt, transition
 * and setOptOut in their own atomic write, and the attempts by creation time.
 */
export interface ReportStore {
  /** The UTC hours in [fromHour, toHour) that hold any counter, oldest first. */
  reportHours(fromHour: number, toHour: number): Promise<ReportHour[]>;
  /**
   * Deletes the hours that ended before `before` (SQLite); Redis lets each
   * hour expire on its own (EXPIREAT) and answers 0. Returns how many went.
   */
  pruneReports(before: number): Promise<number>;
  /**
   * Up to `limit` attempts (tombstones included) created in [from, to), after
   * `after` if given, ordered by createdAt then interactionId (byte order).
   */
  engagementsCreated(query: {
    from: number;
    to: number;
    after: ExportPosition | null;
    limit: number;
  }): Promise<Engagement[]>;
}

/**
 * Channels as data (docs/pacing.md): their settings, the capacity the
 * contact centre reports, and what the store counts of each channel's
 * invitations. The counts change in the same atomic write as the attempts
 * they count (createAttempt, transition, setOptOut, the deadlines).
 */
export interface ChannelStore {
  /** Stores a channel's settings, replacing any; `created` when it had none. */
  putChannel(channel: string, settings: ChannelSettings): Promise<{ created: boolean }>;
  /** The settings of the channels asked for that have any, or of every channel when none are named. */
  channelSettings(channels?: readonly string[]): Promise<Map<string, ChannelSettings>>;
  /**
   * Every channel's settings and the version they are at, read together.
   * The version moves with every put and every delete that removed settings.
   */
  channelConfig(): Promise<{ version: number; settings: Map<string, ChannelSettings> }>;
  /**
   * Removes a channel's settings and its capacity report; false when it had
   * none. Its counts stay, so that attempts still in progress settle them.
   */
  deleteChannel(channel: string): Promise<boolean>;
  /**
   * Records a capacity report of a channel with settings, received at `at`:
   * it replaces the last one, and accepts counted since start again from 0.
   * Null (nothing recorded) for a channel without settings.
   */
  reportCapacity(channel: string, freeSlots: number, at: number): Promise<{ reportedAt: number } | null>;
  /** What the store counts of each channel named (zeros and no capacity for one it knows nothing of). */
  channelLoads(channels: readonly string[]): Promise<Map<string, ChannelLoad>>;
}

/** Who a visit says its visitor is (docs/visitor-context.md). */
export interface IdentityRecord {
  /** null when only user info was given. */
  userId: string | null;
  verified: boolean;
  traits: ContextData;
  /** When it last changed, epoch ms. */
  at: number;
}

/** A business event a page tracked, as the visit keeps it. */
export interface BusinessEventRecord {
  name: string;
  data: ContextData;
  at: number;
  pageId: string;
}

/**
 * A change of a visit's identity. A sign-in replaces the identity (a new
 * userId starts with the traits it brings); user info merges its traits into
 * the identity, keeping userId and verified (an anonymous visit gets one with
 * userId null, not verified); a sign-out removes it.
 */
export type IdentityChange =
  | { kind: 'sign-in'; userId: string; verified: boolean; traits: ContextData }
  | { kind: 'user-info'; traits: ContextData }
  | { kind: 'sign-out' };

/** A visit as history: the visit, every page it had (closed ones too), its identity and kept business events. */
export interface VisitHistoryRecord {
  visit: VisitRecord;
  identity: IdentityRecord | null;
  /** Every page of the visit that retention has not pruned, in the order they were entered. */
  pages: PageRecord[];
  /** Newest first, at most KEPT_BUSINESS_EVENTS. */
  events: BusinessEventRecord[];
  /** Its attempts, oldest first. */
  attempts: Engagement[];
}

/** Where a page of a browser's visits ended: the last visit listed (newest first by startedAt, then visitId). */
export interface VisitPosition {
  startedAt: number;
  visitId: string;
}

/**
 * What a page tells about its visitor, what a caller reads back, and the
 * erasure of a browser (docs/visitor-context.md). Each change is one atomic
 * step with its event, like every other.
 */
export interface VisitorStore {
  /**
   * Records a business event of an open page of a live visit, with its
   * `page.event` (core/events.ts `businessEventOf`); the visit keeps its
   * latest KEPT_BUSINESS_EVENTS. 'no-page' (nothing recorded) when the page
   * is not open or not of that visit.
   */
  recordBusinessEvent(
    event: { visitId: string; pageId: string; name: string; data: ContextData },
    now: number,
  ): Promise<'stored' | 'no-page'>;
  /**
   * Changes a live visit's identity, with `visit.identified` (the identity
   * after the change) or `visit.signed_out` (`identityEventOf`), naming
   * `pageId`, the page it came from. A sign-out of a visit with no identity
   * changes and records nothing. 'no-visit' when the visit is not live.
   */
  changeIdentity(
    visitId: string,
    pageId: string,
    change: IdentityChange,
    now: number,
  ): Promise<{ identity: IdentityRecord | null } | 'no-visit'>;
  /** The identity and the `recent` newest business events of each visit named that has any (for `GET /visits`). */
  visitContexts(
    visitIds: readonly string[],
    recent: number,
  ): Promise<Map<string, { identity: IdentityRecord | null; events: BusinessEventRecord[] }>>;
  /** A visit, live or ended, as history; null when unknown, pruned or erased. */
  visitHistory(visitId: string): Promise<VisitHistoryRecord | null>;
  /**
   * A browser's visits, newest first (startedAt, then visitId, descending),
   * after `after` if given, at most `limit`; `more` when any are left.
   */
  visitorVisits(
    globalVisitId: string,
    query: { after: VisitPosition | null; limit: number },
  ): Promise<{ visits: VisitHistoryRecord[]; more: boolean }>;
  /**
   * Erases a browser: its visits, their pages, identity and business events,
   * its caps budget and declines, its opt-out, its attempts (in progress
   * ones too, with their deadlines, their pacing counts settled) and every
   * event of its visits in the log (with their webhook deliveries), so that
   * no key, value or row holds its globalVisitId, its visit or page ids, or
   * its userIds. Records `visitor.erased` (`erasureEventOf`) when anything
   * went. Remembers `marker` (a keyed hash of the globalVisitId, never the
   * id) until `marker.until`, so that the browser's old visit token is
   * refused (`erasedAt`). Idempotent: a second call finds nothing and
   * answers zeros. May take several atomic steps; a page of the browser
   * that opens meanwhile is refused (the visit is gone first).
   */
  eraseVisitor(globalVisitId: string, marker: { key: string; until: number }, now: number): Promise<ErasureCounts>;
  /** When the browser behind `markerKey` was erased, while the marker is kept; else null. */
  erasedAt(markerKey: string, now: number): Promise<number | null>;
}

export interface BeckonStore
  extends PresenceStore, AttemptStore, EventLog, WebhookOutbox, ReportStore, ChannelStore, VisitorStore {
  /** Which implementation this is (for logs and metrics). */
  readonly kind: 'sqlite' | 'redis';
  /** What about this store's setup could lose acknowledged data (logged at start); none is an empty list. */
  durabilityWarnings(): Promise<string[]>;
  /** Whether the store answers (for /readyz and 503s). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
