/**
 * The Redis load per shard if Beckon's store were spread over several Redis
 * shards (the plan of docs/sharding.md): what each unit of work costs Redis,
 * measured here, then the arithmetic for a million connected pages.
 *
 * Measured on a redis-server of its own (AOF with `appendfsync always`, the
 * production setting), through the real Redis store driven by the core as a
 * server drives it (Lifecycle, VisitorContext, Presence, EventFeed; no HTTP,
 * no sockets), BENCH_CONNECTIONS calls in flight. Each unit runs twice: once
 * under MONITOR (bench/lib/redis-stats.ts), which tells the commands a
 * client sends from those a script runs, and once without it, for the
 * counts of INFO commandstats and the CPU of Redis' main thread (INFO cpu)
 * before and after, minus the rate at rest over the same time:
 * - a page view: a page of a new visit enters (enterPage, session), leaves
 *   (leavePage), and its visit ends once idle (the deadline clock); and a
 *   navigation: a page view of a visit that stays live;
 * - an invitation: engage (created and placed), shown, declined;
 * - a business event (track);
 * - a heartbeat round of a node (beat, then reap);
 * - at rest: Redis alone, a store's connection (its watchdog), an armed
 *   deadline clock, an event feed with a subscriber, counted; the cost of
 *   each one's round measured under load; reading the log, per event read;
 * - webhooks: events moved into the outbox, then claimed and delivered;
 * - the steps the plan adds, as prototype scripts on the same server: the
 *   interaction directory an engage claims, and a paced invitation's
 *   reservation and release on its channel's coordinator (the pacing code
 *   of includes/channels.lua itself);
 * - page commands between nodes: as Beckon sends them (the holder looked up
 *   in the store, then PUBLISH to that node's channel, which it hears), as
 *   the sharding plan would (SPUBLISH alone: its scripts answer the holder),
 *   and as they went before, through socket.io's Redis Streams adapter (one
 *   XADD, every node's XREAD), on 1 and on 8 nodes.
 * The costs per unit come from the pass of median CPU among BENCH_SHARD_PASSES.
 *
 * Then, for BENCH_SHARDS shards (and today's one Redis), the commands per
 * second and the main-thread CPU per shard at BENCH_MODEL_PAGES connected
 * pages, each page view BENCH_MODEL_PAGE_SECONDS long, BENCH_MODEL_PAGES_PER_VISIT
 * page views a visit (1: every page view a new visit; the table shows 4 too),
 * BENCH_MODEL_INVITATIONS_PER_PAGE_HOUR invitations per connected page and
 * hour (BENCH_MODEL_PEAK times that at the peak),
 * BENCH_MODEL_EVENTS_PER_PAGE_VIEW business events per page view, every
 * invitation on one paced channel, BENCH_MODEL_FRONTENDS frontends and
 * BENCH_MODEL_BACKENDS backends, BENCH_MODEL_PARTITIONS partitions.
 *
 *   npm run bench:shards   BENCH_SHARD_PAGE_VIEWS=1500 BENCH_SHARD_INVITATIONS=800 BENCH_SHARD_EVENTS=3000
 *                          BENCH_SHARD_HEARTBEATS=300 BENCH_SHARD_DELIVERIES=2000 BENCH_SHARD_EMIT_RATE=1000
 *                          BENCH_SHARD_PASSES=3 BENCH_CONNECTIONS=32 BENCH_SHARDS=1,2,4,8
 */
import { randomUUID } from 'node:crypto';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { createClient } from 'redis';
import { Server } from 'socket.io';
import { EventFeed } from '../src/backend/events/feed.js';
import { openFanout } from '../src/cluster/fanout.js';
import { AddressedPageCommands } from '../src/cluster/page-commands.js';
import { Lifecycle, type PageCommand, type PageIdentity } from '../src/core/lifecycle.js';
import { Presence } from '../src/core/presence.js';
import { VisitorContext } from '../src/core/visitor-context.js';
import { ixnProfileSchema } from '../src/protocol/index.js';
import { readFromFolder, resolveIncludes } from '../src/store/redis/script-loader.js';
import { SCRIPTS_FOLDER } from '../src/store/redis/scripts.js';
import { openRedisStore } from '../src/store/redis/store.js';
import { startRedisServer } from '../test/redis-server.js';
import { RedisStats } from './lib/redis-stats.js';
import { runAsScript, type BenchResult } from './lib/report.js';
import { envInt, envInts, fmt, markdownTable, now, sleep, type Row } from './lib/stats.js';
import { cartEvent, pageInfo } from './lib/browse.js';

const PREFIX = 'bench-shard:';
/** Short, so that the visits of the page views end within their phase (the default is minutes). */
const VISIT_IDLE_MS = 200;
const REST_SECONDS = 3;
/** The adapter is measured on this many nodes, then on that many: each node's XREAD is the difference. */
const ADAPTER_NODES = [1, 8] as const;
/** The table also shows visits of this many page views (the first starts the visit, the rest navigate). */
const PAGES_PER_VISIT_TOO = 4;
/** Commands of the benchmark's own readings, not of Beckon. */
const NOT_BECKON = new Set(['info', 'echo', 'monitor', 'zcard', 'script|load', 'client|setname', 'hello']);

// ── readings ──────────────────────────────────────────────────────────────────

interface Reading {
  calls: Record<string, number>;
  usec: Record<string, number>;
  cpu: number;
  at: number;
}

/** Commands per second (by name) and main-thread CPU seconds per second of something running alone. */
interface Rate {
  calls: Record<string, number>;
  cpu: number;
}

const NO_RATE: Rate = { calls: {}, cpu: 0 };

/** The rate of what runs now, over REST_SECONDS with nothing else. */
async function restRate(stats: RedisStats): Promise<Rate> {
  const before = await reading(stats);
  await sleep(REST_SECONDS * 1000);
  const after = await reading(stats);
  const { seconds, calls, cpu } = between(before, after, NO_RATE);
  return { calls: per(calls, seconds), cpu: cpu / seconds };
}

