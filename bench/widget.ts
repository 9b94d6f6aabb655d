/**
 * Widget weight: the size of each part of the script-tag build (raw, gzip -9,
 * brotli q11): `beckon.js`, what every page loads, and `beckon-ui.js`, the
 * invitation's card, imported when the page is idle after connecting (or by
 * the first invitation); and the main-thread time the widget costs a page,
 * in Chromium, in three windows read apart, which together hold all of it:
 *
 * - at load: from navigation until the page's `load` event has fired;
 * - to ready: from there until the widget's `beckon:ready` (connected,
 *   session received) has fired too, empty for a widget that was ready
 *   before the page's load; the widget connects after the page's load;
 * - after: the 1.5 s that follow, when the page is idle and the widget
 *   prefetches its card: fetches, evaluates and attaches it (the other
 *   build, which has its card already, does whatever it does later).
 *
 * The whole (navigation until 1.5 s after ready) is reported too. Until
 * beckon:ready the window is the one earlier versions of this benchmark
 * called "at load".
 *
 * The demo shop is loaded in a fresh browser context without the widget (its
 * request aborted: its windows end at `load`), with the widget, and with
 * BENCH_WIDGET_BEFORE=<folder holding another build's beckon.js> (such as an
 * older tree's dist/widget) served in its place, alternating. The page says
 * when a window ends through a CDP binding (no harness script runs in the
 * page meanwhile; metrics are read on the binding's call, so work that starts
 * within the CDP round trip of a window's end counts in that window); the
 * differences of the medians of CDP
 * `Performance.getMetrics` (ScriptDuration, TaskDuration) with and without
 * the widget are its cost, and a `longtask` PerformanceObserver counts tasks
 * over 50 ms. Traced loads give the widget's own files' time in each window
 * (compile, evaluation and every later call; the card's chunk too).
 *
 * The window at load is a few milliseconds, and on a shared machine a traced
 * load's reading moves by tens of percent, so the ratio of the medians is
 * also given for each half of the traced loads (in the order they ran): two
 * halves that agree are a firm reading, two that do not are not. The traced
 * readings are given twice: in wall time, what the page waits, and in the
 * main thread's own time (the trace events' thread clock), which leaves out
 * the time the thread waited for a core while another process ran, most of
 * a reading's spread on a shared machine.
 *
 *   npm run bench:widget         BENCH_WIDGET_LOADS=10 BENCH_WIDGET_TRACED=15 BENCH_WIDGET_BEFORE=../before/dist/widget
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { Browser, CDPSession, Page } from '@playwright/test';
import { KEEP_NAMES_SHIM, launchChromium } from './lib/browser.js';
import { runAsScript, type BenchResult } from './lib/report.js';
import { ROOT, startBeckon } from './lib/server.js';
import { envInt, fmt, median, now, type Row } from './lib/stats.js';

/** What every page loads, gzip -9, and the whole with the card's chunk. */
const GZIP_TARGET_BYTES = 12_000;
const GZIP_TOTAL_TARGET_BYTES = 25_000;
/** The window after load: long enough for the idle prefetch (requestIdleCallback, at most 1 s) and its fetch. */
const AFTER_MS = 1500;
/** How long a page may take to be ready before the load counts as failed. */
const READY_TIMEOUT_MS = 20_000;

const LONG_TASK_OBSERVER = {
  content: `
    window.__longTasks = [];
    try {
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) window.__longTasks.push(entry.duration);
      }).observe({ type: 'longtask', buffered: true });
    } catch {}
  `,
};

/** The CDP binding through which the page says that a window has ended: `load:<time>`, then `ready:<time>`. */
const READY_BINDING = '__beckonBenchReady';

/**
 * Ends the load window in a task after the page's `load` (so that its
 * listeners' work is inside), and the window to ready in a task after both
 * `load` and, with a widget, `beckon:ready` have fired: marks each for
 * traces and calls the binding with the page's time.
 */
