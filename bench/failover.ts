/**
 * Redis failover under Sentinel, through Beckon's API: a real primary, one
 * replica and three sentinels on 127.0.0.1 (`down-after-milliseconds` 1000,
 * scripts/cluster/sentinel.ts), and Beckon as the built server in a child
 * process given the sentinels (REDIS_SENTINELS), strict mode off so that
 * engage calls may follow each other on one visit.
 *
 * 1. Failover. BENCH_CONNECTIONS callers loop engage then noengage over a
 *    few visits, each an idle socket.io page. The primary is killed (SIGKILL)
 *    under that load, BENCH_FAILOVER_KILLS times; each time: from the kill to
 *    the first 200 to an engage sent after it ("back"), to the first
 *    sentinel's +switch-master, the engage calls refused meanwhile (each must
 *    be a 503 FAULT with its code), the slowest answer meanwhile (the
 *    promise is under 2 s), that nothing is refused once back, and that every
 *    engage answered 200 is there afterwards (its status answers 200; one
 *    cancelled with a 200 is `cancelled`). The killed node is then restarted
 *    and the topology left to settle (it rejoins as a replica) before the
 *    next kill.
 * 2. The cost of WAIT. On the same topology, engage calls (autocannon,
 *    BENCH_CONNECTIONS connections for BENCH_SECONDS, each call to the next
 *    of BENCH_WAIT_VISITS pages that show and decline every invitation, as
 *    in the throughput benchmark, so every invitation costs its three
 *    writes, each confirmed by the replica when asked): with
 *    BECKON_REDIS_MIN_REPLICAS 0 and 1, and a plain REDIS_URL to the same
 *    primary as the reference, one server each, in BENCH_ROUNDS rounds whose
 *    order alternates, so that a busy machine's drift hits every setting
 *    alike; medians of the rounds. Every engage answered 200 must have been
 *    shown.
 *
 *   npm run bench:failover    BENCH_FAILOVER_KILLS=5 BENCH_CONNECTIONS=8 BENCH_SECONDS=6 BENCH_ROUNDS=3 BENCH_WAIT_VISITS=100
 */
import { loadavg } from 'node:os';
import { startSentinelTopology, type SentinelTopology } from '../scripts/cluster/sentinel.js';
import { ENGAGE_PATH, engageBody } from './lib/engage.js';
import { engageLoad, type LoadResult } from './lib/load.js';
import { PageFleet } from './lib/pages.js';
import { runAsScript, type BenchResult } from './lib/report.js';
import { startBeckon, type ServerHandle } from './lib/server.js';
import { envInt, fmt, median, now, sleep, type Row } from './lib/stats.js';

const NOENGAGE_PATH = '/backend/data/gateway/noengage';
const engagementPath = (id: string) => `/backend/data/gateway/engagements/${encodeURIComponent(id)}`;

/** Visits the failover callers spread their engage calls over. */
const FAILOVER_VISITS = 4;
/** Load before each kill, and after service is back (it must stay back). */
const BEFORE_KILL_MS = 1500;
const AFTER_BACK_MS = 1500;
/** Longer than this without a 200 and the run fails with the sentinels' logs. */
const BACK_WITHIN_MS = 15_000;
/** What the failover promises every call (docs/operations.md, "Redis with failover"). */
const ANSWER_WITHIN_MS = 2000;
const BACK_TARGET_MS = 5000;

interface Call {
  kind: 'engage' | 'noengage';
  id: string;
  sentAt: number;
  answeredAt: number;
  /** 0: no HTTP answer at all. */
  status: number;
  /** A FAULT's code (or, with no answer, the error's name). */
  code: string | undefined;
}

