/**
 * Fires stored deadlines. The deadlines live in the store, not in timers, so
 * a restart loses none: at start and after every change we sleep until the
 * earliest one (at most `maxSleepMs`, 1 s, so that deadlines set by other
 * processes sharing the store fire on time too) and then settle all that
 * are due. When the store cannot be read, it looks again after the same pause.
 */
import type { BeckonStore } from './store.js';

export class DeadlineClock {
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  private stopped = false;
  private armQueued = false;

  constructor(
    private readonly store: BeckonStore,
    private readonly settleDue: () => Promise<void>,
    private readonly options: { visitIdleMs: number; maxSleepMs?: number; onError: (error: unknown) => void },
  ) {}

  /**
   * Looks up the earliest deadline and sleeps until then. Every engage, shown
   * and answer calls this, so the look-up waits for the end of the current
   * turn of the event loop: a burst of changes costs one look-up, not one each.
   */
  arm(): void {
    if (this.stopped || this.armQueued) return;
    this.armQueued = true;
    setImmediate(() => {
      this.armQueued = false;
      this.armNow();
    });
  }

  private armNow(): void {
    if (this.stopped) return;
    // A tick in progress arms again when it ends, with the latest deadline.
    if (this.ticking) return;
    this.store
      .nextDeadline(this.options.visitIdleMs)
      .then((next) => {
        if (this.stopped) return;
        const maxSleep = this.options.maxSleepMs ?? 1000;
        const delay = next === null ? maxSleep : Math.min(Math.max(next - Date.now(), 0), maxSleep);
        this.sleep(delay);
      })
      .catch((error: unknown) => {
        // The store is away (Redis restarting): look again shortly, or the clock would stop for good.
        this.options.onError(error);
        this.sleep(this.options.maxSleepMs ?? 1000);
      });
  }

  private sleep(delay: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delay);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async tick(): Promise<void> {
    this.ticking = true;
    try {
      await this.settleDue();
    } catch (error) {
      this.options.onError(error);
    } finally {
      this.ticking = false;
      this.armNow();
    }
  }
}
