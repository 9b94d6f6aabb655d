/**
 * Summarizes a V8 CPU profile (`--cpu-prof`, e.g. from BENCH_CPU_PROF=1):
 * the functions with the most self time, and the most total time, as text.
 * For a flame graph open the same file in Chrome DevTools (Performance →
 * Load profile) or https://www.speedscope.app.
 *
 *   node --import tsx bench/profile-top.ts bench/results/profiles/<file>.cpuprofile [rows] [from-to]
 *
 * `from-to` (seconds since the profile started, e.g. `12-20`) keeps only the
 * samples of that window, such as the measured load without the start-up
 * and the pages connecting; the timeline printed first (busy share per
 * second) shows where the load ran. The areas (the store, socket.io, HTTP,
 * garbage collection, idle…) sum self time by where the code lives.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, rowsArg, windowArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: profile-top.ts <file.cpuprofile> [rows] [from-to seconds]\n');
  process.exit(2);
}
const rows = Number(rowsArg ?? 25);
// Piped into head: stop quietly when the reader has had enough.
process.stdout.on('error', () => process.exit(0));
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const [from, to] = windowArg ? windowArg.split('-').map((s) => Number(s) * 1e6) : [0, Infinity];
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

const idleIds = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
const selfUs = new Map<number, number>();
const timeline: { busy: number; all: number }[] = [];
let elapsed = 0;
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i] ?? 0;
  elapsed += delta;
  const second = (timeline[Math.floor(elapsed / 1e6)] ??= { busy: 0, all: 0 });
  second.all += delta;
  if (!idleIds.has(id)) second.busy += delta;
  if (elapsed < from! || elapsed >= to!) return;
  selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
});
process.stdout.write(
  `timeline (busy % per second): ${timeline.map((t, i) => `${i}:${t ? Math.round((100 * t.busy) / t.all) : 0}`).join(' ')}\n`,
);

const label = (n: ProfileNode) => {
  const url = n.callFrame.url.replace(/^file:\/\//, '');
  const where = url
    ? `${relative(process.cwd(), url).replace(/^node_modules\//, '')}:${n.callFrame.lineNumber + 1}`
    : '';
  return `${n.callFrame.functionName || '(anonymous)'} ${where}`.trim();
};

const self = new Map<string, number>();
const total = new Map<string, number>();
let all = 0;
for (const [id, us] of selfUs) {
  all += us;
  const node = byId.get(id)!;
  self.set(label(node), (self.get(label(node)) ?? 0) + us);
  // Total time: count each function once per sample even when it recurses.
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const name = label(byId.get(at)!);
    if (seen.has(name)) continue;
    seen.add(name);
    total.set(name, (total.get(name) ?? 0) + us);
  }
}
const show = (title: string, map: Map<string, number>) => {
  process.stdout.write(`\n${title} (of ${(all / 1000).toFixed(0)} ms sampled)\n`);
  for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, rows)) {
    process.stdout.write(
      `${(us / 1000).toFixed(1).padStart(9)} ms ${((100 * us) / all).toFixed(1).padStart(5)}%  ${name}\n`,
    );
  }
};
/** Where a function's code lives, for the summary by area. */
const AREAS: [string, RegExp][] = [
  ['store: SQLite (better-sqlite3 and the store)', /better-sqlite3|store\/sqlite\//],
  ['store: Redis (node-redis and the store)', /@redis|redis\/dist|store\/redis\//],
  ['sockets: socket.io, engine.io, ws', /socket\.io|engine\.io|\/ws\/|^ws\//],
  ['HTTP: Fastify and its plugins', /fastify|helmet|find-my-way|avvio|light-my-request|secure-json-parse/],
  ['validation: zod', /zod/],
  ['Beckon: frontend', /server\/frontend\//],
  ['Beckon: backend', /server\/backend\//],
  ['Beckon: core and protocol', /server\/(core|protocol)\//],
  ['Beckon: other', /dist\/server\//],
  ['start-up: module loading', /tsx\/|modules\/(cjs|esm)|source_map/],
  ['Node: net, streams, http', /node:(net|internal\/streams|_http|internal\/stream_base|http)/],
];
const area = new Map<string, number>();
for (const [id, us] of selfUs) {
  const node = byId.get(id)!;
  const url = node.callFrame.url;
  const name = node.callFrame.functionName;
  let where =
    name === '(idle)'
      ? 'idle'
      : name === '(garbage collector)'
        ? 'garbage collection'
        : (AREAS.find(([, re]) => re.test(url))?.[0] ?? null);
  // Native work (writev, crypto…) has no URL: it counts for its caller's area.
  for (let at = parent.get(id); where === null && at !== undefined; at = parent.get(at)) {
    const callerUrl = byId.get(at)!.callFrame.url;
    if (callerUrl) where = AREAS.find(([, re]) => re.test(callerUrl))?.[0] ?? null;
  }
  where ??= 'other (native, runtime)';
  area.set(where, (area.get(where) ?? 0) + us);
}
show('self time by area', area);
show('self time', self);
show('total time', total);