const readyMarker = (withWidget: boolean) => ({
  content: `
    (() => {
      let waiting = ${withWidget ? 2 : 1};
      const end = (stage) => {
        performance.mark('beckon-bench:' + stage);
        ${READY_BINDING}(stage + ':' + performance.now());
      };
      const done = () => {
        if (--waiting) return;
        setTimeout(() => end('ready'));
      };
      addEventListener('load', () => {
        setTimeout(() => end('load'));
        done();
      }, { once: true });
      ${withWidget ? "addEventListener('beckon:ready', done, { once: true });" : ''}
    })();
  `,
});

interface Metrics {
  scriptMs: number;
  taskMs: number;
  layoutMs: number;
  styleMs: number;
}

interface Load {
  /** Page time when the load window ended, and when the window to ready ended. */
  loadAt: number;
  readyAt: number;
  atLoad: Metrics;
  /** From the load window's end until ready, alone. */
  toReady: Metrics;
  /** The AFTER_MS that followed, alone. */
  after: Metrics;
  /** All three. */
  whole: Metrics;
  longTasks: number[];
}

/** Without the widget, the widget, the other build's widget. */
type Kind = 'without' | 'widget' | 'before';

async function readMetrics(cdp: CDPSession): Promise<Metrics> {
  const { metrics } = (await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] };
  const metric = (name: string) => (metrics.find((m) => m.name === name)?.value ?? Number.NaN) * 1000;
  return {
    scriptMs: metric('ScriptDuration'),
    taskMs: metric('TaskDuration'),
    layoutMs: metric('LayoutDuration'),
    styleMs: metric('RecalcStyleDuration'),
  };
}

const minus = (a: Metrics, b: Metrics): Metrics => ({
  scriptMs: a.scriptMs - b.scriptMs,
  taskMs: a.taskMs - b.taskMs,
  layoutMs: a.layoutMs - b.layoutMs,
  styleMs: a.styleMs - b.styleMs,
});

interface Ends {
  /** The page's time when the load window ended, and the metrics read then (when asked for). */
  load: Promise<{ at: number; metrics?: Metrics }>;
  ready: Promise<{ at: number; metrics?: Metrics }>;
}

/**
 * Opens the shop in `page` and tells when each window ended; with `read`,
 * the metrics are read as soon as the page says so.
 */
function openShop(
  page: Page,
  cdp: CDPSession,
  url: string,
  kind: Kind,
  before: string | undefined,
  read: boolean,
): Ends {
  const stage = (name: 'load' | 'ready') =>
    new Promise<{ at: number; metrics?: Metrics }>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`widget: ${kind} page not at ${name} in ${READY_TIMEOUT_MS} ms`)),
        READY_TIMEOUT_MS,
      );
      cdp.on('Runtime.bindingCalled', (event: { name: string; payload: string }) => {
        const [called, at] = event.payload.split(':');
        if (event.name !== READY_BINDING || called !== name) return;
        clearTimeout(timer);
        const metrics = read ? readMetrics(cdp) : Promise.resolve(undefined);
        metrics.then((m) => resolve({ at: Number(at), metrics: m }), reject);
      });
    });
  const ends = { load: stage('load'), ready: stage('ready') };
  // Nobody waits on a window that a failed navigation never ends.
  ends.load.catch(() => undefined);
  ends.ready.catch(() => undefined);
  void navigate(page, cdp, url, kind, before).catch(() => undefined);
  return ends;
}

async function navigate(page: Page, cdp: CDPSession, url: string, kind: Kind, before?: string): Promise<void> {
  await page.addInitScript(KEEP_NAMES_SHIM);
  await page.addInitScript(readyMarker(kind !== 'without'));
  await routeWidget(page, kind, before);
  await cdp.send('Runtime.enable');
  await cdp.send('Runtime.addBinding', { name: READY_BINDING });
  await page.goto(`${url}/`, { waitUntil: 'commit' });
}

