/**
 * What visitor context costs the store (docs/visitor-context.md): the store
 * alone, opened as Beckon opens it (SQLite on a file in the temp folder;
 * Redis on its own redis-server with `appendfsync always`), store calls as
 * the core makes them, no HTTP, no sockets. Measured on both stores:
 *
 * - business events recorded per second (`recordBusinessEvent` on the open
 *   pages of BENCH_VISITS live visits), one at a time and
 *   BENCH_CONNECTIONS in flight, beside page views (a page opened and
 *   closed: two writes) on the same store in the same rounds, so that the
 *   ratio holds on a busy machine too; then identity changes (sign-in and
 *   user info in turn, BENCH_CONNECTIONS in flight). BENCH_ROUNDS
 *   alternating rounds of BENCH_SECONDS per measure; medians;
 * - the erasure of one browser with 5 visits (4 ended; the last live, its
 *   page open, its second invitation on screen), 4 business events and 2
 *   attempts in each (20 and 10 in all), from a log that holds
 *   BENCH_ERASE_LOG other events (filled with visits of 100 events each:
 *   started, a page opened, 98 business events). BENCH_ERASURES browsers
 *   whose visits came before all those events (the Redis store reads the
 *   log from the browser's oldest visit on), and as many whose visits came
 *   after them; the median time, and on Redis the scripts each erasure ran
 *   (INFO commandstats, `evalsha` calls);
 * - Redis memory (`used_memory` after MEMORY PURGE) per business event,
 *   below a visit's cap of KEPT_BUSINESS_EVENTS and past it (the log keeps
 *   every event until its retention; the visit only its latest), and per
 *   identity, on BENCH_MEMORY_VISITS visits.
 *
 *   npm run bench:visitor   BENCH_SECONDS=2 BENCH_ROUNDS=3 BENCH_CONNECTIONS=16 BENCH_VISITS=2000
 *                           BENCH_ERASE_LOG=10000,100000 BENCH_ERASURES=5 BENCH_MEMORY_VISITS=300
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { startRedisServer } from '../test/redis-server.js';
import { openStore } from '../src/store/open.js';
import type { BeckonStore, IdentityChange } from '../src/core/store.js';
import { ERASURE_MARKER_MS, erasureMarkerKey } from '../src/core/erasure.js';
import { KEPT_BUSINESS_EVENTS, ixnProfileSchema } from '../src/protocol/index.js';
import { track } from './lib/procs.js';
import { RedisStats } from './lib/redis-stats.js';
import { runAsScript, type BenchResult } from './lib/report.js';
import { envInt, envInts, fmt, median, now, type Row } from './lib/stats.js';
import { cartEvent, pageInfo } from './lib/browse.js';

/** Lanes that fill the log and the memory visits: enough to share commits, few enough for Redis' call deadline. */
const FILL_LANES = 32;
/** Events a filler visit adds to the log: visit.started, page.entered and 98 business events. */
const FILLER_EVENTS = 100;
const SECRET = 'bench-visitor-context-secret';

interface Where {
  kind: 'SQLite' | 'Redis';
  redisUrl: string | null;
  dir: string;
}

interface LivePage {
  visitId: string;
  pageId: string;
}

let opened = 0;
async function open(where: Where): Promise<{ store: BeckonStore; prefix: string }> {
  const name = `visitor-${opened++}`;
  const prefix = `bench-${name}-${Date.now().toString(36)}:`;
  const store = await openStore({ db: join(where.dir, `${name}.db`), redisUrl: where.redisUrl, redisPrefix: prefix });
  return { store, prefix };
}

/** Live visits, each with one open page; in batches of 50 so that no call waits past Redis' deadline. */
async function liveVisits(store: BeckonStore, count: number): Promise<LivePage[]> {
  const pages = Array.from({ length: count }, () => ({ visitId: randomUUID(), pageId: randomUUID() }));
  const at = Date.now();
  for (let first = 0; first < count; first += 50) {
    await Promise.all(
      pages.slice(first, first + 50).map(async ({ visitId, pageId }, i) => {
        await store.startVisit({ visitId, globalVisitId: randomUUID() }, at);
        await store.openPage({ pageId, visitId, info: pageInfo(first + i) }, at);
      }),
    );
  }
  return pages;
}

