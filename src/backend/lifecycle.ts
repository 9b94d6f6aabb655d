/**
 * The engagement state machine (SPEC §4). Every change goes through the
 * store's compare-and-set, so racing calls (accept in one tab, noengage, a
 * deadline) settle an attempt exactly once; the loser sees the winner's state.
 */
import {
  isTerminal,
  type Answer,
  type CancelData,
  type Engagement,
  type IxnProfile,
} from '../protocol/index.js';
import { BeckonFault } from './faults.js';
import type { BeckonStore, PlaceAttempt } from './store/store.js';

/** How the lifecycle reaches visitors' pages; the frontend server implements it. */
export interface PagePort {
  /** The page a new attempt goes to (run inside the store's create transaction). */
  choose: PlaceAttempt;
  /** A new attempt was created already placed on `shownPageId`: send it there. */
  show(engagement: Engagement): void;
  /** The visit has an attempt to show (its page went away, or one came): put it on the right page. */
  place(visitId: string): Promise<void>;
  /** The attempt settled: every page of its visit drops it. */
  withdraw(engagement: Engagement): void;
}

export interface LifecycleOptions {
  /** At most one attempt in progress per visit (BECKON_STRICT). */
  strict: boolean;
  /** A visit with no open page for this long ends (BECKON_VISIT_IDLE_MINUTES). */
  visitIdleMs: number;
  now?: () => number;
  /** Told about failures that must not fail the caller's request (placing the next attempt). */
  onBackgroundError?: (error: unknown) => void;
}

const IN_PROGRESS = ['pending', 'delivered'] as const;

export class Lifecycle {
  /** Set once the frontend is wired; until then attempts wait in the store. */
  pages: PagePort | null = null;
  /** Called after any change that may move the earliest deadline. */
  onDeadlinesChanged: () => void = () => {};
  private readonly now: () => number;

  constructor(
    private readonly store: BeckonStore,
    private readonly options: LifecycleOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** engage: creates a pending attempt, or answers the state of the same one (idempotent). */
  async engage(profile: IxnProfile): Promise<Engagement> {
    // Placed in the same write as it is created: one commit before the page is told.
    const pages = this.pages;
    const result = await this.store.createAttempt(profile, {
      exclusive: this.options.strict,
      now: this.now(),
      ...(pages ? { place: pages.choose } : {}),
    });
    switch (result.kind) {
      case 'created':
        this.onDeadlinesChanged();
        if (pages && result.engagement.shownPageId !== null) pages.show(result.engagement);
        return result.engagement;
      case 'exists': {
        const existing = result.engagement;
        if (existing.state === 'cancelled') throw new BeckonFault('ENGAGEMENT_CANCELLED');
        if (existing.visitId !== profile.visitId) throw new BeckonFault('INTERACTION_CONFLICT');
        return existing;
      }
      case 'visit-busy':
        throw new BeckonFault('ENGAGEMENT_IN_PROGRESS', {
          message: `The visit already has attempt "${result.active.interactionId}" in progress (strict mode).`,
        });
      case 'opted-out':
        throw new BeckonFault('VISITOR_OPTED_OUT');
      case 'no-visit':
        throw new BeckonFault('UNKNOWN_VISIT', {
          details: [{ path: 'ixnProfile.visitId', message: 'no live visit has this id' }],
        });
    }
  }

  /** noengage: cancels an attempt in progress and withdraws it from the page at once. */
  async noengage(cancel: CancelData): Promise<Engagement> {
    // A lost race re-reads and decides again; three rounds cover every interleaving of two callers.
    for (let round = 0; round < 3; round++) {
      let engagement = await this.store.getEngagement(cancel.interactionId);
      if (!engagement) {
        const created = await this.store.createTombstone(cancel, this.now());
        if (created.kind === 'created') return created.engagement;
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
      const cancelled = await this.store.transition({
        interactionId: engagement.interactionId,
        from: IN_PROGRESS,
        to: 'cancelled',
        at: this.now(),
        ...(cancel.reason !== null ? { reason: cancel.reason } : {}),
      });
      if (cancelled) {
        this.settled(cancelled);
        this.onDeadlinesChanged();
        return cancelled;
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

  /** A page of the visit confirms the invitation is on screen: pending → delivered, deadline fixed. */
  async markShown(interactionId: string, visitId: string, pageId: string): Promise<Engagement> {
    const engagement = await this.ownAttempt(interactionId, visitId);
    if (engagement.state !== 'pending') return engagement;
    const now = this.now();
    const delivered = await this.store.transition({
      interactionId,
      visitId,
      from: ['pending'],
      to: 'delivered',
      at: now,
      pageId,
      timeoutAt: now + engagement.timeoutSeconds * 1000,
    });
    if (delivered) {
      this.onDeadlinesChanged();
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
    const engagement = await this.ownAttempt(interactionId, visitId);
    if (outcome === 'accepted' && (channel === undefined || !engagement.channels.includes(channel))) {
      throw new BeckonFault('INVALID_PARAMETER', {
        message: 'accepted needs one of the channels offered.',
        details: [{ path: 'channel', message: `must be one of ${engagement.channels.join(', ')}` }],
      });
    }
    const settledNow = await this.store.transition({
      interactionId,
      visitId,
      from: IN_PROGRESS,
      to: outcome,
      at: this.now(),
      pageId,
      ...(outcome === 'accepted' ? { channel: channel! } : {}),
    });
    if (!settledNow) throw settled(await this.ownAttempt(interactionId, visitId));
    this.settled(settledNow);
    this.onDeadlinesChanged();
    return settledNow;
  }

  /** The visitor opted out of (or back into) invitations; opting out declines what is in progress. */
  async setOptOut(globalVisitId: string, optedOut: boolean): Promise<void> {
    const declined = await this.store.setOptOut(globalVisitId, optedOut, this.now());
    for (const engagement of declined) this.pages?.withdraw(engagement);
    if (declined.length) this.onDeadlinesChanged();
  }

  /** Settles whatever is due: pending attempts expire, shown ones time out, idle visits end. */
  async settleDue(): Promise<void> {
    const now = this.now();
    for (const due of await this.store.dueDeadlines(now, this.options.visitIdleMs)) {
      if (due.kind === 'end-visit') {
        await this.store.endVisit(due.visitId, now);
        continue;
      }
      const settledNow = await this.store.transition({
        interactionId: due.interactionId,
        from: due.kind === 'expire' ? ['pending'] : ['delivered'],
        to: due.kind === 'expire' ? 'expired' : 'timed_out',
        at: now,
      });
      if (settledNow) this.settled(settledNow);
    }
  }

  /**
   * An attempt settled: every page drops it, and when more than one attempt
   * per visit is allowed (not strict), the next one in progress takes its turn.
   */
  private settled(engagement: Engagement): void {
    this.pages?.withdraw(engagement);
    if (this.options.strict || engagement.visitId === null || !this.pages) return;
    this.pages.place(engagement.visitId).catch((error) => this.options.onBackgroundError?.(error));
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
