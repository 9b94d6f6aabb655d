/**
 * The frontend server: the socket.io endpoint for visitors' pages, a thin
 * adapter over the core. It resolves identity at the handshake (tokens are
 * its concern), validates every payload, hands the page's reports to the
 * lifecycle and what the page tells about its visitor to the visitor
 * context, and delivers the lifecycle's page commands and callers'
 * notifications to socket.io rooms.
 */
import { ServerResponse } from 'node:http';
import type { z } from 'zod';
import {
  PAGE_EVENT_RATE,
  SOCKET_EVENTS,
  answerSchema,
  findHostileKey,
  handshakeAuthSchema,
  optSchema,
  pageUpdateSchema,
  shownSchema,
  signInSchema,
  signOutSchema,
  trackSchema,
  userInfoSchema,
  type ContextAck,
  type EngagementState,
  type NotificationDetail,
  type OptAck,
  type PageAck,
} from '../protocol/index.js';
import { domainFault } from '../core/faults.js';
import type { Lifecycle, PageCommand } from '../core/lifecycle.js';
import type { NodeRef } from '../core/store.js';
import type { VisitorContext } from '../core/visitor-context.js';
import { IdentitySigner } from './identity.js';
import { PageEventLimiter } from './limits.js';
import type { PageResync } from './resync.js';
import { useSingleEntryMaps } from './single-entry-map.js';
import type { BeckonIo, PageSocket } from './io.js';

export interface FrontendDeps {
  io: BeckonIo;
  lifecycle: Lifecycle;
  signer: IdentitySigner;
  /** Records what pages tell about their visitor; refuses the tokens of erased browsers. */
  visitorContext: VisitorContext;
  /** Each page's budget of context messages (default: PAGE_EVENT_RATE on this node). */
  pageEvents?: PageEventLimiter;
  /** The boot of this node that holds the pages it accepts (several nodes); none on a single node. */
  node?: () => NodeRef;
  /**
   * How the lifecycle's page commands reach the pages (several nodes: addressed to the node holding
   * each page, cluster/page-commands.ts); by default they are emitted to the rooms through the adapter.
   */
  sendPageCommand?: (command: PageCommand) => void;
  /** Follows what each page is told, to resynchronise it after a Redis outage (several nodes). */
  resync?: PageResync;
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  now?: () => number;
}

const visitRoom = (visitId: string) => `visit:${visitId}`;
const pageRoom = (pageId: string) => `page:${pageId}`;
/** One page of one visit: a notification for a page never reaches a page of another visit. */
const visitPageRoom = (visitId: string, pageId: string) => `visit:${visitId}:page:${pageId}`;

/**
 * What a socket's handshake becomes once the handshake middleware has read it: one object for every
 * socket. socket.io builds the handshake from the upgrade request (its headers, query, URL, a time
 * text) and keeps it, and the request, for as long as the socket is open; nothing reads either after
 * the handshake (docs/architecture.md, "What a frontend holds per page").
 */
const READ_HANDSHAKE: PageSocket['handshake'] = Object.freeze({
  headers: Object.freeze({}),
  time: '',
  address: '',
  xdomain: false,
  secure: false,
  issued: 0,
  url: '',
  query: Object.freeze({}),
  auth: Object.freeze({}),
});

/** How long a notification waits for the pages' acknowledgements; a page that has not answered by then is not counted. */
export const NOTIFICATION_ACK_TIMEOUT_MS = 2000;

/**
 * Sends a caller's notification to the open pages of a visit, or to one page
 * of it, on whichever node holds them (through the adapter), and resolves
 * with the number of distinct pages that acknowledged it. Nothing is kept: a
 * page that opens later does not get it.
 */
export async function notifyPages(
  io: BeckonIo,
  target: { visitId: string; pageId: string | null; detail: NotificationDetail },
  options: { timeoutMs?: number } = {},
): Promise<number> {
  const room = target.pageId === null ? visitRoom(target.visitId) : visitPageRoom(target.visitId, target.pageId);
  let replies: unknown[];
  try {
    replies = await io
      .to(room)
      .timeout(options.timeoutMs ?? NOTIFICATION_ACK_TIMEOUT_MS)
      .emitWithAck(SOCKET_EVENTS.notification, target.detail);
  } catch (error) {
    // Timed out: some page (or node) did not answer; those that did are in the error.
    replies =
      (error as { responses?: unknown }).responses instanceof Array
        ? (error as { responses: unknown[] }).responses
        : [];
  }
  // A page acknowledges with its pageId; two sockets of one page (a reconnect overlapping) count once.
  const pages = new Set<string>();
  for (const reply of replies) if (typeof reply === 'string' && reply.length <= 64) pages.add(reply);
  return pages.size;
}

