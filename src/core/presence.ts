/**
 * Presence across nodes (docs/lifecycle.md, "Node loss"): which process holds
 * each page. Every node that holds pages keeps a heartbeat in the store;
 * every node reaps the boots whose heartbeat ran out, closing their pages
 * (each close a compare-and-set guarded by the holder, so a page that
 * reconnected elsewhere stays open), which moves their invitations on as when
 * a page closes, with their remaining time. A node that restarts closes only
 * the pages of its own earlier boots. A node that learns it was reaped (it
 * froze, or was cut off from Redis while others were not, for longer than its
 * registration) drops its sockets and starts a new boot: its pages reconnect
 * and are opened again, under a live node. A reaper that dies between
 * forgetting a boot and closing its pages leaves them to the others: every
 * node also closes the pages still held by boots reaped in the last day.
 */
import { REAPED_MEMORY_MS, type BeckonStore, type HeldPage, type NodeRef } from './store.js';
import { mintId } from './ids.js';
import type { Lifecycle } from './lifecycle.js';

export interface PresenceOptions {
  /** Stable across restarts (BECKON_NODE_ID); each start is a new boot of it. */
  nodeId: string;
  /** How often the heartbeat is renewed. */
  heartbeatMs?: number;
  /** How long a heartbeat keeps the node alive without renewal. */
  ttlMs?: number;
  /** How often dead boots are looked for. */
  reapEveryMs?: number;
  /** This node was reaped: drop every socket it holds (they reconnect). */
  onReaped: () => void;
  onError: (error: unknown) => void;
  now?: () => number;
}

const BATCH = 500;

export class Presence {
  #node: NodeRef;
  #heartbeat: NodeJS.Timeout | null = null;
  #reaper: NodeJS.Timeout | null = null;
  #stopped = false;
  #reaping: Promise<void> | null = null;
  private readonly now: () => number;

  constructor(
    private readonly store: BeckonStore,
    private readonly lifecycle: Lifecycle,
    private readonly options: PresenceOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.#node = { nodeId: options.nodeId, bootId: mintId() };
  }

  /** The boot that holds this process's pages now. */
  get node(): NodeRef {
    return this.#node;
  }

  /** Registers this boot and closes the pages of this node's earlier boots (before sockets are accepted). */
  async start(): Promise<number> {
    await this.beat();
    const closed = await this.closeEach(() => this.store.pagesHeldBy(this.#node.nodeId, this.#node.bootId, BATCH));
    const every = this.options.heartbeatMs ?? 5000;
    this.#heartbeat = setInterval(() => void this.beat().catch(this.options.onError), every);
    this.#heartbeat.unref();
    this.#reaper = setInterval(() => void this.reap(), this.options.reapEveryMs ?? 5000);
    this.#reaper.unref();
    return closed;
  }

  stop(): Promise<void> {
    this.#stopped = true;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    if (this.#reaper) clearInterval(this.#reaper);
    return this.#reaping ?? Promise.resolve();
  }

  /**
   * Renews this boot; a boot the store says was reaped fences itself. Only
   * the store's word counts: when Redis is away for everyone, nobody can reap
   * this node, and dropping every socket then would only make the pages wait
   * out their reconnect back-off after Redis returns. A node cut off alone
   * learns it was reaped at its first heartbeat after it is back.
   */
  async beat(): Promise<void> {
    const now = this.now();
    const ttl = this.options.ttlMs ?? 15_000;
    if ((await this.store.heartbeat(this.#node, now + ttl, now)) === 'alive' || this.#stopped) return;
    this.#node = { nodeId: this.#node.nodeId, bootId: mintId() };
    this.options.onReaped();
    await this.store.heartbeat(this.#node, now + ttl, now);
  }

  /** Closes the pages of every boot whose heartbeat ran out (several nodes may look: each boot is forgotten once). */
  reap(): Promise<void> {
    this.#reaping ??= this.reapNow()
      .catch(this.options.onError)
      .finally(() => (this.#reaping = null));
    return this.#reaping;
  }

  private async reapNow(): Promise<void> {
    for (const dead of await this.store.expiredNodes(this.now(), 50)) {
      if (this.#stopped) return;
      if (!(await this.store.forgetNode(dead, this.now()))) continue;
      await this.closeEach(() => this.store.pagesOfBoot(dead, BATCH));
    }
    // A reaper that died between forgetNode and closing the pages leaves them open, and nobody would
    // forget that boot again: every node also closes what boots reaped in the last day still hold.
    // Each close is guarded by the dead boot, so a page that reconnected elsewhere stays open, and a
    // live reaper still at work on the same boot only makes some of these closes find nothing.
    for (const dead of await this.store.reapedBootsWithPages(this.now() - REAPED_MEMORY_MS, 50)) {
      if (this.#stopped) return;
      await this.closeEach(() => this.store.pagesOfBoot(dead, BATCH));
    }
  }

  /** Closes every page a query returns, batch after batch, each as the page leaving (its invitation moves on). */
  private async closeEach(query: () => Promise<HeldPage[]>): Promise<number> {
    let closed = 0;
    for (;;) {
      const pages = await query();
      let closedNow = 0;
      for (const page of pages) {
        if (await this.lifecycle.leavePage({ visitId: page.visitId, pageId: page.pageId }, page.node)) closedNow++;
      }
      closed += closedNow;
      // A batch that closed nothing would come back the same: stop rather than loop.
      if (pages.length < BATCH || closedNow === 0 || this.#stopped) return closed;
    }
  }
}
