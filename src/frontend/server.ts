/**
 * The frontend server: socket.io endpoint for visitors' pages. It resolves
 * identity at the handshake, keeps presence in the store, places each
 * invitation on exactly one page, and hands answers to the lifecycle.
 */
import type { Server, Socket } from 'socket.io';
import type { z } from 'zod';
import {
  SOCKET_EVENTS,
  answerSchema,
  findHostileKey,
  handshakeAuthSchema,
  optSchema,
  pageUpdateSchema,
  shownSchema,
  type ClientToServerEvents,
  type Engagement,
  type HandshakeAuth,
  type InterServerEvents,
  type OptAck,
  type PageAck,
  type ServerToClientEvents,
  type SocketData,
} from '../protocol/index.js';
import { BeckonFault } from '../backend/faults.js';
import type { Lifecycle, PagePort } from '../backend/lifecycle.js';
import type { BeckonStore } from '../backend/store/store.js';
import { IdentitySigner, mintId } from './identity.js';
import { chooseTarget, toOffer } from './placement.js';

export type BeckonIo = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
type PageSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

export interface FrontendDeps {
  io: BeckonIo;
  store: BeckonStore;
  lifecycle: Lifecycle;
  signer: IdentitySigner;
  visitIdleMs: number;
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  now?: () => number;
}

const visitRoom = (visitId: string) => `visit:${visitId}`;
const pageRoom = (pageId: string) => `page:${pageId}`;