/** Runs `op(n)` for n = 0, 1, … from `inFlight` lanes, each one call at a time, for `seconds`. */
async function lanes(
  seconds: number,
  inFlight: number,
  op: (n: number) => Promise<void>,
): Promise<{ count: number; perSecond: number }> {
  let next = 0;
  const started = now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (now() - started < seconds * 1000) await op(next++);
    }),
  );
  return { count: next, perSecond: next / ((now() - started) / 1000) };
}

/** Runs `op(n)` for n = 0 … count − 1 from `inFlight` lanes. */
async function each(count: number, inFlight: number, op: (n: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) await op(next++);
    }),
  );
}

async function recordEvent(store: BeckonStore, page: LivePage, n: number): Promise<void> {
  const stored = await store.recordBusinessEvent({ ...page, ...cartEvent(n) }, Date.now());
  if (stored !== 'stored') throw new Error(`recordBusinessEvent: ${stored}`);
}

// ── a. and b.: writes per second ────────────────────────────────────────────

type Phase = 'events1' | 'views1' | 'eventsN' | 'viewsN' | 'identityN';

async function writeRates(where: Where, seconds: number, rounds: number, inFlight: number, visits: number) {
  const { store } = await open(where);
  try {
    const pages = await liveVisits(store, visits);
    const page = (n: number) => pages[n % pages.length]!;
    let views = 0;
    const identityChanges = pages.map(() => 0);
    const run: Record<Phase, () => Promise<{ count: number; perSecond: number }>> = {
      events1: () => lanes(seconds, 1, (n) => recordEvent(store, page(n), n)),
      eventsN: () => lanes(seconds, inFlight, (n) => recordEvent(store, page(n), n)),
      // A page view: another page of one of the visits opened and closed, two writes.
      views1: () => lanes(seconds, 1, (n) => pageView(store, page(n).visitId, views++)),
      viewsN: () => lanes(seconds, inFlight, (n) => pageView(store, page(n).visitId, views++)),
      identityN: () =>
        lanes(seconds, inFlight, async (n) => {
          const v = n % pages.length;
          const { visitId, pageId } = pages[v]!;
          // Each visit signs in, then sends user info, then signs in again, each time a lane comes round to it.
          const turn = identityChanges[v]!;
          identityChanges[v] = turn + 1;
          const change: IdentityChange =
            turn % 2 === 0
              ? { kind: 'sign-in', userId: `customer-${v}@shop.example`, verified: true, traits: { plan: 'gold' } }
              : { kind: 'user-info', traits: { basket: n % 500, step: 'checkout' } };
          const changed = await store.changeIdentity(visitId, pageId, change, Date.now());
          if (changed === 'no-visit') throw new Error('changeIdentity: no-visit');
        }),
    };
    const phases = Object.keys(run) as Phase[];
    const results = Object.fromEntries(phases.map((p) => [p, [] as number[]])) as Record<Phase, number[]>;
    for (let round = 0; round < rounds; round++) {
      // Alternate the order, so that a machine getting busier or quieter hits every measure alike.
      for (const phase of round % 2 === 0 ? phases : [...phases].reverse()) {
        results[phase].push((await run[phase]()).perSecond);
      }
    }
    return results;
  } finally {
    await store.close();
  }
}

async function pageView(store: BeckonStore, visitId: string, n: number): Promise<void> {
  const pageId = randomUUID();
  const t = Date.now();
  await store.openPage({ pageId, visitId, info: pageInfo(n) }, t);
  if (!(await store.closePage(pageId, t + 1))) throw new Error('closePage: not open');
}

// ── c.: erasure ─────────────────────────────────────────────────────────────

