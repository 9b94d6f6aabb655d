/**
 * Parity with the SQLite store beyond the contract: the same random runs of
 * store calls (as the core makes them) on both stores, compared answer by
 * answer and, every few steps, the whole visible state. Event ids and seqs
 * differ by design and are left out; everything else must be equal.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGAGEMENT_STATES, ixnProfileSchema, type BeckonEvent, type EngagementState } from '../../protocol/index.js';
import { startRedisServer, type RedisServer } from '../../../test/redis-server.js';
import { openSqliteStore } from '../sqlite/store.js';
import { channelSettingsSchema } from '../../protocol/channels.js';
import type { BeckonStore, CreateResult, HeldPage, NodeRef, PacedChannel } from '../../core/store.js';
import { HOUR_MS } from '../../core/reports.js';
import { decideChannel } from '../../core/pacing.js';
import type { CapSettings } from '../../core/caps.js';
import { openRedisStore } from './store.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.dispose();
});

/** A small deterministic PRNG (mulberry32), so a failing seed can be replayed. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(list: readonly T[]) => list[Math.floor(next() * list.length)]!,
    chance: (p: number) => next() < p,
  };
}

const strip = ({ id: _id, seq: _seq, ...rest }: BeckonEvent) => rest;
// Runs move through these, a few at a time (a window that slides with the steps), so that new
// visits keep starting and new attempts keep being made while old ones end and settle.
const VISITS = Array.from({ length: 32 }, (_, i) => `v${i + 1}`);
const BROWSERS = ['g1', 'g2', 'g3', 'g4', 'g5'];
const PAGES = Array.from({ length: 40 }, (_, i) => `p${i + 1}`);
const IDS = Array.from({ length: 120 }, (_, i) => `ixn-${i}`);
const NODES: NodeRef[] = [
  { nodeId: 'n1', bootId: 'b1' },
  { nodeId: 'n1', bootId: 'b2' },
  { nodeId: 'n2', bootId: 'b1' },
];
const byPage = (pages: HeldPage[]) => [...pages].sort((a, b) => a.pageId.localeCompare(b.pageId));
const IDLE_MS = 60_000;
const START = Date.UTC(2026, 0, 1, 12, 0, 0);
/** The kinds of report counter the runs ended with (checked after them: the comparison covered real counters). */
const countersSeen = new Set<string>();
/** Pages and visits the runs pruned (checked after them: the comparison covered real deletions). */
let presencePruned = 0;
/** Settled attempts the runs pruned (likewise). */
let attemptsPruned = 0;
/** Frequency caps some creates run under: a small daily cap, a quiet time a few steps long, both. */
const CAPS: CapSettings[] = [
  { perDay: 2, afterDeclineMs: null },
  { perDay: null, afterDeclineMs: 60_000 },
  { perDay: 3, afterDeclineMs: 120_000 },
];
const STEPS = 400;
/** The channels engages ask for, some of them configured and paced as the runs go. */
const CHANNELS = ['chat', 'voice', 'callback'];
const CHANNEL_ASKS = [['chat'], ['chat', 'voice'], ['voice', 'callback', 'chat'], ['callback']];
/** What the runs saw of pacing (checked after them: the comparison covered real decisions and counts). */
const pacingSeen = new Set<string>();

/** Notes what a create with pacing came to. */
function seenPacing(result: CreateResult, asked: number, paced: boolean) {
  if (result.kind === 'no-capacity') pacingSeen.add('refused');
  if (result.kind === 'created' && paced) pacingSeen.add('paced and created');
  if (result.kind === 'created' && result.engagement.channels.length < asked) pacingSeen.add('narrowed');
}

/** Settings an operator might give a channel: not paced, a few on screen at once, or by capacity. */
function randomSettings(rand: ReturnType<typeof prng>) {
  const pacing = rand.pick([
    { mode: 'off' },
    { mode: 'fixed', maxOnScreen: rand.int(4) },
    { mode: 'fixed', maxOnScreen: rand.int(4), proactiveShare: 0.5 },
    {
      mode: 'progressive',
      proactiveShare: rand.pick([1, 0.8, 0.35]),
      initialAcceptanceRate: rand.pick([0.2, 0.5, 0.7, 1]),
      minAcceptanceRate: rand.pick([0.05, 0.3]),
      capacityStaleSeconds: rand.pick([30, 60, 300]),
    },
  ]);
  const hours = rand.chance(0.3)
    ? { timeZone: 'Europe/Paris', weekly: { mon: [['09:00', '18:00']] }, closed: ['2026-12-25'] }
    : null;
  return channelSettingsSchema.parse({ hours, pacing });
}

