/**
 * Insights: the invitation funnel, why engages were not offered (refused or
 * narrowed), outcomes over time, and acceptance rate by channel and by hour
 * of day, for a chosen time range, from
 * GET /backend/data/reports/engagements (docs/api.md). Kept live by the
 * console's event stream: an engagement event schedules one (debounced) reload.
 *
 * A canvas says nothing to a screen reader, so each chart has a one-line
 * summary as its accessible name and a table with every number beside it;
 * the tables are drawn first, and stay if the chart library fails.
 */
import { html, nothing, render, type TemplateResult } from 'lit/html.js';
import { ConsoleApi, Fault } from '../api.js';
import { byId } from '../dom.js';
import { clock, duration, percent } from '../format.js';
import { fault, problem } from '../templates.js';
import { drawCharts, type ChartCanvases } from './charts.js';
import { countOf, notOfferedLines, notOfferedSummary } from './not-offered.js';
import { FUNNEL, OUTCOMES } from './outcomes.js';
import {
  byChannel,
  byHourOfDay,
  customRange,
  describeRange,
  isPreset,
  localInput,
  presetRange,
  readReport,
  type Bucket,
  type Range,
  type Report,
} from './report.js';

/** Engagement events come in bursts (a transition per step); one reload per burst is enough. */
const RELOAD_DEBOUNCE_MS = 1000;

