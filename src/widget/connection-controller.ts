/**
 * The page's realtime link to the Beckon frontend server, as a Lit reactive
 * controller: it opens when its host enters the document and closes when the
 * host leaves, and it draws nothing, so it can be tested on its own.
 */
import { io, type Socket } from 'socket.io-client';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { ContextAck, NotificationDetail } from '../protocol/visitor.js';
import type {
  AnswerMessage,
  ClientToServerEvents,
  HandshakeAuth,
  InvitationOffer,
  OptAck,
  OptMessage,
  PageAck,
  PageInfo,
  PageUpdate,
  ServerToClientEvents,
  Session,
  Withdrawal,
} from '../protocol/socket.js';
import { SOCKET_EVENTS } from '../protocol/names.js';

/** localStorage key of the signed visit token (globalVisitId + visitId). */
export const VISIT_TOKEN_KEY = 'beckon.visit';

/** The server refuses longer tokens; a damaged stored value must not lock the page out. */
const MAX_TOKEN_LENGTH = 512;

/** How long `answer()` waits for the server's verdict before giving up on it. */
const ANSWER_TIMEOUT_MS = 10_000;

/** How long an answer is retried while the server says its store is briefly unreachable (nothing was recorded). */
const ANSWER_RETRY_WINDOW_MS = 30_000;
/** Refusals that mean "not recorded, try again shortly", not "no". */
const TRANSIENT_CODES: readonly string[] = ['STORE_UNAVAILABLE', 'SHUTTING_DOWN'];

/** First and last delay before retrying a connection the server refused (socket.io does not retry those). */
const REFUSED_RETRY_MS = [5_000, 300_000] as const;

/** What the connection reports to its host, as one object so a test can pass plain functions. */
export interface ConnectionListener {
  /** Sent on every (re)connection: ids, tokens and the invitation this page should show now. */
  session(session: Session): void;
  start(offer: InvitationOffer): void;
  withdraw(withdrawal: Withdrawal): void;
  /** Another tab of this browser opted out or back in. */
  opt(opt: OptMessage): void;
  /** A caller's message to this page (the Notification API). */
  notification?(notification: NotificationDetail): void;
}

/** What the page tells about its visitor, each with the server's ContextAck. */
export type ContextEvent =
  | typeof SOCKET_EVENTS.track
  | typeof SOCKET_EVENTS.signIn
  | typeof SOCKET_EVENTS.signOut
  | typeof SOCKET_EVENTS.userInfo;
type AskedEvent = typeof SOCKET_EVENTS.answer | typeof SOCKET_EVENTS.opt | ContextEvent;

export interface ConnectionOptions extends ConnectionListener {
  /** The server to connect to; read whenever the host updates, so it may be set late or changed. */
  server(): string | null | undefined;
}

type BeckonSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Reads the stored visit token; storage can be missing or throw (privacy modes, sandboxed frames). */
function readVisitToken(): string | undefined {
  try {
    const token = localStorage.getItem(VISIT_TOKEN_KEY);
    return token && token.length <= MAX_TOKEN_LENGTH ? token : undefined;
  } catch {
    return undefined;
  }
}

function saveVisitToken(token: string): void {
  try {
    localStorage.setItem(VISIT_TOKEN_KEY, token);
  } catch {
    // Without storage the visitor simply gets a new visit on the next page load.
  }
}

/** What the page says about itself, cut to the lengths the server's strict schema accepts. */
export function currentPage(): PageInfo {
  const page: PageInfo = {
    url: location.href.slice(0, 2048),
    title: document.title.slice(0, 300),
    visible: document.visibilityState === 'visible',
    focused: document.hasFocus(),
  };
  const locale = navigator.language;
  if (locale && locale.length <= 35) page.locale = locale;
  return page;
}

/** The origin to connect to; the default namespace is always used, so any path is dropped. */
function originOf(server: string | null | undefined): string | undefined {
  if (!server) return undefined;
  try {
    return new URL(server, document.baseURI).origin;
  } catch {
    return undefined;
  }
}

/** Cheap shape checks, so a wrong payload from a mismatched server version cannot break the page. */
function isOffer(value: unknown): value is InvitationOffer {
  const offer = value as InvitationOffer | null;
  return (
    typeof offer?.interactionId === 'string' &&
    Array.isArray(offer.channels) &&
    typeof offer.invitation === 'object' &&
    offer.invitation !== null
  );
}

