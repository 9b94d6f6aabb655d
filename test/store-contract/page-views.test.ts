/**
 * The store contract for a page view in one step each way: `enterPage`
 * (resume or start the visit, open the page, place the visit's invitation,
 * read the opt-out) and `leavePage` (close the page, move the invitation).
 * Each records what `startVisit`, `openPage`, `endVisit` and `closePage`
 * record, and places as core/placement.ts does. Run once on each store
 * (stores.ts).
 */
import { describe, expect, it } from 'vitest';
import { pageEvent, visitEvent } from '../../src/core/events.js';
import type { BeckonStore, EnteredPage } from '../../src/core/store.js';
import { T0, events, expectLogged, pageInfo, profile } from './fixtures.js';
import { describeEachStore } from './stores.js';

const IDLE_MS = 60_000;
const node = { nodeId: 'node-a', bootId: 'boot-1' };

/** Enters a page as a frontend does: `start` starts the visit for that browser. */
function enter(
  store: BeckonStore,
  visitId: string,
  pageId: string,
  at: number,
  options: { start?: string; hidden?: boolean } = {},
): Promise<EnteredPage> {
  return store.enterPage(
    {
      visitId,
      pageId,
      ...(options.start ? { start: { globalVisitId: options.start } } : {}),
      info: pageInfo(options.hidden ? { visible: false, focused: false } : {}),
      node,
      visitIdleMs: IDLE_MS,
    },
    at,
  );
}

