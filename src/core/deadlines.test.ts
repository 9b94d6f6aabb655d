/**
 * The deadline clock against a real (in-memory SQLite) store, on a clock the
 * test moves: it sleeps until the earliest stored deadline, fires it then and
 * not before, looks again at least once per longest sleep (deadlines stored by
 * other processes), and keeps going through a store that cannot be read.
 * Only the timers and the date are the test's; the store's own commits run
 * on the real event loop.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openSqliteStore } from '../store/sqlite/store.js';
import type { BeckonStore } from './store.js';
import { StoreUnavailableError } from './store.js';
import { DeadlineClock } from './deadlines.js';
import { Lifecycle } from './lifecycle.js';

const T0 = Date.UTC(2026, 5, 1, 9, 0, 0);
const IDLE_MS = 250;
const info = { url: 'https://shop.test/', title: 'Shop', visible: true, focused: true };

let store: BeckonStore;
/** Every time the clock looked up the earliest deadline. */
let lookups: number;
/** The store as the clock sees it: the real one, its look-ups counted. */
let watched: BeckonStore;
/** When the clock fired (fake epoch ms), and the settle it started. */
let fired: number[];
let settling: Promise<void>;
let errors: unknown[];
let core: Lifecycle;

/** One real turn of the event loop: the clock's look-up and the store's commits run on it. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
const turns = async (n = 5) => {
  for (let i = 0; i < n; i++) await turn();
};

function deadlineClock(options: { maxSleepMs?: number; settle?: () => Promise<void> } = {}): DeadlineClock {
  return new DeadlineClock(
    watched,
    () => {
      fired.push(Date.now());
      settling = (options.settle ?? (() => core.settleDue()))();
      return settling;
    },
    {
      visitIdleMs: IDLE_MS,
      ...(options.maxSleepMs !== undefined ? { maxSleepMs: options.maxSleepMs } : {}),
      onError: (error) => errors.push(error),
    },
  );
}

/** A visit whose only page closed at `at`: it ends IDLE_MS later. */
async function idleVisit(visitId: string, at: number): Promise<void> {
  await store.startVisit({ visitId, globalVisitId: `g-${visitId}` }, at);
  await store.openPage({ pageId: `p-${visitId}`, visitId, info }, at);
  await store.closePage(`p-${visitId}`, at);
}

/** Moves the fake clock, then lets the settle it started and the next look-up finish. */
async function advance(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
  await settling.catch(() => {});
  await turns();
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'], now: T0 });
  store = openSqliteStore(':memory:');
  lookups = 0;
  watched = {
    ...store,
    nextDeadline: (visitIdleMs: number) => {
      lookups++;
      return store.nextDeadline(visitIdleMs);
    },
  };
  fired = [];
  settling = Promise.resolve();
  errors = [];
  core = new Lifecycle(store, { strict: true, visitIdleMs: IDLE_MS });
});
afterEach(async () => {
  vi.useRealTimers();
  await store.close();
});