/** Disconnects every page of these visits, on every node (an erased browser's pages). */
export function disconnectVisits(io: BeckonIo, visitIds: readonly string[]): void {
  if (visitIds.length === 0) return;
  io.in(visitIds.map(visitRoom)).disconnectSockets(true);
}

/** Where a page command is emitted: the server (through the adapter, to every node) or `io.local` (this node's sockets). */
type PageCommandEmitter = Pick<BeckonIo, 'to'> | Pick<BeckonIo['local'], 'to'>;

/** Delivers one page command to the room it is for, through the emitter given. */
export function deliverPageCommand(io: PageCommandEmitter, command: PageCommand): void {
  switch (command.kind) {
    case 'start':
      io.to(pageRoom(command.pageId)).emit(SOCKET_EVENTS.start, command.offer);
      return;
    case 'withdraw':
      io.to(pageRoom(command.pageId)).emit(SOCKET_EVENTS.withdraw, {
        interactionId: command.interactionId,
        state: command.state,
      });
      return;
    case 'settled':
      io.to(visitRoom(command.visitId)).emit(SOCKET_EVENTS.withdraw, {
        interactionId: command.interactionId,
        state: command.state,
      });
      return;
  }
}

/** Wires the socket handlers; the lifecycle's page commands go to the rooms. Returns the unsubscribe. */
export function attachFrontend(deps: FrontendDeps): () => void {
  const { io, lifecycle, signer, visitorContext, log } = deps;
  const now = deps.now ?? Date.now;
  const pageEvents = deps.pageEvents ?? new PageEventLimiter(PAGE_EVENT_RATE, now);
  const unsubscribe = lifecycle.onPageCommand(deps.sendPageCommand ?? ((command) => deliverPageCommand(io, command)));

  /** A page's payload, or null: prototype keys are refused outright, since a schema may drop them and accept the rest. */
  function parsePayload<S extends z.ZodType>(schema: S, payload: unknown): z.output<S> | null {
    if (findHostileKey(payload) !== null) return null;
    const parsed = schema.safeParse(payload);
    return parsed.success ? parsed.data : null;
  }

  // engine.io's stand-in response to a WebSocket upgrade keeps the request (for middlewares' headers)
  // and is kept itself until the connection closes, through a 'close' listener on the TCP socket (for
  // middlewares that wait for the response to end). Beckon sets no header there and waits for nothing,
  // so it lets go of both at once; an HTTP response (polling) is left alone.
  io.engine.use((_req: unknown, res: unknown, next: () => void) => {
    if (!(res instanceof ServerResponse)) forgetUpgradeResponse(res as UpgradeResponse);
    next();
  });

  io.use((socket, next) => {
    const parsed = handshakeAuthSchema.safeParse(socket.handshake.auth);
    if (!parsed.success) {
      const error = new Error('INVALID_PARAMETER') as Error & { data: unknown };
      error.data = { code: 'INVALID_PARAMETER', message: 'The handshake auth is not valid.' };
      return next(error);
    }
    const auth = parsed.data;
    // Read once: the page's tokens, URL and title, and the upgrade request, are not kept for as long as
    // the socket is open.
    forgetRequest(socket);
    // Only ids whose tokens verify are resumed; anything else gets fresh ones. A token of a browser
    // erased since it was issued starts a new browser: the erased one must not come back.
    const claim = signer.verifyVisit(auth.visitToken, now());
    lifecycle
      .enterPage(
        claim,
        (visitId) => signer.verifyPage(auth.pageToken, visitId),
        auth.page,
        deps.node?.(),
        (browser) => visitorContext.erasedSince(browser, claim!.issuedAt),
      )
      .then((identity) => {
        socket.data = identity;
        next();
      })
      .catch((error: unknown) => {
        const fault = domainFault(error);
        if (fault.code === 'INTERNAL_ERROR') log.error({ err: error }, 'socket handshake failed');
        const refusal = new Error(fault.code) as Error & { data: unknown };
        refusal.data = { code: fault.code, message: fault.message };
        next(refusal);
      });
  });

  /**
   * What a page may send, one table for every socket: each handler reads the page from `socket.data`,
   * so a connected page costs no closures of its own (docs/architecture.md, "What a frontend holds per page").
   * A Map, not an object: the event name comes from the page.
   */
  const handlers = new Map<string, (socket: PageSocket, payload: unknown, ack: unknown) => void>([
    [
      SOCKET_EVENTS.pageUpdate,
      (socket, update) =>
        guard(socket, SOCKET_EVENTS.pageUpdate, async () => {
          const parsed = parsePayload(pageUpdateSchema, update);
          if (parsed) await lifecycle.updatePage(socket.data.pageId, parsed);
        }),
    ],
    [
      SOCKET_EVENTS.shown,
      (socket, payload, ack) =>
        answerWith(socket, ack, shownSchema, payload, async (shown) => {
          const { visitId, pageId } = socket.data;
          const engagement = await lifecycle.markShown(shown.interactionId, visitId, pageId);
          return { ok: true, state: engagement.state };
        }),
    ],
    [
      SOCKET_EVENTS.answer,
      (socket, payload, ack) =>
        answerWith(socket, ack, answerSchema, payload, async (answer) => {
          const { visitId, pageId } = socket.data;
          const engagement = await lifecycle.answer(
            answer.interactionId,
            visitId,
            pageId,
            answer.outcome,
            answer.channel,
          );
          return { ok: true, state: engagement.state };
        }),
    ],
    [
      SOCKET_EVENTS.opt,
      (socket, payload, ack) =>
        answerWith(socket, ack, optSchema, payload, async ({ optedOut }) => {
          await lifecycle.setOptOut(socket.data.globalVisitId, optedOut);
          socket.to(visitRoom(socket.data.visitId)).emit(SOCKET_EVENTS.opt, { optedOut });
          return { ok: true, optedOut };
        }),
    ],
    // What the page tells about its visitor: validated, counted against the page's budget, recorded.
    [
      SOCKET_EVENTS.track,
      (socket, payload, ack) =>
        tell(socket, [payload, ack], trackSchema, (event) => visitorContext.track(pageOf(socket), event)),
    ],
    [
      SOCKET_EVENTS.signIn,
      (socket, payload, ack) =>
        tell(socket, [payload, ack], signInSchema, async (signIn) => {
          await visitorContext.signIn(pageOf(socket), signIn);
        }),
    ],
    [
      SOCKET_EVENTS.signOut,
      // A sign-out says nothing: no payload at all is as good as `{}`.
      (socket, payload, ack) =>
        tell(socket, [payload, ack], signOutSchema, () => visitorContext.signOut(pageOf(socket)), {}),
    ],
    [
      SOCKET_EVENTS.userInfo,
      (socket, payload, ack) =>
        tell(socket, [payload, ack], userInfoSchema, ({ traits }) => visitorContext.userInfo(pageOf(socket), traits)),
    ],
  ]);

  /**
   * The socket's last middleware hands each message of the protocol to its handler, as socket.io would
   * hand it to a listener: after the other middlewares (the metrics' among them, registered first), on
   * the next tick, and only while the socket is connected. Other names go on (nothing listens to them).
   */
  function receive(socket: PageSocket, packet: unknown[], next: (error?: Error) => void): void {
    const handler = handlers.get(packet[0] as string);
    if (!handler) return next();
    process.nextTick(() => {
      if (socket.connected) handler(socket, packet[1], packet[2]);
    });
  }

  /** One listener for every socket: socket.io calls it with the socket as `this`. */
  function left(this: PageSocket): void {
    const { visitId, pageId } = this.data;
    // A reconnect of the same page may already have joined this node: then the page is still open.
    // This socket has left its rooms by 'disconnect', so anyone left in the page's room is that
    // reconnect. Only this node's rooms are read, in memory: never the adapter, which would ask Redis
    // how many nodes there are on every page that leaves, nor a round of every node (one frozen peer
    // would hold it 5 s); a reconnect through another node moved the page there, which the guarded
    // close respects.
    if ((io.of('/').adapter.rooms.get(pageRoom(pageId))?.size ?? 0) > 0) return;
    // Guarded by this node's boot: a page that reconnected through another node meanwhile stays open.
    guard(this, 'disconnect', () => lifecycle.leavePage({ visitId, pageId }, deps.node?.()).then(() => undefined));
  }

  io.on('connection', (socket: PageSocket) => {
    const { globalVisitId, visitId, pageId } = socket.data;
    // Before anything is sent to the page, so that the session's invitation is followed too.
    deps.resync?.track(socket);
    void socket.join([visitRoom(visitId), pageRoom(pageId), visitPageRoom(visitId, pageId)]);
    forgetHeadersListener(socket);
    socket.use((packet, next) => receive(socket, packet, next));
    socket.on('disconnect', left);
    compactEventTables(socket);
    shareTransportOptions(socket);
    useSingleEntryMaps(socket);

    guard(socket, 'session', async () => {
      const session = await lifecycle.session(socket.data);
      socket.emit(SOCKET_EVENTS.session, {
        optedOut: session.optedOut,
        globalVisitId,
        visitId,
        pageId,
        visitToken: signer.signVisit({ globalVisitId, visitId, issuedAt: now() }),
        pageToken: signer.signPage(visitId, pageId),
        invitation: session.invitation,
      });
    });
  });

  /** Runs a handler so that nothing a page sends can crash the process. */
  function guard(socket: PageSocket, what: string, work: () => Promise<void>): void {
    work().catch((error: unknown) => log.error({ err: error, what, socketId: socket.id }, 'socket handler failed'));
  }

  /** Validates a payload, runs the work, and answers the page's ack with the result or a FAULT code. */
  function answerWith<S extends z.ZodType>(
    socket: PageSocket,
    ack: unknown,
    schema: S,
    payload: unknown,
    work: (value: z.output<S>) => Promise<PageAck | OptAck>,
  ): void {
    const reply = (result: PageAck | OptAck) => {
      if (typeof ack === 'function') (ack as (r: PageAck | OptAck) => void)(result);
    };
    const parsed = parsePayload(schema, payload);
    if (parsed === null) {
      log.warn({ socketId: socket.id }, 'invalid payload from page');
      reply({ ok: false, code: 'INVALID_PARAMETER', message: 'The payload is not valid.' });
      return;
    }
    work(parsed).then(reply, (error: unknown) => {
      const fault = domainFault(error);
      if (fault.code === 'INTERNAL_ERROR') log.error({ err: error, socketId: socket.id }, 'socket handler failed');
      // ALREADY_SETTLED names the state, so a page that retried an answer can tell "recorded" from "too late".
      const state = fault.extra.state as EngagementState | undefined;
      reply({ ok: false, code: fault.code, message: fault.message, ...(state ? { state } : {}) });
    });
  }

  /**
   * Answers a context message: refused as INVALID_PARAMETER (naming the field) when it does not
   * validate, RATE_LIMITED past the page's budget, else recorded. Neither the payload nor the
   * identity in it is ever logged.
   */
  function tell<S extends z.ZodType>(
    socket: PageSocket,
    args: [unknown, unknown],
    schema: S,
    work: (value: z.output<S>) => Promise<void>,
    absent?: unknown,
  ): void {
    // `emit(event, ack)` with no payload hands the ack over first.
    let [payload, ack] = args;
    if (typeof payload === 'function' && ack === undefined) [payload, ack] = [absent, payload];
    if (payload === undefined && absent !== undefined) payload = absent;
    const reply = (result: ContextAck) => {
      if (typeof ack === 'function') (ack as (r: ContextAck) => void)(result);
    };
    const problem = payloadProblem(schema, payload);
    if ('problem' in problem) {
      log.warn({ socketId: socket.id }, 'invalid payload from page');
      reply({ ok: false, code: 'INVALID_PARAMETER', message: problem.problem });
      return;
    }
    if (!pageEvents.take(socket.data.pageId)) {
      reply({
        ok: false,
        code: 'RATE_LIMITED',
        message: `A page may send at most ${PAGE_EVENT_RATE.max} events in any ${PAGE_EVENT_RATE.windowMs / 1000} s; this one was not stored.`,
      });
      return;
    }
    work(problem.value).then(
      () => reply({ ok: true }),
      (error: unknown) => {
        // Nothing was stored: the message does not count against the page (a retry after a store outage may go through).
        pageEvents.giveBack(socket.data.pageId);
        const fault = domainFault(error);
        if (fault.code === 'INTERNAL_ERROR') log.error({ err: error, socketId: socket.id }, 'socket handler failed');
        reply({ ok: false, code: fault.code, message: fault.message });
      },
    );
  }

  return unsubscribe;
}

