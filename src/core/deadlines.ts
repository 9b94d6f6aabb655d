/**
 * Fires stored deadlines. The deadlines live in the store, not in timers, so
 * a restart loses none: at start, after each firing and after changes whose
 * deadline is unknown we look up the earliest one and sleep until then (at
 * most `maxSleepMs`, 1 s, so that deadlines set by other processes sharing
 * the store fire on time too), and then settle all that are due. A change
 * that tells its deadline only moves the wake-up sooner, with no look-up.
 * When the store cannot be read, it looks again after the same pause.
 */
import type { BeckonStore } from './store.js';

export class DeadlineClock {
  private timer: NodeJS.Timeout | null = null;
  /** When the timer fires (epoch ms); null before the first look-up. */
  private wakeAt: number | null = null;
  /** A look-up of the earliest deadline is under way. */
  private lookingUp = false;
  /** The earliest deadline told (`deadlineAt`) while a look-up was under way: it may not have seen it. */
  private toldDuringLookUp = Infinity;
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

  /**
   * A change of this process stored a deadline at `at` (epoch ms). Every
   * engage and shown stores one, so this needs no look-up: the clock only
   * wakes sooner when `at` comes before the time it sleeps until. A deadline
   * that went away (an attempt settled) needs nothing either: the clock
   * wakes, finds nothing due, and looks again.
   */
  deadlineAt(at: number): void {
    if (this.stopped) return;
    // Never looked yet: look as every change did before the first look-up.
    if (this.wakeAt === null && !this.lookingUp) return this.arm();
    // A look-up under way may have read the store before this deadline was written: it takes it into account.
    if (this.lookingUp) {
      this.toldDuringLookUp = Math.min(this.toldDuringLookUp, at);
      return;
    }
    // A tick in progress, or a look-up queued, reads the store after this deadline was written.
    if (this.ticking || this.armQueued) return;
    if (at < this.wakeAt!) this.sleep(Math.max(at - Date.now(), 0));
  }

  private armNow(): void {
    if (this.stopped) return;
    // A tick in progress arms again when it ends, with the latest deadline.
    if (this.ticking) return;
    this.lookingUp = true;
    this.toldDuringLookUp = Infinity;
    const maxSleep = this.options.maxSleepMs ?? 1000;
    this.store
      .nextDeadline(this.options.visitIdleMs)
      .then((next) => {
        this.lookingUp = false;
        if (this.stopped) return;
        const earliest = Math.min(next ?? Infinity, this.toldDuringLookUp);
        const delay = earliest === Infinity ? maxSleep : Math.min(Math.max(earliest - Date.now(), 0), maxSleep);
        this.sleep(delay);
      })
      .catch((error: unknown) => {
        this.lookingUp = false;
        // The store is away (Redis restarting): look again shortly, or the clock would stop for good.
        this.options.onError(error);
        const told = this.toldDuringLookUp;
        this.sleep(told === Infinity ? maxSleep : Math.min(Math.max(told - Date.now(), 0), maxSleep));
      });
  }

  private sleep(delay: number): void {
    // A look-up that ends while a round runs must not start a second round beside it (both would settle
    // the same due deadlines, one of them in vain): the running round looks again when it ends.
    if (this.stopped || this.ticking) return;
    if (this.timer) clearTimeout(this.timer);
    this.wakeAt = Date.now() + delay;
    this.timer = setTimeout(() => void this.tick(), delay);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    this.timer = null;
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