async function post(url: string, kind: Call['kind'], id: string, visitId: string): Promise<Call> {
  const sentAt = Date.now();
  const body =
    kind === 'engage' ? engageBody(id, visitId) : JSON.stringify({ cancelData: { interactionId: id, visitId } });
  try {
    const response = await fetch(url + (kind === 'engage' ? ENGAGE_PATH : NOENGAGE_PATH), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    let code: string | undefined;
    try {
      code = (JSON.parse(text) as { code?: string }).code;
    } catch {
      // not JSON: no code, which the check below reports
    }
    return { kind, id, sentAt, answeredAt: Date.now(), status: response.status, code };
  } catch (error) {
    return { kind, id, sentAt, answeredAt: Date.now(), status: 0, code: (error as Error).name };
  }
}

/** Callers looping engage then noengage (the noengage keeps each visit's queue short) until `stop.value`. */
function startCallers(url: string, visitIds: readonly string[], count: number, prefix: string, calls: Call[]) {
  const stop = { value: false };
  let n = 0;
  const loops = Array.from({ length: count }, async () => {
    while (!stop.value) {
      const i = n++;
      const visitId = visitIds[i % visitIds.length]!;
      const engaged = await post(url, 'engage', `${prefix}-${i}`, visitId);
      calls.push(engaged);
      if (engaged.status === 200) calls.push(await post(url, 'noengage', engaged.id, visitId));
      else await sleep(20);
    }
  });
  return {
    async stop() {
      stop.value = true;
      await Promise.all(loops);
    },
  };
}

/** Reads every engagement an acknowledged call made, `concurrency` at a time; what is missing or wrong. */
async function verify(url: string, calls: readonly Call[], concurrency: number): Promise<string[]> {
  const cancelled = new Set(calls.filter((c) => c.kind === 'noengage' && c.status === 200).map((c) => c.id));
  const engaged = calls.filter((c) => c.kind === 'engage' && c.status === 200).map((c) => c.id);
  const wrong: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < engaged.length) {
        const id = engaged[next++]!;
        const response = await fetch(url + engagementPath(id));
        if (response.status !== 200) {
          wrong.push(`${id}: ${response.status}`);
          await response.body?.cancel();
          continue;
        }
        const { state } = (await response.json()) as { state: string };
        if (cancelled.has(id) && state !== 'cancelled') wrong.push(`${id}: cancelled with a 200, but ${state}`);
      }
    }),
  );
  return wrong;
}

interface Kill {
  /** From the kill: the first sentinel's +switch-master, and the first 200 to an engage sent after the kill. */
  switchMs: number;
  backMs: number;
  /** Engage calls answered after the kill and sent before service was back, and those refused. */
  engagesInOutage: number;
  engagesRefused: number;
  /** Every refusal (engage or noengage) from the kill until back, by status and code. */
  refusals: Record<string, number>;
  /** Refusals that were not a 503 FAULT with a code. */
  badRefusals: number;
  slowestInOutageMs: number;
  /** Calls sent after service was back, and those refused. */
  callsAfterBack: number;
  refusedAfterBack: number;
  acknowledgedEngages: number;
  missing: string[];
  /** From restarting the killed node to the topology settled (it is a replica again). */
  rejoinMs: number;
}

async function killOnce(
  topology: SentinelTopology,
  url: string,
  visitIds: readonly string[],
  connections: number,
  round: number,
): Promise<Kill> {
  const calls: Call[] = [];
  const callers = startCallers(url, visitIds, connections, `failover-${round}`, calls);
  let killed: Awaited<ReturnType<SentinelTopology['killPrimary']>>;
  let back: Call | undefined;
  try {
    await sleep(BEFORE_KILL_MS);
    killed = await topology.killPrimary();
    const switched = topology.waitForSwitch(killed.port, BACK_WITHIN_MS);
    switched.catch(() => {});
    const firstBack = () =>
      calls
        .filter((c) => c.kind === 'engage' && c.status === 200 && c.sentAt > killed.killedAt)
        .sort((a, b) => a.answeredAt - b.answeredAt)[0];
    while (!(back = firstBack()) && Date.now() - killed.killedAt < BACK_WITHIN_MS) await sleep(10);
    if (!back) throw new Error(`no engage answered 200 within ${BACK_WITHIN_MS} ms of the kill`);
    const switchAt = (await switched).at;
    await sleep(AFTER_BACK_MS);
    await callers.stop();

    const backAt = back.answeredAt;
    const outage = calls.filter((c) => c.answeredAt > killed.killedAt && c.sentAt < backAt);
    const refused = outage.filter((c) => c.status !== 200);
    const refusals: Record<string, number> = {};
    for (const c of refused) {
      const key = `${c.status} ${c.code ?? '(no code)'}`;
      refusals[key] = (refusals[key] ?? 0) + 1;
    }
    const afterBack = calls.filter((c) => c.sentAt > backAt);
    const missing = await verify(url, calls, connections);

    const restartedAt = Date.now();
    await topology.restart(killed.port);
    await topology.settled(30_000);
    return {
      switchMs: switchAt - killed.killedAt,
      backMs: backAt - killed.killedAt,
      engagesInOutage: outage.filter((c) => c.kind === 'engage').length,
      engagesRefused: refused.filter((c) => c.kind === 'engage').length,
      refusals,
      badRefusals: refused.filter((c) => c.status !== 503 || !c.code).length,
      slowestInOutageMs: Math.max(0, ...outage.map((c) => c.answeredAt - c.sentAt)),
      callsAfterBack: afterBack.length,
      refusedAfterBack: afterBack.filter((c) => c.status !== 200).length,
      acknowledgedEngages: calls.filter((c) => c.kind === 'engage' && c.status === 200).length,
      missing,
      rejoinMs: Date.now() - restartedAt,
    };
  } catch (error) {
    await callers.stop();
    const logs = topology.sentinelLogs().split('\n').slice(-40).join('\n');
    throw new Error(`kill ${round + 1}: ${(error as Error).message}\nlast sentinel log lines:\n${logs}`, {
      cause: error,
    });
  }
}

