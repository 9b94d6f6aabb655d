/**
 * The store contract for channels and pacing (docs/pacing.md): channel
 * settings kept as data, capacity reports, the counts of each channel's
 * invitations, and the pacing decision applied in the same atomic step as
 * the create, narrowing the channels offered or refusing the engage. Explicit
 * times throughout. (Processes racing engages against one allowance: in
 * processes.test.ts.) Run once on each store (stores.ts).
 */
import { describe, expect, it } from 'vitest';
import { ixnProfileSchema, type PageInfo } from '../../src/protocol/index.js';
import { channelSettingsSchema, pacingSettingsSchema, type PacingSettings } from '../../src/protocol/channels.js';
import type { BeckonStore, PacedChannel } from '../../src/core/store.js';
import { hourOf } from '../../src/core/reports.js';
import { describeEachStore } from './stores.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const page: PageInfo = { url: 'https://shop.test/', title: 'Shop', visible: true, focused: true, locale: 'en' };
const progressive = pacingSettingsSchema.parse({ mode: 'progressive' });
const fixed = (maxOnScreen: number) => pacingSettingsSchema.parse({ mode: 'fixed', maxOnScreen });
const paced = (channel: string, pacing: PacingSettings, hoursOpen = true): PacedChannel => ({
  channel,
  pacing,
  hoursOpen,
});

