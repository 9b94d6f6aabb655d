// Insights: the invitation funnel, outcomes over time, and acceptance rate by
// channel and by hour of day, for a chosen time range, from
// GET /backend/data/reports/engagements (SPEC §3). Kept live by the console's
// event stream: an engagement event schedules one (debounced) reload.
//
// The charts are Chart.js (canvas), loaded only when this view is first
// opened, from the same origin (CSP script-src 'self'; Chart.js 4 injects no
// style element and sizes its canvas through the CSSOM, which style-src
// 'self' allows). A canvas says nothing to a screen reader, so each chart has
// a one-line summary as its accessible name and a table with every number
// beside it; the tables are drawn first, and stay if the library fails.

import { fill, h } from './dom.js';

const CHART_SCRIPT = '/console/vendor/chart.js/chart.umd.min.js';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Engagement events come in bursts (a transition per step); one reload per burst is enough. */
const RELOAD_DEBOUNCE_MS = 1000;
/** The widest custom range, as the report endpoint allows it: 31 days by hour, 366 days by day. */
const MAX_RANGE = { hour: 31 * DAY, day: 366 * DAY };

export const PRESETS = {
  '24h': { label: 'Last 24 hours (by hour)', bucket: 'hour', span: 24 },
  '7d': { label: 'Last 7 days (by day)', bucket: 'day', span: 7 },
  '30d': { label: 'Last 30 days (by day)', bucket: 'day', span: 30 },
};

/**
 * Outcomes in the order they stack. Every colour has at least 4.5:1 against
 * the white card (WCAG 1.4.11 asks 3:1 of graphics), and segments of a stack
 * are parted by a white border rather than relying on their contrast with
 * each other; the legend names them and the table beside the chart has every
 * number, so colour is never the only cue.
 */
const OUTCOMES = [
  { key: 'accepted', label: 'Accepted', colour: '#2f5d50' },
  { key: 'declined', label: 'Declined', colour: '#c2410c' },
  { key: 'timedOut', label: 'Timed out', colour: '#1d4ed8' },
  { key: 'cancelled', label: 'Cancelled', colour: '#6b7280' },
  { key: 'expired', label: 'Expired', colour: '#7e22ce' },
];
const FUNNEL = [
  { key: 'created', label: 'Created' },
  { key: 'delivered', label: 'Delivered (shown)' },
  { key: 'accepted', label: 'Accepted' },
];
const BRAND = '#2f5d50';
const TEXT = '#525e66'; // the console's --muted: 6.9:1 on white
const GRID = '#d9dde2';

