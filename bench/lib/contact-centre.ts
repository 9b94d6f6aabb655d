/**
 * A simulated contact centre in virtual time, against Beckon's own engage
 * path: the core's `Lifecycle` on a real SQLite store on a temp file (its
 * clock is the simulation's, passed in; nothing sleeps), so an invitation is
 * created, paced, shown, answered and timed out exactly as a server does
 * it, and the pacing decision is the store's own, inside its create.
 *
 * The model (docs/benchmarks.md#pacing):
 * - `agents` agents each take up to `concurrency` chats: slots = agents ×
 *   concurrency, pooled (routing gives a chat to any agent with room). A
 *   chat lasts a log-normal handle time.
 * - Candidates arrive as a Poisson stream: visitors the strategy wants to
 *   invite. Each is engaged on `chat` at once; one refused (`NO_CAPACITY`)
 *   is not invited (the strategy moves on).
 * - An invitation is shown `showSeconds` after it is created. Its visitor
 *   accepts with `acceptProbability` after a log-normal delay, declines with
 *   `declineProbability` after another, or does nothing; an answer that
 *   would come after the invitation's `timeoutSeconds` is a time-out.
 * - An accepted invitation takes a free slot if one is free; else it is
 *   abandoned (there is no queue: the visitor waits for nobody).
 * - Every `reportEverySeconds` the contact centre reports its free slots
 *   (slots not handling a chat, less `reserve`) for the channel.
 *
 * Every random draw comes from streams seeded by `seed`, and each candidate
 * carries its own draws (arrival, answer, delay, handle time), so runs that
 * differ only in pacing meet the same visitors in the same order.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lifecycle } from '../../src/core/lifecycle.js';
import { BeckonFault } from '../../src/core/faults.js';
import { decideChannel } from '../../src/core/pacing.js';
import { refusedCounter } from '../../src/core/reports.js';
import type { BeckonStore } from '../../src/core/store.js';
import { openStore } from '../../src/store/open.js';
import { channelSettingsSchema, ixnProfileSchema, type ChannelSettings } from '../../src/protocol/index.js';
import { forkTs } from './procs.js';
import { Random, streamSeed } from './random.js';

export const CHANNEL = 'chat';

export interface CentreModel {
  agents: number;
  concurrency: number;
  /** Handle time of a chat: log-normal with this mean and this sigma of its logarithm. */
  handleMeanSeconds: number;
  handleSigma: number;
  /** Candidates the strategy wants to invite, per minute (Poisson). */
  candidatesPerMinute: number;
  /** What a visitor who sees an invitation does: accept, decline, or (the rest) nothing. */
  acceptProbability: number;
  declineProbability: number;
  /** Log-normal delays from shown to the answer. */
  acceptMeanSeconds: number;
  declineMeanSeconds: number;
  answerSigma: number;
  /** From created to shown on the page (delivery and the widget's mount). */
  showSeconds: number;
  /** The engage's timeoutSeconds: a shown invitation not answered by then times out. */
  timeoutSeconds: number;
  reportEverySeconds: number;
  /** Simulated time, from the first report. */
  hours: number;
  seed: number;
}

/**
 * A stricter rule tried in the benchmark only (not what Beckon does): the
 * shipped rule opens while rate × (inProgress + 1) ≤ freeSlotsLeft × share;
 * this one also keeps `z` standard deviations of the accepts to come in
 * hand: rate × n + z × √(n × rate × (1 − rate)) ≤ freeSlotsLeft × share,
 * with n = inProgress + 1. z = 0 is the shipped rule.
 */
export interface MarginRule {
  z: number;
}

/** How Beckon is set up for one run. */
export interface PacingSetup {
  label: string;
  /** The channel's settings (`PUT /channels/chat`); null: no settings, the channel is not paced. */
  settings: ChannelSettings | null;
  /** Free slots the contact centre keeps out of its reports (0: it reports them all). */
  reserve?: number;
  /** Overrides of the model for this run only (a shorter time-out, a faster report…). */
  model?: Partial<CentreModel>;
  /** A variant of the rule, checked before each engage on the store's own counts (the sim is sequential). */
  margin?: MarginRule;
}

