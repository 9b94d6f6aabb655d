/**
 * Presence on its own: two nodes' Presence against one real (SQLite) store
 * with a clock the test moves. A node whose heartbeat ran out is reaped by
 * the other, its pages closed; when it wakes, it learns it was reaped, drops
 * its sockets and carries on as a new boot.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ixnProfileSchema } from '../protocol/index.js';
import { openSqliteStore } from '../store/sqlite/store.js';
import type { BeckonStore } from './store.js';
import { Lifecycle } from './lifecycle.js';
import { Presence } from './presence.js';

const T0 = Date.UTC(2026, 5, 1, 9, 0, 0);
const info = { url: 'https://shop.test/', title: 'Shop', visible: true, focused: true };

let dir: string;
let store: BeckonStore;
let clock: number;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'beckon-presence-'));
  store = openSqliteStore(join(dir, 'beckon.db'));
  clock = T0;
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function node(nodeId: string, onReaped: () => void = () => {}) {
  const lifecycle = new Lifecycle(store, { strict: true, visitIdleMs: 3_600_000, now: () => clock });
  const presence = new Presence(store, lifecycle, {
    nodeId,
    ttlMs: 15_000,
    heartbeatMs: 60_000, // the test beats by hand
    reapEveryMs: 60_000,
    onReaped,
    onError: (error) => {
      throw error;
    },
    now: () => clock,
  });
  return { lifecycle, presence };
}

describe('presence', () => {
  it('a node reaps a dead one and closes its pages; the dead one, waking, learns it and starts a new boot', async () => {
    let fenced = 0;
    const a = node('a', () => fenced++);
    const b = node('b');
    await a.presence.start();
    await b.presence.start();
    const onA = await a.lifecycle.enterPage(null, () => null, info, a.presence.node);
    const onB = await b.lifecycle.enterPage(null, () => null, info, b.presence.node);
    const firstBoot = a.presence.node.bootId;

    // b keeps beating; a falls silent past its registration.
    clock += 16_000;
    await b.presence.beat();
    await b.presence.reap();
    expect((await store.getPage(onA.pageId))?.closedAt).toBe(clock);
    expect((await store.getPage(onB.pageId))?.closedAt).toBeNull();

    await a.presence.beat();
    expect(fenced).toBe(1);
    expect(a.presence.node.bootId).not.toBe(firstBoot);
    // The new boot is alive: the next look for dead nodes leaves it alone.
    await b.presence.reap();
    expect(await store.expiredNodes(clock, 10)).toEqual([]);
    await a.presence.stop();
    await b.presence.stop();
  });

  it('a reaper that died between forgetting a boot and closing its pages: another node closes them', async () => {
    const a = node('a');
    const b = node('b');
    const c = node('c');
    await a.presence.start();
    await b.presence.start();
    await c.presence.start();
    const stranded = await a.lifecycle.enterPage(null, () => null, info, a.presence.node);
    const sameVisit = await b.lifecycle.enterPage(null, () => null, info, b.presence.node);
    // A tab of the same visit on b: the invitation on a's page has somewhere to move.
    const tab = await b.lifecycle.enterPage(
      { globalVisitId: stranded.globalVisitId, visitId: stranded.visitId },
      () => null,
      info,
      b.presence.node,
    );
    await a.lifecycle.engage(
      ixnProfileSchema.parse({ interactionId: 'stranded-offer', visitId: stranded.visitId, timeoutSeconds: 60 }),
    );
    expect((await store.getEngagement('stranded-offer'))?.shownPageId).toBe(stranded.pageId);
    // A page of a reconnects through c before anyone reaps a: it must stay open.
    const reconnected = await a.lifecycle.enterPage(null, () => null, info, a.presence.node);
    await c.lifecycle.enterPage(
      { globalVisitId: reconnected.globalVisitId, visitId: reconnected.visitId },
      (visitId) => (visitId === reconnected.visitId ? reconnected.pageId : null),
      info,
      c.presence.node,
    );
    const deadBoot = a.presence.node;
    await a.presence.stop(); // killed

    // b reaps a, but dies right after forgetNode: a's pages stay open, and a is forgotten for good.
    clock += 16_000;
    await b.presence.beat();
    await c.presence.beat();
    expect(await store.forgetNode(deadBoot, clock)).toBe(true);
    await b.presence.stop();
    expect((await store.getPage(stranded.pageId))?.closedAt).toBeNull();

    // c, looking for dead nodes, finds none expired, yet finishes the dead reaper's work.
    expect(await store.expiredNodes(clock, 10)).toEqual([]);
    await c.presence.reap();
    expect((await store.getPage(stranded.pageId))?.closedAt).toBe(clock);
    expect((await store.getPage(reconnected.pageId))?.closedAt).toBeNull();
    expect((await store.getPage(sameVisit.pageId))?.closedAt).toBeNull();
    // Its invitation moved to the visit's tab on b, as when a page closes.
    expect((await store.getEngagement('stranded-offer'))?.shownPageId).toBe(tab.pageId);
    expect(await store.pagesOfBoot(deadBoot, 10)).toEqual([]);
    await c.presence.stop();
  });

  it('a restart closes the pages of the same node id’s earlier boot only', async () => {
    const before = node('same');
    await before.presence.start();
    const old = await before.lifecycle.enterPage(null, () => null, info, before.presence.node);
    const other = node('other');
    await other.presence.start();
    const kept = await other.lifecycle.enterPage(null, () => null, info, other.presence.node);
    await before.presence.stop(); // as if killed: nothing closed on the way out

    const after = node('same');
    expect(await after.presence.start()).toBe(1);
    expect((await store.getPage(old.pageId))?.closedAt).toBe(clock);
    expect((await store.getPage(kept.pageId))?.closedAt).toBeNull();
    await after.presence.stop();
    await other.presence.stop();
  });
});

describe('presence over time', () => {
  // The nodes run on the (fake) wall clock here, as in production; the store's commits run on the real event loop.
  const turns = async () => {
    for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  };
  const advance = async (ms: number) => {
    await vi.advanceTimersByTimeAsync(ms);
    await turns();
  };
  const running: Presence[] = [];

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'], now: T0 });
  });
  afterEach(async () => {
    for (const presence of running.splice(0)) await presence.stop();
    vi.useRealTimers();
  });

  async function live(nodeId: string, timing: { heartbeatMs?: number; ttlMs?: number; reapEveryMs?: number }) {
    const lifecycle = new Lifecycle(store, { strict: true, visitIdleMs: 3_600_000 });
    lifecycle.stopDeadlines();
    const presence = new Presence(store, lifecycle, {
      nodeId,
      ...timing,
      onReaped: () => {},
      onError: (error) => {
        throw error;
      },
    });
    running.push(presence);
    await presence.start();
    return { lifecycle, presence };
  }
  const dead = async () => (await store.expiredNodes(Date.now(), 10)).map((node) => node.nodeId);

  it('a node beating more often than its registration lasts stays alive; one beating less often is seen dead', async () => {
    await live('steady', { heartbeatMs: 5000, ttlMs: 15_000, reapEveryMs: 3_600_000 });
    await live('sleepy', { heartbeatMs: 60_000, ttlMs: 15_000, reapEveryMs: 3_600_000 });
    await live('patient', { heartbeatMs: 60_000, ttlMs: 30_000, reapEveryMs: 3_600_000 });
    await advance(15_000);
    expect(await dead()).toEqual([]);
    await advance(1);
    expect(await dead()).toEqual(['sleepy']);
    await advance(30_000 - 15_001);
    expect(await dead()).toEqual(['sleepy']);
    await advance(1);
    expect(await dead()).toEqual(['sleepy', 'patient']);
    await advance(60_000);
    expect(await dead()).toEqual(['sleepy', 'patient']);
  });

  it('by default a node beats every 5 s and stays registered 15 s', async () => {
    await live('defaults', {});
    await advance(120_000);
    expect(await dead()).toEqual([]);
    const quiet = await live('stops', {});
    await quiet.presence.stop();
    await advance(15_000);
    expect(await dead()).toEqual([]);
    await advance(1);
    expect(await dead()).toEqual(['stops']);
  });

  it('a stopped node beats no more, and is seen dead once its registration runs out', async () => {
    const { presence } = await live('leaving', { heartbeatMs: 1000, ttlMs: 15_000, reapEveryMs: 3_600_000 });
    await advance(10_000);
    await presence.stop();
    // Its last beat, at 10 s, registered it until 25 s.
    await advance(15_000);
    expect(await dead()).toEqual([]);
    await advance(1);
    expect(await dead()).toEqual(['leaving']);
  });

  it("a node reaps on its own schedule, closing the dead node's pages", async () => {
    const killed = await live('killed', { heartbeatMs: 5000, ttlMs: 15_000, reapEveryMs: 3_600_000 });
    const page = await killed.lifecycle.enterPage(null, () => null, info, killed.presence.node);
    await killed.presence.stop();
    await live('reaper', { heartbeatMs: 5000, ttlMs: 15_000, reapEveryMs: 60_000 });
    await advance(59_999);
    expect((await store.getPage(page.pageId))?.closedAt).toBeNull();
    await advance(1);
    expect((await store.getPage(page.pageId))?.closedAt).toBe(T0 + 60_000);
  });
});

describe('reaping', () => {
  it('a fenced node starts its new boot with a whole registration, so nobody reaps it again', async () => {
    let fenced = 0;
    const a = node('a', () => fenced++);
    const b = node('b');
    await a.presence.start();
    await b.presence.start();
    clock += 16_000;
    await b.presence.beat();
    await b.presence.reap();
    await a.presence.beat();
    expect(fenced).toBe(1);
    expect(await store.expiredNodes(clock, 10)).toEqual([]);
    clock += 14_000;
    await b.presence.beat();
    await b.presence.reap();
    await a.presence.beat();
    expect(fenced).toBe(1);
    await a.presence.stop();
    await b.presence.stop();
  });

  it('reaps again for a node that dies later', async () => {
    const a = node('a');
    const b = node('b');
    const c = node('c');
    await a.presence.start();
    await b.presence.start();
    await c.presence.start();
    const onA = await a.lifecycle.enterPage(null, () => null, info, a.presence.node);
    const onB = await b.lifecycle.enterPage(null, () => null, info, b.presence.node);
    await a.presence.stop();
    clock += 16_000;
    await b.presence.beat();
    await c.presence.beat();
    await c.presence.reap();
    expect((await store.getPage(onA.pageId))?.closedAt).toBe(clock);
    await b.presence.stop();
    clock += 16_000;
    await c.presence.beat();
    await c.presence.reap();
    expect((await store.getPage(onB.pageId))?.closedAt).toBe(clock);
    await c.presence.stop();
  });

  it('stop waits for a reap in progress', async () => {
    const a = node('a');
    const b = node('b');
    await a.presence.start();
    await b.presence.start();
    await a.lifecycle.enterPage(null, () => null, info, a.presence.node);
    await a.presence.stop();
    clock += 16_000;
    await b.presence.beat();
    let reaped = false;
    void b.presence.reap().then(() => (reaped = true));
    await b.presence.stop();
    expect(reaped).toBe(true);
  });

  it('a stopped node reaps nothing: neither dead nodes nor pages left by a dead reaper', async () => {
    const a = node('a');
    const b = node('b');
    const c = node('c');
    await a.presence.start();
    await b.presence.start();
    await c.presence.start();
    const onA = await a.lifecycle.enterPage(null, () => null, info, a.presence.node);
    await a.presence.stop();
    clock += 16_000;
    await b.presence.beat();
    await c.presence.beat();
    await b.presence.stop();
    await b.presence.reap();
    expect((await store.getPage(onA.pageId))?.closedAt).toBeNull();
    // A reaper that forgot a but died before closing its pages: a stopped node leaves them too.
    expect(await store.forgetNode(a.presence.node, clock)).toBe(true);
    await b.presence.reap();
    expect((await store.getPage(onA.pageId))?.closedAt).toBeNull();
    await c.presence.reap();
    expect((await store.getPage(onA.pageId))?.closedAt).toBe(clock);
    await c.presence.stop();
  });

  it('a restart closes every page of its earlier boot, batch after batch', async () => {
    const before = node('big');
    await before.presence.start();
    const page = await before.lifecycle.enterPage(null, () => null, info, before.presence.node);
    await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        store.openPage({ pageId: `tab-${i}`, visitId: page.visitId, info, node: before.presence.node }, clock),
      ),
    );
    await before.presence.stop();
    const after = node('big');
    expect(await after.presence.start()).toBe(501);
    expect(await store.openPages(page.visitId)).toEqual([]);
    await after.presence.stop();
  });
});
