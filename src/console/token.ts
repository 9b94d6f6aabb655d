/**
 * The operator's API token (BECKON_API_TOKEN). Asked for only when the server
 * answers 401, kept in this tab's sessionStorage, sent as a Bearer header.
 */
import type { TokenSource } from './api.js';
import { byId } from './dom.js';
import { storageGet, storageSet } from './storage.js';

const TOKEN_KEY = 'beckon.token';

export class TokenPrompt implements TokenSource {
  /** Kept in memory as well, so that a browser with storage disabled still works. */
  #token = storageGet(TOKEN_KEY);
  #request: Promise<void> | null = null;

  /**
   * @param onAsk - the prompt opened (the console stops following events until it is answered)
   * @param focusAfter - where focus goes once the prompt hides itself, with the input that had it
   */
  constructor(
    private readonly onAsk: () => void,
    private readonly focusAfter: () => HTMLElement,
  ) {}

  current(): string | null {
    return this.#token;
  }

  /**
   * Every call that gets a 401 lands here, and they all share one form, so the
   * person is asked once.
   */
  replace(refused: string | null): Promise<void> {
    if (this.#token !== refused) return Promise.resolve(); // another call already got a new one
    this.#request ??= new Promise((resolve) => {
      const section = byId('auth', HTMLElement);
      const input = byId('auth-token', HTMLInputElement);
      const hint = byId('auth-hint', HTMLParagraphElement);
      if (refused) {
        hint.textContent = 'The server refused that token. Enter the API token (BECKON_API_TOKEN) again.';
        hint.classList.add('error');
      }
      this.onAsk();
      section.hidden = false;
      input.focus();
      byId('auth-form', HTMLFormElement).addEventListener(
        'submit',
        (event) => {
          event.preventDefault();
          this.#token = input.value.trim();
          storageSet(TOKEN_KEY, this.#token);
          input.value = '';
          section.hidden = true;
          this.focusAfter().focus();
          this.#request = null;
          resolve();
        },
        { once: true },
      );
    });
    return this.#request;
  }
}