const count = (value) => (Number.isFinite(value) && value >= 0 ? Math.floor(value) : 0);
const rate = (value) => (Number.isFinite(value) && value >= 0 ? value : null);
const percent = (r) => (r === null ? '—' : `${(r * 100).toFixed(r < 0.1 && r > 0 ? 1 : 0)} %`);
const ms = (value) =>
  !Number.isFinite(value) ? '—' : value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(1)} s`;

/** A bucket or the totals as the console uses them: counts, never anything the server did not send as a number. */
function figures(raw) {
  const r = raw !== null && typeof raw === 'object' ? raw : {};
  const byChannel = r.acceptedByChannel !== null && typeof r.acceptedByChannel === 'object' ? r.acceptedByChannel : {};
  return {
    created: count(r.created),
    delivered: count(r.delivered),
    accepted: count(r.accepted),
    declined: count(r.declined),
    timedOut: count(r.timedOut),
    cancelled: count(r.cancelled),
    expired: count(r.expired),
    acceptanceRate: rate(r.acceptanceRate),
    // Channel names include the report's "(other)" and "(none)"; they reach the page as text only.
    acceptedByChannel: Object.fromEntries(Object.entries(byChannel).map(([name, n]) => [name, count(n)])),
    p50: Number(r.timeToAnswerMs?.p50),
    p90: Number(r.timeToAnswerMs?.p90),
  };
}

/** The report as the view draws it, read defensively: it is input like any other. */
export function readReport(report) {
  const buckets = Array.isArray(report?.buckets) ? report.buckets : [];
  return {
    totals: figures(report?.totals),
    buckets: buckets
      .map((b) => ({ start: Date.parse(b?.start), ...figures(b) }))
      .filter((b) => !Number.isNaN(b.start))
      .sort((a, b) => a.start - b.start),
    topPages: (Array.isArray(report?.topPages) ? report.topPages : []).map((p) => ({
      path: String(p?.path ?? ''),
      shown: count(p?.shown),
      accepted: count(p?.accepted),
      acceptanceRate: rate(p?.acceptanceRate),
    })),
  };
}

/**
 * Acceptance by hour of day (the browser's time zone), summed over the hour
 * buckets of the range: accepted ÷ delivered of every bucket that starts in
 * that hour, null where nothing was delivered.
 */
export function byHourOfDay(hourBuckets) {
  const hours = Array.from({ length: 24 }, (_, hour) => ({ hour, delivered: 0, accepted: 0, rate: null }));
  for (const bucket of hourBuckets) {
    const hour = hours[new Date(bucket.start).getHours()];
    hour.delivered += bucket.delivered;
    hour.accepted += bucket.accepted;
  }
  for (const hour of hours) hour.rate = hour.delivered > 0 ? hour.accepted / hour.delivered : null;
  return hours;
}

/** Acceptance by channel: what share of the delivered invitations were accepted on each channel. */
export function byChannel(totals) {
  return Object.entries(totals.acceptedByChannel)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .map(([channel, accepted]) => ({
      channel,
      accepted,
      rate: totals.delivered > 0 ? accepted / totals.delivered : null,
    }));
}

/** The range a preset stands for now: from the start of the bucket (n − 1) buckets ago, to now. */
export function presetRange(preset, now = Date.now()) {
  const { bucket, span } = PRESETS[preset];
  const size = bucket === 'hour' ? HOUR : DAY;
  // Buckets are UTC hours and days (SPEC §3), so the range starts on one.
  const start = Math.floor(now / size) * size - (span - 1) * size;
  return { from: new Date(start).toISOString(), to: new Date(now).toISOString(), bucket };
}

let chartLibrary = null;
/** Adds Chart.js's script once; resolves with window.Chart. */
function loadChartLibrary() {
  chartLibrary ??= new Promise((resolve, reject) => {
    if (window.Chart) return resolve(window.Chart);
    const script = document.createElement('script');
    script.src = CHART_SCRIPT;
    script.addEventListener('load', () =>
      window.Chart ? resolve(window.Chart) : reject(new Error('Chart.js did not load')),
    );
    script.addEventListener('error', () => {
      chartLibrary = null; // try again next time
      reject(new Error('Chart.js could not be loaded'));
    });
    document.head.append(script);
  });
  return chartLibrary;
}

/**
 * A chart card: heading, canvas (named by its summary), the summary as text,
 * and a table of every number. Tables that can grow scroll inside a focusable
 * region, so keyboard users can scroll them too.
 */
function chartCard(id, title, note) {
  const card = {
    summary: h('p', { class: 'chart-summary', id: `${id}-summary` }),
    canvas: h('canvas', { id: `${id}-chart`, role: 'img', 'aria-labelledby': `${id}-title ${id}-summary` }),
    table: h('table', { class: 'numbers' }),
  };
  card.root = h(
    'section',
    { class: 'chart-card', 'aria-labelledby': `${id}-title`, id },
    h('h3', { id: `${id}-title` }, title),
    note ? h('p', { class: 'chart-note' }, note) : null,
    h('div', { class: 'chart-box' }, card.canvas),
    card.summary,
    h('div', { class: 'table-box', role: 'region', tabindex: 0, 'aria-label': `${title}: the numbers` }, card.table),
  );
  return card;
}

function table(el, caption, head, rows) {
  fill(
    el,
    h('caption', { class: 'visually-hidden' }, caption),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        head.map((cell, i) => h('th', { scope: 'col', class: i ? 'num' : null }, cell)),
      ),
    ),
    h(
      'tbody',
      {},
      rows.length
        ? rows.map((row) =>
            h(
              'tr',
              {},
              row.map((cell, i) =>
                i ? h('td', { class: 'num' }, String(cell)) : h('th', { scope: 'row' }, String(cell)),
              ),
            ),
          )
        : h('tr', {}, h('td', { colspan: head.length }, 'Nothing in this range.')),
    ),
  );
}

/**
 * The insights view. `api(method, path)` reads JSON with the console's token;
 * `send(method, path, options)` answers the raw Response (for the CSV);
 * `showFault(box, err)` draws a FAULT.
 */
export function createInsights({ api, send, showFault, Fault }) {
  const $ = (id) => document.getElementById(id);
  const root = $('insights');
  const preset = $('range-preset');
  const custom = $('range-custom');
  const status = $('insights-status');
  const fault = $('insights-fault');
  const totalsList = $('insights-totals');

  const hourLabel = new Intl.DateTimeFormat(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit' });
  const hourTick = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
  const dayLabel = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
  const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const reduceMotion = window.matchMedia('(prefers-reduced-motion: reduce)');

  const cards = {
    funnel: chartCard('funnel', 'Funnel', 'Invitations created, shown on a page, and accepted.'),
    outcomes: chartCard(
      'outcomes',
      'Outcomes over time',
      'Each outcome counted in the bucket of the time it happened.',
    ),
    channels: chartCard('channels', 'Acceptance rate by channel', 'Accepted on the channel ÷ all invitations shown.'),
    hours: chartCard(
      'hours',
      'Acceptance rate by hour of day',
      'Accepted ÷ shown, per hour of the day in your time zone, over the whole range.',
    ),
  };
  const pages = { table: h('table', { class: 'numbers' }) };
  pages.root = h(
    'section',
    { class: 'chart-card', 'aria-labelledby': 'pages-title', id: 'pages' },
    h('h3', { id: 'pages-title' }, 'Top pages'),
    h('div', { class: 'table-box', role: 'region', tabindex: 0, 'aria-label': 'Top pages: the numbers' }, pages.table),
  );
  fill($('insights-charts'), cards.funnel.root, cards.outcomes.root, cards.channels.root, cards.hours.root, pages.root);

  let visible = false;
  let stale = true; // something may have changed since the last load
  let range = presetRange('24h');
  let timer = null;
  let loading = null;
  let again = false;

  /** The range in force: a preset is recomputed up to now on every load. */
  const currentRange = () => (preset.value === 'custom' ? range : presetRange(preset.value));

  async function load() {
    if (loading) {
      again = true;
      return loading;
    }
    loading = (async () => {
      try {
        do {
          again = false;
          stale = false;
          const r = currentRange();
          const query = (bucket) => `/reports/engagements?${new URLSearchParams({ from: r.from, to: r.to, bucket })}`;
          root.setAttribute('aria-busy', 'true');
          // Hour of day needs hour buckets; a range by day asks for both.
          const [main, hourly] = await Promise.all([
            api('GET', query(r.bucket)),
            r.bucket === 'hour' ? null : api('GET', query('hour')),
          ]);
          const report = readReport(main);
          render(report, r.bucket === 'hour' ? report.buckets : readReport(hourly).buckets, r.bucket);
          fault.replaceChildren();
          status.textContent = `${describeRange(main, r)} · updated at ${clock.format(new Date())}`;
        } while (again);
      } catch (err) {
        showFault(fault, err);
        stale = true;
      } finally {
        root.removeAttribute('aria-busy');
        loading = null;
      }
    })();
    return loading;
  }

  function render(report, hourBuckets, bucket) {
    const t = report.totals;
    const label = (start) => (bucket === 'hour' ? hourLabel : dayLabel).format(new Date(start));
    // The axis has less room than the table: hours without their weekday.
    const tick = (start) => (bucket === 'hour' ? hourTick : dayLabel).format(new Date(start));
    fill(
      totalsList,
      [
        ['Created', t.created],
        ['Shown', t.delivered],
        ['Accepted', t.accepted],
        ['Acceptance rate', percent(t.acceptanceRate)],
        ['Median time to answer', ms(t.p50)],
        ['90th percentile', ms(t.p90)],
      ].map(([term, value]) => h('div', {}, h('dt', {}, term), h('dd', {}, String(value)))),
    );

    const funnel = FUNNEL.map(({ key, label: name }) => ({ name, value: t[key] }));
    cards.funnel.summary.textContent = `${funnel.map((s) => `${s.value} ${s.name.toLowerCase()}`).join(', ')}.`;
    table(
      cards.funnel.table,
      'Funnel',
      ['Step', 'Invitations', 'Of created'],
      funnel.map((s) => [s.name, s.value, percent(t.created ? s.value / t.created : null)]),
    );

    const sums = OUTCOMES.map((o) => `${t[o.key]} ${o.label.toLowerCase()}`);
    cards.outcomes.summary.textContent = `Over ${report.buckets.length} ${bucket === 'hour' ? 'hours' : 'days'}: ${sums.join(', ')}.`;
    table(
      cards.outcomes.table,
      'Outcomes over time, newest first',
      [bucket === 'hour' ? 'Hour' : 'Day (UTC)', 'Created', 'Shown', ...OUTCOMES.map((o) => o.label)],
      // Newest first: the scrolling box opens on the latest buckets, which are the ones people look for.
      [...report.buckets]
        .reverse()
        .map((b) => [label(b.start), b.created, b.delivered, ...OUTCOMES.map((o) => b[o.key])]),
    );

    const channels = byChannel(t);
    cards.channels.summary.textContent = channels.length
      ? `${channels.map((c) => `${c.channel} ${percent(c.rate)} (${c.accepted} accepted)`).join(', ')}, of ${t.delivered} shown.`
      : 'No invitation was accepted in this range.';
    table(
      cards.channels.table,
      'Acceptance rate by channel',
      ['Channel', 'Accepted', 'Rate'],
      channels.map((c) => [c.channel, c.accepted, percent(c.rate)]),
    );

    const hours = byHourOfDay(hourBuckets);
    const shownHours = hours.filter((x) => x.delivered > 0);
    const best = [...shownHours].sort((a, b) => b.rate - a.rate || a.hour - b.hour)[0];
    const hourName = (hour) => `${String(hour).padStart(2, '0')}:00`;
    cards.hours.summary.textContent = shownHours.length
      ? `Invitations were shown in ${shownHours.length} of 24 hours; the best was ${hourName(best.hour)} with ${percent(best.rate)}.`
      : 'No invitation was shown in this range.';
    table(
      cards.hours.table,
      'Acceptance rate by hour of day',
      ['Hour', 'Shown', 'Accepted', 'Rate'],
      shownHours.map((x) => [hourName(x.hour), x.delivered, x.accepted, percent(x.rate)]),
    );

    table(
      pages.table,
      'Top pages',
      ['Page', 'Shown', 'Accepted', 'Rate'],
      report.topPages.map((p) => [p.path, p.shown, p.accepted, percent(p.acceptanceRate)]),
    );

    drawCharts({ funnel, buckets: report.buckets, tick, channels, hours, hourName }).catch((err) => {
      showFault(fault, new Error(`${err.message}; the numbers are in the tables.`));
    });
  }

  async function drawCharts({ funnel, buckets, tick, channels, hours, hourName }) {
    const Chart = await loadChartLibrary();
    Chart.defaults.color = TEXT;
    Chart.defaults.borderColor = GRID;
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    const common = () => ({
      responsive: true,
      maintainAspectRatio: false,
      animation: reduceMotion.matches ? false : { duration: 250 },
      plugins: { legend: { display: false } },
    });
    // A tick callback, not ticks.format: Chart.js adds its own minimumFractionDigits to a format.
    const percentAxis = {
      beginAtZero: true,
      suggestedMax: 1,
      ticks: { callback: (value) => `${Math.round(value * 100)} %` },
    };
    // The canvas's own chart, as Chart.js knows it, is the one to update.
    const draw = (card, config) => {
      const chart = Chart.getChart(card.canvas);
      if (chart) {
        chart.data = config.data;
        chart.update();
      } else {
        new Chart(card.canvas, config);
      }
    };

    draw(cards.funnel, {
      type: 'bar',
      data: {
        labels: funnel.map((s) => s.name),
        datasets: [{ label: 'Invitations', data: funnel.map((s) => s.value), backgroundColor: BRAND }],
      },
      options: { ...common(), indexAxis: 'y', scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
    draw(cards.outcomes, {
      type: 'bar',
      data: {
        labels: buckets.map((b) => tick(b.start)),
        datasets: OUTCOMES.map((o) => ({
          label: o.label,
          data: buckets.map((b) => b[o.key]),
          backgroundColor: o.colour,
          borderColor: '#ffffff',
          borderWidth: 1,
        })),
      },
      options: {
        ...common(),
        plugins: { legend: { display: true, position: 'bottom' } },
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
      },
    });
    draw(cards.channels, {
      type: 'bar',
      data: {
        labels: channels.map((c) => c.channel),
        datasets: [{ label: 'Acceptance rate', data: channels.map((c) => c.rate), backgroundColor: BRAND }],
      },
      options: { ...common(), scales: { y: percentAxis } },
    });
    draw(cards.hours, {
      type: 'bar',
      data: {
        labels: hours.map((x) => hourName(x.hour)),
        datasets: [{ label: 'Acceptance rate', data: hours.map((x) => x.rate), backgroundColor: BRAND }],
      },
      options: { ...common(), scales: { y: percentAxis } },
    });
  }

  /** The range the report covers (the endpoint widens it to whole buckets), in the person's own words. */
  function describeRange(report, asked) {
    const from = Date.parse(report?.from ?? asked.from);
    const to = Date.parse(report?.to ?? asked.to);
    if (Number.isNaN(from) || Number.isNaN(to)) return '';
    // Day buckets are UTC days, so a range by day is told in UTC.
    const zone = asked.bucket === 'day' ? { timeZone: 'UTC', timeZoneName: 'short' } : {};
    const when = new Intl.DateTimeFormat(undefined, {
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      ...zone,
    });
    return `${when.formatRange(from, to)}, by ${asked.bucket}`;
  }

  /** Debounced reload after an engagement event; a hidden view only notes that it is out of date. */
  function scheduleReload() {
    stale = true;
    if (!visible) return;
    clearTimeout(timer);
    timer = setTimeout(() => load(), RELOAD_DEBOUNCE_MS);
  }

  /** Reads the custom range form; returns a message for the person when it is not a usable range. */
  function readCustom() {
    const from = Date.parse($('range-from').value);
    const to = Date.parse($('range-to').value);
    const bucket = $('range-bucket').value === 'day' ? 'day' : 'hour';
    if (Number.isNaN(from) || Number.isNaN(to)) return { error: 'Enter both the start and the end of the range.' };
    if (from >= to) return { error: 'The start of the range must come before its end.' };
    if (to - from > MAX_RANGE[bucket]) {
      return {
        error:
          bucket === 'hour'
            ? 'By hour, a range can span at most 31 days; choose by day for more.'
            : 'A range can span at most 366 days.',
      };
    }
    return { range: { from: new Date(from).toISOString(), to: new Date(to).toISOString(), bucket } };
  }

  /** datetime-local wants local time without a zone. */
  const localInput = (ms) => {
    const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
    return d.toISOString().slice(0, 16);
  };

  preset.addEventListener('change', () => {
    custom.hidden = preset.value !== 'custom';
    if (preset.value === 'custom') {
      // Start from the range on screen, so "custom" is a small step from a preset.
      const r = range;
      $('range-from').value = localInput(Date.parse(r.from));
      $('range-to').value = localInput(Date.parse(r.to));
      $('range-bucket').value = r.bucket;
      return;
    }
    range = presetRange(preset.value);
    load();
  });
  $('range-form').addEventListener('submit', (event) => {
    event.preventDefault();
    if (preset.value !== 'custom') return;
    const { error, range: chosen } = readCustom();
    if (error) {
      fill(fault, h('p', {}, error));
      return;
    }
    range = chosen;
    load();
  });

  $('csv-download').addEventListener('click', () => downloadCsv());

  /** Fetches the attempts of the range as CSV with the token, and hands the file to the browser. */
  async function downloadCsv() {
    const r = currentRange();
    const button = $('csv-download');
    if (button.dataset.busy) return;
    button.dataset.busy = 'true';
    fault.replaceChildren();
    try {
      const res = await send('GET', `/engagements?${new URLSearchParams({ from: r.from, to: r.to, format: 'csv' })}`, {
        accept: 'text/csv',
      });
      if (!res.ok) throw new Fault(res.status, await res.json().catch(() => null), res.headers.get('Retry-After'));
      const url = URL.createObjectURL(await res.blob());
      const stamp = (iso) => iso.slice(0, 16).replace(/[:T]/g, '-');
      const link = h('a', {
        href: url,
        download: `beckon-engagements-${stamp(r.from)}-to-${stamp(r.to)}.csv`,
        hidden: true,
      });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      status.textContent = `CSV of ${r.from} to ${r.to} downloaded at ${clock.format(new Date())}`;
    } catch (err) {
      showFault(fault, err);
    } finally {
      delete button.dataset.busy;
    }
  }

  return {
    /** The view was shown or hidden; shown with something new, it reloads. */
    setVisible(on) {
      visible = on;
      if (on && stale) load();
    },
    /** One event from the stream. */
    eventArrived(event) {
      if (typeof event?.type === 'string' && event.type.startsWith('engagement.')) scheduleReload();
    },
    /** The stream (re)connected: events from the gap may not all be replayed, so read the report again. */
    streamOpened() {
      scheduleReload();
    },
  };
}
