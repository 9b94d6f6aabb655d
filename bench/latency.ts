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
 * Then the same on the Redis store (a redis-server of its own, AOF with
 * appendfsync always), at BENCH_LATENCY_REDIS_PAGES other pages, and on a
 * cluster on Redis (one backend, two frontends: the Chromium page on the
 * first frontend, the other pages alternating between both, the engage on
 * the backend) at BENCH_LATENCY_CLUSTER_PAGES, in the same run, so the cost
 * of Redis and of the hop between processes read as ratios.
 *
 *   npm run bench:latency        BENCH_INVITATIONS=500 BENCH_LATENCY_PAGES=0,1000,10000 BENCH_LATENCY_REDIS_PAGES=1000 BENCH_LATENCY_CLUSTER_PAGES=1000
 *   (BENCH_REDIS_APPENDFSYNC=everysec: Redis without the fsync before every reply)
 */
import type { Page } from '@playwright/test';
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
): Promise<Scenario[]> {
  const store = topology.label;
  const api = topology.apiUrl;
  const fleet = new PageFleet(topology.pageUrls);
  const browser = await launchChromium();
  const scenarios: Scenario[] = [];
  try {
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
  const redisLevels = envInts('BENCH_LATENCY_REDIS_PAGES', [1000]).sort((a, b) => a - b);
  const clusterLevels = envInts('BENCH_LATENCY_CLUSTER_PAGES', [1000]).sort((a, b) => a - b);
  // BENCH_REDIS_APPENDFSYNC=everysec shows what the fsync before every reply costs (as in the throughput benchmark).
  const appendfsync = (process.env.BENCH_REDIS_APPENDFSYNC ?? 'always') as 'always' | 'everysec';
  const scenarios: Scenario[] = [];
  for (const [kind, kindLevels] of [
    ['sqlite', levels],
    ['redis', redisLevels],
    ['cluster', clusterLevels],
  ] as const) {
    if (!kindLevels.length) continue;
    const topology = await startTopology(kind, { prefix: `bench-lat-${kind}:`, appendfsync });
    scenarios.push(...(await measureOn(topology, [...kindLevels], invitations, warmup)));
  }

  const rows: Row[] = [];
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
    data: { invitations, warmup, appendfsync, scenarios },
    seconds: (now() - started) / 1000,
  };
}

await runAsScript(import.meta.url, 'latency', 300, runLatency);
