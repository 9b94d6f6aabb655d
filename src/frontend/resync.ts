/**
 * Resynchronising open pages from the store after a Redis outage (the store
 * is the truth: docs/protocol.md, "Ordering and delivery"). A page command
 * (start, withdraw) travels from the node that made the change to the node
 * holding the page through the socket.io streams adapter, at most once: one
 * on its way when Redis went away is lost with it, although the change itself
 * is stored. A page whose socket stayed open would not hear of it until it
 * reconnects. So when a node's connection to Redis (the adapter's or the
 * store's) comes back, the frontend sends every page it holds what the store
 * says now: a start for the invitation placed on it (the widget ignores a
 * start for the invitation it already shows), and a withdraw for each
 * invitation it was offered that has ended or moved since. Those go straight
 * down the page's own socket, never through the adapter.
 */
import type { Socket } from 'socket.io';
import {
  SOCKET_EVENTS,
  type ClientToServerEvents,
  type EngagementState,
  type InterServerEvents,
  type ServerToClientEvents,
  type SocketData,
} from '../protocol/index.js';
import { domainFault } from '../core/faults.js';
import type { Lifecycle } from '../core/lifecycle.js';
import type { BeckonIo } from './io.js';

type PageSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

export interface ResyncOptions {
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** Wait before a round, so that the recoveries of several connections (and nodes) make one round. */
  settleMs?: number;
  /** Wait before another round when the store could not be read for some pages. */
  retryMs?: number;
  /** Rounds tried while the store stays away; the next recovery starts again. */
  maxRetries?: number;
  /** Pages resynchronised at once (each takes a few store reads). */
  concurrency?: number;
}

/** Invitations remembered per page: a page is offered one at a time, so a few cover every race. */
const OFFERS_REMEMBERED = 8;

/** What a page was told, as far as resynchronising it needs. */
interface PageTold {
  /** Invitations offered to it (session, start) and not withdrawn since, oldest first. */
  offered: Set<string>;
  /** When (in `PageResync`'s count of withdraws sent) each recently withdrawn invitation was withdrawn. */
  withdrawnAt: Map<string, number>;
}

/** Adds to an insertion-ordered Set or Map, dropping the oldest entry beyond the bound. */
function remember<K>(entries: Set<K> | Map<K, number>, key: K, value?: number): void {
  entries.delete(key);
  if (entries instanceof Map) entries.set(key, value!);
  else entries.add(key);
  if (entries.size > OFFERS_REMEMBERED) entries.delete(entries.keys().next().value!);
}

export class PageResync {
  readonly #told = new WeakMap<PageSocket, PageTold>();
  /** Withdraws sent to this node's pages so far: a round can tell one sent after it read the store. */
  #withdrawsSent = 0;
  #wanted = false;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #retries = 0;
  #stopped = false;
  /**
   * One listener for every socket (socket.io calls it with the socket as `this`): nothing is kept for a
   * page until it is offered or withdrawn an invitation, which most pages never are.
   */
  readonly #follow: (this: PageSocket, event: string, payload: unknown) => void;