/** Wires the socket handlers and returns the port the lifecycle uses to reach pages. */
export function attachFrontend(deps: FrontendDeps): PagePort {
  const { io, store, lifecycle, signer, log } = deps;
  const now = deps.now ?? Date.now;

  /** Sends the attempt to the page it is placed on, with the time it has left (none left: nothing). */
  function sendStart(attempt: Engagement, pageId: string): void {
    const offer = toOffer(attempt, now());
    if (offer) io.to(pageRoom(pageId)).emit(SOCKET_EVENTS.start, offer);
  }

  /** A page's payload, or null: prototype keys are refused outright, since a schema may drop them and accept the rest. */
  function parsePayload<S extends z.ZodType>(schema: S, payload: unknown): z.output<S> | null {
    if (findHostileKey(payload) !== null) return null;
    const parsed = schema.safeParse(payload);
    return parsed.success ? parsed.data : null;
  }

  /** Puts the visit's attempt on the right page; `connecting` is told by its session event instead. */
  async function place(visitId: string, connecting?: string): Promise<Engagement | null> {
    const [attempt] = await store.activeEngagements(visitId);
    if (!attempt) return null;
    const target = chooseTarget(attempt, await store.openPages(visitId));
    if (target === null || target === attempt.shownPageId) return attempt;
    // Compare-and-set: when two pages change at once only one placement wins and emits.
    if (!(await store.placeOn(attempt.interactionId, attempt.shownPageId, target))) return place(visitId, connecting);
    const placed: Engagement = { ...attempt, shownPageId: target };
    if (attempt.shownPageId) {
      io.to(pageRoom(attempt.shownPageId)).emit(SOCKET_EVENTS.withdraw, {
        interactionId: attempt.interactionId,
        state: attempt.state,
      });
    }
    if (target !== connecting) sendStart(placed, target);
    return placed;
  }

  io.use((socket, next) => {
    const parsed = handshakeAuthSchema.safeParse(socket.handshake.auth);
    if (!parsed.success) {
      const error = new Error('INVALID_PARAMETER') as Error & { data: unknown };
      error.data = { code: 'INVALID_PARAMETER', message: 'The handshake auth is not valid.' };
      return next(error);
    }
    resolveIdentity(parsed.data)
      .then((identity) => {
        socket.data = identity;
        next();
      })
      .catch((error: unknown) => {
        log.error({ err: error }, 'socket handshake failed');
        next(new Error('INTERNAL_ERROR'));
      });
  });

  /** Resumes the visit and page the tokens prove, or mints fresh ones. */
  async function resolveIdentity(auth: HandshakeAuth): Promise<SocketData> {
    const at = now();
    const claim = signer.verifyVisit(auth.visitToken, at);
    let visitId: string | null = null;
    if (claim) {
      const visit = await store.getVisit(claim.visitId);
      if (visit && visit.endedAt === null) {
        // The sweep may not have run yet: a visit idle past its limit has ended all the same.
        if (visit.idleSince !== null && at - visit.idleSince >= deps.visitIdleMs) await store.endVisit(visit.visitId, at);
        else visitId = visit.visitId;
      }
    }
    const globalVisitId = claim?.globalVisitId ?? mintId();
    if (visitId === null) {
      visitId = mintId();
      await store.startVisit({ visitId, globalVisitId }, at);
    }
    const pageId = signer.verifyPage(auth.pageToken, visitId) ?? mintId();
    await store.openPage({ pageId, visitId, info: auth.page }, at);
    return { globalVisitId, visitId, pageId };
  }

  io.on('connection', (socket: PageSocket) => {
    const { globalVisitId, visitId, pageId } = socket.data;
    void socket.join([visitRoom(visitId), pageRoom(pageId)]);

    guard(socket, 'session', async () => {
      const placed = await place(visitId, pageId);
      const offer = placed && placed.shownPageId === pageId ? toOffer(placed, now()) : null;
      socket.emit(SOCKET_EVENTS.session, {
        optedOut: await store.isOptedOut(globalVisitId),
        globalVisitId,
        visitId,
        pageId,
        visitToken: signer.signVisit({ globalVisitId, visitId, issuedAt: now() }),
        pageToken: signer.signPage(visitId, pageId),
        invitation: offer,
      });
    });

    socket.on(SOCKET_EVENTS.pageUpdate, (update) => {
      guard(socket, SOCKET_EVENTS.pageUpdate, async () => {
        const parsed = parsePayload(pageUpdateSchema, update);
        if (parsed) await store.updatePage(pageId, parsed, now());
      });
    });

    socket.on(SOCKET_EVENTS.shown, (payload, ack) => {
      answerWith(socket, ack, shownSchema, payload, async (shown) => {
        const engagement = await lifecycle.markShown(shown.interactionId, visitId, pageId);
        return { ok: true, state: engagement.state };
      });
    });

    socket.on(SOCKET_EVENTS.answer, (payload, ack) => {
      answerWith(socket, ack, answerSchema, payload, async (answer) => {
        const engagement = await lifecycle.answer(answer.interactionId, visitId, pageId, answer.outcome, answer.channel);
        return { ok: true, state: engagement.state };
      });
    });

    socket.on(SOCKET_EVENTS.opt, (payload, ack) => {
      answerWith(socket, ack, optSchema, payload, async ({ optedOut }) => {
        await lifecycle.setOptOut(globalVisitId, optedOut);
        socket.to(visitRoom(visitId)).emit(SOCKET_EVENTS.opt, { optedOut });
        return { ok: true, optedOut };
      });
    });

    socket.on('disconnect', () => {
      guard(socket, 'disconnect', async () => {
        // A reconnect of the same page may already have joined: then the page is still open.
        const stillThere = await io.in(pageRoom(pageId)).fetchSockets();
        if (stillThere.length > 0) return;
        if (await store.closePage(pageId, now())) {
          // The visit may now be idle: its end is a new deadline to wait for.
          lifecycle.onDeadlinesChanged();
          await place(visitId);
        }
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
      if (error instanceof BeckonFault) return reply({ ok: false, code: error.code, message: error.message });
      log.error({ err: error, socketId: socket.id }, 'socket handler failed');
      reply({ ok: false, code: 'INTERNAL_ERROR', message: 'Something went wrong inside Beckon.' });
    });
  }

  return {
    choose: chooseTarget,
    show(engagement) {
      if (engagement.shownPageId !== null) sendStart(engagement, engagement.shownPageId);
    },
    place: async (visitId) => {
      await place(visitId);
    },
    withdraw(engagement) {
      if (engagement.visitId === null) return;
      io.to(visitRoom(engagement.visitId)).emit(SOCKET_EVENTS.withdraw, {
        interactionId: engagement.interactionId,
        state: engagement.state,
      });
    },
  };
}