const spread = (values: readonly number[], digits = 0) =>
  `${fmt(Math.min(...values), digits)} / ${fmt(median(values), digits)} / ${fmt(Math.max(...values), digits)}`;

/** Beckon on this topology's sentinels (or, with `redisUrl`, on one node of it), with `pages` simulated pages. */
async function beckonOn(
  topology: SentinelTopology,
  prefix: string,
  pages: number,
  mode: 'idle' | 'responder',
  env: Record<string, string>,
  redisUrl?: string,
): Promise<{ server: ServerHandle; fleet: PageFleet; stop(): Promise<void> }> {
  const server = await startBeckon({
    env:
      redisUrl === undefined
        ? { ...topology.env, BECKON_REDIS_PREFIX: prefix, BECKON_STRICT: 'false', ...env }
        : // The shell's REDIS_SENTINELS is cleared: two answers to "where is Redis?" are refused.
          {
            BENCH_REDIS_URL: redisUrl,
            REDIS_SENTINELS: '',
            BECKON_REDIS_PREFIX: prefix,
            BECKON_STRICT: 'false',
            ...env,
          },
  });
  const fleet = new PageFleet(server.url);
  try {
    await fleet.add(pages, { mode, wantVisitIds: true });
    if (fleet.visitIds.length !== pages)
      throw new Error(`${fleet.visitIds.length} of ${pages} pages connected: ${fleet.failureSamples.join('; ')}`);
  } catch (error) {
    await fleet.close();
    await server.stop();
    throw error;
  }
  return {
    server,
    fleet,
    async stop() {
      await fleet.close();
      await server.stop();
    },
  };
}

async function measureFailover(topology: SentinelTopology, kills: number, connections: number) {
  const beckon = await beckonOn(topology, 'bench-failover:', FAILOVER_VISITS, 'idle', {});
  try {
    const results: Kill[] = [];
    for (let round = 0; round < kills; round++) {
      const kill = await killOnce(topology, beckon.server.url, beckon.fleet.visitIds, connections, round);
      process.stderr.write(
        `failover: kill ${round + 1}: +switch-master ${kill.switchMs} ms, back ${kill.backMs} ms, ${kill.engagesRefused} engages refused, slowest ${kill.slowestInOutageMs} ms\n`,
      );
      results.push(kill);
    }
    const pages = await beckon.fleet.stats();
    return { kills: results, pages, complaints: beckon.server.complaints() };
  } finally {
    await beckon.stop();
  }
}

interface Setting {
  label: string;
  prefix: string;
  env: Record<string, string>;
  plain?: boolean;
}

interface WaitRound {
  load: LoadResult;
  /** Invitations the pages acknowledged as shown (delivered) during the round, and their failed acknowledgements. */
  delivered: number;
  pageFailures: number;
}

const SETTINGS: Setting[] = [
  { label: 'Sentinel, BECKON_REDIS_MIN_REPLICAS=0', prefix: 'bench-wait0:', env: { BECKON_REDIS_MIN_REPLICAS: '0' } },
  { label: 'Sentinel, BECKON_REDIS_MIN_REPLICAS=1', prefix: 'bench-wait1:', env: { BECKON_REDIS_MIN_REPLICAS: '1' } },
  { label: 'REDIS_URL to the primary (no Sentinel)', prefix: 'bench-plain:', env: {}, plain: true },
];

