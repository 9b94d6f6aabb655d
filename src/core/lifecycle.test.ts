/**
 * The engagement rules on their own: the core against a real (in-memory
 * SQLite) store with a clock the test moves, checked through what it
 * answers and the page commands it publishes. No HTTP, no sockets.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ixnProfileSchema, type PageInfo } from '../protocol/index.js';
import { openSqliteStore } from '../store/sqlite/store.js';
import type { BeckonStore } from './store.js';
import { BeckonFault } from './faults.js';
import { CAP_WINDOW_MS } from './caps.js';
import { Lifecycle, type LifecycleOptions, type PageCommand } from './lifecycle.js';
import { byAttention, chooseTarget, toOffer } from './placement.js';

const T0 = Date.UTC(2026, 5, 1, 9, 0, 0);
const front: PageInfo = { url: 'https://shop.test/', title: 'Shop', visible: true, focused: true };
const back: PageInfo = { ...front, visible: false, focused: false };

let store: BeckonStore;
let clock: number;
let commands: PageCommand[];

function lifecycle(strict = true, visitIdleMs = 60_000, options: Partial<LifecycleOptions> = {}): Lifecycle {
  const core = new Lifecycle(store, { strict, visitIdleMs, now: () => clock, ...options });
  // Only the test moves time here: no deadline fires unless the test settles what is due.
  core.stopDeadlines();
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

  it('fires every due deadline of a round even when one fails, then reports the failure', async () => {
    // The store refuses to end one visit (a fault injected on the real store): the other still ends.
    const refused = new Error('the store refused to end this visit');
    let refuse = '';
    const real = store;
    store = new Proxy(real, {
      get(target, name) {
        if (name === 'endVisit')
          return (visitId: string, now: number) =>
            visitId === refuse ? Promise.reject(refused) : target.endVisit(visitId, now);
        const value: unknown = Reflect.get(target, name);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const core = lifecycle(true, 60_000);
    const first = await core.enterPage(null, () => null, front);
    await core.leavePage(first);
    clock += 1_000;
    const second = await core.enterPage(null, () => null, front);
    await core.leavePage(second);
    refuse = first.visitId; // idle first: the first due deadline of the round
    clock += 60_000;
    await expect(core.settleDue()).rejects.toBe(refused);
    expect((await real.getVisit(second.visitId))?.endedAt).toBe(clock);
    expect((await real.getVisit(first.visitId))?.endedAt).toBeNull();
    // Still due: the next round ends it.
    refuse = '';
    await core.settleDue();
    expect((await real.getVisit(first.visitId))?.endedAt).toBe(clock);
    store = real;
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

describe('refusals name what refused', () => {
  it('strict mode names the attempt already in progress', async () => {
    const core = lifecycle();
    const page = await core.enterPage(null, () => null, front);
    await engage(core, { interactionId: 'first', visitId: page.visitId });
    const busy = await faultOf(engage(core, { interactionId: 'second', visitId: page.visitId }));
    expect(busy.code).toBe('ENGAGEMENT_IN_PROGRESS');
    expect(busy.message).toBe('The visit already has attempt "first" in progress (strict mode).');
  });

  it('status answers the attempt as stored, or UNKNOWN_ENGAGEMENT', async () => {
    const core = lifecycle();
    const page = await core.enterPage(null, () => null, front);
    await engage(core, { interactionId: 'known', visitId: page.visitId });
    expect(await core.status('known')).toMatchObject({ interactionId: 'known', state: 'pending' });
    expect((await faultOf(core.status('unknown'))).code).toBe('UNKNOWN_ENGAGEMENT');
  });
});

describe('frequency caps', () => {
  const perDay = { perDay: 2, afterDeclineMs: null };

  async function showAndAnswer(core: Lifecycle, page: { visitId: string; pageId: string }, id: string) {
    await engage(core, { interactionId: id, visitId: page.visitId });
    await core.markShown(id, page.visitId, page.pageId);
    return core.answer(id, page.visitId, page.pageId, 'accepted', 'chat');
  }

  it('refuses an engage past the cap per day, naming the cap and when it lifts', async () => {
    const core = lifecycle(true, 3_600_000, { caps: perDay });
    const page = await core.enterPage(null, () => null, front);
    await showAndAnswer(core, page, 'one');
    clock += 60_000;
    await showAndAnswer(core, page, 'two');
    clock += 60_000;
    const capped = await faultOf(engage(core, { interactionId: 'three', visitId: page.visitId }));
    expect(capped.code).toBe('VISITOR_CAPPED');
    // The older of the two shown today leaves the window first.
    const lifts = new Date(T0 + CAP_WINDOW_MS).toISOString();
    expect(capped.extra).toEqual({ cap: 'per-day', retryAfter: lifts });
    expect(capped.message).toBe(
      `This visitor was already shown 2 invitation(s) in the last 24 hours (BECKON_CAP_PER_DAY); the cap lifts at ${lifts}.`,
    );
    expect(await store.getEngagement('three')).toBeNull();
  });

  it('without caps, any number of invitations goes ahead', async () => {
    const core = lifecycle(true, 3_600_000);
    const page = await core.enterPage(null, () => null, front);
    for (const id of ['one', 'two', 'three']) expect((await showAndAnswer(core, page, id)).state).toBe('accepted');
    expect(await core.capStates([page.globalVisitId])).toBeNull();
  });

  it("lists each browser's cap state once, for the visits list", async () => {
    const core = lifecycle(true, 3_600_000, { caps: perDay });
    const page = await core.enterPage(null, () => null, front);
    const quiet = await core.enterPage(null, () => null, front);
    await showAndAnswer(core, page, 'one');
    await showAndAnswer(core, page, 'two');
    const states = await core.capStates([page.globalVisitId, quiet.globalVisitId, page.globalVisitId]);
    expect(states).toEqual(
      new Map([
        [
          page.globalVisitId,
          { shownLast24Hours: 2, perDay: 2, quietUntil: null, capped: 'per-day', retryAfter: T0 + CAP_WINDOW_MS },
        ],
        [quiet.globalVisitId, { shownLast24Hours: 0, perDay: 2, quietUntil: null, capped: null, retryAfter: null }],
      ]),
    );
  });

  it('remembers a decline for the whole quiet time, even when later declines of others prune old ones', async () => {
    const days30 = 30 * 86_400_000;
    const core = lifecycle(true, 40 * 86_400_000, { caps: { perDay: null, afterDeclineMs: days30 } });
    const declines = await core.enterPage(null, () => null, front);
    const other = await core.enterPage(null, () => null, front);
    await engage(core, { interactionId: 'no-thanks', visitId: declines.visitId });
    await core.markShown('no-thanks', declines.visitId, declines.pageId);
    await core.answer('no-thanks', declines.visitId, declines.pageId, 'declined', undefined);
    clock += 29 * 86_400_000;
    await engage(core, { interactionId: 'other-no', visitId: other.visitId });
    await core.markShown('other-no', other.visitId, other.pageId);
    await core.answer('other-no', other.visitId, other.pageId, 'declined', undefined);
    const quiet = await faultOf(engage(core, { interactionId: 'again', visitId: declines.visitId }));
    expect(quiet.extra).toEqual({ cap: 'after-decline', retryAfter: new Date(T0 + days30).toISOString() });
  });
});

describe('noengage', () => {
  it('cancels an attempt in progress, keeps its reason, and every page drops it', async () => {
    const core = lifecycle();
    const page = await core.enterPage(null, () => null, front);
    await engage(core, { interactionId: 'c', visitId: page.visitId });
    clock += 2000;
    const cancelled = await core.noengage({ interactionId: 'c', visitId: page.visitId, reason: 'agent-busy' });
    expect(cancelled).toMatchObject({ state: 'cancelled', reason: 'agent-busy' });
    expect(cancelled.transitions.cancelled).toBe(new Date(T0 + 2000).toISOString());
    expect(commands.at(-1)).toEqual({ kind: 'settled', visitId: page.visitId, interactionId: 'c', state: 'cancelled' });
    // Again: the same answer, nothing new for the pages.
    const count = commands.length;
    expect(await core.noengage({ interactionId: 'c', visitId: null, reason: null })).toMatchObject({
      state: 'cancelled',
      reason: 'agent-busy',
    });
    expect(commands).toHaveLength(count);
  });

  it('refuses an attempt of another visit, naming the field', async () => {
    const core = lifecycle();
    const page = await core.enterPage(null, () => null, front);
    await engage(core, { interactionId: 'mine', visitId: page.visitId });
    const conflict = await faultOf(core.noengage({ interactionId: 'mine', visitId: 'someone-else', reason: null }));
    expect(conflict.code).toBe('INTERACTION_CONFLICT');
    expect(conflict.details).toEqual([
      { path: 'cancelData.visitId', message: 'does not match the visit of this attempt' },
    ]);
    expect((await store.getEngagement('mine'))?.state).toBe('pending');
  });

  it('a tombstone that named no visit answers a later noengage that names one', async () => {
    const core = lifecycle();
    await core.noengage({ interactionId: 'early', visitId: null, reason: null });
    expect(await core.noengage({ interactionId: 'early', visitId: 'v-1', reason: null })).toMatchObject({
      state: 'cancelled',
      visitId: null,
    });
  });

  it('racing the engage of the same id: the attempt ends cancelled, never left in progress', async () => {
    const core = lifecycle();
    const page = await core.enterPage(null, () => null, front);
    const [cancelled, engaged] = await Promise.all([
      core.noengage({ interactionId: 'race', visitId: null, reason: null }),
      // Either wins: an engage that comes second is refused, as for any cancelled id.
      engage(core, { interactionId: 'race', visitId: page.visitId }).catch((error: unknown) => error),
    ]);
    expect(cancelled.state).toBe('cancelled');
    if (engaged instanceof Error) expect(engaged).toMatchObject({ code: 'ENGAGEMENT_CANCELLED' });
    expect((await store.getEngagement('race'))?.state).toBe('cancelled');
  });

  it('two noengages of one attempt at once: both answer it cancelled, and the pages are told once', async () => {
    const core = lifecycle();
    const page = await core.enterPage(null, () => null, front);
    await engage(core, { interactionId: 'both', visitId: page.visitId });
    commands = [];
    const [a, b] = await Promise.all([
      core.noengage({ interactionId: 'both', visitId: null, reason: null }),
      core.noengage({ interactionId: 'both', visitId: page.visitId, reason: null }),
    ]);
    expect(a.state).toBe('cancelled');
    expect(b).toEqual(a);
    expect(commands).toEqual([{ kind: 'settled', visitId: page.visitId, interactionId: 'both', state: 'cancelled' }]);
  });

  it('two noengages of an id never engaged keep one tombstone and both answer it', async () => {
    const core = lifecycle();
    const [a, b] = await Promise.all([
      core.noengage({ interactionId: 'twice', visitId: null, reason: 'first' }),
      core.noengage({ interactionId: 'twice', visitId: null, reason: 'second' }),
    ]);
    expect(a).toEqual(b);
    expect(a).toMatchObject({ state: 'cancelled', reason: 'first' });
  });
});

describe('pages of a visit', () => {
  it('a page returning to a visit that ended starts a new visit of the same browser', async () => {
    const core = lifecycle(true, 10_000);
    const page = await core.enterPage(null, () => null, front);
    await core.leavePage(page);
    clock += 10_000;
    await core.settleDue();
    expect((await store.getVisit(page.visitId))?.endedAt).toBe(clock);
    clock += 1;
    const back = await core.enterPage({ globalVisitId: page.globalVisitId, visitId: page.visitId }, () => null, front);
    expect(back.globalVisitId).toBe(page.globalVisitId);
    expect(back.visitId).not.toBe(page.visitId);
    expect((await store.getVisit(back.visitId))?.endedAt).toBeNull();
  });

  it('a visit idle just short of its limit resumes', async () => {
    const core = lifecycle(true, 10_000);
    const page = await core.enterPage(null, () => null, front);
    await core.leavePage(page);
    clock += 9_999;
    const claim = { globalVisitId: page.globalVisitId, visitId: page.visitId };
    expect((await core.enterPage(claim, () => null, front)).visitId).toBe(page.visitId);
  });

  it('closing a page that is not open changes nothing', async () => {
    const core = lifecycle();
    const page = await core.enterPage(null, () => null, front);
    expect(await core.leavePage(page)).toBe(true);
    expect(await core.leavePage(page)).toBe(false);
    expect(await core.leavePage({ visitId: page.visitId, pageId: 'never-opened' })).toBe(false);
  });

  it("a page's session holds the invitation only when the invitation is on that page", async () => {
    const core = lifecycle();
    const looked = await core.enterPage(null, () => null, front);
    const claim = { globalVisitId: looked.globalVisitId, visitId: looked.visitId };
    expect(await core.session(looked)).toEqual({ optedOut: false, invitation: null });
    await engage(core, { interactionId: 'here', visitId: looked.visitId });
    const other = await core.enterPage(claim, () => null, back);
    expect((await core.session(other)).invitation).toBeNull();
    expect((await core.session(looked)).invitation).toMatchObject({ interactionId: 'here' });
    await core.setOptOut(looked.globalVisitId, true);
    expect(await core.session(other)).toEqual({ optedOut: true, invitation: null });
  });

  it('a waiting invitation handed to a connecting page is no move: nobody is told to drop it', async () => {
    const core = lifecycle();
    const page = await core.enterPage(null, () => null, front);
    await core.leavePage(page);
    await engage(core, { interactionId: 'waits', visitId: page.visitId });
    const again = await core.enterPage({ globalVisitId: page.globalVisitId, visitId: page.visitId }, () => null, front);
    await core.session(again);
    expect(commands).toEqual([]);
    expect((await store.getEngagement('waits'))?.shownPageId).toBe(again.pageId);
  });

  it("when the visit's last page closes, the invitation waits where it was and no page is told anything", async () => {
    const core = lifecycle();
    const page = await core.enterPage(null, () => null, front);
    await engage(core, { interactionId: 'waits', visitId: page.visitId });
    commands = [];
    await core.leavePage(page);
    expect(commands).toEqual([]);
    expect(await store.getEngagement('waits')).toMatchObject({ state: 'pending', shownPageId: page.pageId });
  });

  it('placing an invitation that is already where it should be tells nobody anything', async () => {
    const core = lifecycle();
    const page = await core.enterPage(null, () => null, front);
    await engage(core, { interactionId: 'stays', visitId: page.visitId });
    const before = [...commands];
    expect((await core.place(page.visitId))?.shownPageId).toBe(page.pageId);
    expect(commands).toEqual(before);
  });

  it('the invitation follows the visitor: when its page closes it goes to the page now looked at', async () => {
    const core = lifecycle();
    const first = await core.enterPage(null, () => null, front);
    const claim = { globalVisitId: first.globalVisitId, visitId: first.visitId };
    const a = await core.enterPage(claim, () => null, back);
    clock += 1000;
    const b = await core.enterPage(claim, () => null, back);
    await engage(core, { interactionId: 'follow', visitId: first.visitId });
    expect((await store.getEngagement('follow'))?.shownPageId).toBe(first.pageId);
    // The visitor switches to the older background tab.
    clock += 1000;
    await core.updatePage(a.pageId, { visible: true, focused: true });
    await core.leavePage(first);
    expect(starts().at(-1)).toMatchObject({ pageId: a.pageId });
    expect((await store.getPage(b.pageId))?.closedAt).toBeNull();
  });
});

describe('answers, races and deadlines', () => {
  it('two pages confirming the same invitation at once both get the delivered attempt, with one deadline', async () => {
    const core = lifecycle();
    const page = await core.enterPage(null, () => null, front);
    const tab = await core.enterPage({ globalVisitId: page.globalVisitId, visitId: page.visitId }, () => null, back);
    await engage(core, { interactionId: 'both', visitId: page.visitId, timeoutSeconds: 10 });
    const [one, two] = await Promise.all([
      core.markShown('both', page.visitId, page.pageId),
      core.markShown('both', page.visitId, tab.pageId),
    ]);
    expect(one).toMatchObject({ state: 'delivered', timeoutAt: new Date(T0 + 10_000).toISOString() });
    expect(two).toEqual(one);
  });

  it('accepting needs a channel offered; the accepted attempt keeps it, a declined one has none', async () => {
    const core = lifecycle(false);
    const page = await core.enterPage(null, () => null, front);
    await engage(core, { interactionId: 'acc', visitId: page.visitId, channels: ['chat', 'voice'] });
    const none = await faultOf(core.answer('acc', page.visitId, page.pageId, 'accepted', undefined));
    expect(none.code).toBe('INVALID_PARAMETER');
    expect(none.message).toBe('accepted needs one of the channels offered.');
    expect(none.details).toEqual([{ path: 'channel', message: 'must be one of chat, voice' }]);
    expect((await store.getEngagement('acc'))?.state).toBe('pending');
    expect(await core.answer('acc', page.visitId, page.pageId, 'accepted', 'voice')).toMatchObject({
      state: 'accepted',
      channel: 'voice',
    });
    await engage(core, { interactionId: 'dec', visitId: page.visitId });
    expect(await core.answer('dec', page.visitId, page.pageId, 'declined', 'chat')).toMatchObject({
      state: 'declined',
      channel: null,
    });
  });

  it('an answer to a settled attempt names how it settled', async () => {
    const core = lifecycle();
    const page = await core.enterPage(null, () => null, front);
    await engage(core, { interactionId: 'done', visitId: page.visitId });
    await core.answer('done', page.visitId, page.pageId, 'declined', undefined);
    const late = await faultOf(core.answer('done', page.visitId, page.pageId, 'accepted', 'chat'));
    expect(late.message).toBe('The engagement attempt has already settled as declined.');
    expect(late.toBody()).toMatchObject({ code: 'ALREADY_SETTLED', state: 'declined' });
  });

  it('two processes firing the same deadline: it settles once, and the pages are told once', async () => {
    const core = lifecycle();
    const other = lifecycle();
    const page = await core.enterPage(null, () => null, front);
    await engage(core, { interactionId: 'due', visitId: page.visitId, timeoutSeconds: 5 });
    await core.markShown('due', page.visitId, page.pageId);
    clock += 5000;
    commands = [];
    await Promise.all([core.settleDue(), other.settleDue()]);
    expect(commands).toEqual([{ kind: 'settled', visitId: page.visitId, interactionId: 'due', state: 'timed_out' }]);
  });

  it('a listener that throws is reported, and the other listeners still hear every command', async () => {
    const failures: unknown[] = [];
    const core = lifecycle(true, 60_000, { onBackgroundError: (error) => failures.push(error) });
    const broken = new Error('socket adapter broke');
    core.onPageCommand(() => {
      throw broken;
    });
    const heard: PageCommand[] = [];
    const unsubscribe = core.onPageCommand((command) => heard.push(command));
    const page = await core.enterPage(null, () => null, front);
    await engage(core, { interactionId: 'l', visitId: page.visitId });
    expect(failures).toEqual([broken]);
    expect(heard).toHaveLength(1);
    unsubscribe();
    await core.noengage({ interactionId: 'l', visitId: null, reason: null });
    expect(heard).toHaveLength(1);
    expect(commands.map((c) => c.kind)).toEqual(['start', 'settled']);
  });

  it('without an error handler, a failing listener or placement still never fails the caller', async () => {
    const core = lifecycle(false);
    core.onPageCommand(() => {
      throw new Error('socket adapter broke');
    });
    const page = await core.enterPage(null, () => null, front);
    expect((await engage(core, { interactionId: 'one', visitId: page.visitId })).state).toBe('pending');
    await engage(core, { interactionId: 'two', visitId: page.visitId });
    core.onPageCommand((command) => {
      if (command.kind === 'settled') void store.close();
    });
    const escaped: unknown[] = [];
    const escape = (reason: unknown) => escaped.push(reason);
    process.on('unhandledRejection', escape);
    try {
      expect((await core.answer('one', page.visitId, page.pageId, 'declined', undefined)).state).toBe('declined');
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      process.off('unhandledRejection', escape);
    }
    expect(escaped).toEqual([]);
  });

  it('when the store goes away as an attempt settles, placing the next one is reported, not thrown', async () => {
    const failures: unknown[] = [];
    const core = lifecycle(false, 60_000, { onBackgroundError: (error) => failures.push(error) });
    const page = await core.enterPage(null, () => null, front);
    await engage(core, { interactionId: 'one', visitId: page.visitId });
    await engage(core, { interactionId: 'two', visitId: page.visitId });
    core.onPageCommand((command) => {
      if (command.kind === 'settled') void store.close();
    });
    expect((await core.answer('one', page.visitId, page.pageId, 'declined', undefined)).state).toBe('declined');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(failures).toHaveLength(1);
    expect(String(failures[0])).toMatch(/not open/);
  });
});

describe('deadlines on their own', () => {
  // Here the lifecycle runs on the (fake) wall clock, as in production; the store's commits run on the real event loop.
  const turns = async () => {
    for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  };
  const advance = async (ms: number) => {
    await vi.advanceTimersByTimeAsync(ms);
    await turns();
  };
  let core: Lifecycle;
  let failures: unknown[];

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'], now: T0 });
    failures = [];
  });
  afterEach(() => {
    core.stopDeadlines();
    vi.useRealTimers();
  });

  function started(visitIdleMs: number): Lifecycle {
    core = new Lifecycle(store, { strict: true, visitIdleMs, onBackgroundError: (error) => failures.push(error) });
    core.onPageCommand((command) => commands.push(command));
    core.startDeadlines();
    return core;
  }

  it('a waiting attempt expires at its deadline, and the pages are told', async () => {
    const core = started(3_600_000);
    const page = await core.enterPage(null, () => null, front);
    await core.leavePage(page);
    await engage(core, { interactionId: 'exp', visitId: page.visitId, expirationSeconds: 10 });
    await turns();
    await advance(9_999);
    expect((await store.getEngagement('exp'))?.state).toBe('pending');
    await advance(1);
    const expired = await store.getEngagement('exp');
    expect(expired?.state).toBe('expired');
    expect(expired?.transitions.expired).toBe(new Date(T0 + 10_000).toISOString());
    expect(commands.at(-1)).toEqual({ kind: 'settled', visitId: page.visitId, interactionId: 'exp', state: 'expired' });
  });

  it('a visit whose last page closed ends when its idle time runs out, not at the next look', async () => {
    const core = started(300);
    const page = await core.enterPage(null, () => null, front);
    await turns();
    await advance(100);
    await core.leavePage(page);
    await turns();
    await advance(300);
    expect((await store.getVisit(page.visitId))?.endedAt).toBe(T0 + 400);
  });

  it('stopped, it fires nothing', async () => {
    const core = started(300);
    const page = await core.enterPage(null, () => null, front);
    await core.leavePage(page);
    core.stopDeadlines();
    await turns();
    await advance(10_000);
    expect((await store.getVisit(page.visitId))?.endedAt).toBeNull();
  });

  it('a store that cannot be read is reported, and the clock keeps looking', async () => {
    await store.close();
    started(300);
    await turns();
    expect(failures).toHaveLength(1);
    await advance(1000);
    expect(failures.length).toBeGreaterThan(1);
  });
});