async function reading(stats: RedisStats): Promise<Reading> {
  const [calls, usec, cpu] = await Promise.all([
    stats.commandCalls(),
    stats.commandUsec(),
    stats.mainThreadCpuSeconds(),
  ]);
  return { calls, usec, cpu, at: now() };
}

/** What Redis did between two readings, less `rest` for as long: commands by name, CPU, script time. */
function between(before: Reading, after: Reading, rest: Rate) {
  const seconds = (after.at - before.at) / 1000;
  const calls: Record<string, number> = {};
  for (const [name, n] of Object.entries(after.calls)) {
    if (NOT_BECKON.has(name)) continue;
    const done = n - (before.calls[name] ?? 0) - (rest.calls[name] ?? 0) * seconds;
    if (done > 0.5) calls[name] = done;
  }
  const scriptUsec = ['evalsha', 'eval'].reduce(
    (sum, name) => sum + (after.usec[name] ?? 0) - (before.usec[name] ?? 0),
    0,
  );
  return { seconds, calls, cpu: Math.max(0, after.cpu - before.cpu - rest.cpu * seconds), scriptUsec };
}

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
const per = (counts: Record<string, number>, n: number) =>
  Object.fromEntries(Object.entries(counts).map(([name, c]) => [name, c / n]));

/** What one unit of work costs Redis. */
interface Cost {
  /** Commands per unit, clients' and scripts' together (INFO commandstats). */
  commands: number;
  /** Of those, sent by a client (each a round trip or part of a pipeline), and run inside scripts (the split MONITOR saw). */
  sent: number;
  inScripts: number;
  /** Commands per unit by name. */
  byName: Record<string, number>;
  /** Main-thread CPU per unit, µs: the median of the passes, and each pass's. */
  cpuUs: number;
  cpuUsPasses: number[];
  /** Time inside scripts per unit, µs (INFO commandstats, evalsha). */
  scriptUs: number;
  /** Events the unit writes to the log (XADD inside scripts). */
  events: number;
  /** Commands for pages the unit publishes between nodes (the lifecycle's page commands). */
  pageCommands: number;
  /** Units per second, and Redis' main thread busy meanwhile (CPU ÷ wall time), in the pass without MONITOR. */
  perSecond: number;
  busy: number;
}

/** Runs `op(n)` for `count` values of n from `inFlight` lanes, each one call at a time. */
async function each(count: number, inFlight: number, op: (n: number, lane: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async (_, lane) => {
      while (next < count) await op(next++, lane);
    }),
  );
}

// ── the model ───────────────────────────────────────────────────────────────

interface Measured {
  pageView: Cost;
  /** A page view of a visit that stays live (another page of it is open): a navigation. */
  navigation: Cost;
  invitation: Cost;
  businessEvent: Cost;
  heartbeat: Cost;
  /**
   * At rest: Redis with no client (its own timers), per second; what a store connection (its watchdog),
   * an armed deadline clock and an event feed send per second; and what each of their rounds costs,
   * measured under load (at rest, each second's few commands are too few for Redis' CPU counter).
   */
  rest: {
    idle: Rate;
    atRest: { connection: Rate; clock: Rate; feed: Rate };
    watchdog: Cost;
    clockRound: Cost;
    feedPoll: Cost;
  };
  /** Reading the log, per event and reader. */
  feedRead: Cost;
  /** The webhook outbox, per event: moved into the outbox (in batches), then claimed and delivered. */
  webhookQueue: Cost;
  webhookDelivery: Cost;
  directory: Cost;
  coordinator: Cost;
  /** The adapter: per emit, XADD and the rest; XREAD per node; CPU as base + per node. */
  adapter: { xadd: number; xreadPerNode: number; cpuUsBase: number; cpuUsPerNode: number; rate: number };
  spublish: Cost;
  /** A page command as Beckon sends it now: the holder looked up, then published to that node's channel. */
  addressed: Cost;
}

interface ModelInputs {
  pages: number;
  pageSeconds: number;
  invitationsPerPageHour: number;
  peak: number;
  eventsPerPageView: number;
  frontends: number;
  backends: number;
  partitions: number;
  heartbeatSeconds: number;
  /** The share of events sent by webhook (0: webhooks off). */
  webhookShare: number;
  /** Page views per visit: the first starts the visit (and ends it), the others are navigations. */
  pagesPerVisit: number;
}

interface Load {
  commands: number;
  /** Main-thread CPU, in cores. */
  cpu: number;
}

/** A shard's load by part: `even` on every shard, `single` only on the shard holding the single keys. */
interface ShardLoad {
  parts: { name: string; even: Load; single: Load }[];
  /** A shard that holds none of the single keys, and the one that holds them. */
  even: Load;
  hottest: Load;
}

const rateSum = (rate: Rate) => sum(rate.calls);
const NONE: Load = { commands: 0, cpu: 0 };
const add = (...parts: Load[]): Load =>
  parts.reduce((a, b) => ({ commands: a.commands + b.commands, cpu: a.cpu + b.cpu }), NONE);

/**
 * The load per shard. `shards` 0 is today's layout: one Redis, every node's
 * deadline clock polling it, each page command looked up and published to its node.
 */