async function loadShop(browser: Browser, url: string, kind: Kind, before?: string): Promise<Load> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.addInitScript(LONG_TASK_OBSERVER);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    const ends = openShop(page, cdp, url, kind, before, true);
    const load = await ends.load;
    const ready = await ends.ready;
    await page.waitForTimeout(AFTER_MS);
    const whole = await readMetrics(cdp);
    const atLoad = load.metrics!;
    const toReady = minus(ready.metrics!, atLoad);
    const after = minus(whole, ready.metrics!);
    const longTasks = (await page.evaluate(() => (window as unknown as { __longTasks: number[] }).__longTasks)) ?? [];
    return { loadAt: load.at, readyAt: ready.at, atLoad, toReady, after, whole, longTasks };
  } finally {
    await context.close();
  }
}

async function routeWidget(page: Page, kind: Kind, before?: string): Promise<void> {
  if (kind === 'without') await page.route('**/widget/beckon.js', (route) => route.abort());
  if (kind === 'before' && before) {
    await page.route('**/widget/beckon.js', (route) =>
      route.fulfill({ body: before, contentType: 'text/javascript; charset=utf-8' }),
    );
  }
}

interface TraceEvent {
  name: string;
  ph?: string;
  pid?: number;
  tid?: number;
  ts: number;
  dur?: number;
  /** The thread's own clock: the start and the time it ran, without the time it waited for a core. */
  tts?: number;
  tdur?: number;
  args?: { data?: { url?: string }; fileName?: string; url?: string; name?: string };
}

/** Trace events in which the main thread runs script: a script's evaluation, a call into it, microtasks. */
const SCRIPT_EVENTS = new Set([
  'EvaluateScript',
  'FunctionCall',
  'RunMicrotasks',
  'v8.compile',
  'V8.CompileCode',
  'v8.compileModule',
  'v8.evaluateModule',
]);

/**
 * Time the page's main thread (that of `main`, an event of the page's own)
 * spent in script of any file, between `from` and `to`: the union of the script events' spans (they nest: a listener
 * called from a script's own dispatch is inside its call).
 */
function mainThreadScriptMs(events: TraceEvent[], main: TraceEvent, from: number, to: number): number {
  const spans = scriptEventsOn(events, main)
    .map((e) => [Math.max(from, e.ts), Math.min(to, e.ts + (e.dur ?? 0))] as const)
    .filter(([start, end]) => end > start);
  return unionMs(spans);
}

/**
 * The same in the thread's own time: the script events that start in the
 * window, each as long as the thread ran in it (`tdur`), so that time the
 * main thread waited for a core (another process's work on a shared machine)
 * is left out.
 */
function mainThreadScriptCpuMs(events: TraceEvent[], main: TraceEvent, from: number, to: number): number {
  const spans = scriptEventsOn(events, main)
    .filter((e) => e.ts >= from && e.ts < to && e.tts !== undefined)
    .map((e) => [e.tts!, e.tts! + (e.tdur ?? 0)] as const);
  return unionMs(spans);
}

/** The script events of the thread `main` ran on. */
const scriptEventsOn = (events: TraceEvent[], main: TraceEvent) =>
  events.filter((e) => e.ph === 'X' && SCRIPT_EVENTS.has(e.name) && e.pid === main.pid && e.tid === main.tid);

/** The length of the union of spans (µs), in ms: nested events count once. */
function unionMs(unsorted: (readonly [number, number])[]): number {
  const spans = [...unsorted].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let reached = -Infinity;
  for (const [start, end] of spans) {
    if (end <= reached) continue;
    total += end - Math.max(start, reached);
    reached = end;
  }
  return total / 1000;
}

interface Traced {
  /** beckon.js compile and evaluation. */
  evaluateMs: number;
  compileMs: number;
  /** The widget's own files (and the card's chunk) in each window, and in all three. */
  atLoadMs: number;
  toReadyMs: number;
  afterMs: number;
  wholeMs: number;
  /** The card's chunk alone in the window after: compile and evaluation (0 when only fetched). */
  chunkAfterMs: number;
  longestCallMs: number;
  /** Script of every file on the page's main thread in each window: the widget's cost is its difference to a page without it. */
  pageScript: Record<'atLoad' | 'toReady' | 'after' | 'whole', number>;
  /** The same in the main thread's own time (without waits for a core). */
  pageScriptCpu: Record<'atLoad' | 'toReady' | 'after' | 'whole', number>;
  /** The widget's own files at load, in the main thread's own time. */
  atLoadCpuMs: number;
}

