/**
 * The store contract for engagement attempts: creating one once (with its
 * placement in the same write), refusals, tombstones, compare-and-set
 * transitions with their events, and moving an invitation between pages.
 * Run once on each store (stores.ts).
 */
import { describe, expect, it } from 'vitest';
import type { Engagement } from '../../src/protocol/index.js';
import { attemptEvent } from '../../src/core/events.js';
import { T0, events, expectLogged, pageInfo, profile, visitWithPage } from './fixtures.js';
import { describeEachStore } from './stores.js';

describeEachStore(({ fresh }) => {
  describe('attempts', () => {
    it('creates a pending attempt with every field and its event, once', async () => {
      const store = await fresh();
      await visitWithPage(store, 'v', 'p');
      const input = profile({
        interactionId: 'ixn-1',
        visitId: 'v',
        channels: ['chat', 'callback'],
        invitation: { title: 'Hello', message: 'Can we help?' },
        timeoutSeconds: 45,
        expirationSeconds: 60,
        userData: { tier: 'gold', basket: 129.5, vip: true },
        campaign: 'spring',
      });
      const created = await store.createAttempt(input, { exclusive: true, now: T0, place: false });
      expect(created.kind).toBe('created');
      const engagement = (created as { engagement: Engagement }).engagement;
      const expected: Engagement = {
        interactionId: 'ixn-1',
        visitId: 'v',
        pageId: null,
        shownPageId: null,
        state: 'pending',
        channels: ['chat', 'callback'],
        channel: null,
        reason: null,
        invitation: { title: 'Hello', message: 'Can we help?' },
        timeoutSeconds: 45,
        expirationSeconds: 60,
        userData: { tier: 'gold', basket: 129.5, vip: true },
        extras: { campaign: 'spring' },
        createdAt: new Date(T0).toISOString(),
        expiresAt: new Date(T0 + 60_000).toISOString(),
        timeoutAt: null,
        transitions: { pending: new Date(T0).toISOString() },
      };
      expect(engagement).toEqual(expected);
      expect(await store.getEngagement('ixn-1')).toEqual(expected);
      expect(await store.getEngagement('nope')).toBeNull();

      const again = await store.createAttempt(input, { exclusive: true, now: T0 + 1, place: true });
      expect(again).toEqual({ kind: 'exists', engagement: expected });
      const log = (await events(store)).filter((e) => e.type.startsWith('engagement.'));
      expect(log).toHaveLength(1);
      expectLogged(log[0], attemptEvent(expected, T0));
    });

    it('refuses an attempt for a visit that never was, has ended, or (strict) is busy', async () => {
      const store = await fresh();
      await visitWithPage(store, 'v', 'p');
      await visitWithPage(store, 'ended', 'q');
      await store.closePage('q', T0);
      await store.endVisit('ended', T0 + 1);
      const options = { exclusive: true, now: T0 + 2, place: false };
      expect(await store.createAttempt(profile({ interactionId: 'a', visitId: 'never' }), options)).toEqual({
        kind: 'no-visit',
      });
      expect(await store.createAttempt(profile({ interactionId: 'b', visitId: 'ended' }), options)).toEqual({
        kind: 'no-visit',
      });
      expect((await store.createAttempt(profile({ interactionId: 'c', visitId: 'v' }), options)).kind).toBe('created');
      const busy = await store.createAttempt(profile({ interactionId: 'd', visitId: 'v' }), options);
      expect(busy).toMatchObject({ kind: 'visit-busy', active: { interactionId: 'c' } });
      expect(await store.getEngagement('d')).toBeNull();
      // Not exclusive: attempts queue, oldest first.
      expect(
        (await store.createAttempt(profile({ interactionId: 'e', visitId: 'v' }), { ...options, exclusive: false }))
          .kind,
      ).toBe('created');
      expect((await store.activeEngagements('v')).map((e) => e.interactionId)).toEqual(['c', 'e']);
      // Once c settles, strict mode lets a new one in.
      await store.transition({ interactionId: 'c', from: ['pending', 'delivered'], to: 'cancelled', at: T0 + 3 });
      await store.transition({ interactionId: 'e', from: ['pending', 'delivered'], to: 'cancelled', at: T0 + 3 });
      expect((await store.createAttempt(profile({ interactionId: 'f', visitId: 'v' }), options)).kind).toBe('created');
    });

    it('places a new attempt in the same write: the named page if open, else the page in attention order', async () => {
      const store = await fresh();
      await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, T0);
      await store.openPage({ pageId: 'back', visitId: 'v', info: pageInfo({ visible: false, focused: false }) }, T0);
      await store.openPage({ pageId: 'front', visitId: 'v', info: pageInfo() }, T0 + 1);
      const named = await store.createAttempt(profile({ interactionId: 'named', visitId: 'v', pageId: 'back' }), {
        exclusive: false,
        now: T0 + 2,
        place: true,
      });
      expect(named).toMatchObject({ kind: 'created', engagement: { shownPageId: 'back', pageId: 'back' } });
      // The second attempt of the visit waits its turn: not placed.
      const queued = await store.createAttempt(profile({ interactionId: 'queued', visitId: 'v' }), {
        exclusive: false,
        now: T0 + 3,
        place: true,
      });
      expect(queued).toMatchObject({ kind: 'created', engagement: { shownPageId: null } });
      expect((await store.getEngagement('named'))?.shownPageId).toBe('back');

      await store.startVisit({ visitId: 'w', globalVisitId: 'g2' }, T0);
      await store.openPage({ pageId: 'w-back', visitId: 'w', info: pageInfo({ visible: false, focused: false }) }, T0);
      await store.openPage({ pageId: 'w-front', visitId: 'w', info: pageInfo() }, T0 + 1);
      const closedNamed = await store.createAttempt(
        profile({ interactionId: 'fallback', visitId: 'w', pageId: 'not-open' }),
        {
          exclusive: true,
          now: T0 + 2,
          place: true,
        },
      );
      expect(closedNamed).toMatchObject({ kind: 'created', engagement: { shownPageId: 'w-front' } });
      expect((await store.getEngagement('fallback'))?.shownPageId).toBe('w-front');

      await store.startVisit({ visitId: 'nobody', globalVisitId: 'g3' }, T0);
      const waiting = await store.createAttempt(profile({ interactionId: 'waiting', visitId: 'nobody' }), {
        exclusive: true,
        now: T0,
        place: true,
      });
      expect(waiting).toMatchObject({ kind: 'created', engagement: { shownPageId: null } });
    });

    it('keeps a cancelled tombstone for an id never engaged', async () => {
      const store = await fresh();
      const tomb = await store.createTombstone({ interactionId: 't', visitId: null, reason: 'no-agents' }, T0);
      expect(tomb).toMatchObject({
        kind: 'created',
        engagement: { interactionId: 't', state: 'cancelled', reason: 'no-agents', visitId: null, channels: [] },
      });
      const again = await store.createTombstone({ interactionId: 't', visitId: null, reason: 'other' }, T0 + 1);
      expect(again).toMatchObject({ kind: 'exists', engagement: { reason: 'no-agents' } });
      await visitWithPage(store);
      expect(
        await store.createAttempt(profile({ interactionId: 't', visitId: 'visit-1' }), {
          exclusive: true,
          now: T0,
          place: true,
        }),
      ).toMatchObject({
        kind: 'exists',
        engagement: { state: 'cancelled' },
      });
      const log = await events(store);
      expect(log.filter((e) => e.type === 'engagement.cancelled')).toHaveLength(1);
      expectLogged(log[0], attemptEvent((tomb as { engagement: Engagement }).engagement, T0));
    });

    it('changes state only by compare-and-set, recording each change and its event once', async () => {
      const store = await fresh();
      await visitWithPage(store, 'v', 'p');
      await store.createAttempt(profile({ interactionId: 'x', visitId: 'v', timeoutSeconds: 30 }), {
        exclusive: true,
        now: T0,
        place: true,
      });
      // Wrong visit, wrong state: nothing happens.
      expect(
        await store.transition({ interactionId: 'x', visitId: 'w', from: ['pending'], to: 'delivered', at: T0 + 1 }),
      ).toBeNull();
      expect(
        await store.transition({ interactionId: 'x', from: ['delivered'], to: 'accepted', at: T0 + 1 }),
      ).toBeNull();
      expect(
        await store.transition({ interactionId: 'unknown', from: ['pending'], to: 'cancelled', at: T0 + 1 }),
      ).toBeNull();

      const delivered = await store.transition({
        interactionId: 'x',
        visitId: 'v',
        from: ['pending'],
        to: 'delivered',
        at: T0 + 100,
        pageId: 'p',
        timeoutAt: T0 + 30_100,
      });
      expect(delivered).toMatchObject({
        state: 'delivered',
        shownPageId: 'p',
        timeoutAt: new Date(T0 + 30_100).toISOString(),
      });
      // The deadline is fixed at first show: a later timeoutAt does not move it.
      const accepted = await store.transition({
        interactionId: 'x',
        from: ['pending', 'delivered'],
        to: 'accepted',
        at: T0 + 200,
        channel: 'chat',
        timeoutAt: T0 + 99_999,
      });
      expect(accepted).toMatchObject({
        state: 'accepted',
        channel: 'chat',
        timeoutAt: new Date(T0 + 30_100).toISOString(),
        transitions: {
          pending: new Date(T0).toISOString(),
          delivered: new Date(T0 + 100).toISOString(),
          accepted: new Date(T0 + 200).toISOString(),
        },
      });
      expect(await store.getEngagement('x')).toEqual(accepted);
      expect(
        await store.transition({ interactionId: 'x', from: ['pending', 'delivered'], to: 'declined', at: T0 + 300 }),
      ).toBeNull();
      expect(await store.activeEngagements('v')).toEqual([]);

      const log = (await events(store)).filter((e) => e.interactionId === 'x');
      expect(log.map((e) => e.type)).toEqual(['engagement.pending', 'engagement.delivered', 'engagement.accepted']);
      expectLogged(log[1], attemptEvent(delivered!, T0 + 100));
      expectLogged(log[2], attemptEvent(accepted!, T0 + 200));
    });

    it("fixes the deadline at first show from the attempt's own timeout, when asked to, and only once", async () => {
      const store = await fresh();
      await visitWithPage(store, 'v', 'p');
      await store.createAttempt(profile({ interactionId: 'x', visitId: 'v', timeoutSeconds: 45 }), {
        exclusive: true,
        now: T0,
        place: true,
      });
      const show = {
        interactionId: 'x',
        visitId: 'v',
        to: 'delivered',
        pageId: 'p',
        timeoutFromAttempt: true,
      } as const;
      // Of another visit: nothing happens, no deadline is fixed.
      expect(await store.transition({ ...show, visitId: 'w', from: ['pending'], at: T0 + 50 })).toBeNull();
      expect((await store.getEngagement('x'))!.timeoutAt).toBeNull();

      const delivered = await store.transition({ ...show, from: ['pending'], at: T0 + 100 });
      expect(delivered).toMatchObject({ state: 'delivered', timeoutAt: new Date(T0 + 45_100).toISOString() });
      // Shown again (another page, later): the deadline stays where the first show put it.
      const again = await store.transition({ ...show, from: ['delivered'], at: T0 + 5_000 });
      expect(again).toMatchObject({ state: 'delivered', timeoutAt: new Date(T0 + 45_100).toISOString() });
      // Its deadline is the timeout now, not the expiry: nothing is due before it, and it is due then.
      expect(await store.dueDeadlines(T0 + 45_099, 60_000)).toEqual([]);
      expect(await store.dueDeadlines(T0 + 45_100, 60_000)).toEqual([{ kind: 'timeout', interactionId: 'x' }]);
    });

    it('moves an invitation between pages by compare-and-set, only while in progress', async () => {
      const store = await fresh();
      await visitWithPage(store, 'v', 'p');
      await store.createAttempt(profile({ interactionId: 'x', visitId: 'v' }), {
        exclusive: true,
        now: T0,
        place: true,
      });
      expect(await store.placeOn('x', null, 'q')).toBe(false); // it is on p, not nowhere
      expect(await store.placeOn('x', 'p', 'q')).toBe(true);
      expect(await store.placeOn('x', 'p', 'r')).toBe(false); // someone moved it first
      expect((await store.getEngagement('x'))?.shownPageId).toBe('q');
      await store.transition({ interactionId: 'x', from: ['pending'], to: 'cancelled', at: T0 + 1 });
      expect(await store.placeOn('x', 'q', 'p')).toBe(false);
      expect(await store.placeOn('unknown', null, 'p')).toBe(false);
    });
  });
});