async function measureWait(topology: SentinelTopology, seconds: number, rounds: number, connections: number) {
  const visits = envInt('BENCH_WAIT_VISITS', 100);
  const primary = await topology.primary();
  const started: { setting: Setting; stop(): Promise<void>; url: string; visitIds: string[]; fleet: PageFleet }[] = [];
  const measured = new Map<Setting, WaitRound[]>(SETTINGS.map((s) => [s, []]));
  try {
    for (const setting of SETTINGS) {
      // Pages that show and decline every invitation, as the widget does: nothing waits for its
      // expiry, which would otherwise come due in bulk in a later round.
      const beckon = await beckonOn(
        topology,
        setting.prefix,
        visits,
        'responder',
        setting.env,
        setting.plain ? `redis://${primary.host}:${primary.port}` : undefined,
      );
      started.push({
        setting,
        stop: beckon.stop,
        url: beckon.server.url,
        visitIds: beckon.fleet.visitIds,
        fleet: beckon.fleet,
      });
    }
    // Warm-up (not counted): each server's first scripts, connections and JIT.
    for (const each of started)
      await engageLoad({ url: each.url, visitIds: each.visitIds, prefix: 'warm', seconds: 2, connections });
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? started : [...started].reverse();
      for (const each of order) {
        const before = await each.fleet.stats();
        const load = await engageLoad({
          url: each.url,
          visitIds: each.visitIds,
          prefix: `round-${round}`,
          seconds,
          connections,
        });
        process.stderr.write(
          `wait: round ${round + 1}, ${each.setting.label}: ${fmt(load.requestsPerSecond, 0)} engages/s, p50 ${load.latency.p50} ms, p99 ${load.latency.p99} ms${load.non2xx ? `, refused ${JSON.stringify(load.faults)}` : ''}\n`,
        );
        // The last invitations' pages answer after the load ends.
        await sleep(1000);
        const after = await each.fleet.stats();
        measured.get(each.setting)!.push({
          load,
          delivered: after.delivered - before.delivered,
          pageFailures: after.failures - before.failures,
        });
      }
    }
  } finally {
    for (const each of started) await each.stop();
  }
  return { visits, rounds: measured };
}

