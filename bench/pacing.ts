/**
 * Pacing against a simulated contact centre (docs/pacing.md): the same
 * seeded candidates invited with pacing off, fixed and progressive, through
 * Beckon's own engage path on a real SQLite store in virtual time
 * (bench/lib/contact-centre.ts), over a simulated working day. For each
 * setup: invitations shown, accepted, abandoned (accepted when no slot was
 * free) and agent occupancy (busy slot-time ÷ slot-time), against the
 * target of at most 3 % abandonment with at least 85 % occupancy for 20
 * agents.
 *
 *   npm run bench:pacing     BENCH_PACING_DAYS=1 BENCH_PACING_HOURS=8 BENCH_PACING_WORKERS=2 BENCH_PACING_TABLES=modes
 *   BENCH_PACING_TABLES=variants npm run bench:pacing   what moves the result: report interval, time-out, a reserve, a stricter rule
 *
 * Each simulated day is its own seed (1, 2, …); with several days the table
 * sums them and gives the range of the daily abandonment. Runs go
 * BENCH_PACING_WORKERS at a time, each in its own process with its own store.
 */
import { availableParallelism } from 'node:os';
import {
  abandonmentOf,
  occupancyOf,
  settings,
  simulateAll,
  type CentreModel,
  type CentreResult,
  type PacingSetup,
} from './lib/contact-centre.js';
import { runAsScript, type BenchResult } from './lib/report.js';
import { envInt, fmt, now, type Row } from './lib/stats.js';

const TARGET = { abandonment: 0.03, occupancy: 0.85 };

/** The contact centre of the target: 20 agents with two chats each, and more candidates than they can take. */
export const MODEL: CentreModel = {
  agents: 20,
  concurrency: 2,
  handleMeanSeconds: 600,
  handleSigma: 0.6,
  candidatesPerMinute: 30,
  acceptProbability: 0.2,
  declineProbability: 0.4,
  acceptMeanSeconds: 8,
  declineMeanSeconds: 5,
  answerSigma: 0.8,
  showSeconds: 0.5,
  timeoutSeconds: 30,
  reportEverySeconds: 5,
  hours: 8,
  seed: 1,
};

/**
 * The `maxOnScreen` an operator who knows these figures would set (Little's
 * law): the invitations a second that keep the target occupancy (accepts
 * needed ÷ acceptance), times how long each stays on screen (shown, then
 * accepted or declined after their mean delay, or ignored until the
 * time-out).
 */
export function sensibleMaxOnScreen(model: CentreModel, occupancy: number): number {
  const acceptsPerSecond = (model.agents * model.concurrency * occupancy) / model.handleMeanSeconds;
  const ignore = 1 - model.acceptProbability - model.declineProbability;
  const onScreenSeconds =
    model.showSeconds +
    model.acceptProbability * model.acceptMeanSeconds +
    model.declineProbability * model.declineMeanSeconds +
    ignore * model.timeoutSeconds;
  return Math.round((acceptsPerSecond / model.acceptProbability) * onScreenSeconds);
}

const progressive = (pacing: object = {}) => settings({ pacing: { mode: 'progressive', ...pacing } });

function setupsOf(model: CentreModel): PacingSetup[] {
  const maxOnScreen = sensibleMaxOnScreen(model, TARGET.occupancy);
  return [
    { label: 'off (every candidate invited)', settings: null },
    { label: `fixed, maxOnScreen ${maxOnScreen}`, settings: settings({ pacing: { mode: 'fixed', maxOnScreen } }) },
    { label: 'progressive, default settings (proactiveShare 1)', settings: progressive() },
    { label: 'progressive, proactiveShare 0.8', settings: progressive({ proactiveShare: 0.8 }) },
  ];
}

/** Progressive with default settings, changed one thing at a time: what limits the rule. */
function variantsOf(): PacingSetup[] {
  return [
    { label: 'progressive, default settings', settings: progressive() },
    { label: 'proactiveShare 0.6', settings: progressive({ proactiveShare: 0.6 }) },
    { label: 'capacity reported every 1 s', settings: progressive(), model: { reportEverySeconds: 1 } },
    { label: 'capacity reported every 15 s', settings: progressive(), model: { reportEverySeconds: 15 } },
    { label: 'engage timeoutSeconds 15', settings: progressive(), model: { timeoutSeconds: 15 } },
    { label: 'visitors answer in 20 s on average (not 8)', settings: progressive(), model: { acceptMeanSeconds: 20 } },
    { label: 'contact centre reports 1 slot less', settings: progressive(), reserve: 1 },
    { label: 'stricter rule (not in Beckon): margin z = 0.5', settings: progressive(), margin: { z: 0.5 } },
    { label: 'stricter rule (not in Beckon): margin z = 1', settings: progressive(), margin: { z: 1 } },
  ];
}

interface Summary {
  label: string;
  days: CentreResult[];
  shown: number;
  accepted: number;
  abandoned: number;
  refused: number;
  abandonment: number;
  occupancy: number;
  met: boolean;
}

