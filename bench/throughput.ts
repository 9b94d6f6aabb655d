/**
 * Throughput: sustained engage calls per second (autocannon), each to the
 * next of many connected visits, with every invitation confirmed delivered:
 * the simulated pages count the server's `delivered` acknowledgements, and a
 * 200 whose invitation never arrived is reported as lost (a failure, not a
 * statistic). In the same run, the same tool against two floors on this
 * machine: a bare Fastify route, and a bare socket.io room emit to pages that
 * acknowledge the same way. Each server runs alone, one after the other.
 *
 * Strict mode stays on (the default): each page declines right after it
 * acknowledges, which frees its visit long before the round robin comes back
 * to it; a call that finds its visit still busy would be counted as refused.
 *
 *   npm run bench:throughput     BENCH_SECONDS=8 BENCH_CONNECTIONS=16 BENCH_VISITS=2000
 *   (BENCH_THROUGHPUT_TARGETS=beckon BENCH_SERVER_DIST=<a copy of dist/server> for before/after runs)
 *   (BENCH_BEFORE_DIST=<another build's dist/server>: each Beckon row also measured on that build first, same run)
 *
 * Every row shows its rate as a share of the bare socket.io floor (and of
 * bare Fastify), and the CPU time the server processes (and redis-server)
 * spent per answered call during the measured load: on a shared machine the
 * rates move with the other jobs, the CPU per call far less.
 *
 * Beside them, the ceiling the store sets: Beckon's SQLite store alone doing
 * the three writes of one invitation, with no HTTP and no sockets, one
 * invitation at a time and with as many in flight as there are connections.
 *
 * And the same on Redis (REDIS_URL), in the same run, so that the cost of
 * Redis is a ratio: Beckon engage on a redis-server of its own (AOF,
 * appendfsync always: what docs/operations.md recommends), and the Redis store alone;
 * and Beckon as a cluster on one redis-server (one backend taking the engage
 * calls, two frontends holding the pages, half each), `beckon-cluster`.
 *
 * What pacing costs per engage (docs/pacing.md), on each store, as ratios
 * of the same run: `beckon-paced` and `beckon-redis-paced` measure, on the
 * same server and pages right after the unpaced load, engage with the
 * engaged channel paced (progressive, capacity reported large enough never
 * to refuse, so every create decides on the channel's counts and every
 * answer updates them) and unpaced, in BENCH_PACED_BLOCKS blocks (1 by
 * default) of paced, unpaced, unpaced, paced, so that a steady drift of the
 * run weighs the same on both; the first, unpaced load is the row above and
 * is left out of the ratio (it carries the server's warm-up). `store-paced`
 * and `store-redis-paced` run the store alone with the channel paced.
 */
import { cpuMs } from './lib/cpu.js';
import { PageFleet } from './lib/pages.js';
import { storeFloor, type StoreFloor } from './lib/store-floor.js';
import { engageLoad, type LoadResult } from './lib/load.js';
import { paceEngagedChannel } from './lib/engage.js';
import { runAsScript, type BenchResult } from './lib/report.js';
import { startBaseline, startBeckon, type ServerHandle } from './lib/server.js';
import { startTopology, type Topology } from './lib/topology.js';
import { envInt, fmt, now, sleep, type Row } from './lib/stats.js';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { startRedisServer } from '../test/redis-server.js';

interface Target {
  name: string;
  load: LoadResult;
  /** 200 answers (warm-up included) whose invitation was confirmed delivered, and those that were not. */
  delivered?: number;
  lost?: number;
  pageFailures?: number;
  /**
   * On the same server and pages right after `load`: phases of engage with
   * the engaged channel paced and unpaced, in blocks of paced, unpaced,
   * unpaced, paced, so that a steady drift of the run (the server warming
   * up, the database growing) weighs the same on both.
   */
  paced?: { loads: LoadResult[]; delivered: number; lost: number; unpaced: LoadResult[] };
  /**
   * CPU time per answered call during the measured load (not the warm-up),
   * in µs: of the server processes, and of the redis-server. On a shared
   * machine this moves far less than the rate does.
   */
  cpu?: { serverUs: number; mainUs: number; redisUs: number | null };
}

