/**
 * The `onEvents` listeners of a store: told after a change that recorded
 * events has been made durable (committed, or the script returned), so that
 * the event feed reads at once instead of waiting for its poll.
 */
export class EventListeners {
  readonly #listeners = new Set<() => void>();

  /** Adds a listener; returns the unsubscribe. */
  add(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  notify(): void {
    for (const listener of this.#listeners) {
      try {
        listener();
      } catch {
        // a listener's failure must not undo or fail the change that was made
      }
    }
  }
}
