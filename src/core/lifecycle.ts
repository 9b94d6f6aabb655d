/**
 * The engagement rules (docs/lifecycle.md), used by both sides: the REST
 * gateway calls engage/noengage/status, the socket adapter calls the page
 * methods. Every change goes through the store's compare-and-set, so racing
 * calls (accept in one tab, noengage, a deadline, on any process) settle an
 * attempt exactly once; the loser sees the winner's state.
 *
 * Data flows one way: the lifecycle publishes what pages must show or drop
 * (`onPageCommand`), and the socket adapter, which owns the rooms, delivers
 * it. The lifecycle never calls into the frontend.
 */
import {
  isTerminal,
  type Answer,
  type CancelData,
  type Engagement,
  type EngagementState,
  type InvitationOffer,
  type IxnProfile,
  type PageInfo,
  type PageUpdate,
} from '../protocol/index.js';
import { NotReplicatedError, type BeckonStore, type CreateResult, type EnteredPage, type NodeRef } from './store.js';
import type { HoursState } from './hours.js';
import { Channels } from './channels.js';
import { DeadlineClock } from './deadlines.js';
import { capState, capsOn, cappedMessage, type CapSettings, type CapState } from './caps.js';
import { BeckonFault } from './faults.js';
import { mintId } from './ids.js';
import { chooseTarget, toOffer } from './placement.js';

/** What pages must do; the socket adapter delivers each command to its room. */
export type PageCommand =
  /** Show this invitation on this page (with the time it has left). */
  | { kind: 'start'; pageId: string; offer: InvitationOffer }
  /** The invitation moved away from this page; it is still in progress elsewhere. */
  | { kind: 'withdraw'; pageId: string; interactionId: string; state: EngagementState }
  /** The attempt settled: every page of the visit drops it. */
  | { kind: 'settled'; visitId: string; interactionId: string; state: EngagementState };

export interface LifecycleOptions {
  /** At most one attempt in progress per visit (BECKON_STRICT). */
  strict: boolean;
  /** A visit with no open page for this long ends (BECKON_VISIT_IDLE_MINUTES). */
  visitIdleMs: number;
  /** Frequency caps per browser (core/caps.ts); absent or both null: off. */
  caps?: CapSettings;
  now?: () => number;
  /** Told about failures that must not fail the caller's request (placing the next attempt, a deadline). */
  onBackgroundError?: (error: unknown) => void;
}

/** The ids a page connection runs under. */
export interface PageIdentity {
  globalVisitId: string;
  visitId: string;
  pageId: string;
}

/** What a connecting page's session tells it. */
export interface PageSession {
  optedOut: boolean;
  invitation: InvitationOffer | null;
}

const IN_PROGRESS = ['pending', 'delivered'] as const;

/** How long, and for how many pages at most, an entered page's session waits for its connection. */
const ENTERING_MS = 10_000;
const ENTERING_MAX = 10_000;

/**
 * Sessions of pages that entered and whose connection has not asked for
 * them yet (socket.io runs the connection right after the handshake that
 * entered the page, within the same turn of the event loop). A page command
 * published meanwhile for such a page (this process's own engage placing an
 * attempt on it before its socket joined its rooms) is folded into the
 * session, so that the page hears of it. A page whose connection never
 * comes is forgotten after ENTERING_MS.
 */
class EnteringPages {
  private readonly pages = new Map<string, { visitId: string; at: number; session: PageSession; told?: true }>();

  keep(page: PageIdentity, session: PageSession): void {
    const at = performance.now();
    for (const [pageId, kept] of this.pages) {
      if (at - kept.at < ENTERING_MS && this.pages.size < ENTERING_MAX) break;
      this.pages.delete(pageId);
    }
    this.pages.delete(page.pageId);
    this.pages.set(page.pageId, { visitId: page.visitId, at, session });
  }

  take(pageId: string): PageSession | null {
    const kept = this.pages.get(pageId);
    if (!kept) return null;
    this.pages.delete(pageId);
    return performance.now() - kept.at < ENTERING_MS ? kept.session : null;
  }