/** A bare server (one URL for calls and pages), or a Beckon topology (calls to its backend, pages on its frontends). */
function targetOf(server: ServerHandle | Topology): {
  apiUrl: string;
  pageUrls: string[];
  /** The server processes, and the redis-server if there is one: their CPU time is what an engage costs. */
  pids: { servers: number[]; redis: number | null };
  stop(): Promise<void>;
} {
  if ('apiUrl' in server) {
    const servers = [...new Set([server.backend.pid, ...server.frontends.map((f) => f.pid)])];
    return { ...server, pids: { servers, redis: server.redis?.pid() ?? null } };
  }
  return {
    apiUrl: server.url,
    pageUrls: [server.url],
    pids: { servers: [server.pid], redis: null },
    stop: () => server.stop(),
  };
}

async function measure(
  name: string,
  serverOrTopology: ServerHandle | Topology,
  visits: number,
  options: {
    seconds: number;
    warmupSeconds: number;
    connections: number;
    pages: boolean;
    /** Blocks of paced, unpaced, unpaced, paced phases after the first load (0: none). */
    pacedBlocks?: number;
  },
): Promise<Target> {
  const server = targetOf(serverOrTopology);
  const fleet = new PageFleet(server.pageUrls);
  try {
    let visitIds: string[];
    if (options.pages) {
      await fleet.add(visits, { mode: 'responder', wantVisitIds: true, perProcess: Math.ceil(visits / 2) });
      if (fleet.connected < visits) throw new Error(`${name}: only ${fleet.connected} of ${visits} pages connected`);
      visitIds = fleet.visitIds;
    } else {
      visitIds = Array.from({ length: visits }, () => randomBytes(16).toString('base64url'));
    }
    const common = { url: server.apiUrl, visitIds, connections: options.connections };
    let expected = 0;
    let counted = 0;
    let lostBefore = 0;
    /** A warm-up and a measured load; with pages, every 200 since the last phase matched by a delivery. */
    const phase = async (warmPrefix: string, prefix: string) => {
      const warm = await engageLoad({ ...common, prefix: warmPrefix, seconds: options.warmupSeconds });
      const cpuBefore = server.pids.servers.map((pid) => cpuMs(pid));
      const mainBefore = server.pids.servers.map((pid) => cpuMs(pid, true));
      const redisBefore = server.pids.redis === null ? null : cpuMs(server.pids.redis);
      const load = await engageLoad({ ...common, prefix, seconds: options.seconds });
      const serverMs = server.pids.servers.reduce((total, pid, i) => total + cpuMs(pid) - cpuBefore[i]!, 0);
      const mainMs = server.pids.servers.reduce((total, pid, i) => total + cpuMs(pid, true) - mainBefore[i]!, 0);
      const cpu = {
        serverUs: (1000 * serverMs) / Math.max(1, load.ok),
        mainUs: (1000 * mainMs) / Math.max(1, load.ok),
        redisUs:
          redisBefore === null ? null : (1000 * (cpuMs(server.pids.redis!) - redisBefore)) / Math.max(1, load.ok),
      };
      if (!options.pages) return { load, cpu, delivered: 0, lost: 0, failures: 0 };
      expected += warm.ok + load.ok;
      // Give the last invitations time to travel and be acknowledged, but not forever.
      let stats = await fleet.stats();
      for (let waited = 0; stats.delivered + stats.failures < expected && waited < 15_000; waited += 250) {
        await sleep(250);
        stats = await fleet.stats();
      }
      const delivered = stats.delivered - counted;
      counted = stats.delivered;
      const lostNow = Math.max(0, expected - stats.delivered);
      const lost = lostNow - lostBefore;
      lostBefore = lostNow;
      if (stats.failureSamples.length) process.stderr.write(`${name}: ${stats.failureSamples.join('; ')}\n`);
      return { load, cpu, delivered, lost, failures: stats.failures };
    };
    const first = await phase(`warm-${name}`, `tp-${name}`);
    const target: Target = { name, load: first.load, cpu: first.cpu };
    if (options.pages) {
      target.delivered = first.delivered;
      target.lost = first.lost;
      target.pageFailures = first.failures;
    }
    let configured = false;
    let n = 0;
    for (let block = 0; block < (options.pacedBlocks ?? 0); block++) {
      for (const paced of [true, false, false, true]) {
        if (paced !== configured) await paceEngagedChannel(server.apiUrl, paced);
        configured = paced;
        const kind = paced ? 'paced' : 'unpaced';
        const result = await phase(`warm-${kind}${n}-${name}`, `tp-${kind}${n}-${name}`);
        n++;
        target.paced ??= { loads: [], delivered: 0, lost: 0, unpaced: [] };
        (paced ? target.paced.loads : target.paced.unpaced).push(result.load);
        if (paced) {
          target.paced.delivered += result.delivered;
          target.paced.lost += result.lost;
        }
      }
    }
    return target;
  } finally {
    await fleet.close();
    await server.stop();
  }
}