/** Keeps one socket.io connection open for as long as its host is in the document. */
export class ConnectionController implements ReactiveController {
  readonly #options: ConnectionOptions;
  #socket: BeckonSocket | null = null;
  /** Origin of the open socket, to notice when the host's `server` changes. */
  #origin: string | undefined;
  /** Kept in memory only: one page load is one pageId, and reconnects of this load resume it. */
  #pageToken: string | undefined;
  #pageId: string | undefined;
  /** What the server last heard about this page, so presence is sent only when it changed. */
  #reported: PageInfo | undefined;
  #presence: AbortController | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #refusals = 0;
  #hostConnected = false;

  constructor(host: ReactiveControllerHost, options: ConnectionOptions) {
    this.#options = options;
    host.addController(this);
  }

  hostConnected(): void {
    this.#hostConnected = true;
    this.#sync();
  }

  hostUpdate(): void {
    this.#sync();
  }

  hostDisconnected(): void {
    this.#hostConnected = false;
    this.#close();
  }

  /** Tells the server the invitation is on screen. Buffered by socket.io while offline. */
  shown(interactionId: string): void {
    this.#socket?.emit(SOCKET_EVENTS.shown, { interactionId });
  }

  /**
   * Sends the visitor's answer and resolves with the server's verdict. The
   * message stays queued while offline (socket.io sends it on reconnect), but
   * the promise gives up after ANSWER_TIMEOUT_MS so a caller never waits forever.
   * While the server answers that its store is unreachable (nothing was
   * recorded), the answer is sent again with growing pauses for up to 30 s:
   * the visitor's choice is not lost to a store restart.
   */
  answer(answer: AnswerMessage): Promise<PageAck> {
    return this.#askUntilRecorded(SOCKET_EVENTS.answer, answer);
  }

  /** Records the visitor's opt-out (or opt-in) for this browser; settles like `answer`. */
  opt(opt: OptMessage): Promise<OptAck> {
    return this.#askUntilRecorded(SOCKET_EVENTS.opt, opt);
  }

  /**
   * Sends what the page tells about its visitor and resolves with the
   * server's verdict; settles like `answer` (a message sent while offline
   * goes out on reconnect).
   */
  context<E extends ContextEvent>(event: E, payload: Parameters<ClientToServerEvents[E]>[0]): Promise<ContextAck> {
    return this.#askUntilRecorded(event, payload) as Promise<ContextAck>;
  }

