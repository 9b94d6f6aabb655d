/**
 * Channels (docs/console.md#channels): every channel with settings, from
 * `GET …/pacing` and `GET …/channels` (docs/pacing.md), open or closed and
 * why, its free slots and the age of their report, in progress, acceptance
 * rate, allowance and hours; and a form to add, edit or delete a channel's
 * hours and pacing (`PUT`/`DELETE …/channels/{channel}`).
 *
 * Capacity reports raise no event, so while the view is open it reads both
 * again every few seconds, and soon after an engagement event (an invitation
 * created or settled changes what is in progress). The form is drawn into a
 * box of its own from a draft that only the person's typing changes, so a
 * refresh never touches what is being typed.
 */
import { html, nothing, render, type TemplateResult } from 'lit/html.js';
import { repeat } from 'lit/directives/repeat.js';
import type { ChannelRecord, ChannelStatusBody, PacingMode, Weekday } from '../../protocol/channels.js';
import { announce } from '../announcer.js';
import { ConsoleApi, Fault } from '../api.js';
import { byId } from '../dom.js';
import { clock, percent } from '../format.js';
import { fault, problem } from '../templates.js';
import {
  channelBody,
  draftOf,
  fieldErrors,
  type ChannelDraft,
  type FieldErrors,
  type NumberField,
  type RangeDraft,
} from './form.js';
import { DAYS, changeText, closedText, localDate, timeZoneNames, weekText } from './hours.js';
import {
  MODES,
  allowanceText,
  capacityLine,
  clockOffset,
  pacingText,
  readChannels,
  readPacing,
  stateText,
} from './status.js';

/** How often an open view reads the channels again: capacity reports arrive without an event. */
export const REFRESH_MS = 5000;
/** Engagement events come in bursts; one read per burst. */
const EVENT_DEBOUNCE_MS = 500;

const browserZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** The number fields of the form, with their labels and hints, in the order shown. */
const NUMBER_INPUTS: Record<NumberField, { label: string; hint: string; mode: PacingMode }> = {
  maxOnScreen: {
    label: 'Most in progress at once',
    hint: 'How many invitations of this channel may be pending or shown at the same time; 0 or more.',
    mode: 'fixed',
  },
  proactiveShare: {
    label: 'Proactive share (0–1)',
    hint: 'The share of the free slots invitations may fill; the rest is kept for visitors who start a chat themselves. 1 is all of them.',
    mode: 'progressive',
  },
  initialAcceptanceRate: {
    label: 'Initial acceptance rate (0–1)',
    hint: 'Assumed until 20 invitations of the channel are answered; above 0, at most 1.',
    mode: 'progressive',
  },
  minAcceptanceRate: {
    label: 'Minimum acceptance rate (0–1)',
    hint: 'A floor on the measured rate, so that a run of declines cannot make the allowance unbounded; above 0, at most 1.',
    mode: 'progressive',
  },
  capacityStaleSeconds: {
    label: 'Capacity report stale after (seconds)',
    hint: 'A capacity report older than this closes the channel: report at least twice as often. 2 to 3600.',
    mode: 'progressive',
  },
};

/** A control of the form: its element id, where its problems are written, and whether it has any. */
interface Control {
  id: string;
  errorId: string;
  invalid: 'true' | typeof nothing;
  /** Its problems, in an element that is always there so that aria-describedby always names something. */
  error: TemplateResult;
}

export class ChannelsView {
  readonly #list = byId('channel-list', HTMLUListElement);
  readonly #empty = byId('channels-empty', HTMLParagraphElement);
  readonly #count = byId('channel-count', HTMLSpanElement);
  readonly #status = byId('channels-status', HTMLParagraphElement);
  readonly #fault = byId('channels-fault', HTMLDivElement);
  readonly #editor = byId('channel-editor', HTMLElement);
  readonly #add = byId('channel-add', HTMLButtonElement);