/** engine.io's stand-in response to a WebSocket upgrade, as far as letting go of it needs. */
interface UpgradeResponse {
  req: unknown;
  socket: { rawListeners(event: 'close'): (((...args: unknown[]) => void) & { listener?: () => void })[] } & {
    removeListener(event: 'close', listener: (...args: unknown[]) => void): unknown;
  };
}

/**
 * Lets go of the request and of the response itself. The response's own 'close' listener on the TCP
 * socket is the last one added when the first middleware runs: engine.io adds it as it makes the
 * response and runs the middlewares right after, and nothing in between touches the socket. It is
 * told by its shape (a `once` wrapper around an anonymous function); anything else is left alone.
 */
function forgetUpgradeResponse(res: UpgradeResponse): void {
  res.req = null;
  const last = res.socket.rawListeners('close').at(-1);
  if (last?.listener !== undefined && last.listener.name === '') res.socket.removeListener('close', last);
}

/**
 * engine.io listens to a new transport's 'headers' to add its cookie and headers to HTTP responses;
 * a WebSocket transport has sent its only response (the upgrade's, through ws) before the page
 * connects, so the listener and its closure would only be kept. A long-polling transport keeps it.
 */
function forgetHeadersListener(socket: PageSocket): void {
  const transport = socket.conn.transport;
  if (transport.name === 'websocket') transport.removeAllListeners('headers');
}