function summarise(label: string, days: CentreResult[]): Summary {
  const sum = (pick: (r: CentreResult) => number) => days.reduce((total, r) => total + pick(r), 0);
  const accepted = sum((r) => r.accepted);
  const abandoned = sum((r) => r.abandoned);
  const abandonment = abandonmentOf({ abandoned, accepted });
  const occupancy = occupancyOf({ busySlotMs: sum((r) => r.busySlotMs), slotMs: sum((r) => r.slotMs) });
  return {
    label,
    days,
    shown: sum((r) => r.shown),
    accepted,
    abandoned,
    refused: sum((r) => Object.values(r.refused).reduce((a, b) => a + b, 0)),
    abandonment,
    occupancy,
    met: abandonment <= TARGET.abandonment && occupancy >= TARGET.occupancy,
  };
}

const percent = (value: number) => `${(100 * value).toFixed(1)} %`;
const count = (value: number) => value.toLocaleString('en-US');

function markdown(summaries: readonly Summary[]): string {
  const several = summaries[0]!.days.length > 1;
  const head = [
    'pacing',
    'invitations shown',
    'accepted',
    'abandoned',
    several ? 'abandonment (days’ range)' : 'abandonment',
    'occupancy',
    'engages refused',
    'target met',
  ];
  const lines = summaries.map((s) => {
    const daily = s.days.map((r) => abandonmentOf(r));
    const range = several ? ` (${percent(Math.min(...daily))}–${percent(Math.max(...daily))})` : '';
    return [
      s.label,
      count(s.shown),
      count(s.accepted),
      count(s.abandoned),
      `${percent(s.abandonment)}${range}`,
      percent(s.occupancy),
      count(s.refused),
      s.met ? 'yes' : 'no',
    ];
  });
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [row(head), row(head.map(() => '---')), ...lines.map(row)].join('\n');
}

function describe(model: CentreModel, days: number): string {
  const ignore = 1 - model.acceptProbability - model.declineProbability;
  return [
    `${model.agents} agents × ${model.concurrency} chats = ${model.agents * model.concurrency} slots; handle time log-normal, mean ${model.handleMeanSeconds / 60} min (σ ${model.handleSigma});`,
    `${model.candidatesPerMinute} candidates a minute (Poisson); a visitor shown an invitation accepts ${percent(model.acceptProbability)} (after ${model.acceptMeanSeconds} s on average), declines ${percent(model.declineProbability)} (after ${model.declineMeanSeconds} s), ignores ${percent(ignore)} (times out after ${model.timeoutSeconds} s);`,
    `shown ${model.showSeconds} s after the engage; free slots reported every ${model.reportEverySeconds} s; no queue: an accept with no free slot is abandoned;`,
    `${days} simulated day${days > 1 ? 's' : ''} of ${model.hours} h (seed${days > 1 ? 's' : ''} ${Array.from({ length: days }, (_, i) => i + 1).join(', ')}), starting with every agent free.`,
  ].join('\n');
}

async function runPacing(): Promise<BenchResult> {
  const started = now();
  const days = Math.max(1, envInt('BENCH_PACING_DAYS', 1));
  const workers = Math.max(1, envInt('BENCH_PACING_WORKERS', Math.min(2, availableParallelism())));
  const model: CentreModel = { ...MODEL, hours: envInt('BENCH_PACING_HOURS', MODEL.hours) };
  const t0 = Date.parse('2026-12-02T08:00:00Z');
  const chosen = new Set((process.env.BENCH_PACING_TABLES ?? 'modes').split(','));
  const tables = [
    { key: 'modes', name: 'Pacing off, fixed and progressive', setups: setupsOf(model) },
    { key: 'variants', name: 'What moves it: progressive, one change at a time', setups: variantsOf() },
  ].filter((table) => chosen.has(table.key));
  if (tables.length === 0) throw new Error('BENCH_PACING_TABLES names no table: modes, variants');
  const runs = tables.flatMap((table) =>
    table.setups.flatMap((setup) => Array.from({ length: days }, (_, day) => ({ setup, seed: day + 1 }))),
  );
  const { results, distinctRuns } = await simulateAll(model, runs, { t0, workers });

  const rows: Row[] = [];
  const data: Record<string, unknown> = { model, days, tables: [] as unknown[] };
  process.stdout.write(`\n${describe(model, days)}\n`);
  let at = 0;
  for (const table of tables) {
    const summaries = table.setups.map((setup) => {
      const mine = results.slice(at, at + days);
      at += days;
      return summarise(setup.label, mine);
    });
    process.stdout.write(`\n### ${table.name}\n\n${markdown(summaries)}\n`);
    (data.tables as unknown[]).push({ name: table.name, setups: table.setups, summaries });
    for (const s of summaries) {
      rows.push({
        measure: `pacing: ${s.label}`,
        value: `abandonment ${percent(s.abandonment)}, occupancy ${percent(s.occupancy)}`,
        target: `abandonment ≤ ${percent(TARGET.abandonment)}, occupancy ≥ ${percent(TARGET.occupancy)}`,
        met: s.met,
        note: `${count(s.shown)} shown, ${count(s.accepted)} accepted, ${count(s.abandoned)} abandoned, ${count(s.refused)} engages refused; ${table.name.toLowerCase()}`,
      });
    }
  }
  const wall = results.map((r) => r.wallMs / 1000);
  process.stdout.write(
    `\n${distinctRuns} runs, ${workers} at a time; each took ${fmt(Math.min(...wall))}–${fmt(Math.max(...wall))} s\n`,
  );
  return { name: 'Pacing', rows, data, seconds: (now() - started) / 1000 };
}

await runAsScript(import.meta.url, 'pacing', 600, runPacing, { build: false });