function shardLoad(
  m: Measured,
  x: ModelInputs,
  shards: number,
  peak: boolean,
  webhookShare = x.webhookShare,
  pagesPerVisit = x.pagesPerVisit,
): ShardLoad {
  const pageViews = x.pages / x.pageSeconds;
  const visits = pageViews / pagesPerVisit;
  const navigations = pageViews - visits;
  const invitations = ((x.pages * x.invitationsPerPageHour) / 3600) * (peak ? x.peak : 1);
  const events = pageViews * x.eventsPerPageView;
  const nodes = x.frontends + x.backends;
  const logged =
    visits * m.pageView.events +
    navigations * m.navigation.events +
    invitations * m.invitation.events +
    events * m.businessEvent.events;
  const emits =
    visits * m.pageView.pageCommands +
    navigations * m.navigation.pageCommands +
    invitations * m.invitation.pageCommands;
  const heartbeats = nodes / x.heartbeatSeconds;
  const work = (c: Cost, rate: number): Load => ({ commands: c.commands * rate, cpu: (c.cpuUs * rate) / 1e6 });
  const share = (part: Load, f: number): Load => ({ commands: part.commands * f, cpu: part.cpu * f });
  const today = shards === 0;
  // What partitions by browser divides among the shards; today it all lands on the one Redis.
  const spread = today ? 1 : 1 / shards;
  const partitionsPerShard = today ? 1 : x.partitions / shards;
  const parts: { name: string; even: Load; single: Load }[] = [
    {
      name: 'page views',
      even: share(add(work(m.pageView, visits), work(m.navigation, navigations)), spread),
      single: NONE,
    },
    { name: 'invitations', even: share(work(m.invitation, invitations), spread), single: NONE },
    { name: 'business events', even: share(work(m.businessEvent, events), spread), single: NONE },
    {
      name: "the backends' reads of the log",
      even: share(work(m.feedRead, logged * x.backends), spread),
      single: NONE,
    },
    {
      // The outbox is the log's: one partition's events go through that partition's outbox.
      name: 'webhooks',
      even: share(
        add(work(m.webhookQueue, logged * webhookShare), work(m.webhookDelivery, logged * webhookShare)),
        spread,
      ),
      single: NONE,
    },
    {
      name: 'the interaction directory',
      even: today ? NONE : share(work(m.directory, invitations), spread),
      single: NONE,
    },
    {
      name: 'page commands between nodes',
      // Today each command's holder is looked up and the command published to that node's channel; in the
      // plan the scripts that place an attempt answer the holder, and the channels spread over the shards
      // by the node's name.
      even: today ? NONE : share(work(m.spublish, emits), spread),
      single: today ? work(m.addressed, emits) : NONE,
    },
    {
      // Once a second: each node's watchdog on each shard; a deadline clock's round and a feed's poll per
      // partition, today on every node that changed something (every node), in the plan on the backends.
      name: 'at rest: watchdogs, deadline clocks, feeds, Redis itself',
      even: add(
        { commands: 0, cpu: m.rest.idle.cpu },
        work(m.rest.watchdog, nodes),
        work(m.rest.clockRound, (today ? nodes : x.backends) * partitionsPerShard),
        work(m.rest.feedPoll, x.backends * partitionsPerShard),
      ),
      single: NONE,
    },
    { name: 'the node registry (heartbeats)', even: NONE, single: work(m.heartbeat, heartbeats) },
    {
      name: "the paced channel's coordinator",
      even: NONE,
      single: today ? NONE : work(m.coordinator, invitations),
    },
  ];
  const even = add(...parts.map((part) => part.even));
  return { parts, even, hottest: add(even, ...parts.map((part) => part.single)) };
}

/** Where a shard's CPU goes, part by part: today's one Redis, and a shard of the plan (the hottest's extras apart). */
function breakdownTable(m: Measured, x: ModelInputs, shards: number): string {
  const today = shardLoad(m, x, 0, false);
  const plan = shardLoad(m, x, shards, false);
  const cell = (load: Load) =>
    load.cpu === 0 && load.commands === 0 ? '' : `${fmt(load.cpu * 100, 1)} % (${fmt(load.commands, 0)}/s)`;
  const body = today.parts.map((part, i) => {
    const planned = plan.parts[i]!;
    return [part.name, cell(add(part.even, part.single)), cell(planned.even), cell(planned.single)];
  });
  body.push(['in all', cell(today.hottest), cell(plan.even), cell(plan.hottest)]);
  return markdownTable(
    [
      'part',
      'today: one Redis, % of a core (commands/s)',
      `${shards} shards: each shard`,
      `${shards} shards: on the one holding the single keys, more (in all)`,
    ],
    body,
  );
}

// ── the measurements ───────────────────────────────────────────────────────

/** What a page is sent when an invitation starts, as large as Beckon's. */
const OFFER = {
  interactionId: 'bench-0123456789abcdef0123456789abcdef',
  channels: ['chat'],
  invitation: { title: 'Need a hand?', text: 'An advisor can answer your questions now.' },
  timeoutSeconds: 30,
  remainingMs: 30_000,
  userData: { tier: 'gold', basket: 129.5 },
};

/** The pacing arguments of one progressive channel, as createAttempt takes them (askedChannels). */
const PACED_CHAT = ['chat', '"chat"', 'progressive', '1', '', '1', '0.2', '0.05', '3600'];

/**
 * Prototypes of the scripts the plan adds. The directory claim runs on the
 * interaction's own partition before the create; the reservation and release
 * run on the paced channel's coordinator, with the pacing code of
 * includes/channels.lua and a lease per attempt so that a crash between two
 * shards frees its slot in time.
 */
const PROTOTYPES: Record<string, string> = {
  'directory-claim.lua': `
local directoryKey = KEYS[1]
local attemptKey = KEYS[2]
local visitId = ARGV[1]
if redis.call('EXISTS', attemptKey) == 1 then return {'exists'} end
local claimed = redis.call('GET', directoryKey)
if claimed and claimed ~= visitId then return {'conflict'} end
if not claimed then redis.call('SET', directoryKey, visitId) end
return {'ok'}
`,
  'coordinator-reserve.lua': `
local loadKey = KEYS[1]
local leasesKey = KEYS[2]
local id = ARGV[1]
local now = ARGV[2]
local leaseUntil = ARGV[3]
local minAnswered = ARGV[4]
--- @include "includes/channels"
local asked = askedChannels(ARGV, 5, 1)
local reasons = decideAsked(loadKey, asked, tonumber(now), tonumber(minAnswered))
if reasons[1] then return {'closed', reasons[1]} end
if redis.call('ZADD', leasesKey, 'NX', leaseUntil, id) == 1 then countOn(loadKey, {asked[1].channel}) end
return {'ok'}
`,
  'coordinator-release.lua': `
local loadKey = KEYS[1]
local leasesKey = KEYS[2]
local id = ARGV[1]
local channel = ARGV[2]
local to = ARGV[3]
local window = ARGV[4]
--- @include "includes/channels"
if redis.call('ZREM', leasesKey, id) == 0 then return 0 end
settleChannels(loadKey, {counted = lexPrefix(channel), shown = true}, to, tonumber(window))
return 1
`,
};