  async #askUntilRecorded<E extends AskedEvent>(
    event: E,
    payload: Parameters<ClientToServerEvents[E]>[0],
  ): Promise<Parameters<NonNullable<Parameters<ClientToServerEvents[E]>[1]>>[0]> {
    const giveUpAt = Date.now() + ANSWER_RETRY_WINDOW_MS;
    for (let pause = 250; ; pause = Math.min(pause * 2, 4000)) {
      const result = await this.#ask(event, payload);
      if (result.ok || !TRANSIENT_CODES.includes(result.code) || Date.now() + pause > giveUpAt) return result;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  #ask<E extends AskedEvent>(
    event: E,
    payload: Parameters<ClientToServerEvents[E]>[0],
  ): Promise<Parameters<NonNullable<Parameters<ClientToServerEvents[E]>[1]>>[0]> {
    return new Promise((resolve, reject) => {
      const socket = this.#socket;
      if (!socket) {
        reject(new Error('Beckon: not connected'));
        return;
      }
      const timer = setTimeout(() => reject(new Error('Beckon: not confirmed by the server')), ANSWER_TIMEOUT_MS);
      // One emit signature per event; the union of both is what socket.io's types cannot narrow.
      (socket.emit as (e: string, p: unknown, ack: (result: never) => void) => void)(event, payload, (result) => {
        clearTimeout(timer);
        resolve(result);
      });
    });
  }

  /** Opens, reopens or closes the socket so that it matches the host's state and server. */
  #sync(): void {
    const origin = this.#hostConnected ? originOf(this.#options.server()) : undefined;
    if (origin === this.#origin && this.#socket) return;
    this.#close();
    if (origin) this.#open(origin);
  }

  #open(origin: string): void {
    this.#origin = origin;
    const socket: BeckonSocket = io(origin, {
      // WebSocket only: no sticky sessions needed behind a load balancer, and no long-polling code paths.
      transports: ['websocket'],
      // We own this socket's lifetime; never share a Manager with other code on the page.
      forceNew: true,
      // A function, so that every reconnect sends the tokens of the latest session.
      auth: (cb) => {
        const page = currentPage();
        this.#reported = page;
        const auth: HandshakeAuth = { page };
        const visitToken = readVisitToken();
        if (visitToken) auth.visitToken = visitToken;
        if (this.#pageToken) auth.pageToken = this.#pageToken;
        cb(auth);
      },
    });
    this.#socket = socket;

    socket.on(SOCKET_EVENTS.session, (session) => {
      if (!session || typeof session.pageId !== 'string') return;
      this.#refusals = 0;
      if (session.pageToken) this.#pageToken = session.pageToken;
      this.#pageId = session.pageId;
      if (session.visitToken) saveVisitToken(session.visitToken);
      if (session.invitation && !isOffer(session.invitation)) session.invitation = null;
      this.#options.session(session);
      // Focus or visibility may have changed between the handshake and now.
      this.#report();
    });
    socket.on(SOCKET_EVENTS.start, (offer) => {
      if (isOffer(offer)) this.#options.start(offer);
    });
    socket.on(SOCKET_EVENTS.withdraw, (withdrawal) => {
      if (typeof withdrawal?.interactionId === 'string') this.#options.withdraw(withdrawal);
    });
    socket.on(SOCKET_EVENTS.opt, (opt) => {
      if (typeof opt?.optedOut === 'boolean') this.#options.opt(opt);
    });
    socket.on(SOCKET_EVENTS.notification, (notification, ack) => {
      if (typeof notification?.channel !== 'string') return;
      const data = typeof notification.data === 'object' && notification.data !== null ? notification.data : {};
      this.#options.notification?.({ channel: notification.channel, data });
      // The caller is told how many pages got it: this page counts once, however many sockets it had.
      if (typeof ack === 'function' && this.#pageId) ack(this.#pageId);
    });
    // socket.io retries network failures by itself, but not a refusal by the
    // server (middleware error, or a disconnect the server asked for), which
    // can be temporary: a rate limit, a restart. Retry those slowly.
    socket.on('connect_error', () => {
      if (!socket.active) this.#retryLater(socket);
    });
    socket.on('disconnect', (reason) => {
      if (reason === 'io server disconnect') this.#retryLater(socket);
    });

    const signal = (this.#presence = new AbortController()).signal;
    // Read the state after the event has finished: during `blur` some browsers still report focus.
    const report = () => setTimeout(() => this.#report());
    document.addEventListener('visibilitychange', report, { signal });
    window.addEventListener('focus', report, { signal });
    window.addEventListener('blur', report, { signal });
  }

  #close(): void {
    clearTimeout(this.#retryTimer);
    this.#presence?.abort();
    this.#presence = undefined;
    this.#socket?.disconnect();
    this.#socket = null;
    this.#origin = undefined;
  }

  #retryLater(socket: BeckonSocket): void {
    clearTimeout(this.#retryTimer);
    const [first, last] = REFUSED_RETRY_MS;
    const delay = Math.min(last, first * 2 ** this.#refusals++) * (0.5 + Math.random() / 2);
    this.#retryTimer = setTimeout(() => {
      if (this.#socket === socket) socket.connect();
    }, delay);
  }

  /** Sends presence (and url/title, for single-page sites) when it differs from what the server knows. */
  #report(): void {
    const socket = this.#socket;
    // Not buffered while offline: the next handshake carries the fresh state anyway.
    if (!socket?.connected) return;
    const page = currentPage();
    const last = this.#reported;
    const update: PageUpdate = {};
    if (page.visible !== last?.visible) update.visible = page.visible;
    if (page.focused !== last?.focused) update.focused = page.focused;
    if (page.url !== last?.url) update.url = page.url;
    if (page.title !== last?.title) update.title = page.title;
    if (Object.keys(update).length === 0) return;
    // Presence always travels as a pair: a focused page that is hidden means nothing on its own.
    update.visible = page.visible;
    update.focused = page.focused;
    this.#reported = page;
    socket.emit(SOCKET_EVENTS.pageUpdate, update);
  }
}