/** The widget's files' own time in each window, from a Chromium trace of one load. */
async function tracedLoad(browser: Browser, url: string, kind: Kind, before?: string): Promise<Traced> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await browser.startTracing(page, { categories: ['devtools.timeline', 'v8', 'blink.user_timing'] });
    await openShop(page, cdp, url, kind, before, false).ready;
    await page.waitForTimeout(AFTER_MS);
    const buffer = await browser.stopTracing();
    const events = (JSON.parse(buffer.toString()) as { traceEvents: TraceEvent[] }).traceEvents;
    const loadMark = events.find((e) => e.name === 'beckon-bench:load');
    const readyTs = events.find((e) => e.name === 'beckon-bench:ready')?.ts;
    if (loadMark === undefined || readyTs === undefined) throw new Error('widget: the trace lacks a mark');
    const loadTs = loadMark.ts;
    const from = (file: string) => (e: TraceEvent) =>
      [e.args?.data?.url, e.args?.fileName, e.args?.url].some((u) => typeof u === 'string' && u.includes(file));
    const script = '/widget/beckon.js';
    const chunk = '/widget/beckon-ui.js';
    const ms = (list: TraceEvent[]) => list.reduce((total, e) => total + (e.dur ?? 0), 0) / 1000;
    const of = (names: string[], file: string) => events.filter((e) => names.includes(e.name) && from(file)(e));
    const scriptWork = of(['EvaluateScript', 'FunctionCall'], script);
    const chunkWork = of(['v8.compileModule', 'v8.evaluateModule', 'EvaluateScript', 'FunctionCall'], chunk);
    const own = [...scriptWork, ...chunkWork];
    return {
      evaluateMs: ms(of(['EvaluateScript'], script)),
      compileMs: ms(of(['v8.compile', 'V8.CompileCode', 'v8.compileModule'], script)),
      atLoadMs: ms(own.filter((e) => e.ts < loadTs)),
      toReadyMs: ms(own.filter((e) => e.ts >= loadTs && e.ts < readyTs)),
      afterMs: ms(own.filter((e) => e.ts >= readyTs)),
      wholeMs: ms(own),
      chunkAfterMs: ms(chunkWork.filter((e) => e.ts >= readyTs)),
      longestCallMs: Math.max(0, ...of(['FunctionCall'], script).map((e) => (e.dur ?? 0) / 1000)),
      atLoadCpuMs: own.filter((e) => e.ts < loadTs).reduce((total, e) => total + (e.tdur ?? 0), 0) / 1000,
      pageScriptCpu: {
        atLoad: mainThreadScriptCpuMs(events, loadMark, 0, loadTs),
        toReady: mainThreadScriptCpuMs(events, loadMark, loadTs, readyTs),
        after: mainThreadScriptCpuMs(events, loadMark, readyTs, Infinity),
        whole: mainThreadScriptCpuMs(events, loadMark, 0, Infinity),
      },
      pageScript: {
        atLoad: mainThreadScriptMs(events, loadMark, 0, loadTs),
        toReady: mainThreadScriptMs(events, loadMark, loadTs, readyTs),
        after: mainThreadScriptMs(events, loadMark, readyTs, Infinity),
        whole: mainThreadScriptMs(events, loadMark, 0, Infinity),
      },
    };
  } finally {
    await context.close();
  }
}

interface Size {
  raw: number;
  gzip: number;
  brotli: number;
}