export interface CentreResult {
  label: string;
  seed: number;
  candidates: number;
  /** Engages refused, by the reason of their `NO_CAPACITY` detail (`margin`: by the variant rule). */
  refused: Record<string, number>;
  shown: number;
  accepted: number;
  declined: number;
  timedOut: number;
  abandoned: number;
  /** Busy slot-time and slot-time over the simulated hours, slot-ms. */
  busySlotMs: number;
  slotMs: number;
  /** Invitations on screen at once: mean and most. */
  onScreenMean: number;
  onScreenMax: number;
  /** Wall time of the run, ms. */
  wallMs: number;
}

export const abandonmentOf = (r: { abandoned: number; accepted: number }) =>
  r.accepted > 0 ? r.abandoned / r.accepted : 0;
export const occupancyOf = (r: { busySlotMs: number; slotMs: number }) => r.busySlotMs / r.slotMs;

/** Channel settings as `PUT /channels/chat` stores them, defaults filled in. */
export const settings = (body: unknown): ChannelSettings => channelSettingsSchema.parse(body);

type Answer = 'accepted' | 'declined' | 'none';

interface Candidate {
  at: number;
  answer: Answer;
  /** Shown → answer, ms. */
  delayMs: number;
  handleMs: number;
}

/** The same candidates for every setup with the same model (their draws do not depend on pacing). */
export function candidatesOf(model: CentreModel, t0: number): Candidate[] {
  const arrivals = new Random(streamSeed(model.seed, 1));
  const answers = new Random(streamSeed(model.seed, 2));
  const handles = new Random(streamSeed(model.seed, 3));
  const end = t0 + model.hours * 3_600_000;
  const gapMs = 60_000 / model.candidatesPerMinute;
  const list: Candidate[] = [];
  for (let at = t0 + arrivals.exponential(gapMs); at < end; at += arrivals.exponential(gapMs)) {
    const u = answers.next();
    const answer: Answer =
      u < model.acceptProbability
        ? 'accepted'
        : u < model.acceptProbability + model.declineProbability
          ? 'declined'
          : 'none';
    const mean = answer === 'accepted' ? model.acceptMeanSeconds : model.declineMeanSeconds;
    // Drawn for every candidate, so that the streams stay aligned whatever the answer.
    const delayMs = answers.logNormal(mean, model.answerSigma) * 1000;
    const handleMs = handles.logNormal(model.handleMeanSeconds, model.handleSigma) * 1000;
    list.push({ at: Math.round(at), answer, delayMs: Math.round(delayMs), handleMs: Math.round(handleMs) });
  }
  return list;
}

type SimEvent =
  | { kind: 'arrival'; candidate: number }
  | { kind: 'shown'; candidate: number }
  | { kind: 'answer'; candidate: number; answer: 'accepted' | 'declined' }
  | { kind: 'timeout'; candidate: number }
  | { kind: 'chat-ends' }
  | { kind: 'report' };

/** Events by time, then by the order they were scheduled: a deterministic order for equal times. */
class Agenda {
  #heap: { at: number; seq: number; event: SimEvent }[] = [];
  #seq = 0;

  get size(): number {
    return this.#heap.length;
  }

