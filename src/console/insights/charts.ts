/**
 * The insights charts, drawn by Chart.js on canvases the view owns.
 *
 * Chart.js is not in the console's bundle: it is the installed package's
 * UMD build, served by the backend at CHART_SCRIPT (src/backend/console-vendor.ts)
 * and added as a same-origin <script src> (CSP script-src 'self') the first
 * time the insights open, so the live view never loads it. It defines
 * `window.Chart`. Chart.js 4 injects no style element and sizes its canvas
 * through the CSSOM, which style-src 'self' allows.
 */
import type { Chart as ChartJs, ChartConfiguration } from 'chart.js';
import { countOf, type NotOfferedLine } from './not-offered.js';
import { OUTCOMES, type OutcomeLine } from './outcomes.js';
import type { ChannelRate, Figures, HourOfDay, Report } from './report.js';

declare global {
  interface Window {
    Chart?: typeof ChartJs;
  }
}

const CHART_SCRIPT = '/console/vendor/chart.js/chart.umd.min.js';
const BRAND = '#2f5d50';
/** The console's --muted: 6.9:1 on white. */
const TEXT = '#525e66';
const GRID = '#d9dde2';

let library: Promise<typeof ChartJs> | null = null;

/** Adds Chart.js's script once; resolves with window.Chart. */
function loadChartLibrary(): Promise<typeof ChartJs> {
  library ??= new Promise((resolve, reject) => {
    if (window.Chart) return resolve(window.Chart);
    const script = document.createElement('script');
    script.src = CHART_SCRIPT;
    script.addEventListener('load', () =>
      window.Chart ? resolve(window.Chart) : reject(new Error('Chart.js did not load')),
    );
    script.addEventListener('error', () => {
      library = null; // try again next time
      reject(new Error('Chart.js could not be loaded'));
    });
    document.head.append(script);
  });
  return library;
}

/** The canvases, one per chart. */
export interface ChartCanvases {
  funnel: HTMLCanvasElement;
  notOffered: HTMLCanvasElement;
  outcomes: HTMLCanvasElement;
  notOfferedOverTime: HTMLCanvasElement;
  channels: HTMLCanvasElement;
  hours: HTMLCanvasElement;
}

export interface ChartData {
  funnel: { name: string; value: number }[];
  /** Why engages were not offered: the lines to draw, and the range's totals. */
  notOffered: NotOfferedLine[];
  totals: Figures;
  buckets: Report['buckets'];
  /** An axis label for a bucket's start. */
  tick: (start: number) => string;
  channels: ChannelRate[];
  hours: HourOfDay[];
  hourName: (hour: number) => string;
}

const reduceMotion = () => window.matchMedia('(prefers-reduced-motion: reduce)').matches;

/** Draws the six charts, or updates the ones already drawn. */
export async function drawCharts(canvases: ChartCanvases, data: ChartData): Promise<void> {
  const Chart = await loadChartLibrary();
  Chart.defaults.color = TEXT;
  Chart.defaults.borderColor = GRID;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  const common = () => ({
    responsive: true,
    maintainAspectRatio: false,
    animation: reduceMotion() ? (false as const) : { duration: 250 },
    plugins: { legend: { display: false } },
  });
  // A tick callback, not ticks.format: Chart.js adds its own minimumFractionDigits to a format.
  const percentAxis = {
    beginAtZero: true,
    suggestedMax: 1,
    ticks: { callback: (value: string | number) => `${Math.round(Number(value) * 100)} %` },
  };
  // The canvas's own chart, as Chart.js knows it, is the one to update.
  const draw = (canvas: HTMLCanvasElement, config: ChartConfiguration<'bar', (number | null)[], string>) => {
    const chart = Chart.getChart(canvas);
    if (chart) {
      chart.data = config.data;
      chart.update();
    } else {
      new Chart(canvas, config);
    }
  };
  const { funnel, notOffered, totals, buckets, tick, channels, hours, hourName } = data;

  draw(canvases.funnel, {
    type: 'bar',
    data: {
      labels: funnel.map((s) => s.name),
      datasets: [{ label: 'Invitations', data: funnel.map((s) => s.value), backgroundColor: BRAND }],
    },
    options: { ...common(), indexAxis: 'y', scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  draw(canvases.notOffered, {
    type: 'bar',
    data: {
      labels: notOffered.map((line) => line.label),
      datasets: [
        {
          label: 'Engages',
          data: notOffered.map((line) => countOf(line, totals)),
          backgroundColor: notOffered.map((line) => line.colour),
        },
      ],
    },
    options: { ...common(), indexAxis: 'y', scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  // Refusals stack (each is an engage that created nothing); narrowed ones stand beside them, being created.
  draw(canvases.notOfferedOverTime, {
    type: 'bar',
    data: {
      labels: buckets.map((b) => tick(b.start)),
      datasets: notOffered.map((line) => ({
        label: line.label,
        data: buckets.map((b) => countOf(line, b)),
        backgroundColor: line.colour,
        borderColor: '#ffffff',
        borderWidth: 1,
        stack: line.code === null ? 'narrowed' : 'refused',
      })),
    },
    options: {
      ...common(),
      plugins: { legend: { display: true, position: 'bottom' } },
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
    },
  });
  draw(canvases.outcomes, {
    type: 'bar',
    data: {
      labels: buckets.map((b) => tick(b.start)),
      datasets: OUTCOMES.map((o: OutcomeLine) => ({
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
  draw(canvases.channels, {
    type: 'bar',
    data: {
      labels: channels.map((c) => c.channel),
      datasets: [{ label: 'Acceptance rate', data: channels.map((c) => c.rate), backgroundColor: BRAND }],
    },
    options: { ...common(), scales: { y: percentAxis } },
  });
  draw(canvases.hours, {
    type: 'bar',
    data: {
      labels: hours.map((x) => hourName(x.hour)),
      datasets: [{ label: 'Acceptance rate', data: hours.map((x) => x.rate), backgroundColor: BRAND }],
    },
    options: { ...common(), scales: { y: percentAxis } },
  });
}
