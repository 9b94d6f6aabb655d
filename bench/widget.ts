/**
 * Widget weight: the size of each part of the script-tag build (raw, gzip -9,
 * brotli q11): `beckon.js`, what every page loads, and `beckon-ui.js`, the
 * invitation's card it imports when the page is idle or an invitation comes;
 * and the main-thread time it costs a page at load, in Chromium. The demo
 * shop is loaded in a fresh browser context without the widget (its request
 * aborted), with the widget, and with the widget but its card's chunk
 * blocked (what every page costs before the idle prefetch), alternating, and
 * read 1.5 s after navigation; the differences of the medians of CDP
 * `Performance.getMetrics` (ScriptDuration, TaskDuration) are the widget's
 * cost, and a `longtask` PerformanceObserver counts tasks over 50 ms. Traced
 * loads give each script's own compile and evaluation time.
 *
 * With BENCH_WIDGET_BEFORE=<folder holding another build's beckon.js> (such
 * as an older tree's dist/widget), that build is served in its place on a
 * fourth kind of load, in the same alternation, so both read as a ratio.
 *
 *   npm run bench:widget         BENCH_WIDGET_LOADS=10 BENCH_WIDGET_TRACED=5 BENCH_WIDGET_BEFORE=../before/dist/widget
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { Browser, Page } from '@playwright/test';
import { KEEP_NAMES_SHIM, launchChromium } from './lib/browser.js';
import { runAsScript, type BenchResult } from './lib/report.js';
import { ROOT, startBeckon } from './lib/server.js';
import { envInt, fmt, median, now, type Row } from './lib/stats.js';

/** What every page loads, gzip -9, and the whole with the card's chunk. */
const GZIP_TARGET_BYTES = 12_000;
const GZIP_TOTAL_TARGET_BYTES = 25_000;
/** Metrics are read this long after navigation started, with and without the widget. */
const SETTLE_MS = 1500;

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

interface Load {
  scriptMs: number;
  taskMs: number;
  layoutMs: number;
  styleMs: number;
  longTasks: number[];
  heapBytes: number;
}

/** Without the widget, the widget, the widget with its card's chunk blocked, the other build's widget. */
type Kind = 'without' | 'widget' | 'everyPage' | 'before';

async function loadShop(browser: Browser, url: string, kind: Kind, before?: string): Promise<Load> {
  const withWidget = kind !== 'without';
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.addInitScript(KEEP_NAMES_SHIM);
    await page.addInitScript(LONG_TASK_OBSERVER);
    await routeWidget(page, kind, before);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    await page.goto(`${url}/`, { waitUntil: 'load' });
    if (withWidget) {
      // Connected, session received, element rendered: everything the widget does at load.
      await page.waitForFunction(() => 'Beckon' in window);
      await page.evaluate(() => window.Beckon!.getIDs());
    }
    // Both kinds are read at the same time after navigation, so they cover the same window.
    const settleMs = await page.evaluate((until) => until - performance.now(), SETTLE_MS);
    if (settleMs < 0) process.stderr.write(`widget: the page was not ready within ${SETTLE_MS} ms\n`);
    await page.waitForTimeout(Math.max(0, settleMs));
    const { metrics } = (await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] };
    const metric = (name: string) => metrics.find((m) => m.name === name)?.value ?? Number.NaN;
    const longTasks = (await page.evaluate(() => (window as unknown as { __longTasks: number[] }).__longTasks)) ?? [];
    return {
      scriptMs: metric('ScriptDuration') * 1000,
      taskMs: metric('TaskDuration') * 1000,
      layoutMs: metric('LayoutDuration') * 1000,
      styleMs: metric('RecalcStyleDuration') * 1000,
      longTasks,
      heapBytes: metric('JSHeapUsedSize'),
    };
  } finally {
    await context.close();
  }
}

async function routeWidget(page: Page, kind: Kind, before?: string): Promise<void> {
  if (kind === 'without') await page.route('**/widget/beckon.js', (route) => route.abort());
  if (kind === 'everyPage') await page.route('**/widget/beckon-ui.js*', (route) => route.abort());
  if (kind === 'before' && before) {
    await page.route('**/widget/beckon.js', (route) =>
      route.fulfill({ body: before, contentType: 'text/javascript; charset=utf-8' }),
    );
  }
}

interface TraceEvent {
  name: string;
  dur?: number;
  args?: { data?: { url?: string }; fileName?: string; url?: string };
}

interface Traced {
  evaluateMs: number;
  compileMs: number;
  longestCallMs: number;
  /** The card's chunk: fetched, compiled and evaluated when the page was idle (0 if not within the load). */
  chunkMs: number;
  /** Everything the page ran of the widget's files until read: evaluation and every later call. */
  totalMs: number;
}