/** Everything a reader can see, comparable across stores. */
async function snapshot(store: BeckonStore, now: number) {
  const byId = <T extends { interactionId: string }>(list: T[]) =>
    [...list].sort((a, b) => a.interactionId.localeCompare(b.interactionId));
  return {
    engagements: await Promise.all(
      [...IDS, ...Array.from({ length: STEPS }, (_, i) => `new-${i}`)].map((id) => store.getEngagement(id)),
    ),
    active: await Promise.all(VISITS.map((v) => store.activeEngagements(v))),
    visits: await Promise.all(VISITS.map((v) => store.getVisit(v))),
    pages: await Promise.all(PAGES.map((p) => store.getPage(p))),
    openPages: await Promise.all(VISITS.map((v) => store.openPages(v))),
    live: await store.liveVisits(),
    counts: await store.counts(),
    optedOut: await Promise.all(BROWSERS.map((g) => store.isOptedOut(g))),
    nextDeadline: await store.nextDeadline(IDLE_MS),
    due: (await store.dueDeadlines(now, IDLE_MS)).map((d) => JSON.stringify(d)).sort(),
    events: (await store.eventsAfter(0, { types: null, visitId: null }, 100_000)).map(strip),
    visitEvents: (await store.eventsAfter(0, { types: ['page.entered', 'engagement.pending'], visitId: 'v1' }, 3)).map(
      strip,
    ),
    backlog: await store.webhookBacklog(),
    expiredNodes: await store.expiredNodes(now, 100),
    held: await Promise.all(['n1', 'n2'].map(async (n) => byPage(await store.pagesHeldBy(n, null, 100)))),
    heldButB2: byPage(await store.pagesHeldBy('n1', 'b2', 100)),
    ofBoot: await Promise.all(NODES.map(async (node) => byPage(await store.pagesOfBoot(node, 100)))),
    nextWebhookAt: await store.nextWebhookAt(),
    // Report counters of every hour of the run, and the export's order of every attempt.
    reports: await store.reportHours(START, now + HOUR_MS),
    exported: (await store.engagementsCreated({ from: 0, to: now + 1, after: null, limit: 100_000 })).map(
      (e) => e.interactionId,
    ),
    budgets: await store.browserBudgets(BROWSERS, now),
    // Channels: their settings, and what each store counts of them.
    channelSettings: [...(await store.channelSettings()).entries()],
    channelLoads: [...(await store.channelLoads(CHANNELS)).entries()],
    byId,
  };
}

