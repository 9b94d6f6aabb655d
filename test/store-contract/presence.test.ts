/**
 * The store contract for presence: visits and their pages, browsers'
 * opt-outs, and which node (boot) holds which page, with the heartbeats and
 * the reaping of dead boots. Run once on each store (stores.ts).
 */
import { describe, expect, it } from 'vitest';
import { attemptEvent, pageEvent, visitEvent } from '../../src/core/events.js';
import { REAPED_MEMORY_MS, type BeckonStore, type HeldPage, type NodeRef } from '../../src/core/store.js';
import { T0, events, expectLogged, pageInfo, profile, visitWithPage } from './fixtures.js';
import { describeEachStore } from './stores.js';

describeEachStore(({ fresh }) => {
  describe('visits and pages', () => {
    it('starts a visit once, recording visit.started once', async () => {
      const store = await fresh();
      await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, T0);
      await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, T0 + 5);
      expect(await store.getVisit('v')).toEqual({
        visitId: 'v',
        globalVisitId: 'g',
        startedAt: T0,
        idleSince: null,
        endedAt: null,
      });
      expect(await store.getVisit('nope')).toBeNull();
      const log = await events(store);
      expect(log).toHaveLength(1);
      expectLogged(log[0], visitEvent('visit.started', 'v', T0));
    });

    it('opens a page once, again after it closed, and never for another visit', async () => {
      const store = await fresh();
      await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, T0);
      await store.startVisit({ visitId: 'w', globalVisitId: 'g' }, T0);
      await store.openPage({ pageId: 'p', visitId: 'v', info: pageInfo({ title: 'One' }) }, T0 + 1);
      // A reconnect of an open page updates it and records nothing.
      await store.openPage({ pageId: 'p', visitId: 'v', info: pageInfo({ title: 'Two' }) }, T0 + 2);
      // The same page id claimed for another visit is refused: nothing changes.
      await store.openPage({ pageId: 'p', visitId: 'w', info: pageInfo({ title: 'Stolen' }) }, T0 + 3);
      const page = await store.getPage('p');
      expect(page).toMatchObject({ pageId: 'p', visitId: 'v', title: 'Two', connectedAt: T0 + 1, closedAt: null });
      expect(await store.closePage('p', T0 + 4)).toBe(true);
      expect(await store.closePage('p', T0 + 5)).toBe(false);
      await store.openPage({ pageId: 'p', visitId: 'v', info: pageInfo() }, T0 + 6);
      expect(await store.getPage('p')).toMatchObject({ connectedAt: T0 + 6, closedAt: null });
      const types = (await events(store)).map((e) => [e.type, e.pageId]);
      expect(types).toEqual([
        ['visit.started', null],
        ['visit.started', null],
        ['page.entered', 'p'],
        ['page.left', 'p'],
        ['page.entered', 'p'],
      ]);
      expectLogged((await events(store))[3], pageEvent('page.left', 'v', 'p', T0 + 4));
    });

    it('lists open pages in attention order and keeps each page as updated', async () => {
      const store = await fresh();
      await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, T0);
      await store.openPage(
        { pageId: 'hidden', visitId: 'v', info: pageInfo({ visible: false, focused: false }) },
        T0 + 1,
      );
      await store.openPage({ pageId: 'visible', visitId: 'v', info: pageInfo({ focused: false }) }, T0 + 2);
      await store.openPage({ pageId: 'old-focus', visitId: 'v', info: pageInfo() }, T0 + 3);
      await store.openPage({ pageId: 'new-focus', visitId: 'v', info: pageInfo() }, T0 + 4);
      expect((await store.openPages('v')).map((p) => p.pageId)).toEqual([
        'new-focus',
        'old-focus',
        'visible',
        'hidden',
      ]);

      // The visitor comes back to an older tab: it becomes the most recently active.
      await store.updatePage('old-focus', { visible: true, focused: true, title: 'Back' }, T0 + 10);
      await store.updatePage('new-focus', { visible: false, focused: false }, T0 + 10);
      const pages = await store.openPages('v');
      expect(pages.map((p) => p.pageId)).toEqual(['old-focus', 'visible', 'new-focus', 'hidden']);
      expect(pages[0]).toMatchObject({ title: 'Back', url: 'https://shop.test/', activeAt: T0 + 10, locale: 'en' });

      // A closed page is neither listed nor updated.
      await store.closePage('hidden', T0 + 11);
      await store.updatePage('hidden', { title: 'Ghost' }, T0 + 12);
      expect((await store.getPage('hidden'))?.title).not.toBe('Ghost');
      expect((await store.openPages('v')).map((p) => p.pageId)).not.toContain('hidden');
    });

    it('marks a visit idle when its last page closes, live again when one opens, and ends it once', async () => {
      const store = await fresh();
      await visitWithPage(store, 'v', 'p1');
      await store.openPage({ pageId: 'p2', visitId: 'v', info: pageInfo() }, T0);
      await store.closePage('p1', T0 + 1);
      expect((await store.getVisit('v'))?.idleSince).toBeNull();
      await store.closePage('p2', T0 + 2);
      expect((await store.getVisit('v'))?.idleSince).toBe(T0 + 2);
      await store.openPage({ pageId: 'p3', visitId: 'v', info: pageInfo() }, T0 + 3);
      expect((await store.getVisit('v'))?.idleSince).toBeNull();
      await store.closePage('p3', T0 + 4);

      expect(await store.nextDeadline(1000)).toBe(T0 + 4 + 1000);
      expect(await store.dueDeadlines(T0 + 1003, 1000)).toEqual([]);
      expect(await store.dueDeadlines(T0 + 1004, 1000)).toEqual([{ kind: 'end-visit', visitId: 'v' }]);
      expect(await store.endVisit('v', T0 + 1004)).toBe(true);
      expect(await store.endVisit('v', T0 + 1005)).toBe(false);
      expect(await store.getVisit('v')).toMatchObject({ endedAt: T0 + 1004, idleSince: null });
      expect(await store.dueDeadlines(T0 + 9999, 1000)).toEqual([]);
      expect(await store.nextDeadline(1000)).toBeNull();
      const log = await events(store);
      expect(log.filter((e) => e.type === 'visit.ended')).toHaveLength(1);
      expectLogged(log.at(-1), visitEvent('visit.ended', 'v', T0 + 1004));
    });

    it('lists live visits with their open pages and attempt in progress, and counts them', async () => {
      const store = await fresh();
      await visitWithPage(store, 'a', 'a1');
      await store.openPage({ pageId: 'a2', visitId: 'a', info: pageInfo({ visible: false, focused: false }) }, T0);
      await visitWithPage(store, 'b', 'b1');
      await visitWithPage(store, 'gone', 'g1');
      await store.closePage('g1', T0 + 1);
      await store.endVisit('gone', T0 + 2);
      await store.createAttempt(profile({ interactionId: 'ixn-a', visitId: 'a' }), {
        exclusive: true,
        now: T0,
        place: false,
      });

      const live = await store.liveVisits();
      expect(live.map((v) => v.visitId).sort()).toEqual(['a', 'b']);
      const a = live.find((v) => v.visitId === 'a')!;
      expect(a.activeInteractionId).toBe('ixn-a');
      expect(a.globalVisitId).toBe('browser-of-a');
      expect(a.pages.map((p) => p.pageId).sort()).toEqual(['a1', 'a2']);
      expect(live.find((v) => v.visitId === 'b')!.activeInteractionId).toBeNull();
      expect(await store.counts()).toEqual({ liveVisits: 2, openPages: 3 });
    });

    it('closes every open page after a restart of the only node', async () => {
      const store = await fresh();
      await visitWithPage(store, 'a', 'a1');
      await visitWithPage(store, 'b', 'b1');
      await store.openPage({ pageId: 'b2', visitId: 'b', info: pageInfo() }, T0);
      expect(await store.closeAllPages(T0 + 1)).toBe(3);
      expect(await store.counts()).toEqual({ liveVisits: 2, openPages: 0 });
      expect((await store.getVisit('b'))?.idleSince).toBe(T0 + 1);
      expect((await events(store)).filter((e) => e.type === 'page.left')).toHaveLength(3);
      expect(await store.closeAllPages(T0 + 2)).toBe(0);
    });

    it('keeps a browser opt-out, declining every attempt in progress of its visits', async () => {
      const store = await fresh();
      await store.startVisit({ visitId: 'v1', globalVisitId: 'g' }, T0);
      await store.startVisit({ visitId: 'v2', globalVisitId: 'g' }, T0);
      await store.startVisit({ visitId: 'other', globalVisitId: 'h' }, T0);
      for (const [interactionId, visitId] of [
        ['one', 'v1'],
        ['two', 'v2'],
        ['theirs', 'other'],
      ] as const) {
        await store.createAttempt(profile({ interactionId, visitId }), { exclusive: true, now: T0, place: false });
      }
      await store.transition({
        interactionId: 'two',
        from: ['pending'],
        to: 'delivered',
        at: T0 + 1,
        pageId: 'x',
        timeoutAt: T0 + 30_000,
      });
      expect(await store.isOptedOut('g')).toBe(false);

      const declined = await store.setOptOut('g', true, T0 + 2);
      expect(declined.map((e) => [e.interactionId, e.state, e.reason]).sort()).toEqual([
        ['one', 'declined', 'opted-out'],
        ['two', 'declined', 'opted-out'],
      ]);
      expect(await store.isOptedOut('g')).toBe(true);
      expect((await store.getEngagement('theirs'))?.state).toBe('pending');
      const log = await events(store);
      for (const engagement of declined) {
        expectLogged(
          log.find((e) => e.interactionId === engagement.interactionId && e.type === 'engagement.declined'),
          attemptEvent(engagement, T0 + 2),
        );
      }
      // An opted-out browser gets no new attempt.
      expect(
        (
          await store.createAttempt(profile({ interactionId: 'three', visitId: 'v1' }), {
            exclusive: true,
            now: T0,
            place: false,
          })
        ).kind,
      ).toBe('opted-out');
      expect(await store.setOptOut('g', false, T0 + 3)).toEqual([]);
      expect(await store.isOptedOut('g')).toBe(false);
    });
  });

  describe('presence across nodes', () => {
    const A1: NodeRef = { nodeId: 'node-a', bootId: 'boot-1' };
    const A2: NodeRef = { nodeId: 'node-a', bootId: 'boot-2' };
    const B1: NodeRef = { nodeId: 'node-b', bootId: 'boot-1' };
    const open = (store: BeckonStore, pageId: string, node: NodeRef | undefined, at = T0, visitId = 'v') =>
      store.openPage({ pageId, visitId, info: pageInfo(), ...(node ? { node } : {}) }, at);
    const ids = (pages: HeldPage[]) => pages.map((p) => p.pageId).sort();

    it('records which node holds a page, moves it on a reconnect through another node, and drops it when closed', async () => {
      const store = await fresh();
      await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, T0);
      await open(store, 'p', A1);
      await open(store, 'q', A1);
      expect(await store.getPage('p')).toMatchObject({ nodeId: 'node-a', bootId: 'boot-1', closedAt: null });
      expect(await store.pagesHeldBy('node-a', null, 10)).toEqual([
        { pageId: 'p', visitId: 'v', node: A1 },
        { pageId: 'q', visitId: 'v', node: A1 },
      ]);

      // The socket came back through node b: the page moves there, recording nothing new.
      await open(store, 'p', B1, T0 + 1);
      expect(await store.getPage('p')).toMatchObject({ nodeId: 'node-b', bootId: 'boot-1', connectedAt: T0 });
      expect(ids(await store.pagesHeldBy('node-a', null, 10))).toEqual(['q']);
      expect(await store.pagesHeldBy('node-b', null, 10)).toEqual([{ pageId: 'p', visitId: 'v', node: B1 }]);
      expect((await events(store)).filter((e) => e.type === 'page.entered')).toHaveLength(2);

      // Its old node's late close of the old socket is refused; the holder's own close goes.
      expect(await store.closePage('p', T0 + 2, A1)).toBe(false);
      expect((await store.getPage('p'))?.closedAt).toBeNull();
      expect(await store.closePage('p', T0 + 3, B1)).toBe(true);
      expect(await store.pagesHeldBy('node-b', null, 10)).toEqual([]);
      expect(await store.getPage('p')).toMatchObject({ nodeId: 'node-b', closedAt: T0 + 3 });
      // An unguarded close still closes whoever holds the page.
      expect(await store.closePage('q', T0 + 4)).toBe(true);
      expect(await store.pagesHeldBy('node-a', null, 10)).toEqual([]);

      // Re-opened after it closed: held again, by the node it came through.
      await open(store, 'p', A2, T0 + 5);
      expect(await store.pagesOfBoot(A2, 10)).toEqual([{ pageId: 'p', visitId: 'v', node: A2 }]);
      // Opened without a node: held by none, listed by no node, and a guarded close refuses it.
      await open(store, 'p', undefined, T0 + 6);
      expect(await store.getPage('p')).toMatchObject({ nodeId: null, bootId: null, closedAt: null });
      expect(await store.pagesHeldBy('node-a', null, 10)).toEqual([]);
      expect(await store.closePage('p', T0 + 7, A2)).toBe(false);
      expect(await store.closePage('p', T0 + 7)).toBe(true);
    });

    it("names the nodes holding a page, and those holding a visit's open pages, each once", async () => {
      const store = await fresh();
      await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, T0);
      await store.startVisit({ visitId: 'w', globalVisitId: 'g' }, T0);
      expect(await store.pageHolders({ pageId: 'nope' })).toEqual([]);
      expect(await store.pageHolders({ visitId: 'v' })).toEqual([]);
      await open(store, 'p', B1);
      await open(store, 'q', A1);
      await open(store, 'r', A2);
      await open(store, 'unheld', undefined);
      await open(store, 'elsewhere', { nodeId: 'node-c', bootId: 'boot-1' }, T0, 'w');
      expect(await store.pageHolders({ pageId: 'p' })).toEqual(['node-b']);
      expect(await store.pageHolders({ pageId: 'unheld' })).toEqual([]);
      expect(await store.pageHolders({ visitId: 'v' })).toEqual(['node-a', 'node-b']);
      expect(await store.pageHolders({ visitId: 'w' })).toEqual(['node-c']);

      // A page that moved is held by its new node; a closed page still names its last one, but a
      // visit counts only its open pages.
      await open(store, 'p', A1, T0 + 1);
      expect(await store.pageHolders({ pageId: 'p' })).toEqual(['node-a']);
      expect(await store.pageHolders({ visitId: 'v' })).toEqual(['node-a']);
      await store.closePage('q', T0 + 2, A1);
      await store.closePage('r', T0 + 2, A2);
      await store.closePage('p', T0 + 2, A1);
      expect(await store.pageHolders({ pageId: 'p' })).toEqual(['node-a']);
      expect(await store.pageHolders({ visitId: 'v' })).toEqual([]);
    });

    it('registers and extends boots, and lists the expired ones, longest expired first, bounded', async () => {
      const store = await fresh();
      expect(await store.expiredNodes(T0 + 1_000_000, 10)).toEqual([]);
      expect(await store.heartbeat(A1, T0 + 15_000, T0)).toBe('alive');
      expect(await store.heartbeat(A2, T0 + 10_000, T0)).toBe('alive'); // a second boot of the same node id
      expect(await store.heartbeat(B1, T0 + 20_000, T0)).toBe('alive');
      expect(await store.expiredNodes(T0 + 10_000, 10)).toEqual([]); // expired means expiresAt < now
      expect(await store.expiredNodes(T0 + 10_001, 10)).toEqual([A2]);
      expect(await store.expiredNodes(T0 + 30_000, 10)).toEqual([A2, A1, B1]);
      expect(await store.expiredNodes(T0 + 30_000, 2)).toEqual([A2, A1]);

      // A1 renews: it is alive again, and now the last to expire.
      expect(await store.heartbeat(A1, T0 + 40_000, T0 + 25_000)).toBe('alive');
      expect(await store.expiredNodes(T0 + 30_000, 10)).toEqual([A2, B1]);
      expect(await store.expiredNodes(T0 + 40_001, 10)).toEqual([A2, B1, A1]);
    });

    it("lists a node's open pages by boot: all of them, all but the current boot's, or one boot's, bounded", async () => {
      const store = await fresh();
      await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, T0);
      await store.startVisit({ visitId: 'w', globalVisitId: 'g' }, T0);
      for (const pageId of ['old-1', 'old-2', 'old-3']) await open(store, pageId, A1);
      await open(store, 'old-w', A1, T0, 'w');
      await open(store, 'new-1', A2);
      await open(store, 'elsewhere', B1);
      await store.closePage('old-3', T0 + 1);

      // The restart case: node a's new boot 2 closes what its previous boots held, not its own.
      const previous = await store.pagesHeldBy('node-a', 'boot-2', 10);
      expect(ids(previous)).toEqual(['old-1', 'old-2', 'old-w']);
      expect(previous.find((p) => p.pageId === 'old-w')).toEqual({ pageId: 'old-w', visitId: 'w', node: A1 });
      expect(ids(await store.pagesHeldBy('node-a', 'boot-1', 10))).toEqual(['new-1']);
      expect(ids(await store.pagesHeldBy('node-a', 'boot-9', 10))).toEqual(['new-1', 'old-1', 'old-2', 'old-w']);
      expect(ids(await store.pagesHeldBy('node-a', null, 10))).toEqual(['new-1', 'old-1', 'old-2', 'old-w']);
      expect(ids(await store.pagesHeldBy('node-b', null, 10))).toEqual(['elsewhere']);
      expect(await store.pagesHeldBy('node-c', null, 10)).toEqual([]);
      expect(await store.pagesHeldBy('node-a', null, 2)).toHaveLength(2);
      expect(await store.pagesHeldBy('node-a', 'boot-2', 2)).toHaveLength(2);
      expect(await store.pagesHeldBy('node-a', 'boot-1', 0)).toEqual([]);

      // One boot only: the reaper's case.
      expect(ids(await store.pagesOfBoot(A1, 10))).toEqual(['old-1', 'old-2', 'old-w']);
      expect(ids(await store.pagesOfBoot(A2, 10))).toEqual(['new-1']);
      expect(await store.pagesOfBoot(A1, 1)).toHaveLength(1);
      expect(await store.pagesOfBoot({ nodeId: 'node-a', bootId: 'boot-9' }, 10)).toEqual([]);

      // Ids that could be confused by a careless prefix match are kept apart.
      await open(store, 'x', { nodeId: 'node-a:boot-1', bootId: 'z' });
      await open(store, 'y', { nodeId: 'node', bootId: 'a' });
      expect(ids(await store.pagesHeldBy('node-a', null, 10))).toEqual(['new-1', 'old-1', 'old-2', 'old-w']);
      expect(ids(await store.pagesHeldBy('node', 'b', 10))).toEqual(['y']);
      expect(ids(await store.pagesOfBoot({ nodeId: 'node-a:boot-1', bootId: 'z' }, 10))).toEqual(['x']);
    });

    it('forgets an expired boot once, never one that renewed, and tells a forgotten boot it was reaped', async () => {
      const store = await fresh();
      await store.heartbeat(A1, T0 + 15_000, T0);
      await store.heartbeat(B1, T0 + 15_000, T0);
      expect(await store.forgetNode(A1, T0 + 15_000)).toBe(false); // not expired yet
      expect(await store.forgetNode({ nodeId: 'node-a', bootId: 'never' }, T0 + 99_000)).toBe(false);

      // Both looked expired to the reaper; B1 renewed before the reaper acted on it.
      expect(await store.expiredNodes(T0 + 20_000, 10)).toEqual([A1, B1]);
      expect(await store.heartbeat(B1, T0 + 35_000, T0 + 20_000)).toBe('alive');
      expect(await store.forgetNode(A1, T0 + 20_000)).toBe(true);
      expect(await store.forgetNode(A1, T0 + 20_000)).toBe(false);
      expect(await store.forgetNode(B1, T0 + 20_000)).toBe(false);
      expect(await store.expiredNodes(T0 + 20_000, 10)).toEqual([]);
      expect(await store.expiredNodes(T0 + 35_001, 10)).toEqual([B1]);

      // A1 was only frozen: its next heartbeat hears it was reaped, and does not bring it back.
      expect(await store.heartbeat(A1, T0 + 50_000, T0 + 36_000)).toBe('reaped');
      expect(await store.heartbeat(A1, T0 + 50_000, T0 + 36_000)).toBe('reaped');
      expect(await store.expiredNodes(T0 + 99_000, 10)).toEqual([B1]);
      expect(await store.forgetNode(A1, T0 + 99_000)).toBe(false);
      // Its node registers a new boot and goes on.
      expect(await store.heartbeat(A2, T0 + 50_000, T0 + 36_000)).toBe('alive');
      expect(await store.expiredNodes(T0 + 99_000, 10)).toEqual([B1, A2]);
    });

    it('remembers a reaped boot for a day, not for ever', async () => {
      const store = await fresh();
      await store.heartbeat(A1, T0 + 15_000, T0);
      await store.heartbeat(A2, T0 + 15_000, T0);
      expect(await store.forgetNode(A1, T0 + 20_000)).toBe(true);
      expect(await store.heartbeat(A1, T0 + 99_000, T0 + REAPED_MEMORY_MS)).toBe('reaped');
      // Forgetting boots prunes the memory of those reaped more than a day before.
      await store.heartbeat(B1, T0 + 20_000, T0);
      expect(await store.forgetNode(B1, T0 + 20_001 + REAPED_MEMORY_MS)).toBe(true);
      expect(await store.forgetNode(A2, T0 + 20_001 + REAPED_MEMORY_MS)).toBe(true);
      expect(await store.heartbeat(A1, T0 + 2 * REAPED_MEMORY_MS, T0 + REAPED_MEMORY_MS)).toBe('alive');
      expect(await store.heartbeat(A2, T0 + 2 * REAPED_MEMORY_MS, T0 + REAPED_MEMORY_MS)).toBe('reaped');
    });

    it('lists boots reaped since a time that still hold open pages, latest first, so a dead reaper’s work is finished', async () => {
      const store = await fresh();
      const C1: NodeRef = { nodeId: 'node-c', bootId: 'boot-1' };
      await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, T0);
      await open(store, 'a-1', A1);
      await open(store, 'a-2', A1);
      await open(store, 'b-1', B1);
      await open(store, 'c-1', C1);
      await open(store, 'moved', A1);
      for (const node of [A1, B1, C1, A2]) await store.heartbeat(node, T0 + 15_000, T0);
      expect(await store.reapedBootsWithPages(T0, 10)).toEqual([]); // nobody reaped yet
      // Each boot forgotten by a reaper that then died before closing any page.
      expect(await store.forgetNode(A1, T0 + 20_000)).toBe(true);
      expect(await store.forgetNode(B1, T0 + 21_000)).toBe(true);
      expect(await store.forgetNode(C1, T0 + 22_000)).toBe(true);
      expect(await store.forgetNode(A2, T0 + 23_000)).toBe(true); // reaped, but it holds no page
      expect(await store.reapedBootsWithPages(T0, 10)).toEqual([C1, B1, A1]);
      expect(await store.reapedBootsWithPages(T0 + 21_000, 10)).toEqual([C1, B1]); // reaped since
      expect(await store.reapedBootsWithPages(T0, 2)).toEqual([C1, B1]); // at most limit
      expect(await store.reapedBootsWithPages(T0, 10, 2)).toEqual([C1]); // only the 2 latest reaped looked at
      // A page that reconnected elsewhere is no longer the dead boot's; closed pages do not count.
      await open(store, 'moved', { nodeId: 'node-d', bootId: 'boot-1' }, T0 + 24_000);
      expect(await store.closePage('c-1', T0 + 24_000, C1)).toBe(true);
      expect(await store.reapedBootsWithPages(T0, 10)).toEqual([B1, A1]);
      for (const page of await store.pagesOfBoot(A1, 10)) await store.closePage(page.pageId, T0 + 25_000, page.node);
      expect(await store.reapedBootsWithPages(T0, 10)).toEqual([B1]);
      expect(ids(await store.pagesOfBoot(B1, 10))).toEqual(['b-1']);
      expect((await store.getPage('moved'))?.closedAt).toBeNull();
      // A boot live again under a new registration is never listed: only forgotten boots are.
      await store.heartbeat({ nodeId: 'node-b', bootId: 'boot-2' }, T0 + 99_000, T0 + 25_000);
      expect(await store.reapedBootsWithPages(T0, 10)).toEqual([B1]);
    });

    it("closes a dead node's pages once on the core's path, leaving a visit idle when they were its last", async () => {
      const store = await fresh();
      await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, T0);
      await store.startVisit({ visitId: 'w', globalVisitId: 'g' }, T0);
      await open(store, 'v-on-a', A1, T0, 'v');
      await open(store, 'v-moves', A1, T0, 'v');
      await open(store, 'w-on-a', A1, T0, 'w');
      await open(store, 'w-on-b', B1, T0, 'w');
      await store.createAttempt(profile({ interactionId: 'shown', visitId: 'v' }), {
        exclusive: true,
        now: T0,
        place: true,
      });
      await store.heartbeat(A1, T0 + 15_000, T0);
      await store.heartbeat(B1, T0 + 60_000, T0);

      const now = T0 + 20_000;
      const [dead] = await store.expiredNodes(now, 10);
      expect(dead).toEqual(A1);
      const held = await store.pagesOfBoot(dead!, 100);
      expect(ids(held)).toEqual(['v-moves', 'v-on-a', 'w-on-a']);
      expect(await store.forgetNode(dead!, now)).toBe(true);
      // Between the listing and the close, one page's socket came back through node b.
      await open(store, 'v-moves', B1, now, 'v');
      const closed: string[] = [];
      for (const page of held) if (await store.closePage(page.pageId, now, page.node)) closed.push(page.pageId);
      expect(closed.sort()).toEqual(['v-on-a', 'w-on-a']);
      // Again (a second reaper, a retry): nothing more closes.
      for (const page of held) expect(await store.closePage(page.pageId, now + 1, page.node)).toBe(false);

      expect(await store.pagesOfBoot(dead!, 100)).toEqual([]);
      expect((await store.getVisit('v'))?.idleSince).toBeNull(); // v-moves is open on node b
      expect((await store.getVisit('w'))?.idleSince).toBeNull(); // w-on-b is open on node b
      expect(await store.closePage('v-moves', now + 2, B1)).toBe(true);
      expect((await store.getVisit('v'))?.idleSince).toBe(now + 2);
      expect((await store.getPage('v-on-a'))?.closedAt).toBe(now);
      const left = (await events(store)).filter((e) => e.type === 'page.left');
      expect(left.map((e) => e.pageId).sort()).toEqual(['v-moves', 'v-on-a', 'w-on-a']);
      expectLogged(
        left.find((e) => e.pageId === 'w-on-a'),
        pageEvent('page.left', 'w', 'w-on-a', now),
      );
      // The invitation stays in progress for the core to move (or wait for a page).
      expect((await store.getEngagement('shown'))?.state).toBe('pending');
      expect(await store.counts()).toEqual({ liveVisits: 2, openPages: 1 });

      // The last page of a visit held by a dead node: the visit goes idle when it closes.
      await store.heartbeat(B1, T0 + 60_000, T0);
      expect(await store.forgetNode(B1, T0 + 60_001)).toBe(true);
      for (const page of await store.pagesOfBoot(B1, 100)) await store.closePage(page.pageId, T0 + 60_001, page.node);
      expect((await store.getVisit('w'))?.idleSince).toBe(T0 + 60_001);
      expect(await store.counts()).toEqual({ liveVisits: 2, openPages: 0 });
    });
  });
});