function prototype(name: string): string {
  const fromFolder = readFromFolder(SCRIPTS_FOLDER);
  return resolveIncludes(name, (path) => PROTOTYPES[path] ?? fromFolder(path));
}

interface Counts {
  ops: number;
  inFlight: number;
}

async function measureAll(counts: {
  pageViews: number;
  invitations: number;
  events: number;
  heartbeats: number;
  inFlight: number;
  emitRate: number;
  deliveries: number;
  passes: number;
}): Promise<Measured> {
  const redis = await startRedisServer({
    appendfsync: (process.env.BENCH_REDIS_APPENDFSYNC ?? 'always') as 'always',
  });
  const stats = await RedisStats.open(redis.url);
  const idle = await restRate(stats);
  const store = await openRedisStore({ url: redis.url, prefix: PREFIX });
  const admin = createClient({ url: redis.url });
  await admin.connect();
  const failures: unknown[] = [];
  const lifecycle = new Lifecycle(store, {
    strict: true,
    visitIdleMs: VISIT_IDLE_MS,
    onBackgroundError: (error) => failures.push(error),
  });
  let pageCommands = 0;
  lifecycle.onPageCommand(() => pageCommands++);
  const context = new VisitorContext(store, { identitySecret: null, tokenSecret: 'bench-shard-load-secret' });
  const presences = Array.from(
    { length: 8 },
    (_, i) =>
      new Presence(store, lifecycle, {
        nodeId: `bench-node-${i}`,
        // Beats come only from the heartbeat phase: no node may run out meanwhile and be reaped with its pages.
        ttlMs: 3_600_000,
        onReaped: () => failures.push(new Error('a benchmark node was reaped')),
        onError: (error) => failures.push(error),
      }),
  );
  const node = presences[0]!.node;

  const minus = (a: Rate, b: Rate): Rate => {
    const calls: Record<string, number> = {};
    for (const [name, n] of Object.entries(a.calls))
      if (n - (b.calls[name] ?? 0) > 0.01) calls[name] = n - (b.calls[name] ?? 0);
    return { calls, cpu: Math.max(0, a.cpu - b.cpu) };
  };

  /** Waits until the visits of the page views have ended (the deadline clock ends them once idle). */
  const visitsEnded = async () => {
    const started = now();
    while ((await admin.zCard(`${PREFIX}idle`)) > 0) {
      if (now() - started > 10_000) throw new Error('the visits did not end within 10 s');
      await sleep(50);
    }
  };

  try {
    // At rest first, before the clock was ever armed: the connection alone.
    const withConnection = await restRate(stats);
    await Promise.all(presences.map((p) => p.beat()));
    lifecycle.startDeadlines();
    const withClock = await restRate(stats);
    const feed = new EventFeed(store, { onError: (error) => failures.push(error) });
    await feed.start();
    feed.subscribe(() => {});
    const withFeed = await restRate(stats);
    feed.stop();
    const atRest = {
      connection: minus(withConnection, idle),
      clock: minus(withClock, withConnection),
      feed: minus(withFeed, withClock),
    };
    // What runs in the background during every phase below: the connection and the clock.
    const background = withClock;

    /** One unit of work, twice: under MONITOR for who sent what, then alone for commandstats and CPU. */
    const measure = async (
      what: Counts,
      op: (n: number, lane: number) => Promise<void>,
      settle: () => Promise<void> = async () => {},
    ): Promise<Cost> => {
      let n = 0;
      const run = async () => {
        await each(what.ops, what.inFlight, (_, lane) => op(n++, lane));
        await settle();
      };
      const monitored = await stats.countCommands(run);
      const restCalls = (name: string) => (background.calls[name] ?? 0) * monitored.seconds;
      const sent = Object.entries(monitored.sent)
        .filter(([name]) => !NOT_BECKON.has(name))
        .reduce((a, [name, c]) => a + Math.max(0, c - restCalls(name)), 0);
      // MONITOR slows Redis, which changes how often the clocks look: take only the split from it.
      const sentShare = sent / (sent + sum(monitored.inScripts) || 1);
      const passes: Cost[] = [];
      for (let pass = 0; pass < counts.passes; pass++) {
        const commandsBefore = pageCommands;
        const before = await reading(stats);
        await run();
        const after = await reading(stats);
        const done = between(before, after, background);
        const commands = sum(done.calls) / what.ops;
        passes.push({
          commands,
          sent: commands * sentShare,
          inScripts: commands * (1 - sentShare),
          byName: per(done.calls, what.ops),
          cpuUs: (done.cpu * 1e6) / what.ops,
          cpuUsPasses: [],
          scriptUs: done.scriptUsec / what.ops,
          events: (done.calls['xadd'] ?? 0) / what.ops,
          pageCommands: (pageCommands - commandsBefore) / what.ops,
          perSecond: what.ops / done.seconds,
          busy: done.cpu / done.seconds,
        });
      }
      // The pass of median CPU stands for all: a busy machine slows single passes, not the middle one.
      const middle = [...passes].sort((a, b) => a.cpuUs - b.cpuUs)[Math.floor(passes.length / 2)]!;
      return { ...middle, cpuUsPasses: passes.map((pass) => pass.cpuUs) };
    };

    /** Work measured once, without MONITOR: `work` answers how many units it did. */
    const measureOnce = async (work: () => Promise<number>): Promise<Cost> => {
      const before = await reading(stats);
      const units = await work();
      const after = await reading(stats);
      const done = between(before, after, background);
      return {
        commands: sum(done.calls) / units,
        sent: Number.NaN,
        inScripts: Number.NaN,
        byName: per(done.calls, units),
        cpuUs: (done.cpu * 1e6) / units,
        cpuUsPasses: [(done.cpu * 1e6) / units],
        scriptUs: done.scriptUsec / units,
        events: 0,
        pageCommands: 0,
        perSecond: units / done.seconds,
        busy: done.cpu / done.seconds,
      };
    };
    // Webhooks turned on now: the outbox takes every event recorded from here on.
    const webhookQueue = { types: null, maxAgeMs: 86_400_000, limit: 500 };
    await store.queueWebhookEvents({ ...webhookQueue, now: Date.now() });

    process.stderr.write('shard-load: page views…\n');
    const pageView = await measure(
      { ops: counts.pageViews, inFlight: counts.inFlight },
      async (n) => {
        const page = await lifecycle.enterPage(null, () => null, pageInfo(n), node);
        await lifecycle.session(page);
        if (!(await lifecycle.leavePage(page, node))) throw new Error('leavePage: the page was not open');
      },
      visitsEnded,
    );

    // Live pages for invitations and business events: each lane has pages of its own, so that strict
    // mode (one attempt in progress per visit) never refuses one.
    const lanesPages: PageIdentity[][] = [];
    for (let lane = 0; lane < counts.inFlight; lane++) {
      const pages: PageIdentity[] = [];
      for (let i = 0; i < 4; i++) pages.push(await lifecycle.enterPage(null, () => null, pageInfo(i), node));
      lanesPages.push(pages);
    }
    const laneUse = lanesPages.map(() => 0);
    const nextPage = (lane: number) => {
      const pages = lanesPages[lane]!;
      const use = laneUse[lane]!;
      laneUse[lane] = use + 1;
      return pages[use % pages.length]!;
    };

    process.stderr.write('shard-load: navigations…\n');
    const navigation = await measure({ ops: counts.pageViews, inFlight: counts.inFlight }, async (n, lane) => {
      const { globalVisitId, visitId } = nextPage(lane);
      const page = await lifecycle.enterPage({ globalVisitId, visitId }, () => null, pageInfo(n), node);
      if (page.visitId !== visitId) throw new Error('enterPage: the visit did not resume');
      await lifecycle.session(page);
      if (!(await lifecycle.leavePage(page, node))) throw new Error('leavePage: the page was not open');
    });

    process.stderr.write('shard-load: invitations…\n');
    const invitation = await measure({ ops: counts.invitations, inFlight: counts.inFlight }, async (_, lane) => {
      const page = nextPage(lane);
      const interactionId = `bench-${randomUUID()}`;
      const created = await lifecycle.engage(
        ixnProfileSchema.parse({ interactionId, visitId: page.visitId, invitation: { title: 'Need a hand?' } }),
      );
      if (created.shownPageId !== page.pageId) throw new Error('engage: not placed on the page');
      await lifecycle.markShown(interactionId, page.visitId, page.pageId);
      await lifecycle.answer(interactionId, page.visitId, page.pageId, 'declined', undefined);
    });

    process.stderr.write('shard-load: business events…\n');
    const businessEvent = await measure({ ops: counts.events, inFlight: counts.inFlight }, (n, lane) =>
      context.track(nextPage(lane), cartEvent(n)),
    );

    process.stderr.write('shard-load: heartbeats…\n');
    const heartbeat = await measure({ ops: counts.heartbeats, inFlight: presences.length }, async (_, lane) => {
      const presence = presences[lane]!;
      await presence.beat();
      await presence.reap();
    });

    process.stderr.write('shard-load: rounds of what runs at rest…\n');
    const rounds = { ops: counts.events, inFlight: counts.inFlight };
    const watchdog = await measure(rounds, async () => void (await admin.time()));
    // As the clock does each second with nothing due: when is the next deadline, is anything due.
    const clockRound = await measure(rounds, async () => {
      await store.nextDeadline(VISIT_IDLE_MS);
      if ((await store.dueDeadlines(Date.now(), VISIT_IDLE_MS)).length > 0) throw new Error('a deadline was due');
    });
    const top = await store.lastEventSeq();
    // As the feed does each second with a subscriber and nothing new: the events after the last one read.
    const feedPoll = await measure(rounds, async () => {
      if ((await store.eventsAfter(top, { types: null, visitId: null }, 500)).length > 0)
        throw new Error('a new event');
    });

    process.stderr.write('shard-load: reading the log…\n');
    const logged = Number((await admin.xLen(`${PREFIX}log`)) ?? 0);
    const feedRead = await measure({ ops: 1, inFlight: 1 }, async () => {
      let after = 0;
      for (;;) {
        const events = await store.eventsAfter(after, { types: null, visitId: null }, 500);
        if (events.length === 0) return;
        after = events[events.length - 1]!.seq;
      }
    });
    const perEvent = (cost: Cost): Cost => ({
      ...cost,
      commands: cost.commands / logged,
      sent: cost.sent / logged,
      inScripts: cost.inScripts / logged,
      byName: per(cost.byName, logged),
      cpuUs: cost.cpuUs / logged,
      cpuUsPasses: cost.cpuUsPasses.map((us) => us / logged),
      scriptUs: 0,
      perSecond: cost.perSecond * logged,
    });

    process.stderr.write('shard-load: webhooks…\n');
    const queued = await measureOnce(async () => {
      let moved = 0;
      for (;;) {
        const scanned = await store.queueWebhookEvents({ ...webhookQueue, now: Date.now() });
        moved += scanned;
        if (scanned < webhookQueue.limit) return moved;
      }
    });
    // As the sender does it (src/backend/webhooks/sender.ts): up to 8 in flight, the receiver answering at once.
    const delivered = await measureOnce(async () => {
      let done = 0;
      while (done < counts.deliveries) {
        const now = Date.now();
        const claimed = await store.claimWebhookDeliveries(now, now + 15_000, 8);
        if (claimed.length === 0) throw new Error('webhooks: nothing left to claim');
        await Promise.all(claimed.map((delivery) => store.webhookDelivered(delivery.event.seq)));
        done += claimed.length;
      }
      return done;
    });

    process.stderr.write('shard-load: the prototypes of the plan…\n');
    const proto = createClient({ url: redis.url });
    await proto.connect();
    const sha = async (name: string) => proto.scriptLoad(prototype(name.replace(/\.lua$/, '')));
    const claimSha = await sha('directory-claim.lua');
    const reserveSha = await sha('coordinator-reserve.lua');
    const releaseSha = await sha('coordinator-release.lua');
    const directory = await measure({ ops: counts.invitations * 2, inFlight: counts.inFlight }, async () => {
      const id = `bench-${randomUUID()}`;
      const reply = (await proto.evalSha(claimSha, {
        keys: [`${PREFIX}{p3}:ix:${id}`, `${PREFIX}{p3}:a:${id}`],
        arguments: [`visit-${id}`],
      })) as string[];
      if (reply[0] !== 'ok') throw new Error(`directory claim: ${reply[0]}`);
    });
    const loadKey = `${PREFIX}{ch:chat}:channels:load`;
    const leasesKey = `${PREFIX}{ch:chat}:leases`;
    // A fresh capacity report with more free slots than the run can use: every reservation is decided and granted.
    await admin.hSet(loadKey, { 'fs:chat': '1000000', 'ra:chat': String(Date.now()) });
    const coordinator = await measure({ ops: counts.invitations * 2, inFlight: counts.inFlight }, async (n) => {
      const id = `bench-${randomUUID()}`;
      const at = Date.now();
      const reserved = (await proto.evalSha(reserveSha, {
        keys: [loadKey, leasesKey],
        arguments: [id, String(at), String(at + 120_000), '20', ...PACED_CHAT],
      })) as string[];
      if (reserved[0] !== 'ok') throw new Error(`reservation: ${reserved.join(' ')}`);
      const released = await proto.evalSha(releaseSha, {
        keys: [loadKey, leasesKey],
        arguments: [id, 'chat', n % 5 === 0 ? 'accepted' : 'declined', '200'],
      });
      if (released !== 1) throw new Error('release: the reservation was gone');
    });

    process.stderr.write('shard-load: page commands between nodes…\n');
    const adapterOn = async (nodes: number) => {
      const clients = await Promise.all(
        Array.from({ length: nodes }, async () => {
          const client = createClient({ url: redis.url });
          await client.connect();
          return client;
        }),
      );
      const servers = clients.map(
        (client) =>
          new Server({
            adapter: createAdapter(client, {
              streamName: `${PREFIX}socket.io`,
              channelPrefix: `${PREFIX}socket.io`,
              sessionKeyPrefix: `${PREFIX}sio:session:`,
              onlyPlaintext: true,
            }),
          }),
      );
      // Every node's blocking read must be waiting before the first entry.
      await sleep(500);
      try {
        const cost = await measure({ ops: 1, inFlight: 1 }, async () => {
          await paced(emits, counts.emitRate, (n) => servers[0]!.to(`page:${n}`).emit('invitation:start', OFFER));
          // The readers' last XREAD returns.
          await sleep(300);
        });
        return { ...cost, ...perUnit(cost, emits) };
      } finally {
        // A server that never listened has no engine to close: its adapter is what holds connections.
        for (const server of servers) void server.of('/').adapter.close();
        await Promise.all(clients.map((client) => client.close().catch(() => {})));
      }
    };
    // One second of page commands at the rate, per pass; on a node alone, then on several.
    const emits = counts.emitRate;
    const [few, many] = ADAPTER_NODES;
    const alone = await adapterOn(few);
    const shared = await adapterOn(many);
    const cpuUsPerNode = Math.max(0, (shared.cpuUs - alone.cpuUs) / (many - few));
    const adapter = {
      xadd: shared.byName['xadd'] ?? 0,
      xreadPerNode: (shared.byName['xread'] ?? 0) / many,
      cpuUsBase: Math.max(0, alone.cpuUs - few * cpuUsPerNode),
      cpuUsPerNode,
      rate: counts.emitRate,
    };

    const subscriber = proto.duplicate();
    await subscriber.connect();
    let received = 0;
    await subscriber.sSubscribe(`${PREFIX}node:frontend-1`, () => received++);
    const message = JSON.stringify(OFFER);
    const spublishRun = await measure({ ops: 1, inFlight: 1 }, async () => {
      await paced(emits, counts.emitRate, () => void proto.sPublish(`${PREFIX}node:frontend-1`, message));
      await sleep(300);
    });
    const sentInAll = emits * (counts.passes + 1);
    if (received !== sentInAll) throw new Error(`SPUBLISH: ${received} of ${sentInAll} received`);
    const spublish = { ...spublishRun, ...perUnit(spublishRun, emits) };
    await subscriber.close();
    await proto.close();

    // A page command as the nodes send it: a start (the page's holder looked up) and a settle (the holders
    // of the visit's open pages) in turn, each published to the node that holds the page, which hears it.
    const holder = { nodeId: 'frontend-1', bootId: 'boot-1' };
    const held: { visitId: string; pageId: string }[] = [];
    for (let i = 0; i < 200; i++) {
      const page = { visitId: `held-visit-${i}`, pageId: `held-page-${i}` };
      await store.startVisit({ visitId: page.visitId, globalVisitId: `held-browser-${i}` }, Date.now());
      await store.openPage({ ...page, info: pageInfo(i), node: holder }, Date.now());
      held.push(page);
    }
    const fanouts = await Promise.all(
      [0, 1].map(() => openFanout(redis.url, PREFIX, { onError: (error) => failures.push(error) })),
    );
    let heard = 0;
    const nodeOf = (fanout: (typeof fanouts)[number], self: string | null, here: () => void) =>
      new AddressedPageCommands({
        store,
        fanout,
        self,
        delivery: { here, everywhere: () => failures.push(new Error('a page command went through the adapter')) },
        onError: (error) => failures.push(error),
      });
    const backend = nodeOf(fanouts[0]!, null, () => {});
    await nodeOf(fanouts[1]!, holder.nodeId, () => heard++).listen();
    const commandOf = (n: number): PageCommand => {
      const page = held[n % held.length]!;
      return n % 2 === 0
        ? { kind: 'start', pageId: page.pageId, offer: OFFER }
        : { kind: 'settled', visitId: page.visitId, interactionId: OFFER.interactionId, state: 'declined' };
    };
    const addressedRun = await measure({ ops: 1, inFlight: 1 }, async () => {
      await paced(emits, counts.emitRate, (n) => backend.send(commandOf(n)));
      await sleep(300);
    });
    if (heard !== sentInAll) throw new Error(`addressed: ${heard} of ${sentInAll} heard`);
    const addressed = { ...addressedRun, ...perUnit(addressedRun, emits) };
    for (const fanout of fanouts) await fanout.close();

    if (failures.length > 0) throw failures[0];
    return {
      pageView,
      navigation,
      invitation,
      businessEvent,
      heartbeat,
      rest: { idle, atRest, watchdog, clockRound, feedPoll },
      feedRead: perEvent(feedRead),
      webhookQueue: queued,
      webhookDelivery: delivered,
      directory,
      coordinator,
      adapter,
      spublish,
      addressed,
    };
  } finally {
    lifecycle.stopDeadlines();
    await Promise.all(presences.map((p) => p.stop()));
    await store.close().catch(() => {});
    await admin.close().catch(() => {});
    await stats.close().catch(() => {});
    await redis.dispose();
  }
}