/** A browser's 5 visits: 4 ended, the last live with its page open and its second invitation on screen. */
async function browser(store: BeckonStore): Promise<string> {
  const globalVisitId = randomUUID();
  for (let v = 0; v < 5; v++) {
    const visitId = randomUUID();
    const pageId = randomUUID();
    const at = Date.now();
    await store.startVisit({ visitId, globalVisitId }, at);
    await store.openPage({ pageId, visitId, info: pageInfo(v) }, at);
    for (let e = 0; e < 4; e++) await recordEvent(store, { visitId, pageId }, e);
    for (let a = 0; a < 2; a++) {
      const interactionId = randomUUID();
      const created = await store.createAttempt(
        ixnProfileSchema.parse({ interactionId, visitId, invitation: { title: 'Need a hand?' } }),
        { exclusive: true, now: at, place: true },
      );
      if (created.kind !== 'created') throw new Error(`createAttempt: ${created.kind}`);
      await store.transition({
        interactionId,
        visitId,
        from: ['pending'],
        to: 'delivered',
        at,
        pageId,
        timeoutAt: at + 60_000,
      });
      if (a === 0) {
        await store.transition({ interactionId, visitId, from: ['delivered'], to: 'declined', at, pageId });
      } else if (v < 4) {
        await store.transition({ interactionId, visitId, from: ['delivered'], to: 'accepted', at, channel: 'chat' });
      }
    }
    if (v < 4) {
      await store.closePage(pageId, at);
      await store.endVisit(visitId, at);
    }
  }
  return globalVisitId;
}

/** Adds `events` events of other visits to the log (live visits of FILLER_EVENTS events each). */
async function fill(store: BeckonStore, events: number): Promise<void> {
  await each(Math.ceil(events / FILLER_EVENTS), FILL_LANES, async () => {
    const visitId = randomUUID();
    const pageId = randomUUID();
    await store.startVisit({ visitId, globalVisitId: randomUUID() }, Date.now());
    await store.openPage({ pageId, visitId, info: pageInfo(0) }, Date.now());
    for (let e = 0; e < FILLER_EVENTS - 2; e++) await recordEvent(store, { visitId, pageId }, e);
  });
}

interface Erasure {
  ms: number;
  /** Scripts the erasure ran (Redis): `evalsha` calls. */
  scripts: number | null;
}

async function erase(store: BeckonStore, globalVisitId: string, stats: RedisStats | null): Promise<Erasure> {
  const before = stats ? await stats.commandCalls() : null;
  const started = now();
  const counts = await store.eraseVisitor(
    globalVisitId,
    { key: erasureMarkerKey(SECRET, globalVisitId), until: Date.now() + ERASURE_MARKER_MS },
    Date.now(),
  );
  const ms = now() - started;
  const after = stats ? await stats.commandCalls() : null;
  if (counts.visits !== 5 || counts.pages !== 5 || counts.events !== 20 || counts.attempts !== 10) {
    throw new Error(`eraseVisitor erased ${JSON.stringify(counts)}`);
  }
  return { ms, scripts: before && after ? (after.evalsha ?? 0) - (before.evalsha ?? 0) : null };
}

async function erasures(where: Where, logSizes: number[], times: number) {
  const { store } = await open(where);
  const stats = where.redisUrl ? await RedisStats.open(where.redisUrl) : null;
  try {
    // Every browser erased after a fill has its visits before all of the log's other events.
    const early: string[] = [];
    for (let i = 0; i < logSizes.length * times; i++) early.push(await browser(store));
    const out: { log: number; early: Erasure[]; late: Erasure[]; fillSeconds: number }[] = [];
    let filled = 0;
    for (const log of logSizes) {
      const started = now();
      await fill(store, log - filled);
      filled = Math.ceil(log / FILLER_EVENTS) * FILLER_EVENTS;
      const fillSeconds = (now() - started) / 1000;
      const late: string[] = [];
      for (let i = 0; i < times; i++) late.push(await browser(store));
      const step = { log: filled, early: [] as Erasure[], late: [] as Erasure[], fillSeconds };
      for (const globalVisitId of early.splice(0, times)) step.early.push(await erase(store, globalVisitId, stats));
      for (const globalVisitId of late) step.late.push(await erase(store, globalVisitId, stats));
      out.push(step);
    }
    return out;
  } finally {
    await stats?.close();
    await store.close();
  }
}

