/**
 * What every way of following a moving primary shares (sentinel.ts,
 * cluster.ts): the address as last learned, who to tell when it moves, and
 * asking again one question at a time however many callers ask.
 */
import type { HostAndPort, PrimaryLocator } from './endpoint.js';

export abstract class FollowedPrimary implements PrimaryLocator {
  #primary: HostAndPort;
  readonly #listeners = new Set<(primary: HostAndPort) => void>();
  #refreshing: Promise<void> | null = null;
  #closed = false;

  protected constructor(primary: HostAndPort) {
    this.#primary = primary;
  }

  /** The primary's address as last announced or asked. */
  get current(): HostAndPort {
    return this.#primary;
  }

  protected get closed(): boolean {
    return this.#closed;
  }

  /** Calls `listener` each time the primary moves; returns a function that stops it. */
  onMove(listener: (primary: HostAndPort) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Asks again (one question at a time however many callers ask); moves if the answer names another primary. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.ask()
      .then((primary) => {
        if (primary !== null) this.moveTo(primary);
      })
      .finally(() => {
        this.#refreshing = null;
      });
    return this.#refreshing;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    await this.#refreshing?.catch(() => {});
  }

  /** Where the primary is now, by whoever this follows; null when no one answers. */
  protected abstract ask(): Promise<HostAndPort | null>;

  /** Takes `primary` as the address, telling the listeners if it moved. */
  protected moveTo(primary: HostAndPort): void {
    if (this.#closed || (primary.host === this.#primary.host && primary.port === this.#primary.port)) return;
    this.#primary = primary;
    for (const listener of this.#listeners) listener(primary);
  }
}
