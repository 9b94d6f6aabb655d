/**
 * "Invitations from this console": every attempt started here, newest first,
 * followed to its outcome. Kept in this tab's storage, so a reload keeps
 * following them.
 */
import { html, nothing, render, type TemplateResult } from 'lit/html.js';
import { repeat } from 'lit/directives/repeat.js';
import type { Visit } from '../protocol/engagement.js';
import { ConsoleApi, Fault } from './api.js';
import { announce } from './announcer.js';
import {
  attemptName,
  isSettled,
  readStoredAttempts,
  timeline,
  withEvent,
  withRecord,
  type Attempt,
  type AttemptRecord,
  type EngagementEvent,
} from './attempts.js';
import { byId } from './dom.js';
import { delayLabel, stateLabel } from './format.js';
import { storageGet, storageSet } from './storage.js';
import { fault, time } from './templates.js';

const STORAGE_KEY = 'beckon.console.attempts';
/** sessionStorage is small; the oldest attempts drop off. */
const MAX_ATTEMPTS = 50;

export class AttemptsPanel {
  #attempts: Attempt[] = readStoredAttempts(storageGet(STORAGE_KEY));
  /** Element ids of each attempt's card, stable for the life of the page. */
  readonly #ids = new Map<string, string>();
  #cards = 0;
  /** The fault of the last cancel, shown in the attempt's card until the next one. */
  readonly #cancelFaults = new Map<string, unknown>();
  readonly #list = byId('attempts', HTMLOListElement);
  readonly #empty = byId('attempts-empty', HTMLParagraphElement);
  readonly #clearFinished = byId('clear-finished', HTMLButtonElement);