  /** True, once, when the entering page's session holds this invitation and it was not told otherwise yet. */
  untold(pageId: string, interactionId: string): boolean {
    const kept = this.pages.get(pageId);
    if (!kept || kept.told || kept.session.invitation?.interactionId !== interactionId) return false;
    kept.told = true;
    return true;
  }

  told(command: PageCommand): void {
    if (this.pages.size === 0) return;
    if (command.kind === 'start') {
      const kept = this.pages.get(command.pageId);
      if (!kept) return;
      kept.session = { ...kept.session, invitation: command.offer };
      kept.told = true;
      return;
    }
    for (const kept of command.kind === 'withdraw'
      ? [this.pages.get(command.pageId)]
      : [...this.pages.values()].filter((page) => page.visitId === command.visitId)) {
      if (kept?.session.invitation?.interactionId === command.interactionId) {
        kept.session = { ...kept.session, invitation: null };
      }
    }
  }
}

/** What never changes once an attempt is created: an answer needs nothing else before its write. */
interface AttemptFacts {
  visitId: string | null;
  channels: readonly string[];
}

/** How many attempts created here the lifecycle remembers the facts of (the oldest are forgotten first). */
const FACTS_KEPT = 10_000;

export class Lifecycle {
  private readonly listeners = new Set<(command: PageCommand) => void>();
  private readonly clock: DeadlineClock;
  private readonly now: () => number;
  private readonly entering = new EnteringPages();
  /**
   * The facts of attempts this process created, by interactionId, so that the
   * page's answer goes straight to its compare-and-set instead of
   * reading the attempt first. Only what cannot change is kept, so a copy is
   * never stale; an attempt not found here is read from the store as before.
   */
  private readonly facts = new Map<string, AttemptFacts>();

  /** Channels as data: their hours and pacing at engage, and the pacing view. */
  readonly channels: Channels;

  constructor(
    private readonly store: BeckonStore,
    private readonly options: LifecycleOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.channels = new Channels(store);
    this.clock = new DeadlineClock(store, () => this.settleDue(), {
      visitIdleMs: options.visitIdleMs,
      onError: (error) => options.onBackgroundError?.(error),
    });
  }

