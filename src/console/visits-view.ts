/**
 * "Live visits": every visit with its open pages, its frequency caps, who
 * its visitor is and what they did lately, and a form to invite it. Read again after each event; Lit redraws only what
 * changed, so a reload never disturbs someone reading or typing, closes an
 * open page list, or moves focus.
 */
import { html, nothing, render, type TemplateResult } from 'lit/html.js';
import { repeat } from 'lit/directives/repeat.js';
import type { Page, Visit } from '../protocol/engagement.js';
import { isEngagementState } from './attempts.js';
import { ConsoleApi } from './api.js';
import type { AttemptsPanel } from './attempts-view.js';
import { byId } from './dom.js';
import { clock, newInteractionId, short } from './format.js';
import { fault, problem, time } from './templates.js';
import type { BusinessEvent } from '../protocol/visit-context.js';
import { CHANNELS, capNote, identityNote, inviteProfile, pairsText, readInviteForm, readVisits } from './visits.js';

/** What one visit's invite form shows besides its inputs. */
interface FormState {
  /** Element ids of the card, stable for the life of the page. */
  n: number;
  fault: TemplateResult | typeof nothing;
  sent: string;
}

export class VisitsPanel {
  #visits: Visit[] = [];
  readonly #forms = new Map<string, FormState>();
  #cards = 0;
  readonly #list = byId('visits', HTMLUListElement);
  #loading: Promise<void> | null = null;
  #again = false;

  constructor(
    private readonly api: ConsoleApi,
    private readonly attempts: AttemptsPanel,
  ) {}

  /** Reads the visit list again: at most one read at a time, and one more queued behind it. */
  refresh(): Promise<void> {
    if (this.#loading) {
      this.#again = true;
      return this.#loading;
    }
    this.#loading = (async () => {
      try {
        do {
          this.#again = false;
          this.#visits = readVisits(await this.api.json('GET', '/visits'));
          this.render();
        } while (this.#again);
      } finally {
        this.#loading = null;
      }
    })();
    return this.#loading;
  }

  render(): void {
    const listed = new Set(this.#visits.map((visit) => visit.visitId));
    for (const visitId of this.#forms.keys()) if (!listed.has(visitId)) this.#forms.delete(visitId);
    render(
      repeat(
        this.#visits,
        (visit) => visit.visitId,
        (visit) => this.#card(visit),
      ),
      this.#list,
    );
    byId('visits-empty', HTMLParagraphElement).hidden = this.#visits.length > 0;
    byId('visit-count', HTMLSpanElement).textContent = `(${this.#visits.length})`;
  }

  #form(visitId: string): FormState {
    let form = this.#forms.get(visitId);
    if (!form) this.#forms.set(visitId, (form = { n: ++this.#cards, fault: nothing, sent: '' }));
    return form;
  }

  #card(visit: Visit): TemplateResult {
    const form = this.#form(visit.visitId);
    const id = (name: string) => `v${form.n}-${name}`;
    const shown = this.attempts.shownPageOf(visit);
    const field = (name: string, label: string, control: TemplateResult) =>
      html`<div class="field field-${name}"><label for=${id(name)}>${label}</label>${control}</div>`;
    return html`<li>
      <article class="visit" aria-labelledby=${id('heading')}>
        <h3 id=${id('heading')}>Visit <code>${visit.visitId}</code></h3>
        <p class="meta">${meta(visit)}</p>
        ${identityLine(visit)} ${businessEvents(visit.events, id('events'))}
        <ul class="pages" aria-label="Open pages">
          ${repeat(
            visit.pages,
            (page) => page.pageId,
            (page) => pageItem(page, shown),
          )}
        </ul>
        <details class="invite-box">
          <summary>Invite this visitor</summary>
          <form class="invite" @submit=${(event: SubmitEvent) => this.#invite(event, visit.visitId)}>
            ${field(
              'title',
              'Title',
              html`<input id=${id('title')} name="title" maxlength="120" placeholder="Can we help?" />`,
            )}
            ${field(
              'message',
              'Message',
              html`<textarea id=${id('message')} name="message" maxlength="1000" rows="2"></textarea>`,
            )}
            <fieldset class="channels">
              <legend>Channels</legend>
              ${CHANNELS.map(channelChoice)}
            </fieldset>
            <div class="row">
              ${field(
                'timeout',
                'Timeout (seconds)',
                html`<input
                  id=${id('timeout')}
                  name="timeoutSeconds"
                  type="number"
                  min="5"
                  max="600"
                  step="1"
                  value="30"
                  required
                />`,
              )}
              ${field('page', 'Target page', pageSelect(id('page'), visit.pages))}
            </div>
            <div class="fault" role="alert">${form.fault}</div>
            <div class="actions">
              <button type="submit">Send invitation</button>
              <output class="sent">${form.sent}</output>
            </div>
          </form>
        </details>
      </article>
    </li>`;
  }

  async #invite(event: SubmitEvent, visitId: string): Promise<void> {
    event.preventDefault();
    const element = event.currentTarget as HTMLFormElement;
    if (element.dataset.busy) return; // not `disabled`: disabling the focused button would drop focus
    const form = this.#form(visitId);
    const fields = readInviteForm(new FormData(element));
    form.sent = '';
    if (fields.channels.length === 0) {
      form.fault = problem('Choose at least one channel.');
      this.render();
      element.querySelector<HTMLInputElement>('input[name="channels"]')?.focus();
      return;
    }
    const profile = inviteProfile(fields, visitId, newInteractionId());
    element.dataset.busy = 'true';
    form.fault = nothing;
    this.render();
    try {
      const answer = await this.api.json('POST', '/gateway/engage', { ixnProfile: profile });
      const state = (answer as { state?: unknown } | null)?.state;
      this.attempts.add({
        interactionId: profile.interactionId,
        visitId,
        title: fields.title,
        startedAt: new Date().toISOString(),
        state: isEngagementState(state) ? state : 'pending',
        record: null,
      });
      form.sent = `Sent at ${clock.format(new Date())}; follow it under “Invitations from this console”.`;
    } catch (error) {
      form.fault = fault(error);
    } finally {
      delete element.dataset.busy;
      this.render();
    }
  }
}

