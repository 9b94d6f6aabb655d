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
 */
import { PageFleet } from './lib/pages.js';
import { storeFloor } from './lib/store-floor.js';
import { engageLoad, type LoadResult } from './lib/load.js';
import { runAsScript, type BenchResult } from './lib/report.js';
import { startBaseline, startBeckon, type ServerHandle } from './lib/server.js';
import { startTopology, type Topology } from './lib/topology.js';
import { envInt, fmt, now, sleep, type Row } from './lib/stats.js';
import { randomBytes } from 'node:crypto';
import { startRedisServer } from '../test/redis-server.js';

interface Target {
  name: string;
  load: LoadResult;
  /** 200 answers (warm-up included) whose invitation was confirmed delivered, and those that were not. */
  delivered?: number;
  lost?: number;
  pageFailures?: number;
}

/** A bare server (one URL for calls and pages), or a Beckon topology (calls to its backend, pages on its frontends). */
function targetOf(server: ServerHandle | Topology): { apiUrl: string; pageUrls: string[]; stop(): Promise<void> } {
  return 'apiUrl' in server ? server : { apiUrl: server.url, pageUrls: [server.url], stop: () => server.stop() };
}

async function measure(
  name: string,
  serverOrTopology: ServerHandle | Topology,
  visits: number,
  options: { seconds: number; warmupSeconds: number; connections: number; pages: boolean },
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
    const warm = await engageLoad({ ...common, prefix: `warm-${name}`, seconds: options.warmupSeconds });
    const load = await engageLoad({ ...common, prefix: `tp-${name}`, seconds: options.seconds });
    const target: Target = { name, load };
    if (options.pages) {
      const expected = warm.ok + load.ok;
      // Give the last invitations time to travel and be acknowledged, but not forever.
      let stats = await fleet.stats();
      for (let waited = 0; stats.delivered + stats.failures < expected && waited < 15_000; waited += 250) {
        await sleep(250);
        stats = await fleet.stats();
      }
      target.delivered = stats.delivered;
      target.lost = Math.max(0, expected - stats.delivered);
      target.pageFailures = stats.failures;
      if (stats.failureSamples.length) process.stderr.write(`${name}: ${stats.failureSamples.join('; ')}\n`);
    }
    return target;
  } finally {
    await fleet.close();
    await server.stop();
  }
}

export async function runThroughput(): Promise<BenchResult> {
  const started = now();
  const options = {
    seconds: envInt('BENCH_SECONDS', 8),
    warmupSeconds: envInt('BENCH_WARMUP_SECONDS', 2),
    connections: envInt('BENCH_CONNECTIONS', 16),
  };
  const visits = envInt('BENCH_VISITS', 2000);
  // BENCH_THROUGHPUT_TARGETS=beckon measures Beckon alone (for quick before/after runs; no ratio then).
  const only = new Set(
    (
      process.env.BENCH_THROUGHPUT_TARGETS ?? 'fastify,socketio,beckon,beckon-redis,beckon-cluster,store,store-redis'
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
  const beckon = only.has('beckon')
    ? await measure('Beckon engage', await startBeckon(), visits, { ...options, pages: true })
    : null;
  if (beckon) targets.push(beckon);

  // Beckon and its store on a redis-server of their own, stopped by PID when done (or failed).
  // BENCH_REDIS_APPENDFSYNC=everysec shows what the fsync before every reply costs.
  const appendfsync = (process.env.BENCH_REDIS_APPENDFSYNC ?? 'always') as 'always' | 'everysec';
  let beckonRedis: Target | null = null;
  let beckonCluster: Target | null = null;
  if (only.has('beckon-redis')) {
    const topology = await startTopology('redis', { prefix: 'bench-tp:', appendfsync });
    beckonRedis = await measure('Beckon engage on Redis', topology, visits, { ...options, pages: true });
    targets.push(beckonRedis);
  }
  if (only.has('beckon-cluster')) {
    const topology = await startTopology('cluster', { prefix: 'bench-tp-cluster:', appendfsync });
    beckonCluster = await measure(`Beckon engage, ${topology.label}`, topology, visits, { ...options, pages: true });
    targets.push(beckonCluster);
  }
  const redis = only.has('store-redis') ? await startRedisServer({ appendfsync }) : null;
  let storeRedis: Awaited<ReturnType<typeof storeFloor>> | null = null;
  try {
    if (only.has('store-redis'))
      storeRedis = await storeFloor(options.seconds, options.connections, { redisUrl: redis!.url });
  } finally {
    await redis?.dispose();
  }

  const store = only.has('store') ? await storeFloor(options.seconds, options.connections) : null;

  const floor = fastify?.load.requestsPerSecond ?? Number.NaN;
  const socketFloor = targets.find((t) => t.name.includes('socket.io'))?.load.requestsPerSecond ?? Number.NaN;
  const rows: Row[] = targets.map((t) => {
    const l = t.load;
    const refused = Object.entries(l.faults)
      .map(([code, count]) => `${count} ${code}`)
      .join(', ');
    const delivery =
      t.delivered === undefined ? 'no pages' : `${t.delivered.toLocaleString('en-US')} delivered, ${t.lost} lost`;
    const isBeckon = t === beckon;
    const onRedis = t === beckonRedis || t === beckonCluster;
    return {
      measure: `throughput: ${t.name}`,
      value: `${fmt(l.requestsPerSecond, 0)} req/s (${fmt((100 * l.requestsPerSecond) / floor, 0)} % of bare Fastify${
        isBeckon || onRedis ? `, ${fmt((100 * l.requestsPerSecond) / socketFloor, 0)} % of bare socket.io` : ''
      }${onRedis && beckon ? `, ${fmt(l.requestsPerSecond / beckon.load.requestsPerSecond, 2)}× Beckon on SQLite` : ''}${
        t === beckonCluster && beckonRedis
          ? `, ${fmt(l.requestsPerSecond / beckonRedis.load.requestsPerSecond, 2)}× one process on Redis`
          : ''
      })`,
      ...(isBeckon
        ? {
            target: '≥ 50 % of bare Fastify, all delivered',
            met: l.requestsPerSecond >= floor / 2 && t.lost === 0 && l.non2xx === 0 && l.errors === 0,
          }
        : {}),
      note: `latency p50 ${l.latency.p50} / p99 ${l.latency.p99} ms; ${delivery}${refused ? `; refused: ${refused}` : ''}${l.errors ? `; ${l.errors} errors` : ''}`,
    };
  });
  for (const [floorOf, kind] of [
    [store, 'SQLite'],
    [storeRedis, 'Redis'],
  ] as const) {
    if (!floorOf) continue;
    for (const run of [floorOf.alone, floorOf.shared]) {
      const sqlite = kind === 'SQLite';
      rows.push({
        measure: `ceiling: Beckon's ${kind} store alone, ${run.inFlight === 1 ? 'one invitation at a time' : `${run.inFlight} invitations in flight`}`,
        value: `${fmt(run.cyclesPerSecond, 0)} invitations/s`,
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
    data: { ...options, visits, appendfsync, targets, store, storeRedis },
    seconds: (now() - started) / 1000,
  };
}

await runAsScript(import.meta.url, 'throughput', 300, runThroughput);
