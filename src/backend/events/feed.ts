/**
 * The live event feed: ONE reader of the store's event log that fans new
 * events out to every subscriber (SSE streams, the webhook sender). It reads
 * when the store says a change committed in this process, and every
 * `pollMs` as well, so events written by another process sharing the store
 * are seen too. Subscribers never query the store per tick.
 */
import type { BeckonEvent } from '../../protocol/index.js';
import type { BeckonStore } from '../../core/store.js';

const ALL = { types: null, visitId: null } as const;

export interface EventFeedOptions {
  /** How often to look for events written by other processes. */
  pollMs?: number;
  /** Events read per query. */
  batch?: number;
  onError: (error: unknown) => void;
}

export class EventFeed {
  private readonly subscribers = new Set<(events: BeckonEvent[]) => void>();
  private seq = 0;
  private reading = false;
  private readAgain = false;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private unlisten: (() => void) | null = null;

  constructor(
    private readonly store: BeckonStore,
    private readonly options: EventFeedOptions,
  ) {}

  /** Starts at the newest event: subscribers replay older ones from the store themselves. */
  async start(): Promise<void> {
    this.seq = await this.store.lastEventSeq();
    this.unlisten = this.store.onEvents(() => this.poke());
    this.timer = setInterval(() => this.poke(), this.options.pollMs ?? 1000);
    this.timer.unref();
  }

  /** The seq of the newest event handed to subscribers. */
  get position(): number {
    return this.seq;
  }

  /** Receives every new event, in seq order, in batches. Returns the unsubscribe. */
  subscribe(subscriber: (events: BeckonEvent[]) => void): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  /** Reads new events soon; calls that come while a read runs fold into one more read. */
  poke(): void {
    if (this.stopped) return;
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = true;
    // After the current call stack: a burst of commits in one tick becomes one read.
    setImmediate(() => void this.read());
  }

  stop(): void {
    this.stopped = true;
    this.unlisten?.();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.subscribers.clear();
  }

  private async read(): Promise<void> {
    const batch = this.options.batch ?? 500;
    try {
      do {
        this.readAgain = false;
        for (;;) {
          if (this.stopped) return;
          // Nobody listening (no stream open, no webhook): only keep the position.
          // A new subscriber replays what it missed from the store itself.
          if (this.subscribers.size === 0) {
            this.seq = await this.store.lastEventSeq();
            break;
          }
          const events = await this.store.eventsAfter(this.seq, ALL, batch);
          if (events.length === 0) break;
          this.seq = events[events.length - 1]!.seq;
          for (const subscriber of this.subscribers) {
            try {
              subscriber(events);
            } catch (error) {
              this.options.onError(error);
            }
          }
          if (events.length < batch) break;
        }
      } while (this.readAgain);
    } catch (error) {
      // The store may be closing or briefly busy; the next poke or poll reads again.
      if (!this.stopped) this.options.onError(error);
    } finally {
      this.reading = false;
    }
  }
}