  add(at: number, event: SimEvent): void {
    const heap = this.#heap;
    heap.push({ at, seq: this.#seq++, event });
    for (let i = heap.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  next(): { at: number; event: SimEvent } {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      for (let i = 0; ;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let least = i;
        if (left < heap.length && before(heap[left]!, heap[least]!)) least = left;
        if (right < heap.length && before(heap[right]!, heap[least]!)) least = right;
        if (least === i) break;
        [heap[i], heap[least]] = [heap[least]!, heap[i]!];
        i = least;
      }
    }
    return top;
  }
}

const before = (a: { at: number; seq: number }, b: { at: number; seq: number }) =>
  a.at < b.at || (a.at === b.at && a.seq < b.seq);

/** Browsing visits the strategy picks its candidates from, each with one open page (more than are ever invited at once). */
const VISIT_POOL = 100;

/** Whether the margin rule lets one more invitation on screen, on the store's counts now. */
async function marginAllows(store: BeckonStore, channel: ChannelSettings, rule: MarginRule, now: number) {
  const load = (await store.channelLoads([CHANNEL])).get(CHANNEL)!;
  const decision = decideChannel(channel.pacing, null, load, now);
  if (!decision.open || decision.freeSlotsLeft === null) return true;
  const rate = Math.max(decision.acceptanceRate, channel.pacing.minAcceptanceRate);
  const n = load.inProgress + 1;
  const expected = rate * n + rule.z * Math.sqrt(n * rate * (1 - rate));
  return expected <= decision.freeSlotsLeft * channel.pacing.proactiveShare;
}

/**
 * The store's own report counters must tell the run's story: every answer
 * and time-out the simulation counted was recorded, and every refusal was
 * the store's.
 */
async function checkAgainstStore(store: BeckonStore, result: CentreResult, t0: number, end: number): Promise<void> {
  const counts: Record<string, number> = {};
  for (const hour of await store.reportHours(t0 - 3_600_000, end + 3_600_000)) {
    for (const [name, value] of Object.entries(hour.counts)) counts[name] = (counts[name] ?? 0) + value;
  }
  const storeRefused = Object.entries(result.refused)
    .filter(([reason]) => reason !== 'margin')
    .reduce((total, [, n]) => total + n, 0);
  const expected: [string, number][] = [
    ['accepted', result.accepted],
    ['declined', result.declined],
    ['timed_out', result.timedOut],
    [refusedCounter('NO_CAPACITY'), storeRefused],
  ];
  for (const [name, value] of expected) {
    if ((counts[name] ?? 0) !== value) {
      throw new Error(`${result.label}: the store counted ${counts[name] ?? 0} ${name}, the simulation ${value}`);
    }
  }
}

/** Runs one setup over the model on a fresh SQLite store on a temp file. */
export async function simulate(base: CentreModel, setup: PacingSetup, t0: number): Promise<CentreResult> {
  const started = performance.now();
  const model = { ...base, ...setup.model };
  const end = t0 + model.hours * 3_600_000;
  const reserve = setup.reserve ?? 0;
  const candidates = candidatesOf(model, t0);

  const dir = mkdtempSync(join(tmpdir(), 'beckon-pacing-'));
  let store: BeckonStore | null = null;
  try {
    store = await openStore({ db: join(dir, 'beckon.db'), redisUrl: null, redisPrefix: '' });
    let t = t0;
    const lifecycle = new Lifecycle(store, { strict: true, visitIdleMs: 86_400_000, now: () => t });
    // Deadlines are fired by the simulation at their virtual time, never by a real timer.
    lifecycle.stopDeadlines();
    if (setup.settings) await store.putChannel(CHANNEL, setup.settings);

    const idle: { visitId: string; pageId: string }[] = [];
    for (let v = 0; v < VISIT_POOL; v++) {
      const page = await lifecycle.enterPage(null, () => null, {
        url: `https://shop.example/products/${v}`,
        title: 'Example Shop',
        visible: true,
        focused: true,
      });
      idle.push(page);
    }
    const invited = new Map<number, { visitId: string; pageId: string }>();

    const result: CentreResult = {
      label: setup.label,
      seed: model.seed,
      candidates: candidates.length,
      refused: {},
      shown: 0,
      accepted: 0,
      declined: 0,
      timedOut: 0,
      abandoned: 0,
      busySlotMs: 0,
      slotMs: 0,
      onScreenMean: 0,
      onScreenMax: 0,
      wallMs: 0,
    };
    const slots = model.agents * model.concurrency;
    let busy = 0;
    let onScreenMs = 0;
    let lastAt = t0;

    const agenda = new Agenda();
    if (setup.settings) agenda.add(t0, { kind: 'report' });
    candidates.forEach((candidate, i) => agenda.add(candidate.at, { kind: 'arrival', candidate: i }));

    const release = (i: number) => {
      const visit = invited.get(i)!;
      invited.delete(i);
      idle.push(visit);
    };
    const refuse = (reason: string) => (result.refused[reason] = (result.refused[reason] ?? 0) + 1);

    while (agenda.size > 0) {
      const { at, event } = agenda.next();
      if (at >= end) break;
      result.busySlotMs += busy * (at - lastAt);
      result.slotMs += slots * (at - lastAt);
      onScreenMs += invited.size * (at - lastAt);
      lastAt = at;
      t = at;
      switch (event.kind) {
        case 'report':
          await store.reportCapacity(CHANNEL, Math.max(0, slots - busy - reserve), t);
          agenda.add(t + model.reportEverySeconds * 1000, { kind: 'report' });
          break;
        case 'arrival': {
          const visit = idle.shift();
          if (!visit) throw new Error(`no idle visit for candidate ${event.candidate}: make VISIT_POOL larger`);
          if (setup.margin && setup.settings && !(await marginAllows(store, setup.settings, setup.margin, t))) {
            refuse('margin');
            idle.push(visit);
            break;
          }
          const profile = ixnProfileSchema.parse({
            interactionId: `candidate-${event.candidate}`,
            visitId: visit.visitId,
            channels: [CHANNEL],
            timeoutSeconds: model.timeoutSeconds,
          });
          try {
            await lifecycle.engage(profile);
          } catch (error) {
            if (!(error instanceof BeckonFault) || error.code !== 'NO_CAPACITY') throw error;
            refuse(String((error.details?.[0] as { reason?: string } | undefined)?.reason));
            idle.push(visit);
            break;
          }
          invited.set(event.candidate, visit);
          result.onScreenMax = Math.max(result.onScreenMax, invited.size);
          agenda.add(t + model.showSeconds * 1000, { kind: 'shown', candidate: event.candidate });
          break;
        }
        case 'shown': {
          const visit = invited.get(event.candidate)!;
          await lifecycle.markShown(`candidate-${event.candidate}`, visit.visitId, visit.pageId);
          result.shown++;
          const candidate = candidates[event.candidate]!;
          if (candidate.answer !== 'none' && candidate.delayMs < model.timeoutSeconds * 1000) {
            agenda.add(t + candidate.delayMs, { kind: 'answer', candidate: event.candidate, answer: candidate.answer });
          } else {
            agenda.add(t + model.timeoutSeconds * 1000, { kind: 'timeout', candidate: event.candidate });
          }
          break;
        }
        case 'answer': {
          const visit = invited.get(event.candidate)!;
          await lifecycle.answer(
            `candidate-${event.candidate}`,
            visit.visitId,
            visit.pageId,
            event.answer,
            event.answer === 'accepted' ? CHANNEL : undefined,
          );
          release(event.candidate);
          if (event.answer === 'declined') {
            result.declined++;
            break;
          }
          result.accepted++;
          if (busy < slots) {
            busy++;
            agenda.add(t + candidates[event.candidate]!.handleMs, { kind: 'chat-ends' });
          } else {
            result.abandoned++;
          }
          break;
        }
        case 'timeout': {
          // The deadline as the server's clock fires it: whatever is due now settles (this one at least).
          await lifecycle.settleDue();
          result.timedOut++;
          release(event.candidate);
          break;
        }
        case 'chat-ends':
          busy--;
          break;
      }
    }
    await checkAgainstStore(store, result, t0, end);
    result.busySlotMs += busy * (end - lastAt);
    result.slotMs += slots * (end - lastAt);
    onScreenMs += invited.size * (end - lastAt);
    result.onScreenMean = onScreenMs / (end - t0);
    result.wallMs = performance.now() - started;
    return result;
  } finally {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs every (setup, seed) pair, `workers` at a time, each in a child
 * process of its own (killed by PID if the benchmark stops) with its own
 * store: the runs share nothing, so the results are the same however many
 * run at once.
 */
export async function simulateAll(
  model: CentreModel,
  runs: readonly { setup: PacingSetup; seed: number }[],
  options: { t0: number; workers: number },
): Promise<{ results: CentreResult[]; distinctRuns: number }> {
  // Two tables may hold the same setup under different labels: each distinct run runs once.
  const keyOf = ({ setup, seed }: { setup: PacingSetup; seed: number }) =>
    JSON.stringify([setup.settings, setup.reserve ?? 0, setup.model ?? {}, setup.margin ?? null, seed]);
  const distinct = [...new Map(runs.map((run) => [keyOf(run), run])).values()];
  const done = new Map<string, CentreResult>();
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < distinct.length; i = next++) {
      const { setup, seed } = distinct[i]!;
      done.set(keyOf(distinct[i]!), await inChild({ ...model, seed }, setup, options.t0));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.workers) }, lane));
  return {
    results: runs.map((run) => ({ ...done.get(keyOf(run))!, label: run.setup.label })),
    distinctRuns: distinct.length,
  };
}

function inChild(model: CentreModel, setup: PacingSetup, t0: number): Promise<CentreResult> {
  return new Promise((resolve, reject) => {
    const child = forkTs(fileURLToPath(new URL('./contact-centre-child.ts', import.meta.url)));
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let result: CentreResult | null = null;
    child.once('message', (message: CentreResult) => (result = message));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (result) resolve(result);
      else reject(new Error(`simulation of ${setup.label} exited with ${code}:\n${stderr}`));
    });
    child.send({ model, setup, t0 });
  });
}