const hourLabel = new Intl.DateTimeFormat(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit' });
const hourTick = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayLabel = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
const hourName = (hour: number) => `${String(hour).padStart(2, '0')}:00`;

/** What the cards show: the last report read, with the hour buckets of its range. */
interface Shown {
  report: Report;
  hourBuckets: Report['buckets'];
  bucket: Bucket;
}

type Row = (string | number)[];

export class InsightsView {
  readonly #root = byId('insights', HTMLElement);
  readonly #preset = byId('range-preset', HTMLSelectElement);
  readonly #custom = byId('range-custom', HTMLFieldSetElement);
  readonly #status = byId('insights-status', HTMLParagraphElement);
  readonly #fault = byId('insights-fault', HTMLDivElement);
  readonly #totals = byId('insights-totals', HTMLElement);
  readonly #charts = byId('insights-charts', HTMLDivElement);
  readonly #csv = byId('csv-download', HTMLButtonElement);

  #visible = false;
  /** Something may have changed since the last load. */
  #stale = true;
  #range: Range = presetRange('24h');
  #timer: ReturnType<typeof setTimeout> | undefined;
  #loading: Promise<void> | null = null;
  #again = false;

  constructor(private readonly api: ConsoleApi) {
    this.#drawCards(null);
    this.#preset.addEventListener('change', () => this.#presetChosen());
    byId('range-form', HTMLFormElement).addEventListener('submit', (event) => {
      event.preventDefault();
      this.#customChosen();
    });
    this.#csv.addEventListener('click', () => void this.#downloadCsv());
  }

  /** The view was shown or hidden; shown with something new, it reloads. */
  setVisible(visible: boolean): void {
    this.#visible = visible;
    if (visible && this.#stale) void this.#load();
  }

  /** One event from the stream. */
  eventArrived(event: { type: string }): void {
    if (event.type.startsWith('engagement.')) this.#scheduleReload();
  }

  /** The stream (re)connected: events from the gap may not all be replayed, so read the report again. */
  streamOpened(): void {
    this.#scheduleReload();
  }

  /** The range in force: a preset is recomputed up to now on every load. */
  #currentRange(): Range {
    const preset = this.#preset.value;
    return isPreset(preset) ? presetRange(preset) : this.#range;
  }

  #load(): Promise<void> {
    if (this.#loading) {
      this.#again = true;
      return this.#loading;
    }
    this.#loading = (async () => {
      try {
        do {
          this.#again = false;
          this.#stale = false;
          const r = this.#currentRange();
          const query = (bucket: Bucket) =>
            `/reports/engagements?${new URLSearchParams({ from: r.from, to: r.to, bucket })}`;
          this.#root.setAttribute('aria-busy', 'true');
          // Hour of day needs hour buckets; a range by day asks for both.
          const [main, hourly] = await Promise.all([
            this.api.json('GET', query(r.bucket)),
            r.bucket === 'hour' ? null : this.api.json('GET', query('hour')),
          ]);
          const report = readReport(main);
          this.#show({
            report,
            hourBuckets: r.bucket === 'hour' ? report.buckets : readReport(hourly).buckets,
            bucket: r.bucket,
          });
          render(nothing, this.#fault);
          this.#status.textContent = `${describeRange(main, r)} · updated at ${clock.format(new Date())}`;
        } while (this.#again);
      } catch (error) {
        render(fault(error), this.#fault);
        this.#stale = true;
      } finally {
        this.#root.removeAttribute('aria-busy');
        this.#loading = null;
      }
    })();
    return this.#loading;
  }

  #show(shown: Shown): void {
    const t = shown.report.totals;
    render(
      [
        ['Created', t.created],
        ['Shown', t.delivered],
        ['Accepted', t.accepted],
        ['Acceptance rate', percent(t.acceptanceRate)],
        ['Median time to answer', duration(t.p50)],
        ['90th percentile', duration(t.p90)],
        ['Refused', Object.values(t.refused).reduce((sum, n) => sum + n, 0)],
        ['Narrowed', t.narrowed],
      ].map(
        ([term, value]) =>
          html`<div>
            <dt>${term}</dt>
            <dd>${value}</dd>
          </div>`,
      ),
      this.#totals,
    );
    this.#drawCards(shown);
    const bucket = shown.bucket;
    drawCharts(this.#canvases(), {
      funnel: FUNNEL.map(({ key, label }) => ({ name: label, value: t[key] })),
      notOffered: notOfferedLines([t, ...shown.report.buckets]),
      totals: t,
      buckets: shown.report.buckets,
      // The axis has less room than the table: hours without their weekday.
      tick: (start) => (bucket === 'hour' ? hourTick : dayLabel).format(new Date(start)),
      channels: byChannel(t),
      hours: byHourOfDay(shown.hourBuckets),
      hourName,
    }).catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      render(fault(new Error(`${message}; the numbers are in the tables.`)), this.#fault);
    });
  }

  /** The cards, their summaries and their tables; empty until the first report is read. */
  #drawCards(shown: Shown | null): void {
    const content = shown ? cardContent(shown) : null;
    render(
      html`${chartCard('funnel', 'Funnel', 'Invitations created, shown on a page, and accepted.', content?.funnel)}
        ${chartCard(
          'not-offered',
          'Why not offered',
          'Engages refused, by reason (nothing was created), and invitations offered with fewer channels than asked because the others were closed.',
          content?.notOffered,
        )}
        ${chartCard(
          'outcomes',
          'Outcomes over time',
          'Each outcome counted in the bucket of the time it happened.',
          content?.outcomes,
        )}
        ${chartCard(
          'not-offered-time',
          'Not offered over time',
          'Refused engages stacked by reason, and narrowed invitations beside them, per bucket.',
          content?.notOfferedOverTime,
        )}
        ${chartCard(
          'by-channel',
          'Acceptance rate by channel',
          'Accepted on the channel ÷ all invitations shown.',
          content?.channels,
        )}
        ${chartCard(
          'hours',
          'Acceptance rate by hour of day',
          'Accepted ÷ shown, per hour of the day in your time zone, over the whole range.',
          content?.hours,
        )}
        <section class="chart-card" aria-labelledby="pages-title" id="pages">
          <h3 id="pages-title">Top pages</h3>
          <div class="table-box" role="region" tabindex="0" aria-label="Top pages: the numbers">
            <table class="numbers">
              ${content?.pages ?? nothing}
            </table>
          </div>
        </section>`,
      this.#charts,
    );
  }

  #canvases(): ChartCanvases {
    const canvas = (id: string) => byId(`${id}-chart`, HTMLCanvasElement);
    return {
      funnel: canvas('funnel'),
      notOffered: canvas('not-offered'),
      outcomes: canvas('outcomes'),
      notOfferedOverTime: canvas('not-offered-time'),
      // Not "channels": that id is the Channels view's.
      channels: canvas('by-channel'),
      hours: canvas('hours'),
    };
  }

  /** Debounced reload after an engagement event; a hidden view only notes that it is out of date. */
  #scheduleReload(): void {
    this.#stale = true;
    if (!this.#visible) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#load(), RELOAD_DEBOUNCE_MS);
  }

  #presetChosen(): void {
    const preset = this.#preset.value;
    this.#custom.hidden = isPreset(preset);
    if (!isPreset(preset)) {
      // Start from the range on screen, so "custom" is a small step from a preset.
      byId('range-from', HTMLInputElement).value = localInput(Date.parse(this.#range.from));
      byId('range-to', HTMLInputElement).value = localInput(Date.parse(this.#range.to));
      byId('range-bucket', HTMLSelectElement).value = this.#range.bucket;
      return;
    }
    this.#range = presetRange(preset);
    void this.#load();
  }

  #customChosen(): void {
    if (isPreset(this.#preset.value)) return;
    const chosen = customRange(
      byId('range-from', HTMLInputElement).value,
      byId('range-to', HTMLInputElement).value,
      byId('range-bucket', HTMLSelectElement).value,
    );
    if ('error' in chosen) {
      render(problem(chosen.error), this.#fault);
      return;
    }
    this.#range = chosen.range;
    void this.#load();
  }

  /** Fetches the attempts of the range as CSV with the token, and hands the file to the browser. */
  async #downloadCsv(): Promise<void> {
    const r = this.#currentRange();
    if (this.#csv.dataset.busy) return;
    this.#csv.dataset.busy = 'true';
    render(nothing, this.#fault);
    try {
      const response = await this.api.send(
        'GET',
        `/engagements?${new URLSearchParams({ from: r.from, to: r.to, format: 'csv' })}`,
        { accept: 'text/csv' },
      );
      if (!response.ok) {
        throw new Fault(response.status, await response.json().catch(() => null), response.headers.get('Retry-After'));
      }
      const url = URL.createObjectURL(await response.blob());
      const stamp = (iso: string) => iso.slice(0, 16).replace(/[:T]/g, '-');
      const link = document.createElement('a');
      link.href = url;
      link.download = `beckon-engagements-${stamp(r.from)}-to-${stamp(r.to)}.csv`;
      link.hidden = true;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      this.#status.textContent = `CSV of ${r.from} to ${r.to} downloaded at ${clock.format(new Date())}`;
    } catch (error) {
      render(fault(error), this.#fault);
    } finally {
      delete this.#csv.dataset.busy;
    }
  }
}

interface CardContent {
  summary: string;
  table: TemplateResult;
}

interface Cards {
  funnel: CardContent;
  notOffered: CardContent;
  outcomes: CardContent;
  notOfferedOverTime: CardContent;
  channels: CardContent;
  hours: CardContent;
  pages: TemplateResult;
}

/** A chart card: heading, canvas (named by its summary), the summary as text, and a table of every number. */
function chartCard(id: string, title: string, note: string, content: CardContent | undefined): TemplateResult {
  // Tables that can grow scroll inside a focusable region, so keyboard users can scroll them too.
  return html`<section class="chart-card" aria-labelledby="${id}-title" id=${id}>
    <h3 id="${id}-title">${title}</h3>
    <p class="chart-note">${note}</p>
    <div class="chart-box">
      <canvas id="${id}-chart" role="img" aria-labelledby="${id}-title ${id}-summary"></canvas>
    </div>
    <p class="chart-summary" id="${id}-summary">${content?.summary ?? ''}</p>
    <div class="table-box" role="region" tabindex="0" aria-label="${title}: the numbers">
      <table class="numbers">
        ${content?.table ?? nothing}
      </table>
    </div>
  </section>`;
}

/** A table's caption (for screen readers), head row and body rows; the first cell of a row heads it. */
function table(caption: string, head: string[], rows: Row[]): TemplateResult {
  const headCells = head.map((cell, i) => html`<th scope="col" class=${i ? 'num' : nothing}>${cell}</th>`);
  const bodyRow = (row: Row) =>
    html`<tr>
      ${row.map((cell, i) => (i ? html`<td class="num">${cell}</td>` : html`<th scope="row">${cell}</th>`))}
    </tr>`;
  return html`<caption class="visually-hidden">
      ${caption}
    </caption>
    <thead>
      <tr>
        ${headCells}
      </tr>
    </thead>
    <tbody>
      ${
        rows.length
          ? rows.map(bodyRow)
          : html`<tr>
              <td colspan=${head.length}>Nothing in this range.</td>
            </tr>`
      }
    </tbody>`;
}

/** The summaries and tables of every card, from one report. */
function cardContent({ report, hourBuckets, bucket }: Shown): Cards {
  const t = report.totals;
  const label = (start: number) => (bucket === 'hour' ? hourLabel : dayLabel).format(new Date(start));

  const funnel = FUNNEL.map(({ key, label: name }) => ({ name, value: t[key] }));
  const notOffered = notOfferedLines([t, ...report.buckets]);
  const bucketHead = bucket === 'hour' ? 'Hour' : 'Day (UTC)';
  const sums = OUTCOMES.map((o) => `${t[o.key]} ${o.label.toLowerCase()}`);
  const channels = byChannel(t);
  const hours = byHourOfDay(hourBuckets).filter((x) => x.delivered > 0);
  const best = [...hours].sort((a, b) => (b.rate ?? 0) - (a.rate ?? 0) || a.hour - b.hour)[0];

  return {
    funnel: {
      summary: `${funnel.map((s) => `${s.value} ${s.name.toLowerCase()}`).join(', ')}.`,
      table: table(
        'Funnel',
        ['Step', 'Invitations', 'Of created'],
        funnel.map((s) => [s.name, s.value, percent(t.created ? s.value / t.created : null)]),
      ),
    },
    notOffered: {
      summary: notOfferedSummary(t),
      table: table(
        'Why not offered',
        ['Why (FAULT code)', 'Engages'],
        notOffered.map((line) => [
          line.code === null || line.code === line.label ? line.label : `${line.label} (${line.code})`,
          countOf(line, t),
        ]),
      ),
    },
    notOfferedOverTime: {
      summary: `Over ${report.buckets.length} ${bucket === 'hour' ? 'hours' : 'days'}: ${notOfferedSummary(t)}`,
      table: table(
        'Not offered over time, newest first',
        [bucketHead, ...notOffered.map((line) => line.label)],
        [...report.buckets].reverse().map((b) => [label(b.start), ...notOffered.map((line) => countOf(line, b))]),
      ),
    },
    outcomes: {
      summary: `Over ${report.buckets.length} ${bucket === 'hour' ? 'hours' : 'days'}: ${sums.join(', ')}.`,
      table: table(
        'Outcomes over time, newest first',
        [bucketHead, 'Created', 'Shown', ...OUTCOMES.map((o) => o.label)],
        // Newest first: the scrolling box opens on the latest buckets, which are the ones people look for.
        [...report.buckets]
          .reverse()
          .map((b) => [label(b.start), b.created, b.delivered, ...OUTCOMES.map((o) => b[o.key])]),
      ),
    },
    channels: {
      summary: channels.length
        ? `${channels.map((c) => `${c.channel} ${percent(c.rate)} (${c.accepted} accepted)`).join(', ')}, of ${t.delivered} shown.`
        : 'No invitation was accepted in this range.',
      table: table(
        'Acceptance rate by channel',
        ['Channel', 'Accepted', 'Rate'],
        channels.map((c) => [c.channel, c.accepted, percent(c.rate)]),
      ),
    },
    hours: {
      summary: best
        ? `Invitations were shown in ${hours.length} of 24 hours; the best was ${hourName(best.hour)} with ${percent(best.rate)}.`
        : 'No invitation was shown in this range.',
      table: table(
        'Acceptance rate by hour of day',
        ['Hour', 'Shown', 'Accepted', 'Rate'],
        hours.map((x) => [hourName(x.hour), x.delivered, x.accepted, percent(x.rate)]),
      ),
    },
    pages: table(
      'Top pages',
      ['Page', 'Shown', 'Accepted', 'Rate'],
      report.topPages.map((p) => [p.path, p.shown, p.accepted, percent(p.acceptanceRate)]),
    ),
  };
}
