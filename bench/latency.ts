/**
 * Latency: from the start of the engage HTTP call to the invitation being in
 * the DOM of a real Chromium page (a MutationObserver on the widget's shadow
 * root; both clocks are `performance.timeOrigin + performance.now()` on one
 * machine, and their offset is measured before each scenario), with 0, 1,000
 * and 10,000 other pages connected (idle socket.io-client pages in separate
 * processes). Also engage → `delivered` as the server recorded it.
 *
 * Each invitation is declined by the page (Beckon.decline()) before the next
 * engage, because strict mode (the default) allows one attempt per visit.
 *
 * On a fresh page (empty cache, a new context each), the first invitation
 * three ways, alternating: with the card's chunk (`beckon-ui.js`) already
 * fetched when the page was idle (prefetched), with its request held by the
 * benchmark until the engage call starts (cold: the fetch, evaluation and
 * first drawing of the card all fall inside the measured time), and, with
 * BENCH_WIDGET_BEFORE=<folder holding another build's beckon.js>, that build
 * served in its place (BENCH_LATENCY_FIRST first invitations of each, 0 to skip).
 *
 * Then the same on the Redis store (a redis-server of its own, AOF with
 * appendfsync always), at BENCH_LATENCY_REDIS_PAGES other pages, and on a
 * cluster on Redis (one backend, two frontends: the Chromium page on the
 * first frontend, the other pages alternating between both, the engage on
 * the backend) at BENCH_LATENCY_CLUSTER_PAGES, in the same run, so the cost
 * of Redis and of the hop between processes read as ratios.
 *
 *   npm run bench:latency        BENCH_INVITATIONS=500 BENCH_LATENCY_PAGES=0,1000,10000 BENCH_LATENCY_REDIS_PAGES=1000 BENCH_LATENCY_CLUSTER_PAGES=1000
 *                                BENCH_LATENCY_FIRST=20 BENCH_WIDGET_BEFORE=../before/dist/widget
 *   (BENCH_LATENCY_REDIS_PAGES=none, BENCH_LATENCY_CLUSTER_PAGES=none: SQLite only)
 *   (BENCH_REDIS_APPENDFSYNC=everysec: Redis without the fsync before every reply)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from '@playwright/test';
import { KEEP_NAMES_SHIM, launchChromium } from './lib/browser.js';
import { deliveredAfter, engage } from './lib/engage.js';
import { PageFleet } from './lib/pages.js';
import { runAsScript, type BenchResult } from './lib/report.js';
import { startTopology, type Topology, type TopologyKind } from './lib/topology.js';
import { envInt, envInts, fmt, now, summarize, type Row, type Summary } from './lib/stats.js';

declare global {
  interface Window {
    __bench?: { wait(id: string, timeoutMs: number): Promise<number> };
  }
}

/** The page's clock minus ours, from the round trip with the smallest delay. */
async function clockOffset(page: Page): Promise<{ offset: number; uncertainty: number }> {
  let best = { offset: 0, uncertainty: Number.POSITIVE_INFINITY };
  for (let i = 0; i < 25; i++) {
    const before = now();
    const theirs = await page.evaluate(() => performance.timeOrigin + performance.now());
    const after = now();
    const uncertainty = (after - before) / 2;
    if (uncertainty < best.uncertainty) best = { offset: theirs - (before + after) / 2, uncertainty };
  }
  return best;
}

/** Records when each invitation's card (`[role=dialog]`, titled with its interactionId) enters the shadow DOM. */
async function observeInvitations(page: Page): Promise<void> {
  await page.evaluate(() => {
    const root = document.querySelector('beckon-invite')?.shadowRoot;
    if (!root) throw new Error('no <beckon-invite> with a shadow root');
    const seen = new Map<string, number>();
    const waiters = new Map<string, (t: number) => void>();
    new MutationObserver(() => {
      const at = performance.timeOrigin + performance.now();
      const title = root.querySelector('[role=dialog] #title')?.textContent?.trim();
      if (!title || seen.has(title)) return;
      seen.set(title, at);
      waiters.get(title)?.(at);
      waiters.delete(title);
    }).observe(root, { childList: true, subtree: true, characterData: true });
    window.__bench = {
      wait: (id, timeoutMs) =>
        new Promise((resolve) => {
          const at = seen.get(id);
          if (at !== undefined) return resolve(at);
          waiters.set(id, resolve);
          setTimeout(() => resolve(-1), timeoutMs);
        }),
    };
  });
}

/** How the first invitation of a fresh page finds the card. */
type FirstKind = 'prefetched' | 'cold' | 'before';

/**
 * engage → card in the DOM for the first invitation of `count` fresh pages of each kind, alternating,
 * with no other page connected.
 */