  constructor(private readonly api: ConsoleApi) {
    this.#clearFinished.addEventListener('click', () => {
      this.#attempts = this.#attempts.filter((a) => !isSettled(a));
      this.#save();
      this.render();
      announce('Finished invitations cleared.');
      byId('attempts-title', HTMLHeadingElement).focus(); // the button just hid itself; keep focus in the list
    });
  }

  /** Attempts nothing has settled yet: they are read again on every reconnect. */
  unsettled(): Attempt[] {
    return this.#attempts.filter((a) => !isSettled(a));
  }

  /** Which page shows this visit's active attempt, if this console started it. */
  shownPageOf(visit: Visit): string | null {
    const attempt = this.#attempts.find((a) => a.interactionId === visit.activeInteractionId);
    return attempt && !isSettled(attempt) ? (attempt.record?.shownPageId ?? null) : null;
  }

  /** An engage this console sent was accepted: follow it from now on. */
  add(attempt: Attempt): void {
    this.#attempts = [attempt, ...this.#attempts].slice(0, MAX_ATTEMPTS);
    this.#save();
    this.render();
    // Events that came before it was in the list were not applied; the record has them.
    this.refresh(attempt.interactionId).catch(() => {});
  }

  /**
   * An engagement event: if it is about an attempt of this console, the state
   * and the step's details show at once; the full record (deadlines) is read after.
   */
  applyEvent(event: EngagementEvent & { interactionId: string | null }): void {
    const attempt = this.#find(event.interactionId);
    if (!attempt) return;
    const next = withEvent(attempt, event);
    if (!next) return;
    this.#replace(attempt, next);
    this.refresh(attempt.interactionId).catch(() => {});
  }

  /** Reads an attempt's record again and shows what changed. */
  async refresh(interactionId: string): Promise<void> {
    let record: unknown;
    try {
      record = await this.api.json('GET', `/gateway/engagements/${encodeURIComponent(interactionId)}`);
    } catch (error) {
      if (!(error instanceof Fault) || error.status !== 404) throw error;
      const attempt = this.#find(interactionId);
      if (!attempt) return;
      // E.g. the server was restarted with an empty store: stop asking.
      this.#replace(attempt, { ...attempt, gone: { status: 'FAULT', code: error.code, message: error.message } });
      announce(`${attemptName(attempt)}: no longer known to the server.`);
      return;
    }
    const attempt = this.#find(interactionId);
    const next = attempt && withRecord(attempt, record);
    if (attempt && next) this.#replace(attempt, next);
  }

  /** Draws the list; Lit moves a card only when the order changed, and touches only what changed in it. */
  render(): void {
    const listed = new Set(this.#attempts.map((a) => a.interactionId));
    for (const id of this.#ids.keys()) if (!listed.has(id)) this.#ids.delete(id);
    for (const id of this.#cancelFaults.keys()) if (!listed.has(id)) this.#cancelFaults.delete(id);
    const focused = document.activeElement;
    render(
      repeat(
        this.#attempts,
        (a) => a.interactionId,
        (a) => this.#card(a),
      ),
      this.#list,
    );
    this.#empty.hidden = this.#attempts.length > 0;
    this.#clearFinished.hidden = !this.#attempts.some(isSettled);
    // A settled attempt has nothing to cancel; keep keyboard focus nearby instead of losing it.
    if (focused instanceof HTMLButtonElement && focused.classList.contains('cancel') && focused.hidden) {
      focused.closest('article')?.querySelector('h3')?.focus();
    }
  }

  #find(interactionId: string | null): Attempt | undefined {
    return this.#attempts.find((a) => a.interactionId === interactionId);
  }

  /** Puts the new version of an attempt in its place, keeps it, draws it, and announces a new state. */
  #replace(before: Attempt, after: Attempt): void {
    this.#attempts = this.#attempts.map((a) => (a === before ? after : a));
    this.#save();
    this.render();
    if (after.state !== before.state) {
      const channel = after.record?.channel;
      announce(`${attemptName(after)}: ${stateLabel(after.state)}${channel ? `, channel ${channel}` : ''}.`);
    }
  }

  #save(): void {
    storageSet(STORAGE_KEY, JSON.stringify(this.#attempts));
  }

  async #cancel(interactionId: string): Promise<void> {
    this.#cancelFaults.delete(interactionId);
    this.render();
    try {
      await this.api.json('POST', '/gateway/noengage', { cancelData: { interactionId, reason: 'console' } });
    } catch (error) {
      this.#cancelFaults.set(interactionId, error);
      this.render();
    }
    // Either way the record tells the truth now (e.g. ALREADY_SETTLED: it settled first).
    await this.refresh(interactionId).catch(() => {});
  }

  #card(attempt: Attempt): TemplateResult {
    let id = this.#ids.get(attempt.interactionId);
    if (id === undefined) this.#ids.set(attempt.interactionId, (id = `a${++this.#cards}`));
    const r: Partial<AttemptRecord> = attempt.record ?? {};
    const state = attempt.gone ? 'unknown' : attempt.state;
    const message = r.invitation?.message ?? '';
    const steps = timeline(attempt);
    const shown = attempt.gone ? new Fault(404, attempt.gone) : this.#cancelFaults.get(attempt.interactionId);
    const deadline =
      attempt.state === 'delivered' && r.timeoutAt
        ? fact('Times out at', time(r.timeoutAt))
        : attempt.state === 'pending' && r.expiresAt
          ? fact('Expires at', time(r.expiresAt))
          : nothing;
    return html`<li>
      <article class="attempt" aria-labelledby="${id}-title" data-state=${state}>
        <div class="attempt-head">
          <h3 id="${id}-title" tabindex="-1">${attempt.title || 'Invitation (default title)'}</h3>
          <span class="state state-${state}">${stateLabel(state)}</span>
        </div>
        <p class="message" ?hidden=${!message}>${message}</p>
        <dl class="facts">
          ${fact('Interaction', html`<code>${attempt.interactionId}</code>`)}
          ${fact('Visit', html`<code>${attempt.visitId}</code>`)}
          ${fact('Shown on page', r.shownPageId ? html`<code>${r.shownPageId}</code>` : null)}
          ${fact('Channels', Array.isArray(r.channels) ? r.channels.join(', ') : null)}
          ${fact('Chosen', r.channel ? html`<strong>${r.channel}</strong>` : null)} ${fact('Reason', r.reason)}
          ${deadline}
        </dl>
        <ol class="timeline" aria-label="Timeline" ?hidden=${steps.length === 0}>
          ${steps.map(
            (step) =>
              html`<li class="step-${step.state}">
                <span class="step">${stateLabel(step.state)}</span> ${time(step.at)}${
                  step.after > 0 ? html`<span class="after"> ${delayLabel(step.after)}</span>` : nothing
                }${step.notes.length ? html`<span class="note"> · ${step.notes.join(' · ')}</span>` : nothing}
              </li>`,
          )}
        </ol>
        <div class="fault" role="alert">${fault(shown)}</div>
        <button
          type="button"
          class="cancel"
          ?hidden=${isSettled(attempt)}
          @click=${() => this.#cancel(attempt.interactionId)}
        >
          Cancel invitation
        </button>
      </article>
    </li>`;
  }
}

function fact(term: string, value: TemplateResult | string | null | undefined): TemplateResult {
  return html`<dt>${term}</dt>
    <dd>${value ?? '—'}</dd>`;
}
