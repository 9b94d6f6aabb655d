/**
 * Capacity of a cluster: one redis-server, one backend, two frontends, all on
 * one machine (its cores shared by Redis, the three Beckon processes, the page
 * simulators and the probe). Pages connect straight to the frontends, half
 * each (no nginx); each frontend is its own process with its own
 * file-descriptor limit (`ulimit -n`, 20,000 here), so the one-process
 * ceiling of 19,500 pages should double.
 *
 * 1. Redis commands, counted with MONITOR (bench/lib/redis-stats.ts), split
 *    into what clients sent (store scripts = EVALSHA, plain store reads, the
 *    adapter's XADD/XREAD, PUBLISH to a node's channel, the watchdog's PING)
 *    and what the scripts ran:
 *    - at rest (100 pages, BENCH_IDLE_SECONDS), per node and minute;
 *    - per page that connects (a new visit, BENCH_CONNECT_SAMPLE pages);
 *    - per invitation: BENCH_CYCLES engage (backend) → shown → declined
 *      (page on frontend 1), minus the rate at rest over the same time;
 *    - per page that leaves (BENCH_CONNECT_SAMPLE pages closed at once);
 *    - at rest again at the last step, so pages × minutes shows; with each
 *      node's CPU at rest (/proc/<pid>/stat).
 * 2. Memory: Redis `used_memory` before and after BENCH_PAGES pages (each a
 *    new visit with one page) and before and after the invitations (each
 *    attempt with its events), and where the bytes sit (keys by pattern,
 *    MEMORY USAGE); each frontend's RSS and heap (after GC) per page, and
 *    again as a slope between the first and the last step (3.), where both
 *    readings hold thousands of pages: the first reading, at 100 pages, can
 *    be off by tens of MiB that the process holds whatever its pages (its
 *    young generation resident or not, free memory malloc keeps), which is
 *    several KB per page over 5,000 pages.
 * 3. Pages in steps across both frontends (BENCH_CLUSTER_STEPS); at each
 *    step a probe page on frontend 1 times BENCH_PROBES sequential engage
 *    calls sent to the backend, to the server's `delivered` acknowledgement.
 *    MONITOR is off while the probe runs.
 *
 *   npm run bench:cluster-capacity   BENCH_PAGES=10000 BENCH_CLUSTER_STEPS=10000,20000,30000,39000 BENCH_PROBES=300 BENCH_CYCLES=300
 */
import { readFileSync } from 'node:fs';
import { cpuMs } from './lib/cpu.js';
import { PageFleet } from './lib/pages.js';
import { ProbePage, type ProbeResult } from './lib/probe.js';
import { RedisStats, sumBy, total, type CommandCounts, type KeyGroup } from './lib/redis-stats.js';
import { runAsScript, type BenchResult } from './lib/report.js';
import type { MemoryReading } from './lib/server.js';
import { envInt, envInts, fmt, now, sleep, type Row } from './lib/stats.js';
import { socketsConnected, startTopology } from './lib/topology.js';

const P99_LIMIT_MS = 50;
const PREFIX = 'bench-cap:';

/**
 * Who sent a command: Beckon's store (a script, a plain read, among them the look-up of a page command's
 * node), the socket.io adapter, the nodes' own channels (page commands, the resync signal), or the
 * connection watchdog.
 */
function source(name: string): string {
  if (name === 'evalsha' || name === 'eval') return 'store scripts';
  if (['xadd', 'xread', 'xrange', 'pubsub'].includes(name)) return 'adapter';
  if (['publish', 'spublish', 'subscribe', 'ssubscribe', 'psubscribe'].includes(name)) return 'node channels';
  // The store connection's watchdog asks Redis for TIME every second (a PING that also reads Redis' clock).
  if (name === 'ping' || name === 'time') return 'watchdog';
  // The deadline timer re-reads the earliest deadline and idle visit after changes (ZRANGE … 0 0 WITHSCORES).
  return 'store reads';
}

