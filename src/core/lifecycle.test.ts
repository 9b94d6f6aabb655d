/**
 * The engagement rules on their own: the core against a real (in-memory
 * SQLite) store with a clock the test moves, checked through what it
 * answers and the page commands it publishes. No HTTP, no sockets.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ixnProfileSchema, type PageInfo } from '../protocol/index.js';
import { openSqliteStore } from '../store/sqlite/store.js';
import type { BeckonStore } from './store.js';
import { BeckonFault } from './faults.js';
import { Lifecycle, type PageCommand } from './lifecycle.js';
import { byAttention, chooseTarget, toOffer } from './placement.js';

const T0 = Date.UTC(2026, 5, 1, 9, 0, 0);
const front: PageInfo = { url: 'https://shop.test/', title: 'Shop', visible: true, focused: true };
const back: PageInfo = { ...front, visible: false, focused: false };

let store: BeckonStore;
let clock: number;
let commands: PageCommand[];

function lifecycle(strict = true, visitIdleMs = 60_000): Lifecycle {
  const core = new Lifecycle(store, { strict, visitIdleMs, now: () => clock });
  core.onPageCommand((command) => commands.push(command));
  return core;
}

const engage = (core: Lifecycle, input: Record<string, unknown>) => core.engage(ixnProfileSchema.parse(input));
const starts = () => commands.filter((c) => c.kind === 'start');

async function faultOf(work: Promise<unknown>): Promise<BeckonFault> {
  try {
    await work;
  } catch (error) {
    if (error instanceof BeckonFault) return error;
    throw error;
  }
  throw new Error('expected a fault');
}

beforeEach(() => {
  store = openSqliteStore(':memory:');
  clock = T0;
  commands = [];
});
afterEach(async () => {
  await store.close();
});

describe('engage', () => {
  it('shows the invitation on the page the visitor looks at, with its whole time', async () => {
    const core = lifecycle();
    const tab = await core.enterPage(null, () => null, back);
    const looked = await core.enterPage({ globalVisitId: tab.globalVisitId, visitId: tab.visitId }, () => null, front);
    const attempt = await engage(core, { interactionId: 'a', visitId: tab.visitId, timeoutSeconds: 20 });
    expect(attempt).toMatchObject({ state: 'pending', shownPageId: looked.pageId });
    expect(commands).toEqual([
      {
        kind: 'start',
        pageId: looked.pageId,
        offer: expect.objectContaining({ interactionId: 'a', remainingMs: 20_000 }),
      },
    ]);
  });

  it('answers UNKNOWN_VISIT naming the field, and the other refusals from the table', async () => {
    const core = lifecycle();
    const unknown = await faultOf(engage(core, { interactionId: 'a', visitId: 'never' }));
    expect(unknown.code).toBe('UNKNOWN_VISIT');
    expect(unknown.details).toEqual([{ path: 'ixnProfile.visitId', message: 'no live visit has this id' }]);

    const page = await core.enterPage(null, () => null, front);
    await engage(core, { interactionId: 'a', visitId: page.visitId });
    expect((await faultOf(engage(core, { interactionId: 'b', visitId: page.visitId }))).code).toBe(
      'ENGAGEMENT_IN_PROGRESS',
    );
    const other = await core.enterPage(null, () => null, front);
    expect((await faultOf(engage(core, { interactionId: 'a', visitId: other.visitId }))).code).toBe(
      'INTERACTION_CONFLICT',
    );
    // The same engage again: the same attempt, shown once.
    expect((await engage(core, { interactionId: 'a', visitId: page.visitId })).interactionId).toBe('a');
    expect(starts()).toHaveLength(1);
    await core.noengage({ interactionId: 'a', visitId: null, reason: null });
    expect((await faultOf(engage(core, { interactionId: 'a', visitId: page.visitId }))).code).toBe(
      'ENGAGEMENT_CANCELLED',
    );
    await core.setOptOut(other.globalVisitId, true);
    expect((await faultOf(engage(core, { interactionId: 'c', visitId: other.visitId }))).code).toBe(
      'VISITOR_OPTED_OUT',
    );
  });

  it('waits for a page when none is open, and hands it to the first page in its session', async () => {
    const core = lifecycle();
    const page = await core.enterPage(null, () => null, front);
    await core.leavePage(page);
    await engage(core, { interactionId: 'w', visitId: page.visitId });
    expect(starts()).toEqual([]);
    clock += 5000;
    const again = await core.enterPage({ globalVisitId: page.globalVisitId, visitId: page.visitId }, () => null, front);
    const session = await core.session(again);
    expect(session.invitation).toMatchObject({ interactionId: 'w', remainingMs: 30_000 });
    // The connecting page learns it from its session, not from a second start.
    expect(starts()).toEqual([]);
  });
});

describe('pages come and go', () => {
  it('moves a shown invitation to the next open page when its page closes, with the time it has left', async () => {
    const core = lifecycle();
    const first = await core.enterPage(null, () => null, front);
    const second = await core.enterPage(
      { globalVisitId: first.globalVisitId, visitId: first.visitId },
      () => null,
      back,
    );
    await engage(core, { interactionId: 'm', visitId: first.visitId, timeoutSeconds: 30 });
    expect(starts().at(-1)).toMatchObject({ pageId: first.pageId });
    await core.markShown('m', first.visitId, first.pageId);
    clock += 12_000;
    await core.leavePage(first);
    expect(starts().at(-1)).toEqual({
      kind: 'start',
      pageId: second.pageId,
      offer: expect.objectContaining({ interactionId: 'm', remainingMs: 18_000 }),
    });
    expect(commands).toContainEqual({ kind: 'withdraw', pageId: first.pageId, interactionId: 'm', state: 'delivered' });
    expect((await store.getEngagement('m'))?.shownPageId).toBe(second.pageId);
  });

  it('offers nothing when no time is left', async () => {
    const core = lifecycle();
    const first = await core.enterPage(null, () => null, front);
    const second = await core.enterPage(
      { globalVisitId: first.globalVisitId, visitId: first.visitId },
      () => null,
      front,
    );
    await engage(core, { interactionId: 'late', visitId: first.visitId, timeoutSeconds: 5 });
    const shownOn = starts()[0]!.pageId;
    await core.markShown('late', first.visitId, shownOn);
    clock += 5000;
    commands = [];
    await core.leavePage(shownOn === first.pageId ? first : second);
    expect(starts()).toEqual([]);
    const attempt = await store.getEngagement('late');
    expect(toOffer(attempt!, clock)).toBeNull();
  });

  it('places once when two pages change at once (compare-and-set)', async () => {
    const core = lifecycle();
    const first = await core.enterPage(null, () => null, front);
    await core.leavePage(first);
    await engage(core, { interactionId: 'race', visitId: first.visitId });
    const claim = { globalVisitId: first.globalVisitId, visitId: first.visitId };
    const a = await core.enterPage(claim, () => null, front);
    const b = await core.enterPage(claim, () => null, front);
    await Promise.all([core.place(first.visitId), core.place(first.visitId), core.place(first.visitId)]);
    expect(starts()).toHaveLength(1);
    expect([a.pageId, b.pageId]).toContain(starts()[0]!.pageId);
  });

  it('resumes a live visit, ends one idle past its limit on return, and never resumes a forged one', async () => {
    const core = lifecycle(true, 10_000);
    const page = await core.enterPage(null, () => null, front);
    const claim = { globalVisitId: page.globalVisitId, visitId: page.visitId };
    const reloaded = await core.enterPage(claim, () => page.pageId, front);
    expect(reloaded).toEqual(page);
    await core.leavePage(page);
    clock += 10_000;
    const returning = await core.enterPage(claim, () => page.pageId, front);
    expect(returning.globalVisitId).toBe(page.globalVisitId);
    expect(returning.visitId).not.toBe(page.visitId);
    expect((await store.getVisit(page.visitId))?.endedAt).toBe(clock);
    const forged = await core.enterPage({ globalVisitId: 'g', visitId: 'not-a-visit' }, () => 'p', front);
    expect(forged.visitId).not.toBe('not-a-visit');
  });
});

describe('answers and settling', () => {
  it('fixes the deadline at first show, and refuses a channel not offered or an attempt of another visit', async () => {
    const core = lifecycle();
    const page = await core.enterPage(null, () => null, front);
    await engage(core, { interactionId: 's', visitId: page.visitId, channels: ['chat'], timeoutSeconds: 10 });
    const shown = await core.markShown('s', page.visitId, page.pageId);
    expect(shown.timeoutAt).toBe(new Date(T0 + 10_000).toISOString());
    clock += 3000;
    expect((await core.markShown('s', page.visitId, page.pageId)).timeoutAt).toBe(shown.timeoutAt);
    const wrongChannel = await faultOf(core.answer('s', page.visitId, page.pageId, 'accepted', 'voice'));
    expect(wrongChannel).toMatchObject({ code: 'INVALID_PARAMETER', details: [{ path: 'channel' }] });
    expect((await faultOf(core.answer('s', 'another-visit', page.pageId, 'declined', undefined))).code).toBe(
      'UNKNOWN_ENGAGEMENT',
    );
    expect((await core.answer('s', page.visitId, page.pageId, 'accepted', 'chat')).state).toBe('accepted');
    expect(commands.at(-1)).toEqual({ kind: 'settled', visitId: page.visitId, interactionId: 's', state: 'accepted' });
    const again = await faultOf(core.answer('s', page.visitId, page.pageId, 'declined', undefined));
    expect(again).toMatchObject({ code: 'ALREADY_SETTLED', extra: { state: 'accepted' } });
  });

  it('settles what is due once: expiry, timeout and the end of an idle visit', async () => {
    const core = lifecycle(true, 60_000);
    const shownPage = await core.enterPage(null, () => null, front);
    const empty = await core.enterPage(null, () => null, front);
    await core.leavePage(empty);
    await engage(core, { interactionId: 'times-out', visitId: shownPage.visitId, timeoutSeconds: 5 });
    await core.markShown('times-out', shownPage.visitId, shownPage.pageId);
    await engage(core, { interactionId: 'expires', visitId: empty.visitId, expirationSeconds: 10 });
    clock += 10_000;
    await core.settleDue();
    await core.settleDue();
    expect((await store.getEngagement('times-out'))?.state).toBe('timed_out');
    expect((await store.getEngagement('expires'))?.state).toBe('expired');
    expect(commands.filter((c) => c.kind === 'settled')).toHaveLength(2);
    clock += 60_000;
    await core.settleDue();
    expect((await store.getVisit(empty.visitId))?.endedAt).toBe(clock);
    expect((await store.getVisit(shownPage.visitId))?.endedAt).toBeNull();
  });

  it('not strict: when one attempt settles, the next of the visit takes its page', async () => {
    const core = lifecycle(false);
    const page = await core.enterPage(null, () => null, front);
    await engage(core, { interactionId: 'one', visitId: page.visitId });
    await engage(core, { interactionId: 'two', visitId: page.visitId });
    expect(starts().map((c) => c.kind === 'start' && c.offer.interactionId)).toEqual(['one']);
    await core.answer('one', page.visitId, page.pageId, 'declined', undefined);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the next one is placed after the answer returns
    expect(starts().map((c) => c.kind === 'start' && c.offer.interactionId)).toEqual(['one', 'two']);
  });

  it('noengage of an id never engaged keeps a tombstone; of a settled one names how it settled', async () => {
    const core = lifecycle();
    expect(await core.noengage({ interactionId: 'ghost', visitId: null, reason: 'pacing' })).toMatchObject({
      state: 'cancelled',
      reason: 'pacing',
    });
    const page = await core.enterPage(null, () => null, front);
    await engage(core, { interactionId: 'x', visitId: page.visitId });
    await core.answer('x', page.visitId, page.pageId, 'declined', undefined);
    expect(await faultOf(core.noengage({ interactionId: 'x', visitId: null, reason: null }))).toMatchObject({
      code: 'ALREADY_SETTLED',
      extra: { state: 'declined' },
    });
    const mismatch = await faultOf(core.noengage({ interactionId: 'x', visitId: 'other', reason: null }));
    expect(mismatch).toMatchObject({ code: 'INTERACTION_CONFLICT', details: [{ path: 'cancelData.visitId' }] });
  });
});

describe('placement rules', () => {
  const page = (pageId: string, visible: boolean, focused: boolean, activeAt: number, connectedAt = 0) => ({
    pageId,
    visitId: 'v',
    url: '/',
    title: '',
    visible,
    focused,
    locale: null,
    connectedAt,
    activeAt,
    closedAt: null,
  });

  it('orders pages by attention and keeps an invitation where it is while that page is open', () => {
    const pages = [
      page('hidden', false, false, 9),
      page('visible', true, false, 1),
      page('focused', true, true, 0),
    ].sort(byAttention);
    expect(pages.map((p) => p.pageId)).toEqual(['focused', 'visible', 'hidden']);
    const attempt = { shownPageId: 'hidden', pageId: 'visible' } as Parameters<typeof chooseTarget>[0];
    expect(chooseTarget(attempt, pages)).toBe('hidden');
    expect(chooseTarget({ ...attempt, shownPageId: 'closed' }, pages)).toBe('visible');
    expect(chooseTarget({ ...attempt, shownPageId: null, pageId: null }, pages)).toBe('focused');
    expect(chooseTarget(attempt, [])).toBeNull();
  });
});