/**
 * The row of the paced phases: their mean rate beside the mean of the
 * unpaced phases between them on the same server and pages, so that the
 * ratio is what pacing costs.
 */
function pacedRow(t: Target, paced: NonNullable<Target['paced']>): Row {
  const rate = (l: LoadResult) => l.requestsPerSecond;
  const mean = (loads: LoadResult[]) => loads.reduce((total, l) => total + rate(l), 0) / loads.length;
  const pacedRate = mean(paced.loads);
  const unpacedRate = mean(paced.unpaced);
  const list = (loads: LoadResult[]) => loads.map((l) => fmt(rate(l), 0)).join(', ');
  const faults: Record<string, number> = {};
  for (const l of paced.loads) for (const [code, n] of Object.entries(l.faults)) faults[code] = (faults[code] ?? 0) + n;
  const refused = Object.entries(faults)
    .map(([code, count]) => `${count} ${code}`)
    .join(', ');
  const errors = paced.loads.reduce((total, l) => total + l.errors, 0);
  const latency = (pick: (l: LoadResult) => number) => paced.loads.map(pick).join(', ');
  return {
    measure: `throughput: ${t.name}, chat paced (progressive)`,
    value: `${fmt(pacedRate, 0)} req/s (${fmt(pacedRate / unpacedRate, 2)}× unpaced on the same server, means of ${
      paced.loads.length
    } phases each; paced ${list(paced.loads)}, unpaced ${list(paced.unpaced)})`,
    note: `latency p50 ${latency((l) => l.latency.p50)} / p99 ${latency((l) => l.latency.p99)} ms; ${paced.delivered.toLocaleString(
      'en-US',
    )} delivered, ${paced.lost} lost${refused ? `; refused: ${refused}` : ''}${errors ? `; ${errors} errors` : ''}`,
  };
}

