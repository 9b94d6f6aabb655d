/**
 * The store alone (lib/store-floor.ts) on two builds of the server, in one
 * run: A, B, B, A, … so that a drift of a shared machine weighs the same on
 * both. Each round reports the invitations per second one at a time and
 * with 16 in flight, the CPU time per write of the whole process and of its
 * main thread (a checkpoint worker's time is in the first only), and the
 * event loop's delay, which a checkpoint on the event loop lengthens.
 *
 *   node --import tsx bench/store-floor-ab.ts <A dist/server> <B dist/server> [rounds=6] [seconds=4]
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { cpuMs } from './lib/cpu.js';
import { median } from './lib/stats.js';
import { storeFloor } from './lib/store-floor.js';

const [a, b] = process.argv.slice(2, 4);
if (!a || !b) throw new Error('usage: bench/store-floor-ab.ts <A dist/server> <B dist/server> [rounds] [seconds]');
const rounds = Math.max(1, Number(process.argv[4] ?? 6) || 6);
const seconds = Math.max(1, Number(process.argv[5] ?? 4) || 4);

const cpuOf = (mainThread: boolean) => cpuMs(process.pid, mainThread);

const results = new Map<string, { shared: number[]; cpu: number[]; main: number[] }>();
for (let round = 0; round < rounds; round++) {
  for (const dist of round % 2 === 0 ? [a, b] : [b, a]) {
    // lib/store-floor.ts loads the store from BENCH_SERVER_DIST at each run.
    process.env.BENCH_SERVER_DIST = dist;
    const delay = monitorEventLoopDelay({ resolution: 1 });
    const cpuBefore = cpuOf(false);
    const mainBefore = cpuOf(true);
    delay.enable();
    const floor = await storeFloor(seconds, 16);
    delay.disable();
    const writes = 3 * (floor.alone.cycles + floor.shared.cycles);
    const cpu = (1000 * (cpuOf(false) - cpuBefore)) / writes;
    const mainCpu = (1000 * (cpuOf(true) - mainBefore)) / writes;
    const own = results.get(dist) ?? { shared: [], cpu: [], main: [] };
    results.set(dist, own);
    own.shared.push(floor.shared.cyclesPerSecond);
    own.cpu.push(cpu);
    own.main.push(mainCpu);
    const ms = (ns: number) => (ns / 1e6).toFixed(1);
    console.log(
      `${round} ${dist}: one at a time ${floor.alone.cyclesPerSecond.toFixed(0)}/s, 16 in flight ${floor.shared.cyclesPerSecond.toFixed(0)}/s; ` +
        `CPU per write ${cpu.toFixed(0)} µs (main thread ${mainCpu.toFixed(0)}); event loop delay p99 ${ms(delay.percentile(99))} ms, ` +
        `max ${ms(delay.max)} ms; load ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`,
    );
  }
}
for (const [dist, own] of results) {
  console.log(
    `${dist}: median 16 in flight ${median(own.shared).toFixed(0)}/s, CPU per write ${median(own.cpu).toFixed(0)} µs (main thread ${median(own.main).toFixed(0)})`,
  );
}
