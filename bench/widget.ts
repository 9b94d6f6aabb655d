/**
 * Widget weight: the script-tag bundle's size (raw, gzip -9, brotli q11) and
 * the main-thread time it costs a page at load, in Chromium. The demo shop is
 * loaded in a fresh browser context with and without the widget (its request
 * aborted), alternating, and read 1.5 s after navigation; the differences of the medians of CDP
 * `Performance.getMetrics` (ScriptDuration, TaskDuration) are the widget's
 * cost, and a `longtask` PerformanceObserver counts tasks over 50 ms. Traced
 * loads give the script's own compile and evaluation time (EvaluateScript).
 *
 *   npm run bench:widget         BENCH_WIDGET_LOADS=10
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { Browser } from '@playwright/test';
import { KEEP_NAMES_SHIM, launchChromium } from './lib/browser.js';
import { runAsScript, type BenchResult } from './lib/report.js';
import { ROOT, startBeckon } from './lib/server.js';
import { envInt, fmt, median, now, type Row } from './lib/stats.js';

const GZIP_TARGET_BYTES = 20_000;
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

async function loadShop(browser: Browser, url: string, withWidget: boolean): Promise<Load> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.addInitScript(KEEP_NAMES_SHIM);
    await page.addInitScript(LONG_TASK_OBSERVER);
    if (!withWidget) await page.route('**/widget/beckon.js', (route) => route.abort());
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

interface TraceEvent {
  name: string;
  dur?: number;
  args?: { data?: { url?: string }; fileName?: string; url?: string };
}

/** Compile and evaluation time of the widget script itself, from a Chromium trace of one load. */
async function tracedEvaluation(
  browser: Browser,
  url: string,
): Promise<{ evaluateMs: number; compileMs: number; longestCallMs: number }> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.addInitScript(KEEP_NAMES_SHIM);
    await browser.startTracing(page, { categories: ['devtools.timeline', 'v8'] });
    await page.goto(`${url}/`, { waitUntil: 'load' });
    await page.waitForFunction(() => 'Beckon' in window);
    // Until it is connected: mounting (render, socket) runs later, in an idle callback.
    await page.evaluate(() => (window as any).Beckon.getIDs());
    const buffer = await browser.stopTracing();
    const trace = JSON.parse(buffer.toString()) as { traceEvents: TraceEvent[] };
    const ours = (e: TraceEvent) =>
      [e.args?.data?.url, e.args?.fileName, e.args?.url].some(
        (u) => typeof u === 'string' && u.includes('/widget/beckon.js'),
      );
    const sum = (names: string[]) =>
      trace.traceEvents.filter((e) => names.includes(e.name) && ours(e)).reduce((total, e) => total + (e.dur ?? 0), 0) /
      1000;
    // Every later call into the script (idle callback, socket events, timers): the longest one.
    const calls = trace.traceEvents.filter((e) => e.name === 'FunctionCall' && ours(e)).map((e) => (e.dur ?? 0) / 1000);
    return {
      evaluateMs: sum(['EvaluateScript']),
      compileMs: sum(['v8.compile', 'V8.CompileCode', 'v8.compileModule']),
      longestCallMs: Math.max(0, ...calls),
    };
  } finally {
    await context.close();
  }
}

export async function runWidget(): Promise<BenchResult> {
  const started = now();
  const script = readFileSync(join(ROOT, 'dist', 'widget', 'beckon.js'));
  const size = {
    raw: script.length,
    gzip: gzipSync(script, { level: 9 }).length,
    brotli: brotliCompressSync(script, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
  const loads = envInt('BENCH_WIDGET_LOADS', 10);
  const server = await startBeckon();
  const browser = await launchChromium();
  const withWidget: Load[] = [];
  const without: Load[] = [];
  const traced: { evaluateMs: number; compileMs: number; longestCallMs: number }[] = [];
  try {
    // One unmeasured load of each kind warms the server and the browser.
    await loadShop(browser, server.url, true);
    await loadShop(browser, server.url, false);
    for (let i = 0; i < loads; i++) {
      withWidget.push(await loadShop(browser, server.url, true));
      without.push(await loadShop(browser, server.url, false));
    }
    for (let i = 0; i < Math.min(5, loads); i++) traced.push(await tracedEvaluation(browser, server.url));
  } finally {
    await browser.close();
    await server.stop();
  }
  const diff = (key: 'scriptMs' | 'taskMs' | 'layoutMs' | 'styleMs') =>
    median(withWidget.map((l) => l[key])) - median(without.map((l) => l[key]));
  const longWith = withWidget.map((l) => l.longTasks.length);
  const longWithout = without.map((l) => l.longTasks.length);
  const longestWith = Math.max(0, ...withWidget.flatMap((l) => l.longTasks));
  const kb = (bytes: number) => `${fmt(bytes / 1000, 2)} KB`;
  const rows: Row[] = [
    {
      measure: 'widget size, gzip -9',
      value: `${kb(size.gzip)} (${size.gzip.toLocaleString('en-US')} B)`,
      target: '≤ 20 KB',
      met: size.gzip <= GZIP_TARGET_BYTES,
      note: `raw ${kb(size.raw)}`,
    },
    { measure: 'widget size, brotli q11', value: `${kb(size.brotli)} (${size.brotli.toLocaleString('en-US')} B)` },
    {
      measure: 'main-thread script time at load (with − without widget)',
      value: `${fmt(diff('scriptMs'))} ms`,
      note: `median of ${loads} loads each: ${fmt(median(withWidget.map((l) => l.scriptMs)))} vs ${fmt(median(without.map((l) => l.scriptMs)))} ms`,
    },
    {
      measure: 'main-thread task time at load (with − without widget)',
      value: `${fmt(diff('taskMs'))} ms`,
      note: `layout ${fmt(diff('layoutMs'), 2)} ms, style ${fmt(diff('styleMs'), 2)} ms`,
    },
    {
      measure: 'widget script compile + evaluation (trace)',
      value: `${fmt(median(traced.map((t) => t.evaluateMs)))} ms`,
      note: `median of ${traced.length} traced loads; compile ${fmt(median(traced.map((t) => t.compileMs)), 2)} ms`,
    },
    {
      measure: 'longest later call into the widget (trace)',
      value: `${fmt(median(traced.map((t) => t.longestCallMs)))} ms`,
      note: 'median of the same loads; mounting in an idle callback, socket events, timers, until connected',
    },
    {
      measure: 'loads with a long task (> 50 ms)',
      value: `${longWith.filter((n) => n > 0).length} of ${loads} with, ${longWithout.filter((n) => n > 0).length} of ${loads} without`,
      note: `longest with the widget ${fmt(longestWith)} ms`,
    },
  ];
  return {
    name: 'Widget',
    rows,
    data: { size, loads, withWidget, without, traced },
    seconds: (now() - started) / 1000,
  };
}

await runAsScript(import.meta.url, 'widget', 180, runWidget);