async function measureFirst(
  browser: Browser,
  topology: Topology,
  count: number,
  before: string | undefined,
): Promise<Record<FirstKind, { dom: Summary; lost: number }>> {
  const kinds: FirstKind[] = ['prefetched', 'cold', ...(before ? (['before'] as const) : [])];
  const samples = Object.fromEntries(kinds.map((k) => [k, [] as number[]])) as Record<FirstKind, number[]>;
  const lost = Object.fromEntries(kinds.map((k) => [k, 0])) as Record<FirstKind, number>;
  // One unmeasured round warms the server and the browser.
  for (let i = -1; i < count; i++) {
    for (const kind of kinds) {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        await page.addInitScript(KEEP_NAMES_SHIM);
        let release = () => undefined as void;
        const released = new Promise<void>((resolve) => (release = resolve));
        if (kind === 'cold') {
          // Asked for when the page was idle, answered only once the engage has started.
          await page.route('**/widget/beckon-ui.js*', async (route) => {
            await released;
            await route.continue();
          });
        }
        if (kind === 'before' && before) {
          await page.route('**/widget/beckon.js', (route) =>
            route.fulfill({ body: before, contentType: 'text/javascript; charset=utf-8' }),
          );
        }
        await page.goto(`${topology.pageUrls[0]}/`);
        await page.waitForFunction(() => 'Beckon' in window);
        const { visitId } = await page.evaluate(() => window.Beckon!.getIDs());
        await observeInvitations(page);
        if (kind === 'prefetched') {
          // The card is attached once its stylesheet is adopted by the element's shadow root.
          await page.waitForFunction(
            () => (document.querySelector('beckon-invite')?.shadowRoot?.adoptedStyleSheets.length ?? 0) > 0,
          );
        }
        const clock = await clockOffset(page);
        const id = `lat-first-${kind}-${i}-${Date.now()}`;
        const t0 = now();
        release();
        const reply = await engage(topology.apiUrl, id, visitId);
        if (reply.status !== 200) throw new Error(`engage answered ${reply.status}`);
        const shownAt = await page.evaluate((id) => window.__bench!.wait(id, 10_000), id);
        if (i < 0) continue;
        if (shownAt < 0) lost[kind]++;
        else samples[kind].push(shownAt - clock.offset - t0);
      } finally {
        await context.close();
      }
    }
  }
  return Object.fromEntries(kinds.map((k) => [k, { dom: summarize(samples[k]), lost: lost[k] }])) as Record<
    FirstKind,
    { dom: Summary; lost: number }
  >;
}

interface Scenario {
  topology: TopologyKind;
  /** SQLite, Redis or the cluster. */
  store: string;
  otherPages: number;
  connected: number;
  dom: Summary;
  httpReturn: Summary;
  delivered: Summary;
  lost: number;
  refused: number;
  clock: { offset: number; uncertainty: number };
}

/** Runs the scenarios (one per number of other pages) against one topology, then stops it. */
async function measureOn(
  topology: Topology,
  levels: number[],
  invitations: number,
  warmup: number,
  first?: { count: number; before: string | undefined; into: (r: Awaited<ReturnType<typeof measureFirst>>) => void },
): Promise<Scenario[]> {
  const store = topology.label;
  const api = topology.apiUrl;
  const fleet = new PageFleet(topology.pageUrls);
  const browser = await launchChromium();
  const scenarios: Scenario[] = [];
  try {
    if (first && first.count > 0) first.into(await measureFirst(browser, topology, first.count, first.before));
    const page = await browser.newPage();
    await page.addInitScript(KEEP_NAMES_SHIM);
    await page.goto(`${topology.pageUrls[0]}/`);
    await page.waitForFunction(() => 'Beckon' in window);
    const { visitId } = await page.evaluate(() => window.Beckon!.getIDs());
    await observeInvitations(page);

    for (const otherPages of levels) {
      await fleet.add(otherPages - fleet.connected, { mode: 'idle' });
      if (fleet.connected < otherPages) {
        throw new Error(`only ${fleet.connected} of ${otherPages} pages connected: ${fleet.failureSamples.join('; ')}`);
      }
      const clock = await clockOffset(page);
      const dom: number[] = [];
      const httpReturn: number[] = [];
      const ids: string[] = [];
      let lost = 0;
      let refused = 0;
      for (let i = 0; i < warmup + invitations; i++) {
        const id = `lat-${topology.kind}-${otherPages}-${i}`;
        const t0 = now();
        const reply = await engage(api, id, visitId);
        const t1 = now();
        if (reply.status !== 200) {
          refused++;
          continue;
        }
        const shownAt = await page.evaluate(async (id) => {
          const at = await window.__bench!.wait(id, 10_000);
          if (at > 0) await window.Beckon!.decline();
          return at;
        }, id);
        if (i < warmup) continue;
        if (shownAt < 0) {
          lost++;
          continue;
        }
        ids.push(id);
        dom.push(shownAt - clock.offset - t0);
        httpReturn.push(t1 - t0);
      }
      const delivered: number[] = [];
      for (const id of ids) {
        const ms = await deliveredAfter(api, id);
        if (ms !== null) delivered.push(ms);
      }
      scenarios.push({
        topology: topology.kind,
        store,
        otherPages,
        connected: fleet.connected,
        dom: summarize(dom),
        httpReturn: summarize(httpReturn),
        delivered: summarize(delivered),
        lost,
        refused,
        clock,
      });
      process.stderr.write(`latency (${store}): ${otherPages} other pages done (p99 ${fmt(summarize(dom).p99)} ms)\n`);
    }
  } finally {
    await browser.close();
    await topology.stop();
    await fleet.close();
  }
  return scenarios;
}