describeEachStore(({ fresh }) => {
  describe('a page view in one step each way', () => {
    it('starts a visit and opens its first page, recording both as startVisit and openPage do', async () => {
      const store = await fresh();
      expect(await enter(store, 'v', 'p', T0, { start: 'g' })).toEqual({
        kind: 'entered',
        globalVisitId: 'g',
        started: true,
        opened: true,
        optedOut: false,
        attempt: null,
      });
      expect(await store.getVisit('v')).toEqual({
        visitId: 'v',
        globalVisitId: 'g',
        startedAt: T0,
        idleSince: null,
        endedAt: null,
      });
      expect(await store.getPage('p')).toMatchObject({ visitId: 'v', connectedAt: T0, closedAt: null, ...node });
      expect(await store.pagesOfBoot(node, 10)).toEqual([{ pageId: 'p', visitId: 'v', node }]);
      const log = await events(store);
      expect(log).toHaveLength(2);
      expectLogged(log[0], visitEvent('visit.started', 'v', T0));
      expectLogged(log[1], pageEvent('page.entered', 'v', 'p', T0));
      expect(await store.counts()).toEqual({ liveVisits: 1, openPages: 1 });
    });

    it('resumes a live visit: the browser is the visit’s, a reconnect of an open page records nothing', async () => {
      const store = await fresh();
      await enter(store, 'v', 'p', T0, { start: 'g' });
      // A browser named with an existing visit changes nothing of it.
      expect(await enter(store, 'v', 'q', T0 + 1, { start: 'other' })).toMatchObject({
        kind: 'entered',
        globalVisitId: 'g',
        started: false,
        opened: true,
      });
      expect(await enter(store, 'v', 'p', T0 + 2)).toMatchObject({ kind: 'entered', started: false, opened: true });
      expect((await events(store)).map((e) => [e.type, e.pageId])).toEqual([
        ['visit.started', null],
        ['page.entered', 'p'],
        ['page.entered', 'q'],
      ]);
      expect(await store.getPage('p')).toMatchObject({ connectedAt: T0, activeAt: T0 + 2 });
    });

    it('answers not-live, changing nothing, for an unknown or ended visit without a browser to start it for', async () => {
      const store = await fresh();
      expect(await enter(store, 'nope', 'p', T0)).toEqual({ kind: 'not-live' });
      await enter(store, 'v', 'p', T0, { start: 'g' });
      await store.leavePage({ pageId: 'p', visitId: 'v' }, T0 + 1);
      expect(await store.endVisit('v', T0 + 2)).toBe(true);
      const before = await events(store);
      expect(await enter(store, 'v', 'q', T0 + 3)).toEqual({ kind: 'not-live' });
      expect(await enter(store, 'v', 'q', T0 + 3, { start: 'g' })).toEqual({ kind: 'not-live' });
      expect(await store.getPage('q')).toBeNull();
      expect(await store.getPage('nope')).toBeNull();
      expect(await events(store)).toEqual(before);
    });

    it('ends a visit idle past the limit, recording visit.ended, and answers not-live', async () => {
      const store = await fresh();
      await enter(store, 'v', 'p', T0, { start: 'g' });
      await store.leavePage({ pageId: 'p', visitId: 'v' }, T0 + 10);
      // Idle, but within the limit: the visit goes on.
      expect(await enter(store, 'v', 'p', T0 + 10 + IDLE_MS - 1)).toMatchObject({ kind: 'entered' });
      expect(await store.getVisit('v')).toMatchObject({ idleSince: null, endedAt: null });
      await store.leavePage({ pageId: 'p', visitId: 'v' }, T0 + 20 + IDLE_MS);
      const at = T0 + 20 + 2 * IDLE_MS;
      expect(await enter(store, 'v', 'q', at)).toEqual({ kind: 'not-live' });
      expect(await store.getVisit('v')).toMatchObject({ idleSince: null, endedAt: at });
      expect(await store.getPage('q')).toBeNull();
      const log = await events(store);
      expectLogged(log[log.length - 1], visitEvent('visit.ended', 'v', at));
      expect(await store.counts()).toEqual({ liveVisits: 0, openPages: 0 });
    });

    it('refuses a page id of another visit: the visit is entered, the page not opened', async () => {
      const store = await fresh();
      await enter(store, 'v', 'p', T0, { start: 'g' });
      expect(await enter(store, 'w', 'p', T0 + 1, { start: 'g' })).toMatchObject({
        kind: 'entered',
        started: true,
        opened: false,
      });
      expect(await store.getPage('p')).toMatchObject({ visitId: 'v' });
      expect(await store.openPages('w')).toEqual([]);
    });

    it('reads the browser’s opt-out', async () => {
      const store = await fresh();
      await store.setOptOut('g', true, T0);
      expect(await enter(store, 'v', 'p', T0 + 1, { start: 'g' })).toMatchObject({ optedOut: true });
      await store.setOptOut('g', false, T0 + 2);
      expect(await enter(store, 'v', 'q', T0 + 3)).toMatchObject({ optedOut: false });
    });

    it('places the visit’s waiting invitation on the page entering, and keeps it where it is shown', async () => {
      const store = await fresh();
      await enter(store, 'v', 'p', T0, { start: 'g' });
      await store.leavePage({ pageId: 'p', visitId: 'v' }, T0 + 1);
      await store.createAttempt(profile({ interactionId: 'ixn', visitId: 'v' }), {
        exclusive: true,
        now: T0 + 2,
        place: true,
      });
      expect((await store.getEngagement('ixn'))?.shownPageId).toBeNull();
      const entered = await enter(store, 'v', 'q', T0 + 3);
      expect(entered).toMatchObject({ kind: 'entered', movedFrom: null });
      expect(entered.kind === 'entered' && entered.attempt).toEqual({
        ...(await store.getEngagement('ixn')),
        shownPageId: 'q',
      });
      // Another page entering, even in front of the visitor: the invitation stays on the open page showing it.
      const second = await enter(store, 'v', 'r', T0 + 4);
      expect(second).toMatchObject({ kind: 'entered', attempt: { interactionId: 'ixn', shownPageId: 'q' } });
      expect(second).not.toHaveProperty('movedFrom');
      expect((await store.getEngagement('ixn'))?.shownPageId).toBe('q');
    });

    it('moves the invitation when the page showing it leaves, to the page it was created for if open', async () => {
      const store = await fresh();
      await enter(store, 'v', 'p', T0, { start: 'g' });
      await enter(store, 'v', 'q', T0 + 1, { hidden: true });
      await enter(store, 'v', 'r', T0 + 2, { hidden: true });
      await store.createAttempt(profile({ interactionId: 'ixn', visitId: 'v', pageId: 'r' }), {
        exclusive: true,
        now: T0 + 3,
        place: false,
      });
      await store.placeOn('ixn', null, 'p');
      const left = await store.leavePage({ pageId: 'p', visitId: 'v' }, T0 + 4);
      expect(left).toEqual({
        closed: true,
        moved: { attempt: { ...(await store.getEngagement('ixn')), shownPageId: 'r' }, from: 'p' },
      });
      expect((await store.getEngagement('ixn'))?.shownPageId).toBe('r');
      // A page leaving that does not show it moves nothing.
      expect(await store.leavePage({ pageId: 'q', visitId: 'v' }, T0 + 5)).toEqual({ closed: true, moved: null });
      // The last page leaving: nowhere to go, it stays; the visit is idle.
      expect(await store.leavePage({ pageId: 'r', visitId: 'v' }, T0 + 6)).toEqual({ closed: true, moved: null });
      expect((await store.getEngagement('ixn'))?.shownPageId).toBe('r');
      expect(await store.getVisit('v')).toMatchObject({ idleSince: T0 + 6 });
      expect((await events(store)).filter((e) => e.type === 'page.left').map((e) => e.pageId)).toEqual(['p', 'q', 'r']);
    });

    it('moves it to the page in front of the visitor when the page it was created for is not open', async () => {
      const store = await fresh();
      await enter(store, 'v', 'p', T0, { start: 'g' });
      await enter(store, 'v', 'q', T0 + 1, { hidden: true });
      await enter(store, 'v', 'r', T0 + 2);
      await store.createAttempt(profile({ interactionId: 'ixn', visitId: 'v', pageId: 'gone' }), {
        exclusive: true,
        now: T0 + 3,
        place: false,
      });
      await store.placeOn('ixn', null, 'p');
      const left = await store.leavePage({ pageId: 'p', visitId: 'v' }, T0 + 4);
      expect(left).toMatchObject({ closed: true, moved: { attempt: { shownPageId: 'r' }, from: 'p' } });
    });

    it('closes only an open page of the visit, and with heldBy only while that boot holds it', async () => {
      const store = await fresh();
      await enter(store, 'v', 'p', T0, { start: 'g' });
      expect(await store.leavePage({ pageId: 'p', visitId: 'w' }, T0 + 1)).toEqual({ closed: false });
      expect(
        await store.leavePage({ pageId: 'p', visitId: 'v' }, T0 + 1, { nodeId: 'node-a', bootId: 'boot-0' }),
      ).toEqual({ closed: false });
      expect(await store.leavePage({ pageId: 'nope', visitId: 'v' }, T0 + 1)).toEqual({ closed: false });
      expect(await store.leavePage({ pageId: 'p', visitId: 'v' }, T0 + 2, node)).toEqual({ closed: true, moved: null });
      expect(await store.leavePage({ pageId: 'p', visitId: 'v' }, T0 + 3)).toEqual({ closed: false });
      expect(await store.getPage('p')).toMatchObject({ closedAt: T0 + 2 });
      expect(await store.pagesOfBoot(node, 10)).toEqual([]);
      expect(await store.counts()).toEqual({ liveVisits: 1, openPages: 0 });
    });
  });
});