  /** Receives every page command; returns the unsubscribe. */
  onPageCommand(listener: (command: PageCommand) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts firing stored deadlines (the ones that came due while nobody watched first). */
  startDeadlines(): void {
    this.clock.arm();
  }

  stopDeadlines(): void {
    this.clock.stop();
  }

  /** Something may have moved the earliest deadline: look again (once per event-loop turn). */
  deadlinesChanged(): void {
    this.clock.arm();
  }

  // ── the caller's side (REST) ──

  /** engage: creates a pending attempt, or answers the state of the same one (idempotent). */
  async engage(profile: IxnProfile): Promise<Engagement> {
    const { result, hours, confirmed } = await this.create(profile, this.now());
    switch (result.kind) {
      case 'created': {
        const created = result.engagement;
        this.clock.deadlineAt(Date.parse(created.expiresAt));
        this.remember(created);
        if (created.shownPageId !== null) this.start(created, created.shownPageId);
        return confirmedOrFault(created, confirmed);
      }
      case 'exists': {
        const existing = result.engagement;
        if (existing.state === 'cancelled') throw new BeckonFault('ENGAGEMENT_CANCELLED');
        if (existing.visitId !== profile.visitId) throw new BeckonFault('INTERACTION_CONFLICT');
        return confirmedOrFault(existing, confirmed);
      }
      case 'visit-busy':
        throw new BeckonFault('ENGAGEMENT_IN_PROGRESS', {
          message: `The visit already has attempt "${result.active.interactionId}" in progress (strict mode).`,
        });
      case 'opted-out':
        throw new BeckonFault('VISITOR_OPTED_OUT');
      case 'capped':
        throw new BeckonFault('VISITOR_CAPPED', {
          message: cappedMessage(result.cap, this.options.caps!, result.retryAfter),
          extra: { cap: result.cap, retryAfter: new Date(result.retryAfter).toISOString() },
        });
      case 'no-visit':
        throw new BeckonFault('UNKNOWN_VISIT', {
          details: [{ path: 'ixnProfile.visitId', message: 'no live visit has this id' }],
        });
      case 'no-capacity':
        throw this.channels.noCapacity(profile, result.closed, hours);
      case 'channels-changed':
        throw new BeckonFault('STORE_UNAVAILABLE', {
          message: 'The channel settings kept changing during this engage; nothing was changed. Retry.',
        });
    }
  }

  /**
   * Creates the attempt, paced by the channel settings kept in memory. When
   * another node changed them, the store says so and did nothing: read them
   * again and retry (a few rounds cover any burst of changes).
   */
  private async create(
    profile: IxnProfile,
    now: number,
  ): Promise<{ result: CreateResult; hours: Map<string, HoursState>; confirmed: boolean }> {
    for (let round = 0; ; round++) {
      const channels = await this.channels.paced(profile.channels, now, round > 0);
      // The asked channels that have settings: the store paces them in the same write as the create,
      // and places the attempt in that write too: one commit before the page is told.
      const { value: result, confirmed } = await evenUnconfirmed(
        this.store.createAttempt(profile, {
          exclusive: this.options.strict,
          now,
          place: true,
          ...(capsOn(this.options.caps) ? { caps: this.options.caps } : {}),
          ...(channels.paced.length > 0 ? { pacing: channels.paced } : {}),
          channelsVersion: channels.version,
        }),
      );
      if (result.kind !== 'channels-changed' || round === 3) return { result, hours: channels.hours, confirmed };
    }
  }

  /**
   * The frequency-cap state of each browser now, for `GET /visits`; null
   * when no cap is configured (nothing to show).
   */
  async capStates(globalVisitIds: readonly string[]): Promise<Map<string, CapState> | null> {
    const caps = this.options.caps;
    if (!capsOn(caps)) return null;
    const now = this.now();
    const budgets = await this.store.browserBudgets([...new Set(globalVisitIds)], now);
    return new Map([...budgets].map(([id, budget]) => [id, capState(budget, caps, now)]));
  }

  /** noengage: cancels an attempt in progress and withdraws it from the page at once. */
  async noengage(cancel: CancelData): Promise<Engagement> {
    // A lost race re-reads and decides again; three rounds cover every interleaving of two callers.
    for (let round = 0; round < 3; round++) {
      let engagement = await this.store.getEngagement(cancel.interactionId);
      if (!engagement) {
        const { value: created, confirmed } = await evenUnconfirmed(this.store.createTombstone(cancel, this.now()));
        if (created.kind === 'created') return confirmedOrFault(created.engagement, confirmed);
        if (created.kind !== 'exists') continue;
        engagement = created.engagement;
      }
      if (cancel.visitId !== null && engagement.visitId !== null && engagement.visitId !== cancel.visitId) {
        throw new BeckonFault('INTERACTION_CONFLICT', {
          details: [{ path: 'cancelData.visitId', message: 'does not match the visit of this attempt' }],
        });
      }
      if (engagement.state === 'cancelled') return engagement;
      if (isTerminal(engagement.state)) throw settled(engagement);
      const { value: cancelled, confirmed } = await evenUnconfirmed(
        this.store.transition({
          interactionId: engagement.interactionId,
          from: IN_PROGRESS,
          to: 'cancelled',
          at: this.now(),
          ...(cancel.reason !== null ? { reason: cancel.reason } : {}),
        }),
      );
      if (cancelled) {
        this.settled(cancelled);
        return confirmedOrFault(cancelled, confirmed);
      }
    }
    throw new BeckonFault('INTERNAL_ERROR');
  }

  /** The attempt as stored, or UNKNOWN_ENGAGEMENT. */
  async status(interactionId: string): Promise<Engagement> {
    const engagement = await this.store.getEngagement(interactionId);
    if (!engagement) throw new BeckonFault('UNKNOWN_ENGAGEMENT');
    return engagement;
  }

  // ── the visitor's side (pages) ──

  /**
   * A page connects. `claim` is the visit its token proved (null: none or
   * forged); the visit resumes if it is still live, else a new one starts for
   * the same browser. `resumePage` gives the page id the page's token proves
   * for the resolved visit, if any. Records the page as open and places the
   * visit's invitation in the same store step; what the page's session shows
   * is kept for `session`.
   */
  async enterPage(
    claim: { globalVisitId: string; visitId: string } | null,
    resumePage: (visitId: string) => string | null,
    info: PageInfo,
    node?: NodeRef,
    /**
     * Whether the claimed browser was erased since its token was issued. Asked
     * only when the claimed visit is not live: an erasure removes every visit
     * of the browser, so a live one proves it was not erased, and a page
     * view of a live visit costs no extra read.
     */
    erasedSinceToken?: (globalVisitId: string) => Promise<boolean>,
  ): Promise<PageIdentity> {
    const at = this.now();
    const entry = { info, ...(node ? { node } : {}), visitIdleMs: this.options.visitIdleMs };
    if (claim) {
      const pageId = resumePage(claim.visitId) ?? mintId();
      const resumed = await this.store.enterPage({ ...entry, visitId: claim.visitId, pageId }, at);
      if (resumed.kind === 'entered') {
        return this.entered({ globalVisitId: claim.globalVisitId, visitId: claim.visitId, pageId }, resumed);
      }
    }
    let globalVisitId = claim?.globalVisitId ?? mintId();
    if (claim && (await erasedSinceToken?.(claim.globalVisitId))) globalVisitId = mintId();
    const visitId = mintId();
    const pageId = resumePage(visitId) ?? mintId();
    const started = await this.store.enterPage({ ...entry, visitId, start: { globalVisitId }, pageId }, at);
    if (started.kind !== 'entered') throw new Error('enterPage: a visit started with a new id is not live.');
    return this.entered({ globalVisitId, visitId, pageId }, started);
  }

  /** After a page entered: the placement's commands, and the session kept until the page's connection asks. */
  private entered(page: PageIdentity, entered: Extract<EnteredPage, { kind: 'entered' }>): PageIdentity {
    const placed = entered.attempt;
    if (placed && entered.movedFrom !== undefined) this.moved(placed, entered.movedFrom, page.pageId);
    this.entering.keep(page, {
      optedOut: entered.optedOut,
      invitation: placed && placed.shownPageId === page.pageId ? toOffer(placed, this.now()) : null,
    });
    return page;
  }

  /**
   * What a page that has just connected should show: the visit's attempt is
   * placed first (it may move to this page), and the page gets it in its
   * session rather than as a separate start. Right after `enterPage` this is
   * what that step found (no store call); later (a resync) it is read again.
   */
  async session(page: PageIdentity): Promise<PageSession> {
    const kept = this.entering.take(page.pageId);
    if (kept) return kept;
    const placed = await this.place(page.visitId, page.pageId);
    return {
      optedOut: await this.store.isOptedOut(page.globalVisitId),
      invitation: placed && placed.shownPageId === page.pageId ? toOffer(placed, this.now()) : null,
    };
  }

  /** Visibility, focus, url or title of a page changed. */
  async updatePage(pageId: string, update: PageUpdate): Promise<void> {
    await this.store.updatePage(pageId, update, this.now());
  }

  /**
   * A page closed or lost its connection: its invitation moves to another
   * page of the visit, with its remaining time. With `heldBy`, only while that
   * node still holds the page (it may have reconnected through another node).
   * Returns whether the page was closed.
   */
  async leavePage(page: { visitId: string; pageId: string }, heldBy?: NodeRef): Promise<boolean> {
    const left = await this.store.leavePage(page, this.now(), heldBy);
    if (!left.closed) return false;
    // The visit may now be idle: its end is a new deadline to wait for.
    this.deadlinesChanged();
    if (left.moved) this.moved(left.moved.attempt, left.moved.from);
    return true;
  }

  /** A page of the visit confirms the invitation is on screen: pending → delivered, deadline fixed. */
  async markShown(interactionId: string, visitId: string, pageId: string): Promise<Engagement> {
    // Straight to the compare-and-set, which checks the visit and takes the timeout from the attempt
    // itself, so that no node reads the attempt first, wherever it was created. When it does not apply
    // (not pending, not this visit's), the read below answers as it would have first.
    const delivered = await this.store.transition({
      interactionId,
      visitId,
      from: ['pending'],
      to: 'delivered',
      at: this.now(),
      pageId,
      timeoutFromAttempt: true,
    });
    if (delivered) {
      if (delivered.timeoutAt !== null) this.clock.deadlineAt(Date.parse(delivered.timeoutAt));
      return delivered;
    }
    return this.ownAttempt(interactionId, visitId);
  }

  /** The visitor answered on a page of the visit. */
  async answer(
    interactionId: string,
    visitId: string,
    pageId: string,
    outcome: Answer,
    channel: string | undefined,
  ): Promise<Engagement> {
    // Only an accept checks something first: its channel against those offered, which never change.
    // Known here, or not needed (a decline), the answer goes straight to the compare-and-set, which
    // also checks the visit; when that does not apply, the read below tells why, as it would have first.
    if (outcome === 'accepted') {
      const known = this.facts.get(interactionId);
      const engagement = known?.visitId === visitId ? known : await this.ownAttempt(interactionId, visitId);
      if (channel === undefined || !engagement.channels.includes(channel)) {
        throw new BeckonFault('INVALID_PARAMETER', {
          message: 'accepted needs one of the channels offered.',
          details: [{ path: 'channel', message: `must be one of ${engagement.channels.join(', ')}` }],
        });
      }
    }
    const { value: settledNow, confirmed } = await evenUnconfirmed(
      this.store.transition({
        interactionId,
        visitId,
        from: IN_PROGRESS,
        to: outcome,
        at: this.now(),
        pageId,
        ...(outcome === 'accepted' ? { channel: channel! } : {}),
      }),
    );
    if (!settledNow) throw settled(await this.ownAttempt(interactionId, visitId));
    this.settled(settledNow);
    return confirmedOrFault(settledNow, confirmed);
  }

  /** The visitor opted out of (or back into) invitations; opting out declines what is in progress. */
  async setOptOut(globalVisitId: string, optedOut: boolean): Promise<void> {
    const declined = await this.store.setOptOut(globalVisitId, optedOut, this.now());
    for (const engagement of declined) this.settled(engagement);
  }

  // ── time ──

  /**
   * Settles whatever is due: pending attempts expire, shown ones time out, idle visits end. Each due
   * deadline is its own compare-and-set, independent of the others, so they are fired together: on
   * Redis they go out as one pipeline and share the fsyncs of the append-only file, where one after
   * the other each waited for a reply and an fsync of its own. The first failure is thrown once all
   * have settled, so that one failing deadline does not hold back the rest of the batch.
   */
  async settleDue(): Promise<void> {
    const now = this.now();
    const fired = (await this.store.dueDeadlines(now, this.options.visitIdleMs)).map(async (due) => {
      if (due.kind === 'end-visit') {
        await this.store.endVisit(due.visitId, now);
        return;
      }
      // A compare-and-set: when several processes fire the same deadline, one wins.
      const settledNow = await this.store.transition({
        interactionId: due.interactionId,
        from: due.kind === 'expire' ? ['pending'] : ['delivered'],
        to: due.kind === 'expire' ? 'expired' : 'timed_out',
        at: now,
      });
      if (settledNow) this.settled(settledNow);
    });
    const failed = (await Promise.allSettled(fired)).find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  // ── placement ──

  /**
   * Puts the visit's attempt on the page that should show it now
   * (core/placement.ts: where it is if that page is open, else the named
   * page, else the page the visitor looks at). The move is a compare-and-set,
   * so when two pages change at once only one placement wins and tells the
   * pages. The page in `connecting` learns of it from its session instead of
   * a start.
   */
  async place(visitId: string, connecting?: string): Promise<Engagement | null> {
    for (;;) {
      const [attempt] = await this.store.activeEngagements(visitId);
      if (!attempt) return null;
      const target = chooseTarget(attempt, await this.store.openPages(visitId));
      if (target === null || target === attempt.shownPageId) {
        // Placed on a page still entering (its session not read yet): placing again tells it now, once.
        if (target !== null && target !== connecting && this.entering.untold(target, attempt.interactionId)) {
          this.start(attempt, target);
        }
        return attempt;
      }
      if (!(await this.store.placeOn(attempt.interactionId, attempt.shownPageId, target))) continue;
      const placed: Engagement = { ...attempt, shownPageId: target };
      if (attempt.shownPageId !== null) {
        this.publish({
          kind: 'withdraw',
          pageId: attempt.shownPageId,
          interactionId: attempt.interactionId,
          state: attempt.state,
        });
      }
      if (target !== connecting) this.start(placed, target);
      return placed;
    }
  }

  /**
   * After a store step moved the visit's attempt (a page entering or
   * leaving): the pages it moved between are told, as `place` tells them. The
   * page in `connecting` learns of it from its session instead of a start.
   */
  private moved(attempt: Engagement, from: string | null, connecting?: string): void {
    if (from !== null) {
      this.publish({ kind: 'withdraw', pageId: from, interactionId: attempt.interactionId, state: attempt.state });
    }
    if (attempt.shownPageId !== null && attempt.shownPageId !== connecting) this.start(attempt, attempt.shownPageId);
  }

  /** Tells `pageId` to show the attempt with the time it has left (none left: nothing). */
  private start(attempt: Engagement, pageId: string): void {
    const offer = toOffer(attempt, this.now());
    if (offer) this.publish({ kind: 'start', pageId, offer });
  }

  /**
   * An attempt settled: every page drops it, its deadline is gone, and when
   * more than one attempt per visit is allowed (not strict), the next one in
   * progress takes its turn.
   */
  private settled(engagement: Engagement): void {
    // Its deadline is gone: nothing to look up, the clock finds nothing due when it wakes.
    this.facts.delete(engagement.interactionId);
    if (engagement.visitId === null) return;
    this.publish({
      kind: 'settled',
      visitId: engagement.visitId,
      interactionId: engagement.interactionId,
      state: engagement.state,
    });
    if (this.options.strict) return;
    this.place(engagement.visitId).catch((error) => this.options.onBackgroundError?.(error));
  }

  private remember(engagement: Engagement): void {
    if (this.facts.size >= FACTS_KEPT) this.facts.delete(this.facts.keys().next().value!);
    this.facts.set(engagement.interactionId, {
      visitId: engagement.visitId,
      channels: engagement.channels,
    });
  }

  private publish(command: PageCommand): void {
    this.entering.told(command);
    for (const listener of this.listeners) {
      try {
        listener(command);
      } catch (error) {
        this.options.onBackgroundError?.(error);
      }
    }
  }

  private async ownAttempt(interactionId: string, visitId: string): Promise<Engagement> {
    const engagement = await this.store.getEngagement(interactionId);
    // A page may only touch attempts of its own visit; anything else looks like an unknown id.
    if (!engagement || engagement.visitId !== visitId) throw new BeckonFault('UNKNOWN_ENGAGEMENT');
    return engagement;
  }
}

function settled(engagement: Engagement): BeckonFault {
  return new BeckonFault('ALREADY_SETTLED', {
    message: `The engagement attempt has already settled as ${engagement.state}.`,
    extra: { state: engagement.state },
  });
}

/**
 * A write made for a caller, also when the store kept it but its replicas
 * did not confirm it (NotReplicatedError): the write stands, so it is acted
 * on like any other, and only then is the caller told (confirmedOrFault).
 */
async function evenUnconfirmed<T>(write: Promise<T>): Promise<{ value: T; confirmed: boolean }> {
  try {
    return { value: await write, confirmed: true };
  } catch (error) {
    if (error instanceof NotReplicatedError) return { value: error.result as T, confirmed: false };
    throw error;
  }
}

/** The answer for the caller, or NOT_REPLICATED when its write was kept but not confirmed (retry with the same id). */
function confirmedOrFault<T>(value: T, confirmed: boolean): T {
  if (!confirmed) throw new BeckonFault('NOT_REPLICATED');
  return value;
}