/** A cost measured over `units` units at once, per unit. */
function perUnit(cost: Cost, units: number): Partial<Cost> {
  return {
    commands: cost.commands / units,
    sent: cost.sent / units,
    inScripts: cost.inScripts / units,
    byName: per(cost.byName, units),
    cpuUs: cost.cpuUs / units,
    cpuUsPasses: cost.cpuUsPasses.map((us) => us / units),
    perSecond: cost.perSecond * units,
  };
}

/**
 * Calls `op` `count` times at `perSecond`, each as soon as it is due (a timer
 * turn is about a millisecond): engages arrive one by one, and bursts would
 * let every reader take several entries per XREAD, fewer reads than a real
 * stream of engages makes.
 */
async function paced(count: number, perSecond: number, op: (n: number) => void): Promise<void> {
  const started = now();
  let sent = 0;
  while (sent < count) {
    const due = Math.min(count, Math.floor(((now() - started) / 1000) * perSecond) + 1);
    while (sent < due) op(sent++);
    await sleep(1);
  }
}

// ── the report ───────────────────────────────────────────────────────────────

function costRow(name: string, c: Cost, unit: string): Row {
  const split = Number.isNaN(c.sent) ? '' : ` (${fmt(c.sent, 1)} sent, ${fmt(c.inScripts, 1)} in scripts)`;
  const passes = c.cpuUsPasses.length > 1 ? ` (passes: ${c.cpuUsPasses.map((us) => fmt(us, 0)).join(', ')})` : '';
  return {
    measure: name,
    value: `${fmt(c.commands, 1)} commands${split}, ${fmt(c.cpuUs, 0)} µs of Redis CPU${passes}`,
    note: `${fmt(c.scriptUs, 0)} µs inside scripts; ${fmt(c.events, 1)} events logged; ${fmt(c.perSecond, 0)} ${unit}/s with Redis' main thread ${fmt(c.busy * 100, 0)} % busy`,
  };
}