export async function runLatency(): Promise<BenchResult> {
  const started = now();
  const invitations = envInt('BENCH_INVITATIONS', 500);
  const warmup = envInt('BENCH_WARMUP', 30);
  const levels = envInts('BENCH_LATENCY_PAGES', [0, 1000, 10_000]).sort((a, b) => a - b);
  // `none` skips a store (a short run of the SQLite rows alone).
  const levelsOf = (name: string, fallback: number[]) =>
    process.env[name] === 'none' ? [] : envInts(name, fallback).sort((a, b) => a - b);
  const redisLevels = levelsOf('BENCH_LATENCY_REDIS_PAGES', [1000]);
  const clusterLevels = levelsOf('BENCH_LATENCY_CLUSTER_PAGES', [1000]);
  // BENCH_REDIS_APPENDFSYNC=everysec shows what the fsync before every reply costs (as in the throughput benchmark).
  const appendfsync = (process.env.BENCH_REDIS_APPENDFSYNC ?? 'always') as 'always' | 'everysec';
  const firstCount = envInt('BENCH_LATENCY_FIRST', 20);
  const beforeDir = process.env.BENCH_WIDGET_BEFORE;
  const before = beforeDir ? readFileSync(join(beforeDir, 'beckon.js'), 'utf8') : undefined;
  let firsts: Awaited<ReturnType<typeof measureFirst>> | undefined;
  const scenarios: Scenario[] = [];
  for (const [kind, kindLevels] of [
    ['sqlite', levels],
    ['redis', redisLevels],
    ['cluster', clusterLevels],
  ] as const) {
    if (!kindLevels.length) continue;
    const topology = await startTopology(kind, { prefix: `bench-lat-${kind}:`, appendfsync });
    const first =
      kind === 'sqlite' ? { count: firstCount, before, into: (r: typeof firsts) => (firsts = r) } : undefined;
    scenarios.push(...(await measureOn(topology, [...kindLevels], invitations, warmup, first)));
  }

  const rows: Row[] = [];
  const firstLabel: Record<FirstKind, string> = {
    prefetched: "card's chunk prefetched when idle",
    cold: "card's chunk fetched after the engage (cold)",
    before: 'the other build (BENCH_WIDGET_BEFORE)',
  };
  for (const [kind, result] of Object.entries(firsts ?? {}) as [FirstKind, { dom: Summary; lost: number }][]) {
    rows.push({
      measure: `engage → first invitation in DOM of a fresh page, ${firstLabel[kind]}`,
      value: `p50 ${fmt(result.dom.p50)} / p95 ${fmt(result.dom.p95)} / p99 ${fmt(result.dom.p99)} ms`,
      note: `n=${result.dom.n}${result.lost ? `, ${result.lost} lost` : ''}; 0 other pages, SQLite`,
    });
  }
  for (const s of scenarios) {
    const where = s.topology === 'sqlite' ? '' : s.topology === 'redis' ? ', Redis store' : `, ${s.store}`;
    const pages = `${s.otherPages.toLocaleString('en-US')} other pages${where}`;
    const problems = s.lost + s.refused > 0 ? `, ${s.lost} lost, ${s.refused} refused` : '';
    rows.push({
      measure: `engage → invitation in DOM, ${pages}`,
      value: `p50 ${fmt(s.dom.p50)} / p95 ${fmt(s.dom.p95)} / p99 ${fmt(s.dom.p99)} ms`,
      ...(s.otherPages === 1000 && s.topology === 'sqlite'
        ? { target: 'p99 ≤ 20 ms', met: s.dom.p99 <= 20 && s.lost === 0 }
        : {}),
      note: `n=${s.dom.n}${problems}; clock offset ±${fmt(s.clock.uncertainty, 2)} ms`,
    });
    rows.push({
      measure: `engage → delivered (server), ${pages}`,
      value: `p50 ${fmt(s.delivered.p50, 0)} / p95 ${fmt(s.delivered.p95, 0)} / p99 ${fmt(s.delivered.p99, 0)} ms`,
      note: `whole ms (stored ISO times); engage HTTP answer p50 ${fmt(s.httpReturn.p50)} ms`,
    });
  }
  return {
    name: 'Latency',
    rows,
    data: { invitations, warmup, appendfsync, scenarios, firsts },
    seconds: (now() - started) / 1000,
  };
}

await runAsScript(import.meta.url, 'latency', 300, runLatency);