describe('the deadline clock', () => {
  it('sleeps until the earliest deadline and fires it then, not before', async () => {
    await idleVisit('v', T0);
    const clock = deadlineClock({ maxSleepMs: 60_000 });
    clock.arm();
    await turns();
    await advance(IDLE_MS - 1);
    expect(fired).toEqual([]);
    expect((await store.getVisit('v'))?.endedAt).toBeNull();
    await advance(1);
    expect(fired).toEqual([T0 + IDLE_MS]);
    expect((await store.getVisit('v'))?.endedAt).toBe(T0 + IDLE_MS);
    // Nothing waits now: the next look is one longest sleep later.
    await advance(60_000 - 1);
    expect(fired).toHaveLength(1);
    await advance(1);
    expect(fired).toEqual([T0 + IDLE_MS, T0 + IDLE_MS + 60_000]);
    clock.stop();
  });

  it('fires a deadline already past at once', async () => {
    await idleVisit('late', T0 - 10_000);
    const clock = deadlineClock({ maxSleepMs: 60_000 });
    clock.arm();
    await turns();
    await advance(0);
    expect(fired).toEqual([T0]);
    expect((await store.getVisit('late'))?.endedAt).toBe(T0);
    clock.stop();
  });

  it('looks again every second by default, so a deadline another process stored fires at most a second late', async () => {
    const clock = deadlineClock();
    clock.arm();
    await turns();
    await advance(500);
    // Another process, sharing the store, lets a visit go idle: this clock is not told.
    await idleVisit('elsewhere', T0 + 500);
    await advance(499);
    expect(fired).toEqual([]);
    await advance(1);
    expect(fired).toEqual([T0 + 1000]);
    expect((await store.getVisit('elsewhere'))?.endedAt).toBe(T0 + 1000);
    await advance(1000);
    expect(fired).toEqual([T0 + 1000, T0 + 2000]);
    clock.stop();
  });

  it('wakes for a nearer deadline it is told about, instead of the one it slept for', async () => {
    await store.startVisit({ visitId: 'shopping', globalVisitId: 'g' }, T0);
    await store.openPage({ pageId: 'p', visitId: 'shopping', info }, T0);
    await store.createAttempt(
      {
        interactionId: 'far',
        visitId: 'shopping',
        pageId: null,
        channels: ['chat'],
        invitation: {},
        timeoutSeconds: 30,
        expirationSeconds: 30,
        userData: {},
        extras: {},
      },
      { exclusive: true, now: T0, place: false },
    );
    const clock = deadlineClock({ maxSleepMs: 60_000 });
    clock.arm();
    await turns();
    await advance(100);
    await idleVisit('near', T0 + 100);
    clock.arm();
    await turns();
    await advance(IDLE_MS);
    expect(fired).toEqual([T0 + 100 + IDLE_MS]);
    expect((await store.getVisit('near'))?.endedAt).toBe(T0 + 100 + IDLE_MS);
    // Then it sleeps for the far one again, once.
    await advance(30_000 - 100 - IDLE_MS);
    expect(fired).toEqual([T0 + 100 + IDLE_MS, T0 + 30_000]);
    expect((await store.getEngagement('far'))?.state).toBe('expired');
    clock.stop();
  });

  it('wakes for a nearer deadline a change tells it, with no look-up, and ignores a later one', async () => {
    await idleVisit('near', T0);
    const clock = deadlineClock({ maxSleepMs: 60_000 });
    // Its first look finds nothing (the visit's page is still open).
    await store.openPage({ pageId: 'p-near-2', visitId: 'near', info }, T0);
    clock.arm();
    await turns();
    expect(lookups).toBe(1);
    await store.closePage('p-near-2', T0 + 10);
    clock.deadlineAt(T0 + 10 + IDLE_MS);
    clock.deadlineAt(T0 + 30_000);
    await turns();
    expect(lookups).toBe(1);
    await advance(10 + IDLE_MS - 1);
    expect(fired).toEqual([]);
    await advance(1);
    expect(fired).toEqual([T0 + 10 + IDLE_MS]);
    expect((await store.getVisit('near'))?.endedAt).toBe(T0 + 10 + IDLE_MS);
    clock.stop();
  });

  it('a deadline told while a look-up is under way is kept, though the look-up may not have seen it', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    watched = {
      ...store,
      nextDeadline: async (visitIdleMs: number) => {
        lookups++;
        const seen = await store.nextDeadline(visitIdleMs);
        await gate;
        return seen;
      },
    };
    const clock = deadlineClock({ maxSleepMs: 60_000, settle: async () => {} });
    clock.arm();
    await turns();
    expect(lookups).toBe(1);
    clock.deadlineAt(T0 + 500);
    release();
    await turns();
    await advance(499);
    expect(fired).toEqual([]);
    await advance(1);
    expect(fired).toEqual([T0 + 500]);
    clock.stop();
  });

  it('never runs two rounds at once: a look-up that ends during a round leaves the next wake-up to that round', async () => {
    await idleVisit('v', T0 - IDLE_MS + 100);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let held = false;
    watched = {
      ...store,
      nextDeadline: async (visitIdleMs: number) => {
        lookups++;
        const seen = await store.nextDeadline(visitIdleMs);
        if (held) await gate;
        return seen;
      },
    };
    let endRound!: () => void;
    const roundEnds = new Promise<void>((resolve) => (endRound = resolve));
    let running = 0;
    let most = 0;
    const clock = deadlineClock({
      maxSleepMs: 60_000,
      settle: async () => {
        running++;
        most = Math.max(most, running);
        if (fired.length === 1) await roundEnds;
        running--;
      },
    });
    clock.arm();
    await turns();
    // A change's look-up, slow to answer, is under way when the clock wakes for the visit's end.
    held = true;
    clock.arm();
    await turns();
    expect(lookups).toBe(2);
    await vi.advanceTimersByTimeAsync(100);
    expect(fired).toEqual([T0 + 100]);
    // The look-up answers while the round is still settling: no second round beside it.
    release();
    await turns();
    await vi.advanceTimersByTimeAsync(0);
    await turns();
    expect(fired).toEqual([T0 + 100]);
    expect(most).toBe(1);
    endRound();
    await turns();
    clock.stop();
  });

  it('looks up the deadline once for a burst of changes in one turn, and again for a change in a later turn', async () => {
    const clock = deadlineClock({ maxSleepMs: 60_000 });
    clock.arm();
    clock.arm();
    clock.arm();
    await turns();
    expect(lookups).toBe(1);
    clock.arm();
    await turns();
    expect(lookups).toBe(2);
    clock.stop();
  });

  it('once stopped, fires nothing and reads nothing, even a deadline it was sleeping for', async () => {
    await idleVisit('v', T0);
    const stoppedEarly = deadlineClock({ maxSleepMs: 60_000 });
    stoppedEarly.arm();
    stoppedEarly.stop();
    await turns();
    expect(lookups).toBe(0);

    const clock = deadlineClock({ maxSleepMs: 60_000 });
    clock.arm();
    await turns();
    expect(lookups).toBe(1);
    clock.stop();
    clock.arm();
    await turns();
    await advance(120_000);
    expect(fired).toEqual([]);
    expect(lookups).toBe(1);
    expect((await store.getVisit('v'))?.endedAt).toBeNull();
  });

  it('stopped while a look-up that fails is under way: reported, and then nothing more', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    watched = {
      ...store,
      nextDeadline: async (visitIdleMs: number) => {
        lookups++;
        await gate;
        return store.nextDeadline(visitIdleMs);
      },
    };
    const clock = deadlineClock({ maxSleepMs: 1000, settle: async () => {} });
    await store.close();
    clock.arm();
    await turns();
    expect(lookups).toBe(1);
    clock.stop();
    release();
    await turns();
    expect(errors).toHaveLength(1);
    await advance(10_000);
    expect(fired).toEqual([]);
    expect(lookups).toBe(1);
  });

  it('a settle still running when the clock stops does not start another look', async () => {
    await idleVisit('v', T0);
    let release!: () => void;
    const clock = deadlineClock({
      maxSleepMs: 60_000,
      settle: () => new Promise<void>((resolve) => (release = resolve)),
    });
    clock.arm();
    await turns();
    await vi.advanceTimersByTimeAsync(IDLE_MS);
    expect(fired).toHaveLength(1);
    clock.stop();
    release();
    await turns();
    expect(lookups).toBe(1);
  });

  it('a change while a settle runs is looked at once, when the settle ends', async () => {
    await idleVisit('v', T0);
    const clock = deadlineClock({
      maxSleepMs: 60_000,
      settle: async () => {
        clock.arm();
        await turns();
        await core.settleDue();
      },
    });
    clock.arm();
    await turns();
    expect(lookups).toBe(1);
    await advance(IDLE_MS);
    expect(fired).toHaveLength(1);
    expect(lookups).toBe(2);
    clock.stop();
  });

  it('reports a settle that failed and goes on firing', async () => {
    await idleVisit('v', T0);
    const failure = new StoreUnavailableError();
    let failed = false;
    const clock = deadlineClock({
      maxSleepMs: 60_000,
      settle: async () => {
        if (!failed) {
          failed = true;
          throw failure;
        }
        await core.settleDue();
      },
    });
    clock.arm();
    await turns();
    await advance(IDLE_MS);
    expect(errors).toEqual([failure]);
    // The visit is still due: the clock fires again at once (a zero sleep, which fake timers round to 1 ms), and this time it ends.
    await advance(1);
    expect(fired).toHaveLength(2);
    expect(fired[1]! - fired[0]!).toBeLessThanOrEqual(1);
    expect((await store.getVisit('v'))?.endedAt).toBe(fired[1]);
    clock.stop();
  });

  it('when the store cannot be read, reports it and looks again after the longest sleep', async () => {
    const clock = deadlineClock({ maxSleepMs: 5000, settle: async () => {} });
    await store.close();
    clock.arm();
    await turns();
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(/not open/);
    await advance(4999);
    expect(fired).toEqual([]);
    await advance(1);
    expect(fired).toEqual([T0 + 5000]);
    expect(errors).toHaveLength(2);
    clock.stop();
  });
});