/** Compile and evaluation time of the widget's scripts, from a Chromium trace of one load. */
async function tracedEvaluation(browser: Browser, url: string, kind: Kind, before?: string): Promise<Traced> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.addInitScript(KEEP_NAMES_SHIM);
    await routeWidget(page, kind, before);
    await browser.startTracing(page, { categories: ['devtools.timeline', 'v8'] });
    await page.goto(`${url}/`, { waitUntil: 'load' });
    await page.waitForFunction(() => 'Beckon' in window);
    // Until it is connected: mounting (socket) runs later, in an idle callback.
    await page.evaluate(() => (window as any).Beckon.getIDs());
    // The card's chunk comes when the page is idle after that: the same window as the untraced loads.
    await page.waitForTimeout(Math.max(0, await page.evaluate((until) => until - performance.now(), SETTLE_MS)));
    const buffer = await browser.stopTracing();
    const trace = JSON.parse(buffer.toString()) as { traceEvents: TraceEvent[] };
    const from = (file: string) => (e: TraceEvent) =>
      [e.args?.data?.url, e.args?.fileName, e.args?.url].some((u) => typeof u === 'string' && u.includes(file));
    const sum = (names: string[], file: string) =>
      trace.traceEvents
        .filter((e) => names.includes(e.name) && from(file)(e))
        .reduce((total, e) => total + (e.dur ?? 0), 0) / 1000;
    const script = '/widget/beckon.js';
    // Every later call into the script (idle callback, socket events, timers): the longest one.
    const calls = trace.traceEvents
      .filter((e) => e.name === 'FunctionCall' && from(script)(e))
      .map((e) => (e.dur ?? 0) / 1000);
    return {
      evaluateMs: sum(['EvaluateScript'], script),
      compileMs: sum(['v8.compile', 'V8.CompileCode', 'v8.compileModule'], script),
      longestCallMs: Math.max(0, ...calls),
      chunkMs: sum(['v8.compileModule', 'v8.evaluateModule', 'EvaluateScript', 'v8.compile'], '/widget/beckon-ui.js'),
      totalMs:
        sum(['EvaluateScript', 'FunctionCall'], script) +
        sum(['v8.evaluateModule', 'EvaluateScript', 'FunctionCall'], '/widget/beckon-ui.js'),
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
  const kinds: Kind[] = ['without', 'widget', 'everyPage', ...(beforeScript ? (['before'] as const) : [])];
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
    for (let i = 0; i < envInt('BENCH_WIDGET_TRACED', Math.min(5, loads)); i++) {
      for (const kind of kinds) {
        if (kind !== 'without') traced[kind].push(await tracedEvaluation(browser, server.url, kind, beforeScript));
      }
    }
  } finally {
    await browser.close();
    await server.stop();
  }
  const without = measured.without;
  const diff = (kind: Kind, key: 'scriptMs' | 'taskMs' | 'layoutMs' | 'styleMs') =>
    median(measured[kind].map((l) => l[key])) - median(without.map((l) => l[key]));
  const kb = (bytes: number) => `${fmt(bytes / 1000, 2)} KB`;
  const bytes = (n: number) => `${kb(n)} (${n.toLocaleString('en-US')} B)`;
  const label: Record<Kind, string> = {
    without: 'without',
    widget: 'widget',
    everyPage: 'beckon.js alone (card chunk blocked)',
    before: 'the other build (BENCH_WIDGET_BEFORE)',
  };
  const withKinds = kinds.filter((k) => k !== 'without');
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
  for (const kind of withKinds) {
    const ratio =
      beforeScript && kind !== 'before'
        ? `; ${fmt(diff(kind, 'scriptMs') / diff('before', 'scriptMs'), 2)}× the other build's`
        : '';
    rows.push({
      measure: `main-thread script time at load (${label[kind]} − without)`,
      value: `${fmt(diff(kind, 'scriptMs'))} ms`,
      ...(kind === 'widget' && beforeScript
        ? { target: "≤ ½ the other build's", met: diff('widget', 'scriptMs') <= diff('before', 'scriptMs') / 2 }
        : {}),
      note: `median of ${loads} loads each: ${fmt(median(measured[kind].map((l) => l.scriptMs)))} vs ${fmt(median(without.map((l) => l.scriptMs)))} ms${ratio}`,
    });
    rows.push({
      measure: `main-thread task time at load (${label[kind]} − without)`,
      value: `${fmt(diff(kind, 'taskMs'))} ms`,
      note: `layout ${fmt(diff(kind, 'layoutMs'), 2)} ms, style ${fmt(diff(kind, 'styleMs'), 2)} ms${
        beforeScript && kind !== 'before'
          ? `; ${fmt(diff(kind, 'taskMs') / diff('before', 'taskMs'), 2)}× the other build's`
          : ''
      }`,
    });
  }
  for (const kind of withKinds) {
    const t = traced[kind];
    rows.push({
      measure: `beckon.js compile + evaluation (trace, ${label[kind]})`,
      value: `${fmt(median(t.map((x) => x.evaluateMs)))} ms`,
      note: `median of ${t.length} traced loads; compile ${fmt(median(t.map((x) => x.compileMs)), 2)} ms; longest later call ${fmt(median(t.map((x) => x.longestCallMs)))} ms${
        kind === 'widget' ? `; the card's chunk at idle ${fmt(median(t.map((x) => x.chunkMs)), 2)} ms` : ''
      }`,
    });
  }
  for (const kind of withKinds) {
    const total = median(traced[kind].map((x) => x.totalMs));
    const before = beforeScript && kind !== 'before' ? median(traced.before.map((x) => x.totalMs)) : undefined;
    rows.push({
      measure: `the widget's own main-thread time until read (trace, ${label[kind]})`,
      value: `${fmt(total)} ms`,
      ...(kind === 'widget' && before !== undefined
        ? { target: "≤ ½ the other build's", met: total <= before / 2 }
        : {}),
      note: `median of ${traced[kind].length} traced loads: evaluation and every later call into its files${
        before !== undefined ? `; ${fmt(total / before, 2)}× the other build's` : ''
      }`,
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
    data: { size: { everyPage, chunk, whole, before: beforeSize }, loads, measured, traced },
    seconds: (now() - started) / 1000,
  };
}

await runAsScript(import.meta.url, 'widget', 480, runWidget);