async function runFailover(): Promise<BenchResult> {
  const started = now();
  const kills = envInt('BENCH_FAILOVER_KILLS', 5);
  const connections = envInt('BENCH_CONNECTIONS', 8);
  const seconds = envInt('BENCH_SECONDS', 6);
  const rounds = envInt('BENCH_ROUNDS', 3);
  const topology = await startSentinelTopology({ replicas: 1, sentinels: 3, downAfterMs: 1000 });
  const rows: Row[] = [];
  try {
    const failover = await measureFailover(topology, kills, connections);
    const k = failover.kills;
    const backs = k.map((x) => x.backMs);
    const slowest = k.map((x) => x.slowestInOutageMs);
    const refusals: Record<string, number> = {};
    for (const x of k) for (const [key, n] of Object.entries(x.refusals)) refusals[key] = (refusals[key] ?? 0) + n;
    const missing = k.flatMap((x) => x.missing);
    const acknowledged = k.reduce((sum, x) => sum + x.acknowledgedEngages, 0);
    const badRefusals = k.reduce((sum, x) => sum + x.badRefusals, 0);
    const refusedAfterBack = k.reduce((sum, x) => sum + x.refusedAfterBack, 0);
    const failoverNote = `${k.length} kills, ${connections} callers; min / median / max`;
    rows.push(
      {
        measure: 'kill -9 of the primary → first sentinel +switch-master (ms)',
        value: spread(k.map((x) => x.switchMs)),
        note: failoverNote,
      },
      {
        measure: 'kill -9 → first 200 to an engage sent after it (ms)',
        value: spread(backs),
        target: `< ${BACK_TARGET_MS}`,
        met: Math.max(...backs) < BACK_TARGET_MS,
        note: `after +switch-master: ${spread(k.map((x) => x.backMs - x.switchMs))} ms`,
      },
      {
        measure: 'engage calls refused during the outage',
        value: spread(k.map((x) => x.engagesRefused)),
        target: 'each a 503 FAULT',
        met: badRefusals === 0,
        note: `of ${spread(k.map((x) => x.engagesInOutage))} answered meanwhile; every refusal (noengage too): ${Object.entries(
          refusals,
        )
          .map(([key, n]) => `${n} × ${key}`)
          .join(', ')}`,
      },
      {
        measure: 'slowest answer during the outage (ms)',
        value: spread(slowest),
        target: `< ${ANSWER_WITHIN_MS}`,
        met: Math.max(...slowest) < ANSWER_WITHIN_MS,
      },
      {
        measure: 'calls refused once service was back',
        value: String(refusedAfterBack),
        target: '0',
        met: refusedAfterBack === 0,
        note: `of ${k.reduce((sum, x) => sum + x.callsAfterBack, 0)} sent in the ${AFTER_BACK_MS / 1000} s after`,
      },
      {
        measure: 'acknowledged engages missing or wrong afterwards',
        value: `${missing.length} of ${acknowledged}`,
        target: '0',
        met: missing.length === 0,
        note: missing.slice(0, 3).join('; '),
      },
      {
        measure: 'pages still connected after every kill',
        value: `${failover.pages.open} of ${FAILOVER_VISITS}`,
        target: `${FAILOVER_VISITS}`,
        met: failover.pages.open === FAILOVER_VISITS && failover.pages.disconnects === 0,
        note: `${failover.pages.disconnects} disconnects`,
      },
      {
        measure: 'killed node restarted → a replica again, topology settled (ms)',
        value: spread(k.map((x) => x.rejoinMs)),
      },
    );

    const wait = await measureWait(topology, seconds, rounds, connections);
    const summary = SETTINGS.map((setting) => {
      const measured = wait.rounds.get(setting)!;
      const loads = measured.map((r) => r.load);
      const acknowledged = loads.reduce((sum, l) => sum + l.ok, 0);
      const delivered = measured.reduce((sum, r) => sum + r.delivered, 0);
      return {
        setting,
        measured,
        rate: median(loads.map((l) => l.requestsPerSecond)),
        p50: median(loads.map((l) => l.latency.p50)),
        p99: median(loads.map((l) => l.latency.p99)),
        refused: loads.reduce((sum, l) => sum + l.non2xx + l.errors + l.timeouts, 0),
        faults: loads.map((l) => l.faults),
        /** Engages answered 200 whose invitation no page acknowledged as shown. */
        undelivered: Math.max(0, acknowledged - delivered),
        pageFailures: measured.reduce((sum, r) => sum + r.pageFailures, 0),
      };
    });
    for (const s of summary) {
      const faults = Object.entries(Object.assign({}, ...s.faults) as Record<string, number>);
      rows.push({
        measure: `engage, ${s.setting.label}`,
        value: `${fmt(s.rate, 0)} engages/s, p50 ${fmt(s.p50)} / p99 ${fmt(s.p99)} ms`,
        target: 'none refused or lost',
        met: s.refused === 0 && s.undelivered === 0 && s.pageFailures === 0,
        note: `median of ${rounds} rounds of ${seconds} s (${s.measured.map((r) => fmt(r.load.requestsPerSecond, 0)).join(', ')} engages/s); ${s.refused} refused${faults.length ? ` (${faults.map(([code, n]) => `${n} × ${code}`).join(', ')})` : ''}, ${s.undelivered} not shown, ${s.pageFailures} page acknowledgements failed`,
      });
    }
    const [zero, one] = summary;
    const signed = (ms: number) => `${ms >= 0 ? '+' : '−'}${fmt(Math.abs(ms))}`;
    // Each round's two loads ran back to back: their ratio is the least touched by the machine's drift.
    const perRound = one!.measured.map((r, i) => r.load.requestsPerSecond / zero!.measured[i]!.load.requestsPerSecond);
    rows.push({
      measure: 'WAIT for one replica against none',
      value: `${fmt(one!.rate / zero!.rate, 2)}× the engages/s; p50 ${signed(one!.p50 - zero!.p50)} ms, p99 ${signed(one!.p99 - zero!.p99)} ms`,
      note: `BECKON_REDIS_MIN_REPLICAS=1 against 0, same run; per round ${perRound.map((x) => `${fmt(x, 2)}×`).join(', ')}`,
    });

    return {
      name: 'Redis failover',
      rows,
      data: {
        failover,
        wait: {
          connections,
          seconds,
          rounds,
          visits: wait.visits,
          settings: summary.map((s) => ({
            label: s.setting.label,
            rate: s.rate,
            p50: s.p50,
            p99: s.p99,
            rounds: s.measured,
          })),
        },
        loadAverageAtEnd: loadavg().map((x) => Math.round(x * 100) / 100),
      },
      seconds: (now() - started) / 1000,
    };
  } finally {
    await topology.dispose();
  }
}

await runAsScript(import.meta.url, 'failover', 360, runFailover);
