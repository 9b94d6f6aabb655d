import { Fault } from './api.js';
import { announce } from './announcer.js';
import { clock } from './format.js';

/** The line in the header that says whether the console is following the server's events. */
export class ConnectionLine {
  /** null until the first answer: only flips are announced, not the first word. */
  #online: boolean | null = null;

  constructor(private readonly line: HTMLElement) {}

  online(): void {
    this.#show(true, `Live · following events since ${clock.format(new Date())}`);
  }

  /** The stream or a load failed; `error` says why, in the words a person can act on. */
  offline(error: unknown): void {
    const fault = error instanceof Fault ? error : null;
    this.#show(
      false,
      fault?.status === 429
        ? 'Rate limited by the server; reconnecting more slowly.'
        : fault?.status === 0
          ? 'Lost the event stream; reconnecting…'
          : fault?.code
            ? `${fault.code}: ${fault.message}`
            : 'The event stream failed; reconnecting…',
    );
  }

  /** The server asked for the API token; nothing is followed until it is given. */
  waitingForToken(): void {
    this.line.textContent = 'Waiting for the API token.';
    this.line.classList.remove('online');
  }

  #show(online: boolean, text: string): void {
    this.line.classList.toggle('online', online);
    this.line.classList.toggle('offline', !online);
    this.line.textContent = text;
    // Only the flips are worth interrupting someone for, not the ticking clock.
    if (this.#online !== null && this.#online !== online) {
      announce(online ? 'Connection to the server is back.' : text);
    }
    this.#online = online;
  }
}