async function run(seed: number, steps: number): Promise<void> {
  const rand = prng(seed);
  const dir = join(tmpdir(), `beckon-parity-${randomBytes(4).toString('hex')}`);
  const sqlite = openSqliteStore(`${dir}/beckon.db`);
  const redis = await openRedisStore({ url: server.url, prefix: `parity${seed}:` });
  const stores = [sqlite, redis] as const;
  let now = START;
  // The deliveries each store handed out last, by position (their seqs differ).
  let claimed: [number[], number[]] = [[], []];
  try {
    for (let step = 0; step < steps; step++) {
      now += 1 + rand.int(20_000);
      const op = rand.int(25);
      const node = rand.pick(NODES);
      const window = Math.floor(step / 15);
      const visitId = VISITS[(window + rand.int(4)) % VISITS.length]!;
      const pageId = PAGES[(window + rand.int(6)) % PAGES.length]!;
      // Mostly an attempt in progress (when there is one), so that changes happen, else any id.
      const inProgress = (await Promise.all(VISITS.map((v) => sqlite.activeEngagements(v)))).flat();
      const interactionId =
        inProgress.length > 0 && rand.chance(0.7)
          ? rand.pick(inProgress).interactionId
          : IDS[(Math.floor(step / 4) + rand.int(8)) % IDS.length]!;
      const label = `seed ${seed} step ${step} op ${op}`;
      /** Calls both stores alike and expects the same answer. */
      const same = async <T>(call: (store: BeckonStore) => Promise<T>, normalize: (value: T) => unknown = (v) => v) => {
        const [a, b] = [await call(sqlite), await call(redis)];
        expect(normalize(b), label).toEqual(normalize(a));
        return [a, b] as const;
      };
      switch (op) {
        case 0:
        case 1:
          {
            const globalVisitId = rand.pick(BROWSERS);
            await same((s) => s.startVisit({ visitId, globalVisitId }, now));
          }
          break;
        case 2:
        case 3: {
          // SQLite refuses a page of a visit it never saw with a foreign-key error; the core never asks.
          if ((await sqlite.getVisit(visitId)) === null) break;
          const info = {
            url: `https://shop.test/${step}`,
            title: `T${step}`,
            visible: rand.chance(0.6),
            focused: rand.chance(0.5),
            ...(rand.chance(0.5) ? { locale: 'de' } : {}),
          };
          const held = rand.chance(0.85) ? { node } : {};
          await same((s) => s.openPage({ pageId, visitId, info, ...held }, now));
          break;
        }
        case 4: {
          const update = {
            ...(rand.chance(0.5) ? { visible: rand.chance(0.5) } : {}),
            ...(rand.chance(0.5) ? { focused: rand.chance(0.5) } : {}),
            ...(rand.chance(0.3) ? { title: `U${step}` } : {}),
            ...(rand.chance(0.2) ? { locale: 'fr' } : {}),
          };
          await same((s) => s.updatePage(pageId, update, now));
          break;
        }
        case 5:
          await same((s) => s.closePage(pageId, now));
          break;
        case 6:
          await same((s) => s.endVisit(visitId, now));
          break;
        case 7: {
          const optedOut = rand.chance(0.4);
          const browser = rand.pick(BROWSERS);
          // Declining several at once records their events in an order SQLite does not specify (its
          // query has no ORDER BY); the seqs, lanes and pruning that follow would then differ. The
          // contract covers declining several; here at most one.
          let declining = 0;
          for (const visit of VISITS) {
            if ((await sqlite.getVisit(visit))?.globalVisitId === browser)
              declining += (await sqlite.activeEngagements(visit)).length;
          }
          if (optedOut && declining > 1) break;
          await same(
            (s) => s.setOptOut(browser, optedOut, now),
            (list) => [...list].sort((a, b) => a.interactionId.localeCompare(b.interactionId)),
          );
          break;
        }
        case 8:
        case 9:
        case 10: {
          // Mostly a live visit and a new id, so that attempts get made.
          const live = (await sqlite.liveVisits()).map((v) => v.visitId).sort();
          const target = live.length > 0 && rand.chance(0.8) ? rand.pick(live) : visitId;
          const profile = ixnProfileSchema.parse({
            interactionId: rand.chance(0.6) ? `new-${step}` : interactionId,
            visitId: target,
            ...(rand.chance(0.3) ? { pageId } : {}),
            channels: rand.pick(CHANNEL_ASKS),
            userData: { n: rand.int(1000) / 7, ok: rand.chance(0.5) },
            timeoutSeconds: 5 + rand.int(60),
            expirationSeconds: 10 + rand.int(120),
          });
          // As the core does: the asked channels that have settings are paced, their hours read now.
          const settings = await sqlite.channelSettings(profile.channels);
          const pacing: PacedChannel[] = profile.channels.flatMap((channel) => {
            const configured = settings.get(channel);
            return configured ? [{ channel, pacing: configured.pacing, hoursOpen: rand.chance(0.85) }] : [];
          });
          const options = {
            exclusive: rand.chance(0.5),
            now,
            place: rand.chance(0.7),
            ...(rand.chance(0.6) ? { caps: rand.pick(CAPS) } : {}),
            ...(pacing.length > 0 ? { pacing } : {}),
          };
          // The reasons the stores are to find (when the checks before pacing let the engage through).
          const loads = await sqlite.channelLoads(pacing.map((p) => p.channel));
          for (const { channel, pacing: paced, hoursOpen } of pacing) {
            const hours = { open: hoursOpen, opensAt: null, closesAt: null };
            pacingSeen.add(decideChannel(paced, hours, loads.get(channel)!, now).reason ?? 'open');
          }
          const [result] = await same((s) => s.createAttempt(profile, options));
          seenPacing(result, profile.channels.length, pacing.length > 0);
          break;
        }
        case 11: {
          const cancel = {
            interactionId,
            visitId: rand.chance(0.5) ? visitId : null,
            reason: rand.chance(0.5) ? 'no-agents' : null,
          };
          await same((s) => s.createTombstone(cancel, now));
          break;
        }
        case 12:
        case 13: {
          const from = rand.pick([['pending'], ['delivered'], ['pending', 'delivered']] as EngagementState[][]);
          const to = rand.pick(ENGAGEMENT_STATES.filter((s) => s !== 'pending'));
          const request = {
            interactionId,
            from,
            to,
            at: now,
            ...(rand.chance(0.3) ? { visitId } : {}),
            ...(rand.chance(0.3) ? { channel: rand.pick(CHANNELS) } : {}),
            ...(rand.chance(0.3) ? { reason: 'because' } : {}),
            ...(rand.chance(0.5) ? { timeoutAt: now + 30_000 } : {}),
            ...(rand.chance(0.5) ? { pageId } : {}),
          };
          await same((s) => s.transition(request));
          break;
        }
        case 14: {
          const current = (await sqlite.getEngagement(interactionId))?.shownPageId ?? null;
          const expected = rand.chance(0.7) ? current : rand.pick([null, ...PAGES]);
          const target = rand.chance(0.1) ? null : pageId;
          await same((s) => s.placeOn(interactionId, expected, target));
          break;
        }
        case 15: {
          const options = {
            types: rand.chance(0.5) ? null : (['visit.started', 'engagement.pending', 'page.left'] as const),
            now,
            maxAgeMs: 86_400_000,
            limit: 1 + rand.int(30),
          };
          await same((s) => s.queueWebhookEvents(options));
          break;
        }
        case 16: {
          const leaseUntil = now + 1 + rand.int(40_000);
          const [a, b] = await same(
            (s) => s.claimWebhookDeliveries(now, leaseUntil, 100),
            (list) => list.map((d) => ({ event: strip(d.event), attempts: d.attempts })),
          );
          claimed = [a.map((d) => d.event.seq), b.map((d) => d.event.seq)];
          break;
        }
        case 17: {
          if (claimed[0].length === 0) break;
          // As a sender does: one outcome per delivery it claimed (SQLite would also act on a settled one).
          const i = rand.int(claimed[0].length);
          const seqs = [claimed[0].splice(i, 1)[0]!, claimed[1].splice(i, 1)[0]!];
          const outcome = rand.int(3);
          const retryAt = now + rand.int(10_000);
          const attempts = 1 + rand.int(3);
          await same((s) => {
            const seq = seqs[s === sqlite ? 0 : 1]!;
            if (outcome === 0) return s.webhookDelivered(seq);
            return s.webhookAttemptFailed(seq, attempts, outcome === 1 ? retryAt : null, 'HTTP 500');
          });
          break;
        }
        case 18: {
          const before = now - rand.int(200_000);
          const limit = 1 + rand.int(20);
          await same((s) => s.pruneEvents(before, limit));
          // The same cut for closed pages and ended visits, as the retention loop does.
          const [pruned] = await same((s) => s.pruneVisits(before, limit));
          presencePruned += pruned;
          // And settled attempts, kept longer (as the default retentions do): a cut further back.
          const [attempts] = await same((s) => s.pruneAttempts(before - 300_000, limit));
          attemptsPruned += attempts;
          break;
        }
        case 19: {
          const expiresAt = now + rand.int(60_000);
          await same((s) => s.heartbeat(node, expiresAt, now));
          break;
        }
        case 20:
          await same((s) => s.forgetNode(node, now));
          break;
        case 21: {
          // As the reaper and a closing socket do: guarded by the holder it saw (mostly the current one).
          const page = await sqlite.getPage(pageId);
          const holder = page?.nodeId && rand.chance(0.6) ? { nodeId: page.nodeId, bootId: page.bootId! } : node;
          await same((s) => s.closePage(pageId, now, holder));
          break;
        }
        case 22: {
          // An operator configures a channel, or removes one.
          const channel = rand.pick(CHANNELS);
          if (rand.chance(0.2)) await same((s) => s.deleteChannel(channel));
          else {
            const settings = randomSettings(rand);
            await same((s) => s.putChannel(channel, settings));
          }
          break;
        }
        case 23: {
          // The contact centre reports capacity (a channel without settings records nothing).
          const channel = rand.pick(CHANNELS);
          const freeSlots = rand.int(4);
          await same((s) => s.reportCapacity(channel, freeSlots, now));
          break;
        }
        case 24: {
          // An invitation in progress goes its usual way: shown, then answered, often accepted with one
          // of its channels (what the channels' outcomes and accepts since a report count).
          const engagement = inProgress.length > 0 ? rand.pick(inProgress) : null;
          if (!engagement) break;
          const { interactionId: id, state, channels } = engagement;
          const request =
            state === 'pending'
              ? {
                  interactionId: id,
                  from: ['pending' as const],
                  to: 'delivered' as const,
                  at: now,
                  timeoutAt: now + 30_000,
                }
              : rand.chance(0.5)
                ? {
                    interactionId: id,
                    from: ['delivered' as const],
                    to: 'accepted' as const,
                    at: now,
                    channel: rand.pick(channels),
                  }
                : {
                    interactionId: id,
                    from: ['delivered' as const],
                    to: rand.pick(['declined', 'timed_out'] as const),
                    at: now,
                  };
          await same((s) => s.transition(request));
          break;
        }
      }
      if (step % 10 === 9 || step === steps - 1) {
        const [a, b] = await Promise.all(stores.map((s) => snapshot(s, now)));
        const { byId: _a, ...left } = a!;
        const { byId: _b, ...right } = b!;
        expect(right, `seed ${seed} after step ${step}`).toEqual(left);
        for (const [, load] of left.channelLoads) {
          if (load.inProgress > 0) pacingSeen.add('counted in progress');
          if (load.acceptedSinceReport > 0) pacingSeen.add('accepted since a report');
          if (load.answered > 0 && load.accepted > 0) pacingSeen.add('answered and accepted');
        }
        // The run spans hours and settles attempts: the report comparison covers real counters.
        if (step === steps - 1)
          for (const hour of left.reports)
            for (const name of Object.keys(hour.counts)) countersSeen.add(name.split(':')[0]!);
      }
    }
  } finally {
    await redis.close();
    await sqlite.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('redis store: parity with the SQLite store', () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`answers and ends up as SQLite does on random run ${seed}`, async () => {
      await run(seed, STEPS);
    }, 60_000);
  }
  it("keeps a deleted channel's counts and drops its report, as SQLite does", async () => {
    const dir = join(tmpdir(), `beckon-parity-${randomBytes(4).toString('hex')}`);
    const sqlite = openSqliteStore(`${dir}/beckon.db`);
    const redis = await openRedisStore({ url: server.url, prefix: `parity-delete:` });
    try {
      const both = async <T>(call: (store: BeckonStore) => Promise<T>) => {
        const [a, b] = [await call(sqlite), await call(redis)];
        expect(b).toEqual(a);
        return a;
      };
      const settings = channelSettingsSchema.parse({ pacing: { mode: 'progressive' } });
      const pacing = [{ channel: 'chat', pacing: settings.pacing, hoursOpen: true }];
      await both((s) => s.startVisit({ visitId: 'v', globalVisitId: 'g' }, START));
      await both((s) => s.putChannel('chat', settings));
      await both((s) => s.reportCapacity('chat', 2, START));
      for (const id of ['a', 'b']) {
        const profile = ixnProfileSchema.parse({ interactionId: id, visitId: 'v' });
        await both((s) => s.createAttempt(profile, { exclusive: false, now: START, place: false, pacing }));
        await both((s) => s.transition({ interactionId: id, from: ['pending'], to: 'delivered', at: START + 1 }));
      }
      await both((s) =>
        s.transition({ interactionId: 'a', from: ['delivered'], to: 'accepted', at: START + 2, channel: 'chat' }),
      );
      expect(await both((s) => s.channelLoads(['chat']))).toEqual(
        new Map([
          [
            'chat',
            {
              capacity: { freeSlots: 2, reportedAt: START },
              acceptedSinceReport: 1,
              inProgress: 1,
              answered: 1,
              accepted: 1,
            },
          ],
        ]),
      );
      // Deleted: no report, no accepts since one; what is in progress and the outcomes stay.
      await both((s) => s.deleteChannel('chat'));
      await both((s) => s.channelLoads(['chat']));
      await both((s) =>
        s.transition({ interactionId: 'b', from: ['delivered'], to: 'accepted', at: START + 3, channel: 'chat' }),
      );
      expect(await both((s) => s.channelLoads(['chat']))).toEqual(
        new Map([['chat', { capacity: null, acceptedSinceReport: 1, inProgress: 0, answered: 2, accepted: 2 }]]),
      );
    } finally {
      await redis.close();
      await sqlite.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('compared the retention of pages and visits on the way', () => {
    expect(presencePruned).toBeGreaterThan(20);
  });
  it('compared the retention of settled attempts on the way', () => {
    expect(attemptsPruned).toBeGreaterThan(20);
  });
  it('compared report counters of every kind on the way', () => {
    expect([...countersSeen].sort()).toEqual(
      expect.arrayContaining([
        'accepted',
        'cancelled',
        'ch',
        'created',
        'declined',
        'delivered',
        'expired',
        'narrowed',
        'ps',
        're',
        'rf',
        'timed_out',
        'tta',
      ]),
    );
  });
  it('compared pacing decisions of every kind on the way', () => {
    expect([...pacingSeen].sort()).toEqual([
      'accepted since a report',
      'answered and accepted',
      'capacity-unknown',
      'counted in progress',
      'narrowed',
      'no-free-agents',
      'open',
      'outside-hours',
      'paced and created',
      'pacing',
      'refused',
    ]);
  });
});