function channelChoice([value, label]: (typeof CHANNELS)[number]): TemplateResult {
  const box = html`<input type="checkbox" name="channels" value=${value} ?checked=${value === 'chat'} />`;
  return html`<label>${box} ${label}</label>`;
}

/** "Started 14:02 · global visit … · attempt in progress: … · 2/3 shown in 24 h". */
function meta(visit: Visit): TemplateResult {
  const active = visit.activeInteractionId;
  const inProgress = active ? html` · attempt in progress: <code>${short(active)}</code>` : nothing;
  const caps = capNote(visit.caps);
  const badge = !caps
    ? nothing
    : caps.capped
      ? html` · <span class="flag flag-capped" title=${caps.title}>${caps.text}${time(caps.until)}</span>`
      : html` · <span class="flag">${caps.text}</span>`;
  return html`Started ${time(visit.startedAt)} · global visit <code>${visit.globalVisitId}</code>${inProgress}${badge}`;
}

/** "Visitor: c-42 [verified] · tier=gold"; nothing until the visit has an identity. */
function identityLine(visit: Visit): TemplateResult | typeof nothing {
  const note = identityNote(visit.identity);
  if (!note) return nothing;
  const mark = note.mark
    ? html` <span class=${note.verified ? 'flag flag-on' : 'flag flag-unverified'}>${note.mark}</span>`
    : nothing;
  const traits = note.traits ? html` · <span class="traits">${note.traits}</span>` : nothing;
  return html`<p class="identity">Visitor: <strong>${note.who}</strong>${mark}${traits}</p>`;
}

/** The visit's latest business events, newest first; nothing before the first. */
function businessEvents(events: BusinessEvent[], headingId: string): TemplateResult | typeof nothing {
  if (events.length === 0) return nothing;
  return html`<section class="business-events" aria-labelledby=${headingId}>
    <h4 id=${headingId}>Latest business events</h4>
    <ol>
      ${events.map(
        (event) =>
          html`<li>
            ${time(event.at)} <code>${event.name}</code>${
              event.data && Object.keys(event.data).length
                ? html` <span class="event-data">${pairsText(event.data)}</span>`
                : nothing
            }
          </li>`,
      )}
    </ol>
  </section>`;
}

function pageItem(page: Page, shownPageId: string | null): TemplateResult {
  const flags = [
    page.pageId === shownPageId ? html`<span class="flag flag-shown">showing invitation</span>` : nothing,
    html`<span class=${page.visible ? 'flag flag-on' : 'flag'}>${page.visible ? 'visible' : 'hidden'}</span>`,
    page.focused ? html`<span class="flag flag-on">focused</span>` : nothing,
    page.locale ? html`<span class="flag">${page.locale}</span>` : nothing,
  ];
  return html`<li class="page">
    <span class="page-title">${page.title || '(untitled page)'}</span><span class="flags">${flags}</span>
    <span class="url">${page.url}</span>
    <span class="since">since ${time(page.connectedSince)} · <code>${page.pageId}</code></span>
  </li>`;
}

/**
 * The target page: "most recently active" or one of the visit's pages. Lit
 * keeps each option while its page stays, so an open list is not closed and
 * the choice stays made; a choice whose page left falls back to the first option.
 */
function pageSelect(id: string, pages: Page[]): TemplateResult {
  return html`<select id=${id} name="pageId">
    <option value="">Most recently active</option>
    ${repeat(
      pages,
      (page) => page.pageId,
      (page) => html`<option value=${page.pageId}>${page.title || page.url} (${short(page.pageId)})</option>`,
    )}
  </select>`;
}
