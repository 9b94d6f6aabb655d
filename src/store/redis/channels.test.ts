/**
 * The pacing rule in Lua (includes/channels.lua) decides as decideChannel
 * in core/pacing.ts does, to the digit: the same reason and the same
 * allowance for every setting and load, read from the arguments the store
 * passes (createPacingArguments). Run on a real redis-server, on many
 * random cases and on the ones where rounding could part them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../../../test/redis-server.js';
import { pacingSettingsSchema, PACING_MODES, type PacingSettings } from '../../protocol/channels.js';
import { decideChannel, MIN_ANSWERED_FOR_RATE, type ChannelLoad } from '../../core/pacing.js';
import { createFanoutClient } from './connection.js';
import { createPacingArguments } from './channels.js';
import { readFromFolder, resolveIncludes } from './script-loader.js';
import { SCRIPTS_FOLDER } from './scripts.js';

interface Case {
  settings: PacingSettings;
  hoursOpen: boolean;
  load: ChannelLoad;
}

/** decideChannel of the include, once per case: ARGV now, minAnswered, then 15 values a case. */
const PROBE = [
  '--- @include "includes/channels"',
  'local now, minAnswered = tonumber(ARGV[1]), tonumber(ARGV[2])',
  'local function given(v) if v == "" then return nil end return tonumber(v) end',
  'local out = {}',
  'for at = 3, #ARGV, 15 do',
  '  local c = askedChannels(ARGV, at, 1)[1]',
  '  local load = {inProgress = tonumber(ARGV[at + 9]), freeSlots = given(ARGV[at + 10]),',
  '    reportedAt = given(ARGV[at + 11]), acceptedSinceReport = tonumber(ARGV[at + 12]),',
  '    answered = tonumber(ARGV[at + 13]), accepted = tonumber(ARGV[at + 14])}',
  '  local reason, allowance = decideChannel(c.pacing, load, now, minAnswered)',
  "  out[#out + 1] = reason or ''",
  "  out[#out + 1] = allowance and string.format('%.17g', allowance) or ''",
  'end',
  'return out',
].join('\n');

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomCase(next: () => number): Case {
  const int = (n: number) => Math.floor(next() * n);
  // Rates and shares as an operator types them (two decimals), or any double at all.
  const fraction = (min: number) => Math.max(min, next() < 0.5 ? Math.round(next() * 100) / 100 : next());
  const mode = PACING_MODES[int(3)]!;
  const settings = pacingSettingsSchema.parse({
    mode,
    proactiveShare: fraction(0),
    initialAcceptanceRate: fraction(0.01),
    minAcceptanceRate: fraction(0.01),
    maxOnScreen: mode === 'fixed' || next() < 0.3 ? int(12) : null,
    capacityStaleSeconds: 2 + int(120),
  });
  const stale = settings.capacityStaleSeconds * 1000;
  const answered = next() < 0.3 ? int(MIN_ANSWERED_FOR_RATE + 2) : int(201);
  const freeSlots = int(next() < 0.5 ? 4 : 60);
  return {
    settings,
    hoursOpen: next() < 0.85,
    load: {
      capacity:
        next() < 0.15 ? null : { freeSlots, reportedAt: NOW - (next() < 0.3 ? stale + int(3) - 1 : int(stale * 2)) },
      acceptedSinceReport: int(freeSlots + 3),
      inProgress: int(next() < 0.5 ? 15 : 400),
      answered,
      accepted: int(answered + 1),
    },
  };
}