describeEachStore(({ fresh }) => {
  describe('channels', () => {
    it('keeps settings per channel: put, read, replace, list and delete', async () => {
      const store = await fresh();
      const chat = channelSettingsSchema.parse({
        hours: { timeZone: 'Europe/Paris', weekly: { mon: [['09:00', '18:00']] }, closed: ['2026-12-25'] },
        pacing: { mode: 'progressive', proactiveShare: 0.5 },
      });
      const callback = channelSettingsSchema.parse({ pacing: { mode: 'fixed', maxOnScreen: 4 } });
      expect(await store.channelSettings()).toEqual(new Map());
      expect(await store.putChannel('chat', chat)).toEqual({ created: true });
      expect(await store.putChannel('callback', callback)).toEqual({ created: true });
      expect(await store.channelSettings(['chat'])).toEqual(new Map([['chat', chat]]));
      expect(await store.channelSettings(['voice', 'chat'])).toEqual(new Map([['chat', chat]]));
      const replaced = channelSettingsSchema.parse({});
      expect(await store.putChannel('chat', replaced)).toEqual({ created: false });
      const all = await store.channelSettings();
      expect([...all.keys()].sort()).toEqual(['callback', 'chat']);
      expect(all.get('chat')).toEqual(replaced);
      expect(all.get('callback')).toEqual(callback);
      expect(await store.deleteChannel('chat')).toBe(true);
      expect(await store.deleteChannel('chat')).toBe(false);
      expect(await store.deleteChannel('voice')).toBe(false);
      expect([...(await store.channelSettings()).keys()]).toEqual(['callback']);
    });

    it('moves the settings version with every change, and reads it with the settings', async () => {
      const store = await fresh();
      const first = await store.channelConfig();
      expect(first.settings).toEqual(new Map());
      const chat = channelSettingsSchema.parse({ pacing: { mode: 'fixed', maxOnScreen: 1 } });
      await store.putChannel('chat', chat);
      const second = await store.channelConfig();
      expect(second.version).not.toBe(first.version);
      expect(second.settings).toEqual(new Map([['chat', chat]]));
      await store.putChannel('chat', chat); // the same settings again: still a change
      const third = await store.channelConfig();
      expect(third.version).not.toBe(second.version);
      expect(await store.deleteChannel('voice')).toBe(false); // nothing removed: no change
      expect((await store.channelConfig()).version).toBe(third.version);
      await store.deleteChannel('chat');
      const last = await store.channelConfig();
      expect(last.version).not.toBe(third.version);
      expect(last.settings).toEqual(new Map());
    });

    it('records capacity reports of configured channels only, each replacing the last', async () => {
      const store = await fresh();
      expect(await store.reportCapacity('chat', 3, T0)).toBeNull();
      expect((await store.channelLoads(['chat'])).get('chat')).toEqual({
        capacity: null,
        acceptedSinceReport: 0,
        inProgress: 0,
        answered: 0,
        accepted: 0,
      });
      await store.putChannel('chat', channelSettingsSchema.parse({ pacing: { mode: 'progressive' } }));
      expect(await store.reportCapacity('chat', 3, T0)).toEqual({ reportedAt: T0 });
      expect(await store.reportCapacity('chat', 5, T0 + 1000)).toEqual({ reportedAt: T0 + 1000 });
      expect((await store.channelLoads(['chat'])).get('chat')?.capacity).toEqual({
        freeSlots: 5,
        reportedAt: T0 + 1000,
      });
      // Deleting the channel drops its report; its counts stay for attempts still in progress.
      await store.deleteChannel('chat');
      expect((await store.channelLoads(['chat'])).get('chat')?.capacity).toBeNull();
    });
  });

  describe('pacing at engage', () => {
    /** A live visit with an open page. */
    const visitOf = async (store: BeckonStore, visitId: string, at = T0) => {
      await store.startVisit({ visitId, globalVisitId: `browser-of-${visitId}` }, at);
      await store.openPage({ pageId: `page-of-${visitId}`, visitId, info: page }, at);
    };
    const engage = (
      store: BeckonStore,
      interactionId: string,
      now: number,
      pacing: readonly PacedChannel[],
      channels: string[] = ['chat'],
      visitId = 'v',
    ) =>
      store.createAttempt(ixnProfileSchema.parse({ interactionId, visitId, channels }), {
        exclusive: false,
        now,
        place: false,
        pacing,
      });
    const show = (store: BeckonStore, interactionId: string, at: number) =>
      store.transition({ interactionId, from: ['pending'], to: 'delivered', at, timeoutAt: at + 30_000 });
    const load = async (store: BeckonStore, channel = 'chat') => (await store.channelLoads([channel])).get(channel)!;
    const channelsOf = async (store: BeckonStore, interactionId: string) =>
      (await store.getEngagement(interactionId))?.channels;

    it('in fixed mode lets at most maxOnScreen be in progress, and frees a seat when one settles', async () => {
      const store = await fresh();
      await visitOf(store, 'v');
      const chat = [paced('chat', fixed(2))];
      expect((await engage(store, 'one', T0, chat)).kind).toBe('created');
      expect((await engage(store, 'two', T0 + 1, chat)).kind).toBe('created');
      expect(await engage(store, 'three', T0 + 2, chat)).toEqual({
        kind: 'no-capacity',
        closed: [{ channel: 'chat', reason: 'pacing' }],
      });
      expect(await store.getEngagement('three')).toBeNull();
      expect((await load(store)).inProgress).toBe(2);
      // Every way out of progress frees the seat: here a cancel while pending, then a decline once shown.
      await store.transition({ interactionId: 'one', from: ['pending'], to: 'cancelled', at: T0 + 3 });
      expect((await load(store)).inProgress).toBe(1);
      expect((await engage(store, 'three', T0 + 4, chat)).kind).toBe('created');
      await show(store, 'two', T0 + 5);
      await store.transition({ interactionId: 'two', from: ['delivered'], to: 'declined', at: T0 + 6 });
      expect((await load(store)).inProgress).toBe(1);
    });

    it('frees the seat on every terminal state: accepted, declined, timed out, cancelled, expired', async () => {
      const store = await fresh();
      await visitOf(store, 'v');
      const chat = [paced('chat', fixed(10))];
      for (const id of ['a', 'd', 't', 'c', 'e']) await engage(store, id, T0, chat);
      expect((await load(store)).inProgress).toBe(5);
      for (const id of ['a', 'd', 't']) await show(store, id, T0 + 1);
      await store.transition({ interactionId: 'a', from: ['delivered'], to: 'accepted', at: T0 + 2, channel: 'chat' });
      await store.transition({ interactionId: 'd', from: ['delivered'], to: 'declined', at: T0 + 2 });
      await store.transition({ interactionId: 't', from: ['delivered'], to: 'timed_out', at: T0 + 2 });
      await store.transition({ interactionId: 'c', from: ['pending'], to: 'cancelled', at: T0 + 2 });
      await store.transition({ interactionId: 'e', from: ['pending'], to: 'expired', at: T0 + 2 });
      expect((await load(store)).inProgress).toBe(0);
      // A transition that loses its compare-and-set counts nothing twice.
      expect(
        await store.transition({ interactionId: 'a', from: ['delivered'], to: 'declined', at: T0 + 3 }),
      ).toBeNull();
      expect((await load(store)).inProgress).toBe(0);
    });

    it('frees the seats of a visitor who opts out', async () => {
      const store = await fresh();
      await visitOf(store, 'v');
      const chat = [paced('chat', fixed(10))];
      await engage(store, 'waiting', T0, chat);
      await engage(store, 'shown', T0, chat);
      await show(store, 'shown', T0 + 1);
      await store.setOptOut('browser-of-v', true, T0 + 2);
      expect((await load(store)).inProgress).toBe(0);
    });

    it('closes a progressive channel with no capacity report, or a stale one', async () => {
      const store = await fresh();
      await visitOf(store, 'v');
      await store.putChannel('chat', channelSettingsSchema.parse({ pacing: { mode: 'progressive' } }));
      const chat = [paced('chat', progressive)];
      expect(await engage(store, 'one', T0, chat)).toEqual({
        kind: 'no-capacity',
        closed: [{ channel: 'chat', reason: 'capacity-unknown' }],
      });
      await store.reportCapacity('chat', 1, T0);
      expect((await engage(store, 'one', T0 + 60_000, chat)).kind).toBe('created');
      expect(await engage(store, 'two', T0 + 60_001, chat)).toEqual({
        kind: 'no-capacity',
        closed: [{ channel: 'chat', reason: 'capacity-unknown' }],
      });
      const patient = [paced('chat', { ...progressive, capacityStaleSeconds: 120 })];
      expect((await engage(store, 'two', T0 + 60_001, patient)).kind).toBe('created');
    });

    it('lets free slots ÷ acceptance rate be in progress, counts accepts since the report as slots taken, and starts again at the next report', async () => {
      const store = await fresh();
      await visitOf(store, 'v');
      await store.putChannel('chat', channelSettingsSchema.parse({ pacing: { mode: 'progressive' } }));
      await store.reportCapacity('chat', 1, T0);
      const chat = [paced('chat', progressive)];
      // One free slot at the initial rate 0.2: five may be on screens at once.
      for (let i = 0; i < 5; i++) expect((await engage(store, `i${i}`, T0 + i, chat)).kind).toBe('created');
      expect(await engage(store, 'i5', T0 + 5, chat)).toEqual({
        kind: 'no-capacity',
        closed: [{ channel: 'chat', reason: 'pacing' }],
      });
      // One is accepted: it took the free slot.
      await show(store, 'i0', T0 + 10);
      await store.transition({
        interactionId: 'i0',
        from: ['delivered'],
        to: 'accepted',
        at: T0 + 11,
        channel: 'chat',
      });
      expect(await load(store)).toMatchObject({ acceptedSinceReport: 1, inProgress: 4 });
      expect(await engage(store, 'i5', T0 + 12, chat)).toEqual({
        kind: 'no-capacity',
        closed: [{ channel: 'chat', reason: 'no-free-agents' }],
      });
      // The contact centre reports two free slots: the accepts before it no longer count.
      await store.reportCapacity('chat', 2, T0 + 20);
      expect(await load(store)).toMatchObject({
        capacity: { freeSlots: 2, reportedAt: T0 + 20 },
        acceptedSinceReport: 0,
      });
      for (let i = 5; i < 11; i++) expect((await engage(store, `i${i}`, T0 + 20 + i, chat)).kind).toBe('created');
      expect((await engage(store, 'i11', T0 + 40, chat)).kind).toBe('no-capacity');
    });

    it('measures the acceptance rate over the latest 200 invitations shown and answered', async () => {
      const store = await fresh();
      await visitOf(store, 'v');
      const chat = [paced('chat', fixed(1000))];
      // 220 shown and answered: one in four accepted with chat, one in four accepted with callback, the rest not.
      for (let i = 0; i < 220; i++) {
        const id = `r${i}`;
        await engage(store, id, T0 + i, chat, ['chat', 'callback']);
        await show(store, id, T0 + i);
        if (i % 4 === 0) {
          await store.transition({
            interactionId: id,
            from: ['delivered'],
            to: 'accepted',
            at: T0 + i,
            channel: 'chat',
          });
        } else if (i % 4 === 1) {
          await store.transition({
            interactionId: id,
            from: ['delivered'],
            to: 'accepted',
            at: T0 + i,
            channel: 'callback',
          });
        } else {
          await store.transition({
            interactionId: id,
            from: ['delivered'],
            to: i % 4 === 2 ? 'declined' : 'timed_out',
            at: T0 + i,
          });
        }
      }
      // Not answered, so not counted: cancelled once shown, and never shown.
      await engage(store, 'withdrawn', T0 + 300, chat);
      await show(store, 'withdrawn', T0 + 301);
      await store.transition({ interactionId: 'withdrawn', from: ['delivered'], to: 'cancelled', at: T0 + 302 });
      await engage(store, 'expired', T0 + 300, chat);
      await store.transition({ interactionId: 'expired', from: ['pending'], to: 'expired', at: T0 + 400 });
      expect(await load(store)).toMatchObject({ answered: 200, accepted: 50, inProgress: 0 });
      // callback was offered but not paced: the store counts nothing of it.
      expect(await load(store, 'callback')).toMatchObject({ answered: 0, accepted: 0, inProgress: 0 });
    });

    it('narrows the invitation to the channels open now, keeping the order asked', async () => {
      const store = await fresh();
      await visitOf(store, 'v');
      const pacing = [paced('chat', fixed(0)), paced('voice', fixed(5), false)];
      const created = await engage(store, 'narrow', T0, pacing, ['chat', 'callback', 'voice', 'video']);
      expect(created.kind).toBe('created');
      expect(await channelsOf(store, 'narrow')).toEqual(['callback', 'video']);
      // Only paced channels it offers count it in progress.
      expect((await load(store, 'voice')).inProgress).toBe(0);
      const report = (await store.reportHours(hourOf(T0), hourOf(T0) + 3_600_000))[0]!;
      expect(report.counts.narrowed).toBe(1);
      expect(report.counts.created).toBe(1);
    });

    it('refuses with every channel and its reason when none is open, and keeps nothing', async () => {
      const store = await fresh();
      await visitOf(store, 'v');
      await store.putChannel('chat', channelSettingsSchema.parse({ pacing: { mode: 'progressive' } }));
      const pacing = [paced('voice', fixed(5), false), paced('chat', progressive), paced('callback', fixed(0))];
      expect(await engage(store, 'refused', T0, pacing, ['voice', 'chat', 'callback'])).toEqual({
        kind: 'no-capacity',
        closed: [
          { channel: 'voice', reason: 'outside-hours' },
          { channel: 'chat', reason: 'capacity-unknown' },
          { channel: 'callback', reason: 'pacing' },
        ],
      });
      expect(await store.getEngagement('refused')).toBeNull();
      expect(await store.eventsAfter(0, { types: ['engagement.pending'], visitId: null }, 10)).toEqual([]);
      for (const channel of ['voice', 'chat', 'callback']) expect((await load(store, channel)).inProgress).toBe(0);
    });

    it('does nothing for a create made from settings that moved on, but answers an id that exists', async () => {
      const store = await fresh();
      await visitOf(store, 'v');
      const old = await store.channelConfig();
      const create = (interactionId: string, channelsVersion: number) =>
        store.createAttempt(ixnProfileSchema.parse({ interactionId, visitId: 'v' }), {
          exclusive: false,
          now: T0,
          place: false,
          channelsVersion,
        });
      expect((await create('before', old.version)).kind).toBe('created');
      await store.putChannel('chat', channelSettingsSchema.parse({ pacing: { mode: 'fixed', maxOnScreen: 0 } }));
      expect(await create('after', old.version)).toEqual({ kind: 'channels-changed' });
      expect(await store.getEngagement('after')).toBeNull();
      expect((await create('before', old.version)).kind).toBe('exists');
      const hour = (await store.reportHours(hourOf(T0), hourOf(T0) + 3_600_000))[0]!;
      expect(hour.counts).toMatchObject({ created: 1 });
      expect(Object.keys(hour.counts).filter((name) => name.startsWith('rf:'))).toEqual([]);
      const now = await store.channelConfig();
      expect((await create('after', now.version)).kind).toBe('created');
    });

    it('answers an id that exists as before, open or closed (idempotency first)', async () => {
      const store = await fresh();
      await visitOf(store, 'v');
      expect((await engage(store, 'once', T0, [paced('chat', fixed(1))])).kind).toBe('created');
      const again = await engage(store, 'once', T0 + 1, [paced('chat', fixed(1))]);
      expect(again.kind).toBe('exists');
      expect((await load(store)).inProgress).toBe(1);
    });

    it('counts refused engages per FAULT code in the hour of the refusal, and changes nothing else', async () => {
      const store = await fresh();
      await visitOf(store, 'v');
      const refuse = (id: string, options: Partial<Parameters<BeckonStore['createAttempt']>[1]> = {}, visitId = 'v') =>
        store.createAttempt(ixnProfileSchema.parse({ interactionId: id, visitId }), {
          exclusive: false,
          now: T0,
          place: false,
          ...options,
        });
      expect((await refuse('no-visit', {}, 'nobody')).kind).toBe('no-visit');
      expect((await refuse('busy-1', { exclusive: true })).kind).toBe('created');
      expect((await refuse('busy-2', { exclusive: true })).kind).toBe('visit-busy');
      expect((await refuse('busy-3', { exclusive: true })).kind).toBe('visit-busy');
      const caps = { perDay: 1, afterDeclineMs: null };
      expect((await refuse('cap-1', { caps })).kind).toBe('created');
      expect((await refuse('capped', { caps })).kind).toBe('capped');
      expect((await refuse('paced', { pacing: [paced('chat', fixed(0))] })).kind).toBe('no-capacity');
      await store.setOptOut('browser-of-v', true, T0);
      expect((await refuse('opted-out')).kind).toBe('opted-out');
      const [hour] = await store.reportHours(hourOf(T0), hourOf(T0) + 3_600_000);
      const refused = Object.fromEntries(Object.entries(hour!.counts).filter(([name]) => name.startsWith('rf:')));
      expect(refused).toEqual({
        'rf:UNKNOWN_VISIT': 1,
        'rf:ENGAGEMENT_IN_PROGRESS': 2,
        'rf:VISITOR_CAPPED': 1,
        'rf:NO_CAPACITY': 1,
        'rf:VISITOR_OPTED_OUT': 1,
      });
      expect(hour!.counts.created).toBe(2);
      expect(hour!.counts.narrowed).toBeUndefined();
    });
  });
});