interface Step {
  pages: number;
  perFrontend: number[];
  /** Handshakes refused so far (each retried, as the widget retries with back-off). */
  refused: number;
  /** Fewer pages than the step asked for, after the retries. */
  short: boolean;
  probe: ProbeResult;
  rssMiB: { frontends: number[]; backend: number };
  /** Each frontend's memory after GC once the step's probe has run. */
  frontMemory: MemoryReading[];
  redisUsedMiB: number;
  /** redis-server CPU seconds per probe invitation (MONITOR off). */
  redisCpuPerInvitation: number;
}

function perUnit(
  counts: Record<string, number>,
  idle: Record<string, number>,
  idleSeconds: number,
  seconds: number,
  units: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of new Set([...Object.keys(counts), ...Object.keys(idle)])) {
    out[name] = ((counts[name] ?? 0) - ((idle[name] ?? 0) * seconds) / idleSeconds) / units;
  }
  return out;
}

/** Microseconds Redis spent on what clients sent (inner script commands are inside their script's time). */
function redisMicros(c: CommandCounts): number {
  return Object.entries(c.usec)
    .filter(([name]) => (c.sent[name] ?? 0) > 0)
    .reduce((sum, [, usec]) => sum + usec, 0);
}

const show = (counts: Record<string, number>, digits = 2) =>
  Object.entries(counts)
    .filter(([, n]) => Math.abs(n) >= 0.005)
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${name} ${fmt(n, digits)}`)
    .join(', ');

/** CPU seconds (user + system) a process has used. */
const cpuSeconds = (pid: number): number => cpuMs(pid) / 1000;

/** Runs `work` and returns each process's CPU use meanwhile, in % of one core. */
async function cpuDuring(pids: number[], work: () => Promise<unknown>): Promise<number[]> {
  const before = pids.map(cpuSeconds);
  const started = now();
  await work();
  const seconds = (now() - started) / 1000;
  return pids.map((pid, i) => (100 * (cpuSeconds(pid) - before[i]!)) / seconds);
}

function fdLimit(pid: number): string {
  return (
    /Max open files\s+(\S+)\s+(\S+)/
      .exec(readFileSync(`/proc/${pid}/limits`, 'utf8'))
      ?.slice(1)
      .join('/') ?? 'unknown'
  );
}

export async function runClusterCapacity(): Promise<BenchResult> {
  const started = now();
  const pages = envInt('BENCH_PAGES', 10_000);
  const probes = envInt('BENCH_PROBES', 300);
  const cycles = envInt('BENCH_CYCLES', 300);
  const idleSeconds = envInt('BENCH_IDLE_SECONDS', 20);
  const connectSample = Math.min(envInt('BENCH_CONNECT_SAMPLE', 1000), pages);
  const steps = envInts('BENCH_CLUSTER_STEPS', [pages, 20_000, 30_000, 39_000])
    .filter((n) => n >= pages)
    .sort((a, b) => a - b);
  const warmPages = 100;

  const cluster = await startTopology('cluster', { prefix: PREFIX, frontends: 2, exposeGc: true });
  const redis = await RedisStats.open(cluster.redis!.url);
  const fleet = new PageFleet(cluster.pageUrls);
  let probe: ProbePage | null = null;
  try {
    const sockets = () => Promise.all(cluster.frontends.map((f) => socketsConnected(f.url)));
    probe = await ProbePage.open(cluster.pageUrls[0]!, cluster.apiUrl);
    await fleet.add(warmPages, { mode: 'idle' });
    await probe.run(50, 'warm');
    await sleep(1000);

    // 1. At rest with 100 pages: what the nodes do on their own (heartbeats, reaper, watchdog, adapter reads, event feed).
    process.stderr.write(`cluster-capacity: counting commands at rest for ${idleSeconds} s…\n`);
    let idle!: CommandCounts;
    const nodePids = [cluster.backend.pid, ...cluster.frontends.map((f) => f.pid)];
    const idleCpu = await cpuDuring(
      nodePids,
      async () => (idle = await redis.countCommands(() => sleep(idleSeconds * 1000))),
    );
    const idleAll = {
      ...idle.sent,
      ...Object.fromEntries(Object.entries(idle.inScripts).map(([k, v]) => [`lua:${k}`, v])),
    };

    // 2. Memory before the pages; commands of the first connectSample pages; memory after them all.
    const usedBefore = await redis.usedMemory();
    const frontBefore: MemoryReading[] = await Promise.all(cluster.frontends.map((f) => f.memory()));
    const socketsBefore = await sockets();
    const connect = await redis.countCommands(() => fleet.add(connectSample, { mode: 'idle' }));
    const connectStart = now();
    const cpuBeforeBulk = await redis.cpuSeconds();
    await fleet.add(pages - connectSample, { mode: 'idle' });
    const redisCpuPerConnect = ((await redis.cpuSeconds()) - cpuBeforeBulk) / (pages - connectSample);
    const connectSeconds = (now() - connectStart) / 1000;
    await sleep(2000);
    const added = fleet.connected - warmPages;
    const usedAfterPages = await redis.usedMemory();
    const frontAfter: MemoryReading[] = await Promise.all(cluster.frontends.map((f) => f.memory()));
    const socketsAfter = await sockets();
    const keysAfterPages = await redis.keyGroups(PREFIX);

    // 3. Invitations: commands and bytes per engage → shown → declined.
    process.stderr.write(`cluster-capacity: ${cycles} invitations under MONITOR…\n`);
    let cycleResult: ProbeResult | null = null;
    const usedBeforeCycles = await redis.usedMemory();
    const invitations: CommandCounts = await redis.countCommands(async () => {
      cycleResult = await probe!.run(cycles, 'cycle');
    });
    await sleep(500);
    const usedAfterCycles = await redis.usedMemory();
    const keysAfterCycles = await redis.keyGroups(PREFIX);
    const done = cycles - cycleResult!.failures;

    // Pages that leave: commands per close, and the bytes a closed page (and its idle visit) leaves in Redis.
    const leaving = new PageFleet(cluster.pageUrls);
    const usedBeforeLeaving = await redis.usedMemory();
    const socketsBeforeLeaving = await sockets();
    await leaving.add(connectSample, { mode: 'idle' });
    await sleep(1000);
    const usedWithLeaving = await redis.usedMemory();
    // A fixed wait, not polling /metrics: its gauges read the store, and those reads would be counted as the closes'.
    const close = await redis.countCommands(async () => {
      await leaving.close();
      await sleep(5000);
    });
    const socketsAfterLeaving = await sockets();
    const usedAfterLeaving = await redis.usedMemory();

    // 4. Steps up to the most pages, the probe timing engage → delivered at each.
    const results: Step[] = [];
    const overLimit: number[] = [];
    let stopReason = `the last step (${steps[steps.length - 1]?.toLocaleString('en-US')} pages) was reached`;
    for (const step of steps) {
      const target = step + warmPages;
      // A refused handshake (STORE_UNAVAILABLE when Redis' fsyncs fall behind a burst of 400 handshakes) is tried
      // again, as the widget would after its back-off; only pages still missing after three tries end the climb.
      for (let tries = 0; tries < 3 && fleet.connected < target; tries++) {
        if (tries > 0) await sleep(2000);
        await fleet.add(target - fleet.connected, { mode: 'idle' });
      }
      await sleep(1000);
      const cpuBefore = await redis.cpuSeconds();
      const result = await probe.run(probes, `cap-${step}`);
      const redisCpuPerInvitation = ((await redis.cpuSeconds()) - cpuBefore) / Math.max(1, probes - result.failures);
      const perFrontend = await sockets();
      results.push({
        pages: fleet.connected - warmPages,
        perFrontend,
        refused: fleet.failed,
        short: fleet.connected < target,
        probe: result,
        rssMiB: {
          frontends: cluster.frontends.map((f) => f.rss() / 2 ** 20),
          backend: cluster.backend.rss() / 2 ** 20,
        },
        redisUsedMiB: (await redis.usedMemory()) / 2 ** 20,
        redisCpuPerInvitation,
        frontMemory: await Promise.all(cluster.frontends.map((f) => f.memory())),
      });
      process.stderr.write(
        `cluster-capacity: ${fleet.connected} pages (${perFrontend.join(' + ')}), engage → delivered p99 ${fmt(result.delivered.p99)} ms, ${fleet.failed} handshakes refused so far\n`,
      );
      if (fleet.connected < target) {
        stopReason = `pages failed to connect at ${step.toLocaleString('en-US')} after three tries (${fleet.failureSamples.at(-1) ?? 'unknown'})`;
        break;
      }
      // Unlike the one-process benchmark, a step over the limit does not stop the climb: one noisy step says
      // little about the next, and the connection ceiling is a finding of its own.
      if (result.delivered.p99 > P99_LIMIT_MS || result.failures > 0) overLimit.push(step);
    }

    // 5. At rest again with every page connected: does rest grow with pages?
    const topPages = fleet.connected;
    let idleTop!: CommandCounts;
    const idleTopCpu = await cpuDuring(
      nodePids,
      async () => (idleTop = await redis.countCommands(() => sleep(idleSeconds * 1000))),
    );

    const nodes = 3;
    const perMinutePerNode = (c: CommandCounts) => (total(c.sent) * 60) / c.seconds / nodes;
    const perMinuteInScripts = (c: CommandCounts) => (total(c.inScripts) * 60) / c.seconds / nodes;
    const perInvitationSent = perUnit(invitations.sent, idle.sent, idle.seconds, invitations.seconds, done);
    const perInvitationLua = perUnit(invitations.inScripts, idle.inScripts, idle.seconds, invitations.seconds, done);
    const perConnectSent = perUnit(connect.sent, idle.sent, idle.seconds, connect.seconds, connectSample);
    const perConnectLua = perUnit(connect.inScripts, idle.inScripts, idle.seconds, connect.seconds, connectSample);
    const perCloseSent = perUnit(close.sent, idle.sent, idle.seconds, close.seconds, connectSample);
    const perCloseLua = perUnit(close.inScripts, idle.inScripts, idle.seconds, close.seconds, connectSample);
    const keptPerClosedPage = (usedAfterLeaving - usedBeforeLeaving) / connectSample;
    const freedPerClosedPage = (usedWithLeaving - usedAfterLeaving) / connectSample;
    const redisPerPage = (usedAfterPages - usedBefore) / added;
    const redisPerAttempt = (usedAfterCycles - usedBeforeCycles) / done;
    const frontPerPage = cluster.frontends.map((_, i) => {
      const n = socketsAfter[i]! - socketsBefore[i]!;
      return {
        pages: n,
        rss: (frontAfter[i]!.rss - frontBefore[i]!.rss) / n,
        heap: (frontAfter[i]!.heapUsed - frontBefore[i]!.heapUsed) / n,
      };
    });
    // The same, as a slope between the first and the last step: both readings are taken with thousands of pages
    // held, so what a process holds whatever its pages (its young generation, free memory malloc keeps) is in
    // both and cancels out, where the first reading, at 100 pages and right after a burst, can swing by tens of MiB.
    const first = results[0];
    const last = results.at(-1);
    const frontSlope =
      first && last && last !== first
        ? cluster.frontends.map((_, i) => {
            const n = last.perFrontend[i]! - first.perFrontend[i]!;
            return {
              pages: n,
              rss: (last.frontMemory[i]!.rss - first.frontMemory[i]!.rss) / n,
              heap: (last.frontMemory[i]!.heapUsed - first.frontMemory[i]!.heapUsed) / n,
            };
          })
        : null;
    const groupDelta = (before: KeyGroup[], after: KeyGroup[]) =>
      after
        .map((g) => {
          const b = before.find((x) => x.pattern === g.pattern);
          return {
            pattern: g.pattern,
            type: g.type,
            bytes: g.bytes - (b?.bytes ?? 0),
            items: g.items - (b?.items ?? 0),
            keys: g.keys - (b?.keys ?? 0),
          };
        })
        .filter((g) => Math.abs(g.bytes) > 0)
        .sort((a, b) => b.bytes - a.bytes);
    const attemptGroups = groupDelta(keysAfterPages, keysAfterCycles);

    const held = results.filter((s) => !s.short && s.probe.failures === 0 && s.probe.delivered.p99 <= P99_LIMIT_MS);
    const maxPages = held.length ? Math.max(...held.map((s) => s.pages)) : 0;
    const maxStep = held.find((s) => s.pages === maxPages);
    const connectedMax = results.filter((s) => !s.short).reduce((m, s) => Math.max(m, s.pages), 0);
    if (overLimit.length)
      stopReason += `; p99 over ${P99_LIMIT_MS} ms at ${overLimit.map((n) => n.toLocaleString('en-US')).join(', ')}`;
    const limits = cluster.frontends.map((f) => fdLimit(f.pid)).join(', ');

    const rows: Row[] = [
      {
        measure: 'most pages held across 2 frontends with engage p99 ≤ 50 ms',
        value: maxPages.toLocaleString('en-US'),
        target: '≥ 2 × 19,500 (one process)',
        met: maxPages >= 39_000,
        note: `${maxStep ? maxStep.perFrontend.join(' + ') : '-'} per frontend; stopped: ${stopReason}; fd limit (soft/hard) per frontend ${limits}`,
      },
      {
        measure: 'most pages connected across 2 frontends, none refused',
        value: connectedMax.toLocaleString('en-US'),
        note: `plus ${warmPages} warm-up pages and the probe; ${fleet.failed} handshakes refused and tried again (${[...new Set(fleet.failureSamples)].slice(0, 3).join('; ') || 'none'})`,
      },
      ...results.map((s) => ({
        measure: `engage (backend) → delivered ack (frontend 1), ${s.pages.toLocaleString('en-US')} pages`,
        value: `p50 ${fmt(s.probe.delivered.p50)} / p99 ${fmt(s.probe.delivered.p99)} ms`,
        note: `${s.perFrontend.join(' + ')} sockets; RSS frontends ${s.rssMiB.frontends.map((r) => fmt(r, 0)).join(' / ')} MiB, backend ${fmt(s.rssMiB.backend, 0)} MiB; Redis used_memory ${fmt(s.redisUsedMiB, 0)} MiB; n=${s.probe.delivered.n}`,
      })),
      {
        measure: `memory per page on a frontend (RSS / heap after GC, over ${added.toLocaleString('en-US')} pages)`,
        value: frontPerPage.map((f) => `${fmt(f.rss / 1024)} / ${fmt(f.heap / 1024)} KB`).join('; '),
        note: `frontend 1; frontend 2 (${frontPerPage.map((f) => f.pages).join(' + ')} pages); connected in ${fmt(connectSeconds)} s`,
      },
      ...(frontSlope
        ? [
            {
              measure: `memory per page on a frontend between ${first!.pages.toLocaleString('en-US')} and ${last!.pages.toLocaleString('en-US')} pages (RSS / heap after GC)`,
              value: frontSlope.map((f) => `${fmt(f.rss / 1024)} / ${fmt(f.heap / 1024)} KB`).join('; '),
              target: '≤ 10 KB RSS',
              met: frontSlope.every((f) => f.rss <= 10 * 1024),
              note: `frontend 1; frontend 2 (${frontSlope.map((f) => f.pages).join(' + ')} pages more)`,
            },
          ]
        : []),
      {
        measure: 'Redis memory per page (a new visit with one page)',
        value: `${fmt(redisPerPage, 0)} B`,
        note: `used_memory ${fmt(usedBefore / 2 ** 20)} → ${fmt(usedAfterPages / 2 ** 20)} MiB over ${added.toLocaleString('en-US')} pages; largest: ${keysAfterPages
          .slice(0, 6)
          .map((g) => `${g.pattern} ${fmt(g.bytes / added, 0)} B`)
          .join(', ')}`,
      },
      {
        measure: 'Redis memory per invitation (attempt record + its events)',
        value: `${fmt(redisPerAttempt, 0)} B`,
        note: `over ${done} engage → shown → declined; ${attemptGroups
          .slice(0, 4)
          .map((g) => `${g.pattern} ${fmt(g.bytes / done, 0)} B (${fmt(g.items / done, 1)} items)`)
          .join(', ')}`,
      },
      {
        measure: 'Redis commands per invitation, sent by clients',
        value: fmt(total(perInvitationSent), 1),
        note: `${show(sumBy(perInvitationSent, source), 1)} (${show(perInvitationSent, 2)})`,
      },
      {
        measure: 'redis-server CPU per invitation / per page connecting',
        value: `${results.map((r) => fmt(r.redisCpuPerInvitation * 1e6, 0)).join(', ')} / ${fmt(redisCpuPerConnect * 1e6, 0)} µs`,
        note: `INFO cpu (user + system) over the probe at each step and over ${(pages - connectSample).toLocaleString('en-US')} pages connecting, MONITOR off; the commands' own time (commandstats, under MONITOR, which inflates it): ${fmt(redisMicros(invitations) / done, 0)} / ${fmt(redisMicros(connect) / connectSample, 0)} µs, leaving ${fmt(redisMicros(close) / connectSample, 0)} µs`,
      },
      {
        measure: 'Redis commands per invitation, run inside store scripts',
        value: fmt(total(perInvitationLua), 1),
        note: show(perInvitationLua, 1),
      },
      {
        measure: 'Redis commands per page connecting (new visit)',
        value: `${fmt(total(perConnectSent), 1)} sent, ${fmt(total(perConnectLua), 1)} in scripts`,
        note: `${show(perConnectSent, 2)}; over ${connectSample} pages`,
      },
      {
        measure: 'Redis commands per page leaving (socket closed)',
        value: `${fmt(total(perCloseSent), 1)} sent, ${fmt(total(perCloseLua), 1)} in scripts`,
        note: `${show(perCloseSent, 2)}; over ${connectSample} pages`,
      },
      {
        measure: 'Redis memory a closed page leaves behind (page, idle visit, events)',
        value: `${fmt(keptPerClosedPage, 0)} B`,
        note: `${fmt(-freedPerClosedPage, 0)} B more or less when it closed (page.left event, idle visit); sockets after the close ${socketsAfterLeaving.join(' + ')} (before ${socketsBeforeLeaving.join(' + ')}); kept until the retention run deletes it (BECKON_VISIT_RETENTION_HOURS, events BECKON_EVENT_RETENTION_DAYS; bench/retention.ts)`,
      },
      {
        measure: 'CPU at rest, backend / frontend 1 / frontend 2',
        value: `${idleCpu.map((c) => fmt(c, 1)).join(' / ')} % at ${warmPages + 1} pages`,
        note: `${idleTopCpu.map((c) => fmt(c, 1)).join(' / ')} % at ${topPages.toLocaleString('en-US')} pages (% of one core, over ${idleSeconds} s)`,
      },
      {
        measure: 'Redis commands at rest per node and minute (sent; in scripts)',
        value: `${fmt(perMinutePerNode(idle), 0)}; ${fmt(perMinuteInScripts(idle), 0)} at ${warmPages + 1} pages`,
        note: `${fmt(perMinutePerNode(idleTop), 0)}; ${fmt(perMinuteInScripts(idleTop), 0)} at ${topPages.toLocaleString('en-US')} pages; ${nodes} nodes; ${show(sumBy(idle.sent, source), 0)} in ${fmt(idle.seconds, 0)} s`,
      },
    ];
    return {
      name: 'Cluster capacity',
      rows,
      data: {
        pages,
        probes,
        cycles,
        idleSeconds,
        connectSample,
        fdLimits: limits,
        idle,
        idleAll,
        idleTop: { ...idleTop, pages: topPages },
        idleCpu,
        idleTopCpu,
        close,
        perCloseSent,
        perCloseLua,
        redisLeaving: { before: usedBeforeLeaving, with: usedWithLeaving, after: usedAfterLeaving },
        keptPerClosedPage,
        freedPerClosedPage,
        connect,
        invitations,
        invitationsDone: done,
        cycleProbe: cycleResult,
        perInvitationSent,
        perInvitationLua,
        perConnectSent,
        perConnectLua,
        redisUsed: {
          before: usedBefore,
          afterPages: usedAfterPages,
          beforeCycles: usedBeforeCycles,
          afterCycles: usedAfterCycles,
        },
        redisPerPage,
        redisPerAttempt,
        keysAfterPages,
        keysAfterCycles,
        attemptGroups,
        frontBefore,
        frontAfter,
        frontPerPage,
        connectSeconds,
        redisCpuPerConnect,
        steps: results,
        maxPages,
        connectedMax,
        overLimit,
        stopReason,
      },
      seconds: (now() - started) / 1000,
    };
  } finally {
    probe?.close();
    await redis.close().catch(() => {});
    await cluster.stop();
    await fleet.close();
  }
}

await runAsScript(import.meta.url, 'cluster-capacity', 600, runClusterCapacity);