function shardTable(m: Measured, x: ModelInputs, shards: number[]): string {
  const head = [
    'layout',
    'commands/s per shard (others / hottest)',
    'Redis CPU per shard, % of a core (others / hottest)',
    `invitations at ×${x.peak}: CPU per shard (others / hottest)`,
    'with a webhook for every event: CPU per shard (others / hottest)',
    `${PAGES_PER_VISIT_TOO} page views per visit: CPU per shard (others / hottest)`,
  ];
  const pct = (cores: number) => fmt(cores * 100, 0);
  const body = [0, ...shards].map((s) => {
    const avg = shardLoad(m, x, s, false);
    const top = shardLoad(m, x, s, true);
    const hooked = shardLoad(m, x, s, false, 1);
    const browsing = shardLoad(m, x, s, false, x.webhookShare, PAGES_PER_VISIT_TOO);
    const layout = s === 0 ? 'today: one Redis' : `${s} shard${s > 1 ? 's' : ''}, ${x.partitions} partitions`;
    // Today there is one Redis: everything is on the hottest.
    const pair = (a: number, b: number, f: (n: number) => string) => (s === 0 ? f(b) : `${f(a)} / ${f(b)}`);
    return [
      layout,
      pair(avg.even.commands, avg.hottest.commands, (n) => fmt(n, 0)),
      pair(avg.even.cpu, avg.hottest.cpu, pct),
      pair(top.even.cpu, top.hottest.cpu, pct),
      pair(hooked.even.cpu, hooked.hottest.cpu, pct),
      pair(browsing.even.cpu, browsing.hottest.cpu, pct),
    ];
  });
  return markdownTable(head, body);
}