export async function runThroughput(): Promise<BenchResult> {
  const started = now();
  const options = {
    seconds: envInt('BENCH_SECONDS', 8),
    warmupSeconds: envInt('BENCH_WARMUP_SECONDS', 2),
    connections: envInt('BENCH_CONNECTIONS', 16),
  };
  const visits = envInt('BENCH_VISITS', 2000);
  // Blocks of paced, unpaced, unpaced, paced phases on the same server after its first load.
  const pacedBlocks = Math.max(1, envInt('BENCH_PACED_BLOCKS', 1));
  // BENCH_THROUGHPUT_TARGETS=beckon measures Beckon alone (for quick before/after runs; no ratio then).
  const only = new Set(
    (
      process.env.BENCH_THROUGHPUT_TARGETS ??
      'fastify,socketio,beckon,beckon-paced,beckon-redis,beckon-redis-paced,beckon-cluster,store,store-paced,store-redis,store-redis-paced'
    ).split(','),
  );
  const targets: Target[] = [];
  const fastify = only.has('fastify')
    ? await measure('bare Fastify route', await startBaseline('fastify'), visits, { ...options, pages: false })
    : null;
  if (fastify) targets.push(fastify);
  if (only.has('socketio')) {
    targets.push(
      await measure('bare socket.io room emit', await startBaseline('socketio'), visits, { ...options, pages: true }),
    );
  }
  // BENCH_BEFORE_DIST=<another build's dist/server>: each Beckon row is measured first on that build, in the
  // same run, as `… (before)`, so that a change is a ratio of one run.
  const beforeDist = process.env.BENCH_BEFORE_DIST ? resolve(process.env.BENCH_BEFORE_DIST) : null;
  const before = new Map<Target, Target>();
  const appendfsync = (process.env.BENCH_REDIS_APPENDFSYNC ?? 'always') as 'always' | 'everysec';
  const measureBefore = async (kind: 'sqlite' | 'redis' | 'cluster', name: string) => {
    if (beforeDist === null) return null;
    // The children read BENCH_SERVER_DIST when they start.
    const own = process.env.BENCH_SERVER_DIST;
    process.env.BENCH_SERVER_DIST = beforeDist;
    try {
      const server =
        kind === 'sqlite'
          ? await startBeckon()
          : await startTopology(kind, { prefix: `bench-tp-before-${kind}:`, appendfsync });
      return await measure(`${name} (before)`, server, visits, { ...options, pages: true });
    } finally {
      if (own === undefined) delete process.env.BENCH_SERVER_DIST;
      else process.env.BENCH_SERVER_DIST = own;
    }
  };
  const withBefore = async (kind: 'sqlite' | 'redis' | 'cluster', name: string, after: () => Promise<Target>) => {
    const old = await measureBefore(kind, name);
    if (old) targets.push(old);
    const target = await after();
    if (old) before.set(target, old);
    targets.push(target);
    return target;
  };

  // `…-paced`: the same server then measures engage with the engaged channel paced and unpaced, in blocks.
  const beckon =
    only.has('beckon') || only.has('beckon-paced')
      ? await withBefore('sqlite', 'Beckon engage', async () =>
          measure('Beckon engage', await startBeckon(), visits, {
            ...options,
            pages: true,
            pacedBlocks: only.has('beckon-paced') ? pacedBlocks : 0,
          }),
        )
      : null;

  // Beckon and its store on a redis-server of their own, stopped by PID when done (or failed).
  // BENCH_REDIS_APPENDFSYNC=everysec shows what the fsync before every reply costs.
  let beckonRedis: Target | null = null;
  let beckonCluster: Target | null = null;
  if (only.has('beckon-redis') || only.has('beckon-redis-paced')) {
    beckonRedis = await withBefore('redis', 'Beckon engage on Redis', async () =>
      measure('Beckon engage on Redis', await startTopology('redis', { prefix: 'bench-tp:', appendfsync }), visits, {
        ...options,
        pages: true,
        pacedBlocks: only.has('beckon-redis-paced') ? pacedBlocks : 0,
      }),
    );
  }
  if (only.has('beckon-cluster')) {
    beckonCluster = await withBefore('cluster', 'Beckon engage, cluster', async () => {
      const topology = await startTopology('cluster', { prefix: 'bench-tp-cluster:', appendfsync });
      return measure(`Beckon engage, ${topology.label}`, topology, visits, { ...options, pages: true });
    });
  }
  const redis =
    only.has('store-redis') || only.has('store-redis-paced') ? await startRedisServer({ appendfsync }) : null;
  let storeRedis: StoreFloor | null = null;
  let storeRedisPaced: StoreFloor | null = null;
  try {
    if (only.has('store-redis'))
      storeRedis = await storeFloor(options.seconds, options.connections, { redisUrl: redis!.url });
    if (only.has('store-redis-paced'))
      storeRedisPaced = await storeFloor(options.seconds, options.connections, { redisUrl: redis!.url, paced: true });
  } finally {
    await redis?.dispose();
  }

  const store = only.has('store') ? await storeFloor(options.seconds, options.connections) : null;
  const storePaced = only.has('store-paced')
    ? await storeFloor(options.seconds, options.connections, { redisUrl: null, paced: true })
    : null;

  const floor = fastify?.load.requestsPerSecond ?? Number.NaN;
  const socketFloor = targets.find((t) => t.name.includes('socket.io'))?.load.requestsPerSecond ?? Number.NaN;
  const rows: Row[] = targets.flatMap((t) => {
    const l = t.load;
    const refused = Object.entries(l.faults)
      .map(([code, count]) => `${count} ${code}`)
      .join(', ');
    const delivery =
      t.delivered === undefined ? 'no pages' : `${t.delivered.toLocaleString('en-US')} delivered, ${t.lost} lost`;
    const isBeckon = t === beckon || t === beckonRedis || t === beckonCluster;
    const onRedis = t === beckonRedis || t === beckonCluster;
    const old = before.get(t);
    const isSocketFloor = t.name.includes('socket.io');
    const cpu = t.cpu
      ? `; CPU per call: server ${fmt(t.cpu.serverUs, 0)} µs (main thread ${fmt(t.cpu.mainUs, 0)})${t.cpu.redisUs === null ? '' : `, redis-server ${fmt(t.cpu.redisUs, 0)} µs`}`
      : '';
    const row: Row = {
      measure: `throughput: ${t.name}`,
      value: `${fmt(l.requestsPerSecond, 0)} req/s (${
        isSocketFloor ? '' : `${fmt((100 * l.requestsPerSecond) / socketFloor, 0)} % of bare socket.io, `
      }${fmt((100 * l.requestsPerSecond) / floor, 0)} % of bare Fastify${
        old ? `, ${fmt(l.requestsPerSecond / old.load.requestsPerSecond, 2)}× before` : ''
      }${onRedis && beckon ? `, ${fmt(l.requestsPerSecond / beckon.load.requestsPerSecond, 2)}× Beckon on SQLite` : ''}${
        t === beckonCluster && beckonRedis
          ? `, ${fmt(l.requestsPerSecond / beckonRedis.load.requestsPerSecond, 2)}× one process on Redis`
          : ''
      })`,
      ...(isBeckon
        ? {
            target: '≥ 40 % of bare socket.io, all delivered',
            met: l.requestsPerSecond >= 0.4 * socketFloor && t.lost === 0 && l.non2xx === 0 && l.errors === 0,
          }
        : {}),
      note: `latency p50 ${l.latency.p50} / p99 ${l.latency.p99} ms; ${delivery}${refused ? `; refused: ${refused}` : ''}${l.errors ? `; ${l.errors} errors` : ''}${cpu}`,
    };
    return t.paced ? [row, pacedRow(t, t.paced)] : [row];
  });
  for (const [floorOf, kind, unpaced] of [
    [store, 'SQLite', null],
    [storePaced, 'SQLite', store],
    [storeRedis, 'Redis', null],
    [storeRedisPaced, 'Redis', storeRedis],
  ] as const) {
    if (!floorOf) continue;
    const paced = floorOf === storePaced || floorOf === storeRedisPaced;
    for (const part of ['alone', 'shared'] as const) {
      const run = floorOf[part];
      const sqlite = kind === 'SQLite';
      const ratio = unpaced ? `, ${fmt(run.cyclesPerSecond / unpaced[part].cyclesPerSecond, 2)}× unpaced` : '';
      rows.push({
        measure: `ceiling: Beckon's ${kind} store alone, ${run.inFlight === 1 ? 'one invitation at a time' : `${run.inFlight} invitations in flight`}${paced ? ', chat paced' : ''}`,
        value: `${fmt(run.cyclesPerSecond, 0)} invitations/s${ratio ? ` (${ratio.slice(2)})` : ''}`,
        note: `3 writes each, ${fmt(run.microsecondsPerWrite)} µs per write${
          sqlite
            ? `${run.inFlight === 1 ? ', each its own commit' : ', commits shared (group commit)'}; SQLite WAL, synchronous=NORMAL`
            : `; one Lua script each, AOF with appendfsync ${appendfsync}`
        }; no HTTP, no sockets`,
      });
    }
  }
  return {
    name: 'Throughput',
    rows,
    data: { ...options, visits, appendfsync, targets, store, storeRedis, storePaced, storeRedisPaced },
    seconds: (now() - started) / 1000,
  };
}

await runAsScript(import.meta.url, 'throughput', 420, runThroughput);
