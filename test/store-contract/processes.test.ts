/**
 * The store contract between processes: several processes on one store
 * (race.ts starts them, race-worker.ts is each of them) try the same changes
 * in the same instants, and each change still takes effect once, with one
 * event. Run once on each store (stores.ts).
 */
import { describe, expect, it } from 'vitest';
import type { NodeRef } from '../../src/core/store.js';
import { channelSettingsSchema } from '../../src/protocol/channels.js';
import { allowanceOf } from '../../src/core/pacing.js';
import { HOUR_MS, hourOf } from '../../src/core/reports.js';
import { events, pageInfo, profile, visitWithPage } from './fixtures.js';
import { race } from './race.js';
import { describeEachStore } from './stores.js';

describeEachStore(({ freshWithConfig }) => {
  describe('several processes on one store', () => {
    it('settles every attempt once when four processes race accept, decline, cancel and the timeout', async () => {
      /** One race on a fresh store; returns how many processes won some. */
      const raceOnce = async (): Promise<number> => {
        const { store, config } = await freshWithConfig();
        await store.startVisit({ visitId: 'visit-race', globalVisitId: 'browser-race' }, Date.now());
        const ids = Array.from({ length: 150 }, (_, i) => `race-${i}`);
        for (const interactionId of ids) {
          await store.createAttempt(profile({ interactionId, visitId: 'visit-race' }), {
            exclusive: false,
            now: Date.now(),
            place: false,
          });
          await store.transition({ interactionId, from: ['pending'], to: 'delivered', at: Date.now() });
        }
        const contenders = await race(config, ['accepted', 'declined', 'cancelled', 'timed_out'], ids);
        expect(contenders.flatMap((c) => c.wins).sort()).toEqual([...ids].sort()); // each id won exactly once
        for (const { mode, wins } of contenders) {
          for (const id of wins) expect((await store.getEngagement(id))?.state).toBe(mode);
        }
        // One event per transition: pending, delivered and exactly one terminal event per attempt.
        const perAttempt = new Map<string, number>();
        for (const event of await events(store)) {
          if (event.interactionId) perAttempt.set(event.interactionId, (perAttempt.get(event.interactionId) ?? 0) + 1);
        }
        expect(perAttempt.size).toBe(ids.length);
        expect([...perAttempt.values()].every((n) => n === 3)).toBe(true);
        return contenders.filter((c) => c.wins.length > 0).length;
      };
      // The slots make them really fight, and they all start from one barrier (race.ts), but a loaded machine
      // can still keep a process off the CPU and let another win everything; the exactly-once checks hold
      // either way, and a real fight must show in some round.
      let fighters = 0;
      for (let round = 0; round < 5 && fighters < 2; round++) fighters = await raceOnce();
      expect(fighters).toBeGreaterThan(1);
    }, 120_000);

    it('creates an attempt once when processes race the same engage', async () => {
      const { store, config } = await freshWithConfig();
      await store.startVisit({ visitId: 'visit-engage', globalVisitId: 'browser-engage' }, Date.now());
      const ids = Array.from({ length: 150 }, (_, i) => `dup-${i}`);
      const contenders = await race(config, ['engage:visit-engage', 'engage:visit-engage', 'engage:visit-engage'], ids);
      expect(contenders.flatMap((c) => c.wins).sort()).toEqual([...ids].sort()); // each created by one process only
      const pending = (await events(store)).filter((e) => e.type === 'engagement.pending');
      expect(pending).toHaveLength(ids.length);
      expect((await store.activeEngagements('visit-engage')).length).toBe(ids.length);
    }, 60_000);

    it("closes a dead node's pages once when two processes reap it at the same time", async () => {
      const dead: NodeRef = { nodeId: '10.0.0.7:8080', bootId: 'boot-dead' };
      const alive: NodeRef = { nodeId: '10.0.0.8:8080', bootId: 'boot-alive' };
      /** One race on a fresh store; returns how many processes closed some. */
      const raceOnce = async (): Promise<number> => {
        const { store, config } = await freshWithConfig();
        const now = Date.now();
        await store.startVisit({ visitId: 'reap-v', globalVisitId: 'g' }, now);
        await store.startVisit({ visitId: 'reap-w', globalVisitId: 'g' }, now);
        const ids = Array.from({ length: 120 }, (_, i) => `held-${i}`);
        for (const [i, pageId] of ids.entries()) {
          await store.openPage({ pageId, visitId: i % 2 ? 'reap-v' : 'reap-w', info: pageInfo(), node: dead }, now);
        }
        await store.openPage({ pageId: 'on-alive', visitId: 'reap-v', info: pageInfo(), node: alive }, now);
        await store.heartbeat(dead, now - 1, now - 15_000);
        await store.heartbeat(alive, now + 600_000, now);
        expect(await store.expiredNodes(Date.now(), 10)).toEqual([dead]);

        const listed = (await store.pagesOfBoot(dead, 1000)).map((p) => p.pageId);
        expect(listed.sort()).toEqual([...ids].sort());
        const reapers = await race(config, [`reap:${JSON.stringify(dead)}`, `reap:${JSON.stringify(dead)}`], listed);
        expect(reapers.filter((r) => r.forgot)).toHaveLength(1); // forgotten once
        expect(reapers.flatMap((r) => r.wins).sort()).toEqual([...ids].sort()); // each page closed by one of them
        const left = (await events(store)).filter((e) => e.type === 'page.left');
        expect(left.map((e) => e.pageId).sort()).toEqual([...ids].sort()); // one page.left per page
        expect(await store.pagesOfBoot(dead, 1000)).toEqual([]);
        expect(await store.expiredNodes(Date.now(), 10)).toEqual([]);
        expect(await store.heartbeat(dead, Date.now() + 15_000, Date.now())).toBe('reaped');
        // The live node's page stays open; the visit that only had pages on the dead node is idle.
        expect(await store.pagesHeldBy(alive.nodeId, null, 10)).toEqual([
          { pageId: 'on-alive', visitId: 'reap-v', node: alive },
        ]);
        expect((await store.getVisit('reap-v'))?.idleSince).toBeNull();
        expect((await store.getVisit('reap-w'))?.idleSince).not.toBeNull();
        expect(await store.counts()).toEqual({ liveVisits: 2, openPages: 1 });
        return reapers.filter((r) => r.wins.length > 0).length;
      };
      // As in the race above: a process kept waiting may let another close everything; a real fight must show in some round.
      let fighters = 0;
      for (let round = 0; round < 5 && fighters < 2; round++) fighters = await raceOnce();
      expect(fighters).toBeGreaterThan(1);
    }, 120_000);

    it('fires each due deadline once with several processes watching', async () => {
      const { store, config } = await freshWithConfig();
      await visitWithPage(store, 'v', 'p', Date.now());
      const ids = Array.from({ length: 60 }, (_, i) => `due-${i}`);
      const now = Date.now();
      for (const [i, interactionId] of ids.entries()) {
        await store.createAttempt(profile({ interactionId, visitId: 'v', timeoutSeconds: 5, expirationSeconds: 10 }), {
          exclusive: false,
          now,
          place: false,
        });
        // Half are shown (they time out), half wait for a page (they expire); all are due within 3.5 s of the start.
        if (i % 2 === 0) {
          await store.transition({
            interactionId,
            from: ['pending'],
            to: 'delivered',
            at: now,
            timeoutAt: now + 3500,
          });
        }
      }
      const watchers = await race(config, ['deadlines', 'deadlines', 'deadlines'], ids);
      // Expiries are 10 s after creation; the watchers keep looking until every id has settled.
      expect(watchers.flatMap((w) => w.wins).sort()).toEqual([...ids].sort());
      for (const [i, id] of ids.entries()) {
        expect((await store.getEngagement(id))?.state).toBe(i % 2 === 0 ? 'timed_out' : 'expired');
      }
      const terminal = (await events(store)).filter(
        (e) => e.type === 'engagement.timed_out' || e.type === 'engagement.expired',
      );
      expect(terminal).toHaveLength(ids.length);
    }, 60_000);

    it('lets exactly the allowed number through when processes race engages for one browser at the cap', async () => {
      /** One race on a fresh store; returns how many processes won some. */
      const raceOnce = async (): Promise<number> => {
        const { store, config } = await freshWithConfig();
        await store.startVisit({ visitId: 'capped-visit', globalVisitId: 'capped-browser' }, Date.now());
        const perDay = 30;
        // Three processes each try 40 attempts of their own, in the same 3 ms slots: every seat is fought over,
        // and a process that starts a little late still finds seats left.
        const ids = Array.from({ length: 40 }, (_, i) => `seat-${i}`);
        const mode = `engage-capped:${perDay}:capped-visit`;
        const contenders = await race(config, [mode, mode, mode], ids);
        const wins = contenders.flatMap((c) => c.wins);
        expect(wins).toHaveLength(perDay);
        expect(new Set(wins).size).toBe(perDay);
        const pending = (await store.eventsAfter(0, { types: ['engagement.pending'], visitId: null }, 1000)).map(
          (e) => e.interactionId,
        );
        expect(pending.sort()).toEqual([...wins].sort());
        const budget = (await store.browserBudgets(['capped-browser'], Date.now())).get('capped-browser')!;
        expect(budget.counted).toHaveLength(perDay);
        return contenders.filter((c) => c.wins.length > 0).length;
      };
      // As in the other races: a process kept waiting may let another take every seat; a real fight must show in some round.
      let fighters = 0;
      for (let round = 0; round < 5 && fighters < 2; round++) fighters = await raceOnce();
      expect(fighters).toBeGreaterThan(1);
    }, 120_000);

    it("lets exactly a paced channel's allowance through when processes race engages for it", async () => {
      /** One race on a fresh store; returns how many processes won some. */
      const raceOnce = async (): Promise<number> => {
        const { store, config } = await freshWithConfig();
        const start = Date.now();
        await store.startVisit({ visitId: 'paced-visit', globalVisitId: 'paced-browser' }, start);
        // Progressive chat, two free slots reported before the race (and not stale during it).
        const settings = channelSettingsSchema.parse({ pacing: { mode: 'progressive', capacityStaleSeconds: 3600 } });
        await store.putChannel('chat', settings);
        await store.reportCapacity('chat', 2, start);
        // Two free slots at the initial acceptance rate 0.2: ten may be on screens at once.
        const allowance = allowanceOf(settings.pacing, 2, settings.pacing.initialAcceptanceRate);
        expect(allowance).toBe(10);
        // Three processes each try 40 engages of their own, in the same 3 ms slots, against one allowance.
        const ids = Array.from({ length: 40 }, (_, i) => `offer-${i}`);
        const mode = 'engage-paced:paced-visit';
        const contenders = await race(config, [mode, mode, mode], ids);
        const wins = contenders.flatMap((c) => c.wins);
        expect(wins).toHaveLength(allowance);
        expect(new Set(wins).size).toBe(allowance);
        const pending = (await store.eventsAfter(0, { types: ['engagement.pending'], visitId: null }, 1000)).map(
          (e) => e.interactionId,
        );
        expect(pending.sort()).toEqual([...wins].sort());
        expect((await store.channelLoads(['chat'])).get('chat')).toMatchObject({
          inProgress: allowance,
          acceptedSinceReport: 0,
        });
        // Every other engage was refused, and counted as such in the same step as its decision.
        const hours = await store.reportHours(hourOf(start), Date.now() + HOUR_MS);
        const counted = (name: string) => hours.reduce((sum, hour) => sum + (hour.counts[name] ?? 0), 0);
        expect(counted('created')).toBe(allowance);
        expect(counted('rf:NO_CAPACITY')).toBe(3 * ids.length - allowance);
        return contenders.filter((c) => c.wins.length > 0).length;
      };
      // As in the other races: a process kept waiting may let another take every seat; a real fight must show in some round.
      let fighters = 0;
      for (let round = 0; round < 5 && fighters < 2; round++) fighters = await raceOnce();
      expect(fighters).toBeGreaterThan(1);
    }, 120_000);
  });
});