/** An event emitter as Node's `EventEmitter` keeps its listeners: a table by event name. */
interface Listened {
  _events?: object;
}

/**
 * Node's event emitters keep their listeners in a null-prototype object, which V8 holds as a hash
 * table (a dictionary) grown for more names than a connection ever uses: each layer of a page's
 * connection (socket.io's socket, engine.io's socket and its WebSocket transport, ws's WebSocket and
 * its frame reader, the TCP socket) has one. Once every listener of a connected page is on, each table
 * is copied into an object with the same entries and no prototype, which V8 keeps in the compact form
 * of an object with fixed properties; emitters read and change it as before.
 */
function compactEventTables(socket: PageSocket): void {
  type WsTransport = Listened & { socket?: Listened & { _receiver?: Listened; _socket?: Listened } };
  const transport = socket.conn.transport as unknown as WsTransport;
  const ws = socket.conn.transport.name === 'websocket' ? transport.socket : undefined;
  for (const emitter of [socket, socket.conn, transport, ws, ws?._receiver, ws?._socket] as (Listened | undefined)[]) {
    const table = emitter?._events;
    if (table === undefined) continue;
    const compact: Record<string | symbol, unknown> = {};
    for (const key of Reflect.ownKeys(table)) compact[key] = (table as Record<string | symbol, unknown>)[key];
    emitter!._events = Object.setPrototypeOf(compact, null) as object;
  }
}

