/**
 * Event retention: the event log (the outbox behind the stream and the
 * webhooks) would otherwise grow by every invitation's steps forever. Events
 * older than the retention (BECKON_EVENT_RETENTION_DAYS) are deleted at start
 * and then every hour, oldest first, in small batches so that the writes of
 * live traffic are never held up for long. Engagement records are kept
 * longer (below): the status endpoint and idempotent engage need them.
 *
 * The same run deletes closed pages and ended visits (store.pruneVisits),
 * which would otherwise grow by every page view. By default they
 * are kept as long as the events (an event names its visit and page, and the
 * page record has the URL the event lacks); BECKON_VISIT_RETENTION_HOURS
 * keeps them shorter, since nothing reads them once they ended and they
 * weigh about twice the events of a page view (bench/retention.ts).
 *
 * Then settled attempts (store.pruneAttempts) older than
 * BECKON_ATTEMPT_RETENTION_DAYS (400 by default, like the reports): until
 * then the status endpoint, idempotent engage, the tombstone and the export
 * answer for them; after, the id is unknown.
 */
import type { BeckonStore } from '../../core/store.js';

export interface EventRetentionOptions {
  retentionMs: number;
  /** Closed pages and ended visits (BECKON_VISIT_RETENTION_HOURS); the event retention unless given. */
  visitRetentionMs?: number;
  /** Attempts settled longer ago are deleted (BECKON_ATTEMPT_RETENTION_DAYS); kept for ever unless given. */
  attemptRetentionMs?: number;
  /** Report hours that ended longer ago are deleted too (SQLite; Redis expires them itself). */
  reportRetentionMs?: number;
  /** How often to prune (one hour by default). */
  everyMs?: number;
  /** Events (pages plus visits, attempts) deleted per write; each batch is one short transaction or script. */
  batch?: number;
  now?: () => number;
  onError: (error: unknown) => void;
}

/** What one retention run deleted: events, pages plus visits, and settled attempts. */
export interface RetentionRun {
  events: number;
  presence: number;
  attempts: number;
}

export class EventRetention {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<RetentionRun> | null = null;
  private stopped = false;

  constructor(
    private readonly store: BeckonStore,
    private readonly options: EventRetentionOptions,
  ) {}

  start(): void {
    void this.pruneNow();
    this.timer = setInterval(() => void this.pruneNow(), this.options.everyMs ?? 3_600_000);
    this.timer.unref();
  }

  /** Deletes every event, page, visit and settled attempt past the retention; resolves with how many went. A call during a run joins it. */
  pruneNow(): Promise<RetentionRun> {
    this.running ??= this.prune().finally(() => (this.running = null));
    return this.running;
  }

  /** Stops the timer and waits for a run in progress (before the store closes). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  private async prune(): Promise<RetentionRun> {
    const { retentionMs, visitRetentionMs, attemptRetentionMs, reportRetentionMs } = this.options;
    // One cut-off time for the whole run, so the kinds of record are pruned against the same clock.
    const now = (this.options.now ?? Date.now)();
    const total: RetentionRun = { events: 0, presence: 0, attempts: 0 };
    try {
      total.events = await this.drain((limit) => this.store.pruneEvents(now - retentionMs, limit));
      total.presence = await this.drain((limit) =>
        this.store.pruneVisits(now - (visitRetentionMs ?? retentionMs), limit),
      );
      if (attemptRetentionMs !== undefined) {
        total.attempts = await this.drain((limit) => this.store.pruneAttempts(now - attemptRetentionMs, limit));
      }
      if (!this.stopped && reportRetentionMs !== undefined) await this.store.pruneReports(now - reportRetentionMs);
    } catch (error) {
      this.options.onError(error);
    }
    return total;
  }

  /** Runs one kind of pruning in batches until a batch comes back short (or the retention stops); returns how many went. */
  private async drain(pruneBatch: (limit: number) => Promise<number>): Promise<number> {
    const batch = this.options.batch ?? 1000;
    let total = 0;
    while (!this.stopped) {
      const dropped = await pruneBatch(batch);
      total += dropped;
      if (dropped < batch) break;
    }
    return total;
  }
}