  constructor(
    private readonly io: BeckonIo,
    private readonly lifecycle: Lifecycle,
    private readonly options: ResyncOptions,
  ) {
    const record = (socket: PageSocket, event: string, payload: unknown) => this.#record(socket, event, payload);
    this.#follow = function (this: PageSocket, event: string, payload: unknown) {
      record(this, event, payload);
    };
  }

  /** Follows what a newly connected page is told: every start or session invitation, and every withdraw. */
  track(socket: PageSocket): void {
    socket.onAnyOutgoing(this.#follow);
  }

  #record(socket: PageSocket, event: string, payload: unknown): void {
    const id = offeredId(event, payload);
    if (id !== null) {
      remember(this.#toldOf(socket).offered, id);
    } else if (event === SOCKET_EVENTS.withdraw && isRecord(payload) && typeof payload.interactionId === 'string') {
      const told = this.#toldOf(socket);
      told.offered.delete(payload.interactionId);
      remember(told.withdrawnAt, payload.interactionId, ++this.#withdrawsSent);
    }
  }

  #toldOf(socket: PageSocket): PageTold {
    let told = this.#told.get(socket);
    if (!told) this.#told.set(socket, (told = { offered: new Set(), withdrawnAt: new Map() }));
    return told;
  }

  /** Asks for a round over every page this node holds, soon; requests made meanwhile share it. */
  request(): void {
    if (this.#stopped) return;
    this.#retries = 0;
    this.#want(this.options.settleMs ?? 250);
  }

  stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    return this.#running ?? Promise.resolve();
  }

  #want(delayMs: number): void {
    this.#wanted = true;
    if (this.#timer || this.#running) return; // the round after the one running picks it up
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#run();
    }, delayMs);
    this.#timer.unref();
  }

  async #run(): Promise<void> {
    if (this.#stopped || !this.#wanted) return;
    this.#wanted = false;
    let unreachable = 0;
    this.#running = (async () => {
      // Only this node's sockets: every frontend resynchronises its own.
      const sockets = [...this.io.of('/').sockets.values()];
      const concurrency = this.options.concurrency ?? 16;
      for (let start = 0; start < sockets.length && !this.#stopped; start += concurrency) {
        const results = await Promise.allSettled(
          sockets.slice(start, start + concurrency).map((socket) => this.resyncPage(socket)),
        );
        for (const result of results) {
          if (result.status === 'fulfilled') continue;
          const fault = domainFault(result.reason);
          if (fault.code === 'STORE_UNAVAILABLE') unreachable++;
          else this.options.log.error({ err: result.reason }, 'resynchronising a page failed');
        }
      }
    })();
    try {
      await this.#running;
    } finally {
      this.#running = null;
    }
    if (this.#stopped) return;
    if (unreachable > 0) {
      // The other connection is not back yet: try again, a bounded number of times.
      if (++this.#retries <= (this.options.maxRetries ?? 30)) this.#want(this.options.retryMs ?? 1000);
      else this.options.log.warn({ pages: unreachable }, 'gave up resynchronising pages: the store stayed unreachable');
    } else if (this.#wanted) {
      this.#want(0);
    }
  }

  /** Sends one page what the store says now; rejects (changing nothing on the page) when the store cannot be read. */
  async resyncPage(socket: PageSocket): Promise<void> {
    if (socket.disconnected) return;
    // Before the store is read: an offer made after this (a live start) is not one to take back.
    const offered = [...(this.#told.get(socket)?.offered ?? [])];
    const readFrom = this.#withdrawsSent;
    // The same reading as a reconnect's session: the invitation placed on this page, if any (placing it if due).
    const { invitation } = await this.lifecycle.session(socket.data);
    const withdrawals: { interactionId: string; state: EngagementState }[] = [];
    for (const id of offered) {
      if (id === invitation?.interactionId) continue;
      // Ended, or moved to another page of the visit (or waiting for its turn): the page drops it.
      withdrawals.push({ interactionId: id, state: await this.stateOf(id) });
    }
    if (socket.disconnected) return;
    // Read again: what the page was told while the store was read (its record may be new since).
    const told = this.#told.get(socket);
    for (const withdrawal of withdrawals) {
      if (told?.offered.has(withdrawal.interactionId)) socket.emit(SOCKET_EVENTS.withdraw, withdrawal);
    }
    // A live withdraw of this invitation that went out after the store was read is newer than what was read.
    if (invitation && (told?.withdrawnAt.get(invitation.interactionId) ?? 0) <= readFrom) {
      socket.emit(SOCKET_EVENTS.start, invitation);
    }
  }

  /** The stored state of an attempt; one the store no longer has (Redis lost it) counts as cancelled. */
  private async stateOf(interactionId: string): Promise<EngagementState> {
    try {
      return (await this.lifecycle.status(interactionId)).state;
    } catch (error) {
      if (domainFault(error).code === 'UNKNOWN_ENGAGEMENT') return 'cancelled';
      throw error;
    }
  }
}

/** The invitation an outgoing packet offers to the page, if it offers one. */
function offeredId(event: string, payload: unknown): string | null {
  if (!isRecord(payload)) return null;
  if (event === SOCKET_EVENTS.start && typeof payload.interactionId === 'string') return payload.interactionId;
  if (
    event === SOCKET_EVENTS.session &&
    isRecord(payload.invitation) &&
    typeof payload.invitation.interactionId === 'string'
  ) {
    return payload.invitation.interactionId;
  }
  return null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