// ── d.: Redis memory ────────────────────────────────────────────────────────

async function redisMemory(where: Where, visits: number) {
  const { store, prefix } = await open(where);
  const admin = createClient({ url: where.redisUrl! });
  await admin.connect();
  const used = async () => {
    await admin.sendCommand(['MEMORY', 'PURGE']);
    return Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
  };
  // Key names as docs/redis-keys.md gives them.
  const bytesOf = async (keys: string[]) => {
    let bytes = 0;
    for (const key of keys) bytes += Number((await admin.memoryUsage(key, { SAMPLES: 0 })) ?? 0);
    return bytes;
  };
  const log = () => bytesOf([`${prefix}log`]);
  try {
    const pages = await liveVisits(store, visits);
    const lists = () => bytesOf(pages.map((p) => `${prefix}ve:${p.visitId}`));
    const batch = (offset: number) =>
      each(visits * KEPT_BUSINESS_EVENTS, FILL_LANES, (n) => recordEvent(store, pages[n % visits]!, offset + n));
    const empty = await used();
    const logEmpty = await log();
    await batch(0);
    const toCap = { used: await used(), lists: await lists(), log: await log() };
    await batch(visits * KEPT_BUSINESS_EVENTS);
    const pastCap = { used: await used(), lists: await lists(), log: await log() };
    await each(visits, FILL_LANES, async (n) => {
      const { visitId, pageId } = pages[n]!;
      const change = {
        kind: 'sign-in' as const,
        userId: `customer-${n}@shop.example`,
        verified: true,
        traits: { plan: 'gold', country: 'GB', name: `Customer ${n}` },
      };
      if ((await store.changeIdentity(visitId, pageId, change, Date.now())) === 'no-visit') throw new Error('no-visit');
    });
    const identified = {
      used: await used(),
      hashes: await bytesOf(pages.map((p) => `${prefix}vi:${p.visitId}`)),
      log: await log(),
    };
    const events = visits * KEPT_BUSINESS_EVENTS;
    return {
      visits,
      toCap: {
        perEvent: (toCap.used - empty) / events,
        list: toCap.lists / events,
        log: (toCap.log - logEmpty) / events,
      },
      pastCap: {
        perEvent: (pastCap.used - toCap.used) / events,
        list: (pastCap.lists - toCap.lists) / events,
        log: (pastCap.log - toCap.log) / events,
      },
      identity: {
        perIdentity: (identified.used - pastCap.used) / visits,
        hash: identified.hashes / visits,
        log: (identified.log - pastCap.log) / visits,
      },
    };
  } finally {
    await admin.quit();
    await store.close();
  }
}

// ── the run ─────────────────────────────────────────────────────────────────