/** The options engine.io gives each transport it makes, all alike for one server: kept once. */
const sharedTransportOptions = new WeakMap<object, Readonly<Record<string, unknown>>>();

/**
 * engine.io hands every new transport an options object of its own, made from the server's options
 * (compression off, the message limit…); a transport only reads it. Each WebSocket transport is given
 * one frozen copy per server instead, when its options are the same.
 */
function shareTransportOptions(socket: PageSocket): void {
  const transport = socket.conn.transport as unknown as { opts: Record<string, unknown> };
  const server = socket.nsp.server.engine;
  let shared = sharedTransportOptions.get(server);
  if (shared === undefined) sharedTransportOptions.set(server, (shared = Object.freeze({ ...transport.opts })));
  const same = (a: Record<string, unknown>, b: Record<string, unknown>) =>
    Object.keys(a).length === Object.keys(b).length && Object.keys(a).every((key) => a[key] === b[key]);
  if (socket.conn.transport.name === 'websocket' && same(transport.opts, shared)) transport.opts = shared;
}

/** Drops what the socket keeps of its upgrade request: socket.io's handshake and engine.io's request. */
function forgetRequest(socket: PageSocket): void {
  (socket as { handshake: PageSocket['handshake'] }).handshake = READ_HANDSHAKE;
  (socket.conn as { request: unknown }).request = null;
}

/** A payload's value, or a sentence naming the field that is wrong (never quoting the value). */
function payloadProblem<S extends z.ZodType>(
  schema: S,
  payload: unknown,
): { value: z.output<S> } | { problem: string } {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return { problem: 'The payload must be an object.' };
  }
  const hostile = findHostileKey(payload);
  if (hostile !== null) return { problem: `${clip(hostile, 200)} is not allowed.` };
  const parsed = schema.safeParse(payload);
  if (parsed.success) return { value: parsed.data };
  const issue = parsed.error.issues[0];
  // Keys come from the page: each is cut short, so a refusal never echoes a message's worth of text back.
  const path = issue?.path.length ? clip(issue.path.map((key) => clip(String(key), 64)).join('.'), 200) : 'payload';
  if (issue?.code === 'unrecognized_keys') {
    return { problem: `${path}: unknown key ${clip(issue.keys.map((key) => clip(key, 64)).join(', '), 200)}.` };
  }
  return { problem: `${path}: ${issue?.message ?? 'is not valid'}.`.replace(/\.\.$/, '.') };
}

/** The page a context message is about (a fresh object: the visitor context may keep what it is given). */
const pageOf = (socket: PageSocket) => ({ visitId: socket.data.visitId, pageId: socket.data.pageId });

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…` : text);