  #visible = false;
  #statuses: ChannelStatusBody[] = [];
  #records = new Map<string, ChannelRecord>();
  /** The server's clock minus this browser's, so that ages are right on a browser whose clock is off. */
  #offset = 0;
  #refresh: ReturnType<typeof setInterval> | undefined;
  #tick: ReturnType<typeof setInterval> | undefined;
  #debounce: ReturnType<typeof setTimeout> | undefined;
  #loading: Promise<void> | null = null;
  #again = false;

  /** The form's contents while it is open. */
  #draft: ChannelDraft | null = null;
  #errors: FieldErrors = new Map();
  #formFault: TemplateResult | typeof nothing = nothing;
  #saving = false;
  /** Where focus goes back to when the form is closed without saving. */
  #opener: HTMLElement | null = null;
  /** Channels whose Delete waits for a second click. */
  readonly #confirming = new Set<string>();
  readonly #cardFaults = new Map<string, TemplateResult>();

  constructor(private readonly api: ConsoleApi) {
    this.#add.addEventListener('click', () => this.#openEditor(null, this.#add));
    this.#renderList();
  }

  /** The view was shown or hidden: it reads the channels only while shown. */
  setVisible(visible: boolean): void {
    if (visible === this.#visible) return;
    this.#visible = visible;
    clearInterval(this.#refresh);
    clearInterval(this.#tick);
    clearTimeout(this.#debounce);
    if (!visible) return;
    // The time zones the form offers, some 400 of them: only once someone opens this view.
    const zones = byId('channel-zones', HTMLDataListElement);
    if (!zones.hasChildNodes())
      render(
        timeZoneNames().map((zone) => html`<option value=${zone}></option>`),
        zones,
      );
    void this.#load();
    this.#refresh = setInterval(() => void this.#load(), REFRESH_MS);
    // Ages ("reported 12 s ago") move on between reads.
    this.#tick = setInterval(() => this.#renderList(), 1000);
  }

  /** One event from the stream: an invitation created or settled changes what is in progress. */
  eventArrived(event: { type: string }): void {
    if (!this.#visible || !event.type.startsWith('engagement.')) return;
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => void this.#load(), EVENT_DEBOUNCE_MS);
  }

  /** The stream (re)connected: read again, as after any gap. */
  streamOpened(): void {
    if (this.#visible) void this.#load();
  }

  #now(): number {
    return Date.now() + this.#offset;
  }

  /** Reads settings and state again: one read at a time, and one more queued behind it. */
  #load(): Promise<void> {
    if (this.#loading) {
      this.#again = true;
      return this.#loading;
    }
    this.#loading = (async () => {
      try {
        do {
          this.#again = false;
          const [pacing, channels] = await Promise.all([
            this.api.send('GET', '/pacing'),
            this.api.json('GET', '/channels'),
          ]);
          this.#offset = clockOffset(pacing.headers.get('Date'), Date.now());
          this.#statuses = readPacing(await ConsoleApi.read(pacing));
          this.#records = readChannels(channels);
          const listed = new Set(this.#statuses.map((status) => status.channel));
          for (const channel of this.#confirming) if (!listed.has(channel)) this.#confirming.delete(channel);
          render(nothing, this.#fault);
          this.#status.textContent = `Updated at ${clock.format(new Date())}; read again every ${REFRESH_MS / 1000} s while open.`;
          this.#renderList();
        } while (this.#again);
      } catch (error) {
        render(fault(error), this.#fault);
      } finally {
        this.#loading = null;
      }
    })();
    return this.#loading;
  }

  #renderList(): void {
    const now = this.#now();
    render(
      repeat(
        this.#statuses,
        (status) => status.channel,
        (status) => this.#card(status, this.#records.get(status.channel) ?? null, now),
      ),
      this.#list,
    );
    this.#empty.hidden = this.#statuses.length > 0;
    this.#count.textContent = `(${this.#statuses.length})`;
  }

  #card(status: ChannelStatusBody, record: ChannelRecord | null, now: number): TemplateResult {
    const name = status.channel;
    const id = (part: string) => `channel-${name}-${part}`;
    const pacing = record?.pacing ?? null;
    const hours = record?.hours ?? null;
    const capacity = capacityLine(status, pacing, now);
    const reported = status.reportedAt ? new Date(status.reportedAt) : null;
    const closed = hours ? closedText(hours.closed, localDate(now, hours.timeZone)) : null;
    const change = hours ? changeText(status, hours.timeZone, now) : null;
    const fact = (term: string, value: unknown) =>
      html`<dt>${term}</dt>
        <dd>${value}</dd>`;
    const hidden = (text: string) => html`<span class="visually-hidden">${text}</span>`;
    return html`<li>
      <article class="channel-card ${status.open ? 'is-open' : 'is-closed'}" aria-labelledby=${id('title')}>
        <div class="channel-head">
          <h3 id=${id('title')} tabindex="-1">${name}</h3>
          <span class="state ${status.open ? 'state-open' : 'state-closed'}">${status.open ? 'open' : 'closed'}</span>
        </div>
        <p class="channel-why">${stateText(status, pacing)}</p>
        <dl class="facts">
          ${fact(
            'Free slots',
            html`<span title=${reported ? `Received ${reported.toLocaleString()}` : nothing}>${capacity.text}</span>${
                capacity.stale
                  ? html` <span class="flag flag-stale"
                      >stale: older than ${pacing?.capacityStaleSeconds ?? 60} s</span
                    >`
                  : nothing
              }`,
          )}
          ${fact('In progress', status.inProgress)} ${fact('Allowance', allowanceText(status.allowance))}
          ${fact('Acceptance rate', percent(status.acceptanceRate))}
          ${fact('Pacing', pacing ? pacingText(pacing) : '—')}
          ${fact('Hours', hours ? `${weekText(hours.weekly)} (${hours.timeZone})` : 'Open at all hours')}
          ${closed ? fact('Closed on', closed) : nothing} ${change ? fact('Next', change) : nothing}
        </dl>
        <div class="actions">
          <button
            type="button"
            class="quiet"
            id=${id('edit')}
            ?disabled=${record === null}
            @click=${(event: Event) => record && this.#openEditor(record, event.currentTarget as HTMLElement)}
          >
            Edit${hidden(` ${name}`)}
          </button>
          <button type="button" class="cancel" id=${id('delete')} @click=${() => this.#askDelete(name)}>
            Delete${hidden(` ${name}`)}
          </button>
        </div>
        ${
          this.#confirming.has(name)
            ? html`<div class="confirm" role="group" aria-labelledby=${id('confirm-text')}>
                <p id=${id('confirm-text')}>
                  Delete the settings of ${name}? It is then offered whenever engage asks for it, without hours or
                  pacing.
                </p>
                <div class="actions">
                  <button type="button" class="cancel" id=${id('confirm')} @click=${() => void this.#delete(name)}>
                    Yes, delete ${name}
                  </button>
                  <button type="button" class="quiet" @click=${() => this.#keep(name)}>Keep it</button>
                </div>
              </div>`
            : nothing
        }
        <div class="fault" role="alert">${this.#cardFaults.get(name) ?? nothing}</div>
      </article>
    </li>`;
  }

  #askDelete(channel: string): void {
    this.#confirming.add(channel);
    this.#cardFaults.delete(channel);
    this.#renderList();
    document.getElementById(`channel-${channel}-confirm`)?.focus();
  }

  #keep(channel: string): void {
    this.#confirming.delete(channel);
    this.#renderList();
    document.getElementById(`channel-${channel}-delete`)?.focus();
  }

  async #delete(channel: string): Promise<void> {
    try {
      await this.api.json('DELETE', `/channels/${encodeURIComponent(channel)}`);
    } catch (error) {
      // Already without settings (deleted from elsewhere): what was asked for is done.
      if (!(error instanceof Fault && error.status === 404)) {
        this.#cardFaults.set(channel, fault(error) as TemplateResult);
        this.#renderList();
        return;
      }
    }
    this.#confirming.delete(channel);
    if (this.#draft && !this.#draft.isNew && this.#draft.channel === channel) this.#closeEditor();
    announce(`Deleted the settings of ${channel}: it is offered whenever engage asks for it.`);
    await this.#load();
    byId('channels-title', HTMLHeadingElement).focus();
  }

  #openEditor(record: ChannelRecord | null, opener: HTMLElement): void {
    this.#draft = draftOf(record, browserZone());
    this.#errors = new Map();
    this.#formFault = nothing;
    this.#opener = opener;
    this.#editor.hidden = false;
    this.#renderEditor();
    byId('channel-editor-title', HTMLHeadingElement).focus();
  }

  #closeEditor(): void {
    this.#draft = null;
    this.#editor.hidden = true;
    this.#renderEditor();
  }

  #cancel(): void {
    const opener = this.#opener;
    this.#closeEditor();
    (opener?.isConnected ? opener : this.#add).focus();
  }

  /** Changes the draft as the person types, and draws the form from it. */
  #set(patch: Partial<ChannelDraft>): void {
    if (!this.#draft) return;
    Object.assign(this.#draft, patch);
    this.#renderEditor();
  }

  #setRanges(day: Weekday, change: (ranges: RangeDraft[]) => RangeDraft[]): void {
    if (!this.#draft) return;
    this.#draft.weekly[day] = change(this.#draft.weekly[day]);
    this.#renderEditor();
  }

  async #save(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const draft = this.#draft;
    if (!draft || this.#saving) return;
    const result = channelBody(draft, draft.isNew ? new Set(this.#records.keys()) : new Set());
    if ('errors' in result) {
      this.#errors = result.errors;
      this.#formFault = problem('Nothing was saved: correct the fields marked below.');
      this.#renderEditor();
      this.#focusFirstProblem();
      return;
    }
    this.#saving = true;
    this.#formFault = nothing;
    this.#renderEditor();
    try {
      await this.api.json('PUT', `/channels/${encodeURIComponent(result.channel)}`, result.body);
    } catch (error) {
      this.#errors =
        error instanceof Fault && error.code === 'INVALID_PARAMETER'
          ? fieldErrors(error.details, result.body)
          : new Map();
      this.#formFault =
        error instanceof Fault && error.code === 'INVALID_PARAMETER'
          ? html`<p><strong>${error.code}</strong>: ${error.message} Nothing was saved.</p>`
          : fault(error);
      this.#saving = false;
      this.#renderEditor();
      this.#focusFirstProblem();
      return;
    }
    this.#saving = false;
    this.#confirming.delete(result.channel);
    this.#closeEditor();
    announce(`Saved the settings of ${result.channel}.`);
    await this.#load();
    (document.getElementById(`channel-${result.channel}-title`) ?? byId('channels-title', HTMLHeadingElement)).focus();
  }

  /** After a refusal: the first field marked; when none is, the form's heading, right above its alert. */
  #focusFirstProblem(): void {
    const first = this.#editor.querySelector<HTMLElement>('[aria-invalid="true"], [data-invalid] input');
    (first ?? byId('channel-editor-title', HTMLHeadingElement)).focus();
  }

  #renderEditor(): void {
    const draft = this.#draft;
    if (!draft) {
      render(nothing, this.#editor);
      return;
    }
    // Problems of fields the form does not show now (e.g. of another pacing mode) go in its alert.
    const shown = new Set<string>(['form']);
    const control = (key: string): Control => {
      shown.add(key);
      const messages = this.#errors.get(key) ?? [];
      const base = `cf-${key.replace(/\./g, '-')}`;
      return {
        id: base,
        errorId: `${base}-error`,
        invalid: messages.length > 0 ? 'true' : nothing,
        error: html`<p class="field-error" id="${base}-error">${messages.join(' ')}</p>`,
      };
    };
    const field = (key: string, label: string, hint: string, input: (c: Control) => unknown) => {
      const c = control(key);
      return html`<div class="field">
        <label for=${c.id}>${label}</label>
        ${input(c)}
        <p class="hint" id="${c.id}-hint">${hint}</p>
        ${c.error}
      </div>`;
    };
    const textInput = (
      key: keyof ChannelDraft & string,
      label: string,
      hint: string,
      extra: Partial<{ list: string; inputmode: string }> = {},
    ) =>
      field(
        key,
        label,
        hint,
        (c) =>
          html`<input
            id=${c.id}
            type="text"
            autocomplete="off"
            spellcheck="false"
            list=${extra.list ?? nothing}
            inputmode=${extra.inputmode ?? nothing}
            aria-describedby="${c.id}-hint ${c.errorId}"
            aria-invalid=${c.invalid}
            .value=${String(draft[key])}
            @input=${(e: Event) => this.#set({ [key]: (e.target as HTMLInputElement).value })}
          />`,
      );

    const name = draft.isNew
      ? textInput('channel', 'Name', 'As engage names it in channels: a-z, 0-9 and -, e.g. chat.')
      : nothing;

    const hoursChoice = this.#choice(
      'Business hours',
      'hours',
      [
        ['all', 'Open at all hours'],
        ['set', 'Open during these hours'],
      ],
      draft.hoursOn ? 'set' : 'all',
      (value) => this.#set({ hoursOn: value === 'set' }),
      control('hours'),
    );

    const hours = draft.hoursOn
      ? html`${textInput(
            'timeZone',
            'Time zone',
            'An IANA name, such as Europe/Paris, America/New_York or UTC; choose from the list or type. Offsets such as +01:00 are refused: they do not follow daylight saving time.',
            { list: 'channel-zones' },
          )}
          <fieldset class="week">
            <legend>Weekly hours, in local time</legend>
            <p class="hint">
              Each range is from a time to a later one, HH:MM; 24:00 ends a day. A day without a range is closed. Split
              a range across midnight into two days.
            </p>
            ${DAYS.map(({ day, name: dayName }) => this.#day(day, dayName, draft.weekly[day], control))}
            <button
              type="button"
              class="quiet"
              @click=${() => {
                const monday = draft.weekly.mon;
                for (const day of ['tue', 'wed', 'thu', 'fri'] as const) {
                  draft.weekly[day] = monday.map((range) => ({ ...range }));
                }
                this.#renderEditor();
              }}
            >
              Copy Monday to Tuesday–Friday
            </button>
          </fieldset>
          ${field(
            'closed',
            'Closed dates',
            'Whole days closed whatever the week says, such as public holidays: one YYYY-MM-DD a line, in the channel’s time zone.',
            (c) =>
              html`<textarea
                id=${c.id}
                rows="3"
                spellcheck="false"
                aria-describedby="${c.id}-hint ${c.errorId}"
                aria-invalid=${c.invalid}
                .value=${draft.closed}
                @input=${(e: Event) => this.#set({ closed: (e.target as HTMLTextAreaElement).value })}
              ></textarea>`,
          )}`
      : nothing;

    const modeChoice = this.#choice(
      'Pacing',
      'mode',
      (Object.keys(MODES) as PacingMode[]).map((mode) => [mode, `${MODES[mode].label}: ${MODES[mode].hint}`] as const),
      draft.mode,
      (value) => this.#set({ mode: value as PacingMode }),
      control('mode'),
    );

    const numbers = (Object.keys(NUMBER_INPUTS) as NumberField[])
      .filter((key) => NUMBER_INPUTS[key].mode === draft.mode)
      .map((key) => textInput(key, NUMBER_INPUTS[key].label, NUMBER_INPUTS[key].hint, { inputmode: 'decimal' }));

    const leftover = [...this.#errors].filter(([key]) => !shown.has(key)).flatMap(([, messages]) => messages);
    const general = [...(this.#errors.get('form') ?? []), ...leftover];

    render(
      html`<h3 id="channel-editor-title" tabindex="-1">${draft.isNew ? 'Add a channel' : `Edit ${draft.channel}`}</h3>
        <form class="channel-form" novalidate @submit=${(event: SubmitEvent) => void this.#save(event)}>
          <div class="fault" role="alert">
            ${this.#formFault}${
              general.length
                ? html`<ul>
                    ${general.map((message) => html`<li>${message}</li>`)}
                  </ul>`
                : nothing
            }
          </div>
          ${name} ${hoursChoice} ${hours} ${modeChoice} ${numbers}
          <div class="actions">
            <button type="submit" aria-disabled=${this.#saving ? 'true' : nothing}>Save channel</button>
            <button type="button" class="quiet" @click=${() => this.#cancel()}>Cancel</button>
          </div>
        </form>`,
      this.#editor,
    );
  }

  /** A set of radio buttons in a fieldset; its problems under it. */
  #choice(
    legend: string,
    name: string,
    options: readonly (readonly [string, string])[],
    chosen: string,
    choose: (value: string) => void,
    c: Control,
  ): TemplateResult {
    return html`<fieldset class="choice" aria-describedby=${c.errorId} data-invalid=${c.invalid}>
      <legend>${legend}</legend>
      ${options.map(
        ([value, label]) =>
          html`<label
            ><input
              type="radio"
              name="cf-${name}"
              value=${value}
              .checked=${value === chosen}
              @change=${() => choose(value)}
            />
            ${label}</label
          >`,
      )}
      ${c.error}
    </fieldset>`;
  }

  /** One day of the week: its ranges, each with its problems, and a button to add one. */
  #day(day: Weekday, dayName: string, ranges: RangeDraft[], control: (key: string) => Control): TemplateResult {
    const dayControl = control(`weekly.${day}`);
    const addId = `cf-add-${day}`;
    const rows = ranges.map((range, i) => {
      const c = control(`weekly.${day}.${i}`);
      const nth = ranges.length > 1 ? ` (range ${i + 1})` : '';
      const input = (side: 'start' | 'end', label: string) =>
        html`<label for="${c.id}-${side}">${label}<span class="visually-hidden">${nth}</span></label>
          <input
            id="${c.id}-${side}"
            class="time"
            type="text"
            inputmode="numeric"
            autocomplete="off"
            placeholder="HH:MM"
            maxlength="5"
            aria-describedby=${c.errorId}
            aria-invalid=${c.invalid}
            .value=${range[side]}
            @input=${(e: Event) =>
              this.#setRanges(day, (all) =>
                all.map((r, j) => (j === i ? { ...r, [side]: (e.target as HTMLInputElement).value } : r)),
              )}
          />`;
      return html`<div class="range-row">
        ${input('start', 'From')} ${input('end', 'to')}
        <button
          type="button"
          class="quiet"
          @click=${() => {
            this.#setRanges(day, (all) => all.filter((_, j) => j !== i));
            document.getElementById(addId)?.focus();
          }}
        >
          Remove<span class="visually-hidden"> ${dayName}${nth}</span>
        </button>
        ${c.error}
      </div>`;
    });
    return html`<fieldset class="day" aria-describedby=${dayControl.errorId} data-invalid=${dayControl.invalid}>
      <legend>${dayName}</legend>
      ${rows.length ? rows : html`<p class="day-closed">Closed</p>`}
      <button
        type="button"
        class="quiet add-range"
        id=${addId}
        @click=${() => this.#setRanges(day, (all) => [...all, { start: '', end: '' }])}
      >
        Add hours<span class="visually-hidden"> on ${dayName}</span>
      </button>
      ${dayControl.error}
    </fieldset>`;
  }
}