async function runVisitorContext(): Promise<BenchResult> {
  const started = now();
  const seconds = envInt('BENCH_SECONDS', 2);
  const rounds = envInt('BENCH_ROUNDS', 3);
  const inFlight = envInt('BENCH_CONNECTIONS', 16);
  const visits = envInt('BENCH_VISITS', 2000);
  const logSizes = envInts('BENCH_ERASE_LOG', [10_000, 100_000]).sort((a, b) => a - b);
  const times = envInt('BENCH_ERASURES', 5);
  const memoryVisits = envInt('BENCH_MEMORY_VISITS', 300);
  const rows: Row[] = [];
  const data: Record<string, unknown> = { seconds, rounds, inFlight, visits, logSizes, times, memoryVisits };
  const redis = await startRedisServer({ appendfsync: 'always' });
  track(redis.child()!);
  const dir = mkdtempSync(join(tmpdir(), 'beckon-bench-visitor-'));
  const list = (values: number[], digits = 0) => values.map((v) => fmt(v, digits)).join(', ');
  try {
    for (const where of [
      { kind: 'SQLite', redisUrl: null, dir },
      { kind: 'Redis', redisUrl: redis.url, dir },
    ] as const) {
      const { kind } = where;
      process.stderr.write(`visitor-context: ${kind}, writes…\n`);
      const rates = await writeRates(where, seconds, rounds, inFlight, visits);
      data[`${kind} writes`] = rates;
      for (const [events, views, lanesLabel] of [
        [rates.events1, rates.views1, 'one at a time'],
        [rates.eventsN, rates.viewsN, `${inFlight} in flight`],
      ] as const) {
        const e = median(events);
        const v = median(views);
        rows.push({
          measure: `${kind}: business events / page views, ${lanesLabel}`,
          value: `${fmt(e, 0)} events/s (${fmt(1e6 / e, 0)} µs each) / ${fmt(v, 0)} views/s (${fmt(1e6 / (2 * v), 0)} µs per write); events ÷ views ${fmt(e / v, 2)}`,
          note: `median of ${rounds} rounds of ${seconds} s; events ${list(events)}; views ${list(views)}`,
        });
      }
      const identity = median(rates.identityN);
      rows.push({
        measure: `${kind}: identity changes (sign-in, user info in turn), ${inFlight} in flight`,
        value: `${fmt(identity, 0)}/s (${fmt(1e6 / identity, 0)} µs each); ${fmt(identity / median(rates.eventsN), 2)}× business events`,
        note: `median of ${rounds} rounds of ${seconds} s: ${list(rates.identityN)}`,
      });

      process.stderr.write(`visitor-context: ${kind}, erasure…\n`);
      const steps = await erasures(where, logSizes, times);
      data[`${kind} erasure`] = steps;
      for (const step of steps) {
        for (const [which, runs] of [
          ['visits before the log', step.early],
          ['visits after the log', step.late],
        ] as const) {
          const scripts = runs.map((r) => r.scripts).filter((s): s is number => s !== null);
          rows.push({
            measure: `${kind}: erasure, ${fmt(step.log, 0)} other events in the log, ${which}`,
            value: `${fmt(median(runs.map((r) => r.ms)), 1)} ms${scripts.length ? `, ${fmt(median(scripts), 0)} scripts` : ''}`,
            note: `median of ${runs.length}: ${list(
              runs.map((r) => r.ms),
              1,
            )} ms${scripts.length ? ` (scripts ${scripts.join(', ')})` : ''}; log filled in ${fmt(step.fillSeconds, 1)} s`,
          });
        }
      }
    }

    process.stderr.write('visitor-context: Redis memory…\n');
    const memory = await redisMemory({ kind: 'Redis', redisUrl: redis.url, dir }, memoryVisits);
    data['Redis memory'] = memory;
    rows.push(
      {
        measure: `Redis memory per business event, the visit below its ${KEPT_BUSINESS_EVENTS}`,
        value: `${fmt(memory.toCap.perEvent, 0)} B`,
        note: `${memoryVisits} visits × ${KEPT_BUSINESS_EVENTS}; the visit's list ${fmt(memory.toCap.list, 0)} B, the log ${fmt(memory.toCap.log, 0)} B (MEMORY USAGE)`,
      },
      {
        measure: `Redis memory per business event past the visit's ${KEPT_BUSINESS_EVENTS}`,
        value: `${fmt(memory.pastCap.perEvent, 0)} B`,
        note: `${memoryVisits} visits × ${KEPT_BUSINESS_EVENTS} more; the visit's list ${fmt(memory.pastCap.list, 0)} B, the log ${fmt(memory.pastCap.log, 0)} B`,
      },
      {
        measure: 'Redis memory per identity (a sign-in with 3 traits)',
        value: `${fmt(memory.identity.perIdentity, 0)} B`,
        note: `${memoryVisits} visits; the identity hash ${fmt(memory.identity.hash, 0)} B, its visit.identified in the log ${fmt(memory.identity.log, 0)} B`,
      },
    );
  } finally {
    await redis.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  return { name: 'Visitor context', rows, data, seconds: (now() - started) / 1000 };
}

await runAsScript(import.meta.url, 'visitor-context', 300, runVisitorContext, { build: false });