function modelInputs(): ModelInputs {
  return {
    pages: envInt('BENCH_MODEL_PAGES', 1_000_000),
    pageSeconds: envInt('BENCH_MODEL_PAGE_SECONDS', 300),
    invitationsPerPageHour: envInt('BENCH_MODEL_INVITATIONS_PER_PAGE_HOUR', 1),
    peak: envInt('BENCH_MODEL_PEAK', 3),
    eventsPerPageView: envInt('BENCH_MODEL_EVENTS_PER_PAGE_VIEW', 1),
    frontends: envInt('BENCH_MODEL_FRONTENDS', 52),
    backends: envInt('BENCH_MODEL_BACKENDS', 2),
    partitions: envInt('BENCH_MODEL_PARTITIONS', 16),
    heartbeatSeconds: 5,
    webhookShare: 0,
    pagesPerVisit: envInt('BENCH_MODEL_PAGES_PER_VISIT', 1),
  };
}

async function runShardLoad(): Promise<BenchResult> {
  const started = now();
  const counts = {
    pageViews: envInt('BENCH_SHARD_PAGE_VIEWS', 1500),
    invitations: envInt('BENCH_SHARD_INVITATIONS', 800),
    events: envInt('BENCH_SHARD_EVENTS', 3000),
    heartbeats: envInt('BENCH_SHARD_HEARTBEATS', 300),
    inFlight: envInt('BENCH_CONNECTIONS', 32),
    emitRate: envInt('BENCH_SHARD_EMIT_RATE', 1000),
    deliveries: envInt('BENCH_SHARD_DELIVERIES', 2000),
    passes: envInt('BENCH_SHARD_PASSES', 3),
  };
  const shards = envInts('BENCH_SHARDS', [1, 2, 4, 8]);
  const x = modelInputs();
  const m = await measureAll(counts);

  const rows: Row[] = [
    costRow('a page view (a new visit: entered, left, ended)', m.pageView, 'page views'),
    costRow('a page view of a live visit (a navigation)', m.navigation, 'page views'),
    costRow('an invitation (engage, shown, declined)', m.invitation, 'invitations'),
    costRow('a business event', m.businessEvent, 'events'),
    costRow('a heartbeat round of one node (beat, reap)', m.heartbeat, 'rounds'),
    costRow('reading the log, per event and reader', m.feedRead, 'events'),
    costRow('a webhook: the event moved into the outbox (500 a script)', m.webhookQueue, 'events'),
    costRow('a webhook: claimed and delivered (8 in flight)', m.webhookDelivery, 'deliveries'),
    costRow('plan: the directory claim of an engage (prototype)', m.directory, 'claims'),
    costRow('plan: a paced invitation on its coordinator, reserve + release (prototype)', m.coordinator, 'invitations'),
    costRow(`plan: a page command by SPUBLISH to its node, at ${counts.emitRate}/s`, m.spublish, 'commands'),
    costRow(
      `today: a page command to the node holding its page (holder looked up, PUBLISH), at ${counts.emitRate}/s`,
      m.addressed,
      'commands',
    ),
    {
      measure: `before: a page command through the adapter's stream, at ${m.adapter.rate}/s`,
      value: `${fmt(m.adapter.xadd, 2)} XADD + ${fmt(m.adapter.xreadPerNode, 2)} XREAD per node; ${fmt(m.adapter.cpuUsBase, 0)} µs + ${fmt(m.adapter.cpuUsPerNode, 0)} µs per node of Redis CPU`,
      note: `measured on ${ADAPTER_NODES.join(' and ')} nodes`,
    },
    {
      measure: 'at rest: Redis with no client (its own timers)',
      value: `${fmt(m.rest.idle.cpu * 1e6, 0)} µs/s of Redis CPU`,
    },
    ...(['connection', 'clock', 'feed'] as const).map((part) => ({
      measure: `at rest: ${{ connection: 'a store connection (its watchdog)', clock: 'an armed deadline clock', feed: 'an event feed with a subscriber' }[part]}`,
      value: `${fmt(rateSum(m.rest.atRest[part]), 2)} commands/s`,
      note: Object.entries(m.rest.atRest[part].calls)
        .map(([name, n]) => `${name} ${fmt(n, 2)}/s`)
        .join(', '),
    })),
    costRow("the watchdog's probe (TIME), under load", m.rest.watchdog, 'probes'),
    costRow(
      "the deadline clock's round with nothing due (nextDeadline, dueDeadlines), under load",
      m.rest.clockRound,
      'rounds',
    ),
    costRow("the event feed's poll with nothing new (eventsAfter), under load", m.rest.feedPoll, 'polls'),
  ];
  const core = (c: Cost) => fmt(1e6 / c.cpuUs, 0);
  const today = shardLoad(m, x, 0, false).hottest.cpu;
  const planOne = shardLoad(m, x, 1, false).hottest.cpu;
  rows.push({
    measure: 'one Redis core (main thread) at the measured CPU per unit',
    value: `${core(m.pageView)} page views/s, or ${core(m.invitation)} invitations/s, or ${core(m.businessEvent)} business events/s`,
    note: `the model's mix: ${fmt(x.pages / today, 0)} connected pages per core today, ${fmt(x.pages / planOne, 0)} with the plan's layout`,
  });
  const table = shardTable(m, x, shards);
  const breakdownShards = shards.includes(4) ? 4 : shards[shards.length - 1]!;
  const breakdown = breakdownTable(m, x, breakdownShards);
  process.stdout.write(
    `\nRedis load per shard at ${fmt(x.pages, 0)} connected pages (${x.pageSeconds} s page views, ${x.pagesPerVisit} a visit; ` +
      `${x.invitationsPerPageHour} invitation per page and hour, ×${x.peak} at the peak; ${x.eventsPerPageView} business event per page view; ` +
      `${x.frontends} frontends, ${x.backends} backends):\n\n${table}\n\nWhere the CPU goes (average load):\n\n${breakdown}\n`,
  );
  return {
    name: 'Redis load per shard',
    rows,
    data: { counts, inputs: x, measured: m, table, breakdown },
    seconds: (now() - started) / 1000,
  };
}

await runAsScript(import.meta.url, 'shard-load', 170, runShardLoad, { build: false });