describe('the pacing rule in Lua', () => {
  let server: RedisServer;
  let client: ReturnType<typeof createFanoutClient>;
  let probe: string;
  beforeAll(async () => {
    server = await startRedisServer();
    client = createFanoutClient(server.url);
    await client.connect();
    probe = resolveIncludes('probe', (path) => (path === 'probe.lua' ? PROBE : readFromFolder(SCRIPTS_FOLDER)(path)));
  });
  afterAll(async () => {
    client?.destroy();
    await server?.dispose();
  });

  /** [reason, allowance] of each case, from Lua and from decideChannel. */
  const both = async (cases: Case[]) => {
    const args = cases.flatMap(({ settings, hoursOpen, load }) => [
      ...createPacingArguments(['chat'], [{ channel: 'chat', pacing: settings, hoursOpen }]).more,
      String(load.inProgress),
      load.capacity ? String(load.capacity.freeSlots) : '',
      load.capacity ? String(load.capacity.reportedAt) : '',
      String(load.acceptedSinceReport),
      String(load.answered),
      String(load.accepted),
    ]);
    const flat = (await client.eval(probe, {
      keys: [],
      arguments: [String(NOW), String(MIN_ANSWERED_FOR_RATE), ...args],
    })) as string[];
    const lua = cases.map((_, i) => [flat[2 * i] || null, flat[2 * i + 1] === '' ? null : Number(flat[2 * i + 1])]);
    const js = cases.map(({ settings, hoursOpen, load }) => {
      const decision = decideChannel(settings, { open: hoursOpen, opensAt: null, closesAt: null }, load, NOW);
      return [decision.reason, decision.allowance];
    });
    return { lua, js };
  };

  it('gives the reason and the allowance decideChannel gives, on 5000 random settings and loads', async () => {
    const next = prng(19);
    const cases = Array.from({ length: 5000 }, () => randomCase(next));
    const reasons = new Set<string>();
    for (let start = 0; start < cases.length; start += 500) {
      const { lua, js } = await both(cases.slice(start, start + 500));
      expect(lua).toEqual(js);
      for (const [reason, allowance] of js) reasons.add(`${reason}:${allowance === null}`);
    }
    // The random cases reached every reason, and open channels with and without a limit.
    expect([...reasons].sort()).toEqual(
      expect.arrayContaining([
        'capacity-unknown:false',
        'no-free-agents:false',
        'null:false',
        'null:true',
        'outside-hours:false',
        'outside-hours:true',
        'pacing:false',
      ]),
    );
  });

  it('computes free × share ÷ rate in the order JavaScript does, where a hair decides the floor', async () => {
    const progressive = (proactiveShare: number, initialAcceptanceRate: number) =>
      pacingSettingsSchema.parse({
        mode: 'progressive',
        proactiveShare,
        initialAcceptanceRate,
        minAcceptanceRate: 0.01,
      });
    const load = (freeSlots: number, answered = 0, accepted = 0): ChannelLoad => ({
      capacity: { freeSlots, reportedAt: NOW },
      acceptedSinceReport: 0,
      inProgress: 0,
      answered,
      accepted,
    });
    const cases: Case[] = [
      { settings: progressive(0.7, 0.1), hoursOpen: true, load: load(3) }, // 20.999999999999996
      { settings: progressive(0.3, 0.1), hoursOpen: true, load: load(1) }, // 2.9999999999999996
      { settings: progressive(1, 0.2), hoursOpen: true, load: load(3, 30, 9) }, // measured 9 ÷ 30: exactly 10
      { settings: progressive(0.1, 0.3), hoursOpen: true, load: load(9) },
      { settings: progressive(0.35, 0.07), hoursOpen: true, load: load(6, 100, 7) }, // 29.999999999999993
      // Where the order of the operations matters: (3 × 0.15) ÷ 0.03 is 14.999999999999998 but
      // 3 × (0.15 ÷ 0.03) is 15; (3 × 0.21) ÷ 0.07 is 9 but 3 × (0.21 ÷ 0.07) is 8.999999999999998.
      { settings: progressive(0.15, 0.03), hoursOpen: true, load: load(3) },
      { settings: progressive(0.21, 0.07), hoursOpen: true, load: load(3) },
    ];
    const { lua, js } = await both(cases);
    expect(js.map(([, allowance]) => allowance)).toEqual([20, 2, 10, 3, 29, 14, 9]);
    expect(lua).toEqual(js);
  });
});
