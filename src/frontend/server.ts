/**
 * The frontend server: the socket.io endpoint for visitors' pages, a thin
 * adapter over the core. It resolves identity at the handshake (tokens are
 * its concern), validates every payload, hands the page's reports to the
 * lifecycle, and delivers the lifecycle's page commands to socket.io rooms.
 */
import type { z } from 'zod';
import {
  SOCKET_EVENTS,
  answerSchema,
  findHostileKey,
  handshakeAuthSchema,
  optSchema,
  pageUpdateSchema,
  shownSchema,
  type EngagementState,
  type OptAck,
  type PageAck,
} from '../protocol/index.js';
import { domainFault } from '../core/faults.js';
import type { Lifecycle, PageCommand } from '../core/lifecycle.js';
import type { NodeRef } from '../core/store.js';
import { IdentitySigner } from './identity.js';
import type { PageResync } from './resync.js';
import type { BeckonIo, PageSocket } from './io.js';

export interface FrontendDeps {
  io: BeckonIo;
  lifecycle: Lifecycle;
  signer: IdentitySigner;
  /** The boot of this node that holds the pages it accepts (several nodes); none on a single node. */
  node?: () => NodeRef;
  /** Follows what each page is told, to resynchronise it after a Redis outage (several nodes). */
  resync?: PageResync;
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  now?: () => number;
}

const visitRoom = (visitId: string) => `visit:${visitId}`;
const pageRoom = (pageId: string) => `page:${pageId}`;

/** Delivers one page command to the room it is for (through the adapter, so any node's pages get it). */
export function deliverPageCommand(io: BeckonIo, command: PageCommand): void {
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
  const { io, lifecycle, signer, log } = deps;
  const now = deps.now ?? Date.now;
  const unsubscribe = lifecycle.onPageCommand((command) => deliverPageCommand(io, command));

  /** A page's payload, or null: prototype keys are refused outright, since a schema may drop them and accept the rest. */
  function parsePayload<S extends z.ZodType>(schema: S, payload: unknown): z.output<S> | null {
    if (findHostileKey(payload) !== null) return null;
    const parsed = schema.safeParse(payload);
    return parsed.success ? parsed.data : null;
  }

  io.use((socket, next) => {
    const parsed = handshakeAuthSchema.safeParse(socket.handshake.auth);
    if (!parsed.success) {
      const error = new Error('INVALID_PARAMETER') as Error & { data: unknown };
      error.data = { code: 'INVALID_PARAMETER', message: 'The handshake auth is not valid.' };
      return next(error);
    }
    const auth = parsed.data;
    // Only ids whose tokens verify are resumed; anything else gets fresh ones.
    lifecycle
      .enterPage(
        signer.verifyVisit(auth.visitToken, now()),
        (visitId) => signer.verifyPage(auth.pageToken, visitId),
        auth.page,
        deps.node?.(),
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

  io.on('connection', (socket: PageSocket) => {
    const { globalVisitId, visitId, pageId } = socket.data;
    // Before anything is sent to the page, so that the session's invitation is followed too.
    deps.resync?.track(socket);
    void socket.join([visitRoom(visitId), pageRoom(pageId)]);

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

    socket.on(SOCKET_EVENTS.pageUpdate, (update) => {
      guard(socket, SOCKET_EVENTS.pageUpdate, async () => {
        const parsed = parsePayload(pageUpdateSchema, update);
        if (parsed) await lifecycle.updatePage(pageId, parsed);
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
        const engagement = await lifecycle.answer(
          answer.interactionId,
          visitId,
          pageId,
          answer.outcome,
          answer.channel,
        );
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
        // A reconnect of the same page may already have joined this node: then the page is still open.
        // Only this node is asked (never a round of every node on this path: one frozen peer would hold it
        // 5 s); a reconnect through another node moved the page there, which the guarded close respects.
        const stillThere = await io.local.in(pageRoom(pageId)).fetchSockets();
        if (stillThere.length > 0) return;
        // Guarded by this node's boot: a page that reconnected through another node meanwhile stays open.
        await lifecycle.leavePage({ visitId, pageId }, deps.node?.());
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

  return unsubscribe;
}