function sizeOf(...files: string[]): Size {
  const sizes = files.map((file) => {
    const script = readFileSync(file);
    return {
      raw: script.length,
      gzip: gzipSync(script, { level: 9 }).length,
      brotli: brotliCompressSync(script, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
    };
  });
  return {
    raw: sizes.reduce((t, s) => t + s.raw, 0),
    gzip: sizes.reduce((t, s) => t + s.gzip, 0),
    brotli: sizes.reduce((t, s) => t + s.brotli, 0),
  };
}

export async function runWidget(): Promise<BenchResult> {
  const started = now();
  const dir = join(ROOT, 'dist', 'widget');
  const everyPage = sizeOf(join(dir, 'beckon.js'));
  const chunk = sizeOf(join(dir, 'beckon-ui.js'));
  const whole = sizeOf(join(dir, 'beckon.js'), join(dir, 'beckon-ui.js'));
  const beforeDir = process.env.BENCH_WIDGET_BEFORE;
  if (beforeDir && !existsSync(join(beforeDir, 'beckon.js'))) throw new Error(`${beforeDir}/beckon.js is missing`);
  const beforeScript = beforeDir ? readFileSync(join(beforeDir, 'beckon.js'), 'utf8') : undefined;
  const beforeSize = beforeDir ? sizeOf(join(beforeDir, 'beckon.js')) : undefined;
  const kinds: Kind[] = ['without', 'widget', ...(beforeScript ? (['before'] as const) : [])];
  const loads = envInt('BENCH_WIDGET_LOADS', 10);
  const server = await startBeckon();
  const browser = await launchChromium();
  const measured = Object.fromEntries(kinds.map((k) => [k, [] as Load[]])) as Record<Kind, Load[]>;
  const traced = Object.fromEntries(kinds.map((k) => [k, [] as Traced[]])) as Record<Kind, Traced[]>;
  try {
    // One unmeasured load of each kind warms the server and the browser.
    for (const kind of kinds) await loadShop(browser, server.url, kind, beforeScript);
    for (let i = 0; i < loads; i++) {
      for (const kind of kinds) measured[kind].push(await loadShop(browser, server.url, kind, beforeScript));
    }
    for (let i = 0; i < envInt('BENCH_WIDGET_TRACED', 15); i++) {
      for (const kind of kinds) {
        traced[kind].push(await tracedLoad(browser, server.url, kind, beforeScript));
      }
    }
  } finally {
    await browser.close();
    await server.stop();
  }
  const without = measured.without;
  type Window = 'atLoad' | 'toReady' | 'after' | 'whole';
  const diff = (kind: Kind, window: Window, key: keyof Metrics) =>
    median(measured[kind].map((l) => l[window][key])) - median(without.map((l) => l[window][key]));
  const kb = (bytes: number) => `${fmt(bytes / 1000, 2)} KB`;
  const bytes = (n: number) => `${kb(n)} (${n.toLocaleString('en-US')} B)`;
  const label: Record<Kind, string> = {
    without: 'without',
    widget: 'widget',
    before: 'the other build (BENCH_WIDGET_BEFORE)',
  };
  const withKinds = kinds.filter((k) => k !== 'without');
  const ratio = (value: number, of: number) => (beforeScript ? `; ${fmt(value / of, 2)}× the other build's` : '');
  const rows: Row[] = [
    {
      measure: 'what every page loads (beckon.js), gzip -9',
      value: bytes(everyPage.gzip),
      target: '≤ 12 KB',
      met: everyPage.gzip <= GZIP_TARGET_BYTES,
      note: `raw ${kb(everyPage.raw)}, brotli ${kb(everyPage.brotli)}`,
    },
    {
      measure: "the invitation's card (beckon-ui.js), gzip -9",
      value: bytes(chunk.gzip),
      note: `raw ${kb(chunk.raw)}, brotli ${kb(chunk.brotli)}`,
    },
    {
      measure: 'both parts, gzip -9',
      value: bytes(whole.gzip),
      target: '≤ 25 KB',
      met: whole.gzip <= GZIP_TOTAL_TARGET_BYTES,
      note: `brotli ${kb(whole.brotli)}`,
    },
    ...(beforeSize
      ? [
          {
            measure: 'the other build (BENCH_WIDGET_BEFORE), gzip -9',
            value: bytes(beforeSize.gzip),
            note: `every page now loads ${fmt((100 * everyPage.gzip) / beforeSize.gzip, 0)} % of it; brotli ${kb(beforeSize.brotli)}`,
          },
        ]
      : []),
  ];
  const windowLabel: Record<Window, string> = {
    atLoad: "at load (until the page's load)",
    toReady: 'from load to beckon:ready (the connection, when it starts after load)',
    after: `in the ${fmt(AFTER_MS / 1000, 1)} s after ready (idle: the card's prefetch)`,
    whole: `in all (until ${fmt(AFTER_MS / 1000, 1)} s after ready)`,
  };
  for (const window of ['atLoad', 'toReady', 'after', 'whole'] as const) {
    for (const kind of withKinds) {
      const script = diff(kind, window, 'scriptMs');
      const other = kind === 'widget' && beforeScript ? diff('before', window, 'scriptMs') : undefined;
      rows.push({
        measure: `main-thread script time ${windowLabel[window]}, ${label[kind]} − without`,
        value: `${fmt(script)} ms`,
        note: `median of ${loads} loads each: ${fmt(median(measured[kind].map((l) => l[window].scriptMs)))} vs ${fmt(
          median(without.map((l) => l[window].scriptMs)),
        )} ms${other !== undefined ? ratio(script, other) : ''}`,
      });
      const task = diff(kind, window, 'taskMs');
      rows.push({
        measure: `main-thread task time ${windowLabel[window]}, ${label[kind]} − without`,
        value: `${fmt(task)} ms`,
        note: `layout ${fmt(diff(kind, window, 'layoutMs'), 2)} ms, style ${fmt(diff(kind, window, 'styleMs'), 2)} ms${
          other !== undefined ? ratio(task, diff('before', window, 'taskMs')) : ''
        }`,
      });
    }
  }
  // The same windows cut exactly at their marks in the traces, where the readings above lag by a CDP round trip.
  // Wall time (what the page waits) and the main thread's own time (the same without the waits for a
  // core, which on a shared machine are most of a traced load's spread).
  type Reading = 'pageScript' | 'pageScriptCpu';
  const tracedScript = (kind: Kind, window: Window, reading: Reading, half?: 0 | 1) => {
    const all = traced[kind];
    const cut = Math.ceil(all.length / 2);
    const some = half === undefined ? all : half === 0 ? all.slice(0, cut) : all.slice(cut);
    return median(some.map((t) => t[reading][window]));
  };
  /** The widget's cost over the other build's, in the traced loads of one half (or all). */
  const tracedRatio = (window: Window, reading: Reading, half?: 0 | 1) =>
    (tracedScript('widget', window, reading, half) - tracedScript('without', window, reading, half)) /
    (tracedScript('before', window, reading, half) - tracedScript('without', window, reading, half));
  const readingLabel: Record<Reading, string> = { pageScript: 'trace', pageScriptCpu: "trace, thread's own time" };
  for (const reading of ['pageScript', 'pageScriptCpu'] as const) {
    for (const window of ['atLoad', 'toReady', 'after', 'whole'] as const) {
      for (const kind of withKinds) {
        const script = tracedScript(kind, window, reading) - tracedScript('without', window, reading);
        const other =
          kind === 'widget' && beforeScript
            ? tracedScript('before', window, reading) - tracedScript('without', window, reading)
            : undefined;
        rows.push({
          measure: `main-thread script time ${windowLabel[window]} (${readingLabel[reading]}), ${label[kind]} − without`,
          value: `${fmt(script)} ms`,
          ...(window === 'atLoad' && other !== undefined
            ? { target: "≤ ½ the other build's", met: script <= other / 2 }
            : {}),
          note: `median of ${traced[kind].length} traced loads each: ${fmt(tracedScript(kind, window, reading))} vs ${fmt(
            tracedScript('without', window, reading),
          )} ms${other !== undefined ? ratio(script, other) : ''}${
            other !== undefined && traced[kind].length >= 4
              ? ` (first half of the traced loads ${fmt(tracedRatio(window, reading, 0), 2)}×, second half ${fmt(tracedRatio(window, reading, 1), 2)}×)`
              : ''
          }`,
        });
      }
    }
  }
  for (const kind of withKinds) {
    rows.push({
      measure: `the page's load, and load and beckon:ready both, ${label[kind]}`,
      value: `${fmt(median(measured[kind].map((l) => l.loadAt)), 0)} and ${fmt(
        median(measured[kind].map((l) => l.readyAt)),
        0,
      )} ms after navigation`,
      note: `medians; without the widget the page's load at ${fmt(median(without.map((l) => l.loadAt)), 0)} ms`,
    });
  }
  for (const kind of withKinds) {
    const t = traced[kind];
    const other = kind === 'widget' && beforeScript ? traced.before : undefined;
    const m = (list: Traced[], key: Exclude<keyof Traced, 'pageScript' | 'pageScriptCpu'>) =>
      median(list.map((x) => x[key]));
    rows.push({
      measure: `the widget's own files' main-thread time at load (trace, ${label[kind]})`,
      value: `${fmt(m(t, 'atLoadMs'))} ms`,
      note: `median of ${t.length} traced loads; beckon.js evaluation ${fmt(m(t, 'evaluateMs'))} ms, compile ${fmt(
        m(t, 'compileMs'),
        2,
      )} ms; longest call ${fmt(m(t, 'longestCallMs'))} ms${other ? ratio(m(t, 'atLoadMs'), m(other, 'atLoadMs')) : ''}`,
    });
    rows.push({
      measure: `the widget's own files' main-thread time at load (trace, thread's own time, ${label[kind]})`,
      value: `${fmt(m(t, 'atLoadCpuMs'))} ms`,
      note: `median of ${t.length} traced loads${other ? ratio(m(t, 'atLoadCpuMs'), m(other, 'atLoadCpuMs')) : ''}`,
    });
    rows.push({
      measure: `the widget's own files' main-thread time from load to beckon:ready (trace, ${label[kind]})`,
      value: `${fmt(m(t, 'toReadyMs'))} ms`,
      note: `median of ${t.length} traced loads${other ? ratio(m(t, 'toReadyMs'), m(other, 'toReadyMs')) : ''}`,
    });
    rows.push({
      measure: `the widget's own files' main-thread time in the ${fmt(AFTER_MS / 1000, 1)} s after ready (trace, ${label[kind]})`,
      value: `${fmt(m(t, 'afterMs'))} ms`,
      note: `median of ${t.length} traced loads; of which the card's chunk ${fmt(m(t, 'chunkAfterMs'), 2)} ms${
        other ? ratio(m(t, 'afterMs'), m(other, 'afterMs')) : ''
      }`,
    });
    rows.push({
      measure: `the widget's own files' main-thread time in all (trace, ${label[kind]})`,
      value: `${fmt(m(t, 'wholeMs'))} ms`,
      note: `median of ${t.length} traced loads${other ? ratio(m(t, 'wholeMs'), m(other, 'wholeMs')) : ''}`,
    });
  }
  for (const kind of withKinds) {
    const long = measured[kind].map((l) => l.longTasks.length);
    rows.push({
      measure: `loads with a long task (> 50 ms), ${label[kind]}`,
      value: `${long.filter((n) => n > 0).length} of ${loads}`,
      note: `${without.filter((l) => l.longTasks.length > 0).length} of ${loads} without; longest ${fmt(Math.max(0, ...measured[kind].flatMap((l) => l.longTasks)))} ms`,
    });
  }
  return {
    name: 'Widget',
    rows,
    data: { size: { everyPage, chunk, whole, before: beforeSize }, loads, afterMs: AFTER_MS, measured, traced },
    seconds: (now() - started) / 1000,
  };
}

await runAsScript(import.meta.url, 'widget', 480, runWidget);
