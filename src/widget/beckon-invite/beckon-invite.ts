import type { BeckonApi, BeckonEventDetails, BeckonIDs, FlatData } from '../../protocol/page-api.js';
import type { ClientToServerEvents, InvitationOffer, Session, Withdrawal } from '../../protocol/socket.js';
import { DOM_EVENTS, SOCKET_EVENTS, type Answer } from '../../protocol/names.js';
import { USER_ID_MAX, eventNameProblem, flatDataProblem, userIdProblem } from '../../protocol/visitor-rules.js';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { ConnectionController, type ContextEvent } from '../connection-controller.js';
import { installGtQueue } from '../gt-queue.js';
import { pageApi } from '../page-api.js';
import type { AttachCard, Card } from './card.js';

/** The element's tag name. */
export const TAG_NAME = 'beckon-invite';

/** Button handlers have nobody to report a refused answer to; the card is already gone. */
const ignore = (): void => undefined;

/** The Error a page API promise rejects with: its `code` is the FAULT code. */
const fault = (code: string, message: string) => Object.assign(new Error(`Beckon: ${message}`), { code });

/** The first problem of a context message's fields, named, or null (the limits of docs/visitor-context.md). */
function firstProblem(fields: Record<string, string | null>): string | null {
  for (const [field, problem] of Object.entries(fields)) if (problem) return `${field} ${problem}`;
  return null;
}

/**
 * Where the card comes from: at hand (the ES module bundles it), or loaded
 * on demand (the script tag's chunk). One load per page, shared by every
 * element of this copy of the widget; a failed load is tried again by the
 * next invitation.
 */
let cardAtHand: AttachCard | undefined;
let loadCard: (() => Promise<AttachCard>) | undefined;
let cardLoading: Promise<AttachCard> | undefined;

/** Gives the element its card: a function to attach it now, or one that loads it (see loader.ts). */
export function provideCard(card: { attach: AttachCard } | { load: () => Promise<AttachCard> }): void {
  if ('attach' in card) cardAtHand = card.attach;
  else loadCard = card.load;
}

function fetchCard(): Promise<AttachCard> {
  if (cardAtHand) return Promise.resolve(cardAtHand);
  if (!loadCard) return Promise.reject(new Error('Beckon: no invitation card was provided'));
  cardLoading ??= loadCard().then(
    (attach) => (cardAtHand = attach),
    (error: unknown) => {
      cardLoading = undefined;
      throw error;
    },
  );
  return cardLoading;
}

/**
 * Work for when the page has nothing better to do, at most a second later.
 * WebKit has no `requestIdleCallback`: a timer then.
 */
export function whenIdle(work: () => void): void {
  if (typeof requestIdleCallback === 'function') requestIdleCallback(work, { timeout: 1000 });
  else setTimeout(work, 0);
}

/** The polite live region: on the page from the start, so that what is said in it later is announced. */
function liveRegion(): HTMLElement {
  const status = document.createElement('div');
  status.className = 'status';
  status.setAttribute('role', 'status');
  status.setAttribute('aria-live', 'polite');
  // Read by screen readers, invisible on screen, fixed so it can never extend the page. Set through
  // the CSSOM, which a Content-Security-Policy without 'unsafe-inline' allows (a style attribute it would not).
  Object.assign(status.style, {
    position: 'fixed',
    width: '1px',
    height: '1px',
    margin: '-1px',
    padding: '0',
    overflow: 'hidden',
    clipPath: 'inset(50%)',
    whiteSpace: 'nowrap',
  });
  return status;
}

/**
 * Shows a Beckon invitation to the visitor and reports the visitor's answer
 * to the server. The loader script mounts one at the end of `<body>`; with a
 * bundler, import `beckon/widget` and place `<beckon-invite server="…">`.
 *
 * The card is a non-modal dialog named by its title and described by its
 * message: it never takes focus, is announced once through a polite live
 * region, and Escape inside it declines. Opted-out visitors never see one.
 *
 * This class holds the connection, the invitation in force, its countdown
 * and the page API, and draws nothing itself: the card (Lit, its styles and
 * words, ./card.ts) is attached when it is provided. The ES module provides
 * it at once; the script tag loads it as a chunk of its own when the browser
 * is idle or when the first invitation arrives, so a page that is never
 * invited never runs it.
 *
 * @element beckon-invite
 *
 * @attr server - Origin of the Beckon server, such as `https://beckon.example.com`.
 * @attr position - Where the card goes: `bottom-right` (default), `bottom-left`, `top-right`, `top-left`,
 *   or `inline` to draw it in the page's flow where the element is placed.
 * @attr lang - Language of the built-in words when the profile names none (else `<html lang>`, else the browser's).
 *
 * @slot - Extra content under the message (a privacy note, opening hours); shown only with the card.
 * @slot image - Replaces the profile's picture (a logo, an agent's photo of your own).
 * @slot footer - Content under the buttons (a link to your privacy policy).
 *
 * @fires beckon:ready - Once per page load, when the server has given the ids. Detail: `{globalVisitId, visitId, pageId}`.
 * @fires beckon:invite - An invitation arrived. Cancelable: call `preventDefault()` to draw your own UI
 *   and answer with `Beckon.accept()` / `Beckon.decline()`. Detail: the InvitationOffer.
 * @fires beckon:accepted - The visitor accepted. Detail: `{interactionId, channel, userData}`.
 * @fires beckon:declined - The visitor declined or closed the card. Detail: `{interactionId}`.
 * @fires beckon:timeout - The invitation's time ran out on this page (by its timer or the server's). Detail: `{interactionId}`.
 * @fires beckon:withdrawn - The server took the invitation back (cancelled, settled elsewhere, moved
 *   to another tab, visitor opted out). Detail: `{interactionId, state}`.
 * @fires beckon:notification - A caller sent this page a message (the Notification API). Detail: `{channel, data}`.
 *
 * @csspart card - The dialog box.
 * @csspart head - The row holding image, title and close button.
 * @csspart image - The optional picture (agent avatar).
 * @csspart title - The heading.
 * @csspart message - The body text.
 * @csspart actions - The row of buttons.
 * @csspart button - Every button (accept, decline, close).
 * @csspart accept - Every accept button; each also has `accept-<channel>`, e.g. `accept-chat`.
 * @csspart decline - The decline button.
 * @csspart close - The × button.
 *
 * @cssprop [--beckon-accent-color=#1d4ed8] - Accept buttons.
 * @cssprop [--beckon-accent-text-color=#fff] - Text on accept buttons.
 * @cssprop [--beckon-focus-color=#1d4ed8] - Focus ring of every button (defaults to the accent colour).
 * @cssprop [--beckon-text-color=#1f2937] - Text of the card.
 * @cssprop [--beckon-secondary-color=#6b7280] - Border of the decline button.
 * @cssprop [--beckon-background=#fff] - Background of the card.
 * @cssprop [--beckon-border-color=#d1d5db] - Border of the card.
 * @cssprop [--beckon-radius=12px] - Corner radius of the card.
 * @cssprop [--beckon-button-radius=8px] - Corner radius of the buttons.
 * @cssprop [--beckon-font=15px/1.4 system-ui, sans-serif] - Font shorthand of the card.
 * @cssprop [--beckon-spacing=16px] - Padding of the card; gaps are half of it.
 * @cssprop [--beckon-width=22rem] - Width of the card (never wider than the viewport).
 * @cssprop [--beckon-shadow=0 8px 24px rgb(0 0 0 / 0.18)] - Shadow of the card.
 * @cssprop [--beckon-z-index=2147483000] - Stacking order of the card.
 * @cssprop [--beckon-offset=16px] - Distance from the viewport's edges.
 */
export class BeckonInvite extends HTMLElement implements BeckonApi, ReactiveControllerHost {
  static readonly observedAttributes = ['server'];

  #server: string | null = null;
  /** The invitation in force on this page, drawn by us or by the site. */
  #offer: InvitationOffer | null = null;
  /** False when the site cancelled `beckon:invite` to draw its own UI. */
  #drawn = false;
  /** The card, once attached to this element's shadow root. */
  #card: Card | undefined;
  #status: HTMLElement | undefined;
  readonly #controllers: ReactiveController[] = [];
  #updatePending = false;
  #updated: Promise<boolean> = Promise.resolve(true);

  readonly #connection = new ConnectionController(this, {
    server: () => this.server,
    session: (session) => this.#onSession(session),
    start: (offer) => this.#onStart(offer),
    withdraw: (withdrawal) => this.#onWithdraw(withdrawal),
    opt: ({ optedOut }) => this.#onOpt(optedOut),
    notification: (notification) => this.#emit(DOM_EVENTS.notification, notification),
  });
  /** The server's record for this browser, mirrored from the session and from other tabs. */
  #optedOut = false;
  /** Invitations that arrived while another was showing (possible when the server's strict mode is off). */
  #queue: InvitationOffer[] = [];
  /** Answered here; a resync that still lists one (the answer is in flight) must not show it again. */
  readonly #answered = new Set<string>();
  /** The invitation whose `shown` acknowledgement is still owed to the server. */
  #unshown: string | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #ids: BeckonIDs | undefined;
  #resolveIds: (ids: BeckonIDs) => void = ignore;
  readonly #idsReady = new Promise<BeckonIDs>((resolve) => (this.#resolveIds = resolve));
  #ownsPageApi = false;

  constructor() {
    super();
    // A page may have set the server on the element before this class was defined.
    if (Object.hasOwn(this, 'server')) {
      const early = (this as { server?: string | null }).server ?? null;
      delete (this as { server?: string | null }).server;
      this.server = early;
    }
  }

  /** Origin of the Beckon server; the connection opens once it is set. */
  get server(): string | null {
    return this.#server;
  }

  set server(value: string | null) {
    this.#server = value;
    this.requestUpdate();
  }

  /** Corner of the card; `bottom-right` when unset. Reflected to the `position` attribute, which the styles read. */
  get position(): string | null {
    return this.getAttribute('position');
  }

  set position(value: string | null) {
    if (value == null) this.removeAttribute('position');
    else this.setAttribute('position', value);
  }

  attributeChangedCallback(_name: string, _old: string | null, value: string | null): void {
    this.server = value;
  }

  connectedCallback(): void {
    if (!this.shadowRoot) {
      this.#status = liveRegion();
      this.attachShadow({ mode: 'open' }).append(this.#status);
    }
    // A hand-placed element provides the page API itself; the loader sets it earlier.
    if (!window.Beckon) {
      window.Beckon = pageApi(() => this);
      this.#ownsPageApi = true;
      installGtQueue(window.Beckon);
    }
    // The ES module has the card at hand: drawn as soon as the element is, like any element.
    if (cardAtHand) void this.#attachCard(cardAtHand);
    for (const controller of this.#controllers) controller.hostConnected?.();
    this.requestUpdate();
  }

  disconnectedCallback(): void {
    for (const controller of this.#controllers) controller.hostDisconnected?.();
    // The socket closes with the element; the next session resyncs whatever is still in force.
    this.#drop();
    this.#queue = [];
    if (this.#ownsPageApi) {
      delete window.Beckon;
      this.#ownsPageApi = false;
    }
  }

  addController(controller: ReactiveController): void {
    this.#controllers.push(controller);
    if (this.isConnected) controller.hostConnected?.();
  }

  removeController(controller: ReactiveController): void {
    const at = this.#controllers.indexOf(controller);
    if (at >= 0) this.#controllers.splice(at, 1);
  }

  /** Brings the connection and the card up to date in a microtask; several requests make one update. */
  requestUpdate(): void {
    if (this.#updatePending) return;
    this.#updatePending = true;
    this.#updated = Promise.resolve().then(() => {
      this.#updatePending = false;
      for (const controller of this.#controllers) controller.hostUpdate?.();
      this.#card?.draw(this.#drawn ? this.#offer : null);
      return true;
    });
  }

  /** Resolves once every update requested so far has been made (the card drawn, if it is here). */
  get updateComplete(): Promise<boolean> {
    return this.#updated.then(() => (this.#updatePending ? this.updateComplete : true));
  }

  /** Resolves with this page's ids once the server has given them. */
  getIDs(): Promise<BeckonIDs> {
    return this.#ids ? Promise.resolve({ ...this.#ids }) : this.#idsReady;
  }

  /**
   * Accepts the current invitation with one of its channels, as its button
   * would. Resolves when the server has recorded the answer; rejects when
   * there is no invitation, the channel was not offered, the server refused
   * the answer (its `code` is on the error) or did not confirm within 10 s.
   */
  accept(channel: string): Promise<void> {
    return this.#answer('accepted', channel);
  }

  /** Declines the current invitation, as its decline button would; settles like `accept`. */
  decline(): Promise<void> {
    return this.#answer('declined');
  }

  /**
   * "Don't show invitations again" for this browser. The server declines any
   * attempt in progress (withdrawing it here) and tells the other tabs.
   * Resolves once recorded; rejects when offline or refused.
   */
  optOut(): Promise<void> {
    return this.#opt(true);
  }

  /** Undoes `optOut()`; settles like it. */
  optIn(): Promise<void> {
    return this.#opt(false);
  }

  /** Whether this browser opted out, once the server has said so. */
  isOptedOut(): Promise<boolean> {
    return this.getIDs().then(() => this.#optedOut);
  }

  /**
   * Records a business event of this page. Resolves once the server stored
   * it; rejects with an Error whose `code` is the FAULT code: INVALID_PARAMETER
   * for a bad name or data (checked here first), RATE_LIMITED past 20 events
   * in 10 s. A call made before the connection is up waits for it.
   */
  track(name: string, data: FlatData = {}): Promise<void> {
    const problem = firstProblem({ name: eventNameProblem(name), data: flatDataProblem(data) });
    return this.#tell(SOCKET_EVENTS.track, problem, () => ({ name, data: { ...data } }));
  }

  /**
   * Says who the visitor is; with the site server's `token` (hex HMAC-SHA256
   * of userId under the identity secret) the identity is verified. Settles like `track`.
   */
  signIn(userId: string, traits: FlatData = {}, options: { token?: string } = {}): Promise<void> {
    const token = options?.token;
    const problem = firstProblem({
      userId: userIdProblem(userId),
      traits: flatDataProblem(traits),
      token:
        token === undefined || (typeof token === 'string' && token.length <= USER_ID_MAX)
          ? null
          : `must be text of at most ${USER_ID_MAX} characters`,
    });
    return this.#tell(SOCKET_EVENTS.signIn, problem, () => ({
      userId,
      traits: { ...traits },
      ...(token === undefined ? {} : { token }),
    }));
  }

  /** The visitor signed out; settles like `track`. */
  signOut(): Promise<void> {
    return this.#tell(SOCKET_EVENTS.signOut, null, () => ({}));
  }

  /** Traits of the visitor, merged into what the visit knows; settles like `track`. */
  setUserInfo(traits: FlatData): Promise<void> {
    const problem = firstProblem({ traits: flatDataProblem(traits) });
    return this.#tell(SOCKET_EVENTS.userInfo, problem, () => ({ traits: { ...traits } }));
  }

  async #tell<E extends ContextEvent>(
    event: E,
    problem: string | null,
    payload: () => Parameters<ClientToServerEvents[E]>[0],
  ): Promise<void> {
    if (problem) throw fault('INVALID_PARAMETER', `${problem}.`);
    // Copied now: the page may change its object while the connection is still coming up.
    const message = payload();
    await this.getIDs();
    const ack = await this.#connection.context(event, message);
    if (!ack.ok) throw fault(ack.code, ack.message);
  }

  async #opt(optedOut: boolean): Promise<void> {
    const ack = await this.#connection.opt({ optedOut });
    if (!ack.ok) throw Object.assign(new Error(`Beckon: ${ack.message}`), { code: ack.code });
    this.#onOpt(ack.optedOut);
  }

  #onOpt(optedOut: boolean): void {
    this.#optedOut = optedOut;
    // The server withdraws what was showing; nothing queued may surface meanwhile.
    if (optedOut) this.#queue = [];
  }

  #onSession(session: Session): void {
    const { globalVisitId, visitId, pageId } = session;
    const first = !this.#ids;
    this.#ids = { globalVisitId, visitId, pageId };
    this.#optedOut = session.optedOut;
    if (first) {
      this.#resolveIds({ ...this.#ids });
      this.#emit(DOM_EVENTS.ready, { ...this.#ids });
      // Fetched while the page is idle, so that the first invitation is drawn as fast as any; not for a
      // browser that opted out, which is never invited (if it opts back in, the first invitation loads it).
      if (!cardAtHand && !session.optedOut) whenIdle(() => void fetchCard().then((a) => this.#attachCard(a), ignore));
    }
    // The store is the truth: after a reconnect show exactly what the session says.
    const offer = session.optedOut ? null : session.invitation;
    const next = offer && !this.#answered.has(offer.interactionId) ? offer : null;
    this.#queue = [];
    if (next && next.interactionId === this.#offer?.interactionId) {
      // Already on screen: keep it, but follow the server's clock.
      this.#countdown(next);
      return;
    }
    // Whatever was showing settled or moved while we were offline: drop it without an event.
    this.#drop();
    if (next) this.#present(next);
  }

  #onStart(offer: InvitationOffer): void {
    const id = offer.interactionId;
    if (
      this.#optedOut ||
      this.#answered.has(id) ||
      this.#offer?.interactionId === id ||
      this.#queue.some((o) => o.interactionId === id)
    ) {
      return;
    }
    if (this.#offer) this.#queue.push(offer);
    else this.#present(offer);
  }

  #onWithdraw({ interactionId, state }: Withdrawal): void {
    const shown = this.#offer?.interactionId === interactionId;
    if (shown) {
      this.#drop();
    } else {
      const queued = this.#queue.length;
      this.#queue = this.#queue.filter((o) => o.interactionId !== interactionId);
      if (this.#queue.length === queued) return;
    }
    // The server's deadline can beat this page's timer (a background tab's throttled timers, a busy
    // page): for the site the invitation shown here still ran out of time, not taken back.
    if (shown && state === 'timed_out') this.#emit(DOM_EVENTS.timeout, { interactionId });
    else this.#emit(DOM_EVENTS.withdrawn, { interactionId, state });
    this.#next();
  }

  #present(offer: InvitationOffer): void {
    const id = offer.interactionId;
    this.#offer = offer;
    this.#unshown = id;
    this.#countdown(offer);
    const draw = this.#emit(DOM_EVENTS.invite, offer, true);
    // A listener may have answered it already, from inside the event.
    if (this.#offer !== offer) return;
    this.#drawn = draw;
    this.requestUpdate();
    // The server counts the invitation as delivered only once it is really on screen. A site that
    // draws its own UI never needs the card.
    const onScreen = draw ? fetchCard().then((attach) => this.#attachCard(attach)) : this.updateComplete;
    void onScreen.then(
      () => this.#acknowledge(id),
      (error: unknown) => this.#undrawable(offer, error),
    );
  }

  /** Attaches the card to the shadow root (once), and resolves when it has drawn what is in force. */
  #attachCard(attach: AttachCard): Promise<boolean> {
    if (!this.#card && this.shadowRoot && this.#status) {
      this.#card = attach(this, this.shadowRoot, this.#status);
      this.requestUpdate();
    }
    return this.updateComplete;
  }

  /**
   * The card could not be loaded (the chunk blocked, the server gone) or drawn: the invitation is
   * dropped from this page without a word to the server. It is never acknowledged as shown, so it
   * stays pending there until its expiry ends it (`expired`: it never reached the visitor); a
   * resync of this page, or the next invitation, tries the card again.
   */
  #undrawable(offer: InvitationOffer, error: unknown): void {
    if (this.#offer !== offer) return;
    console.warn(`Beckon: the invitation could not be shown (${error instanceof Error ? error.message : 'no card'}).`);
    this.#drop();
    this.#next();
  }

  /** Sends the `shown` acknowledgement once, and before any answer, as the server expects. */
  #acknowledge(id: string): void {
    if (this.#unshown !== id) return;
    this.#unshown = undefined;
    this.#connection.shown(id);
  }

  #countdown(offer: InvitationOffer): void {
    clearTimeout(this.#timer);
    const id = offer.interactionId;
    this.#timer = setTimeout(
      () => {
        if (this.#offer?.interactionId === id) void this.#answer('timed_out').catch(ignore);
      },
      Math.max(0, offer.remainingMs),
    );
  }

  /** Hides the current invitation without telling anyone. */
  #drop(): void {
    // A keyboard user who answered (or was inside when it was withdrawn) is not left on <body>.
    const card = this.#card;
    const back = card && this.matches(':focus-within') ? card.cameFrom : null;
    if (card) card.cameFrom = null;
    if (back) void this.updateComplete.then(() => back.isConnected && back.focus({ preventScroll: true }));
    clearTimeout(this.#timer);
    this.#unshown = undefined;
    this.#offer = null;
    this.#drawn = false;
    this.requestUpdate();
  }

  #next(): void {
    const offer = this.#offer ? undefined : this.#queue.shift();
    if (offer) this.#present(offer);
  }

  async #answer(outcome: Answer, channel?: string): Promise<void> {
    const offer = this.#offer;
    if (!offer) throw new Error('Beckon: no invitation to answer');
    const { interactionId, userData } = offer;
    if (outcome === 'accepted' && !(channel && offer.channels.includes(channel))) {
      throw new Error(`Beckon: channel "${String(channel)}" was not offered`);
    }
    this.#acknowledge(interactionId);
    this.#answered.add(interactionId);
    // Hide at once; the visitor should not wait for the network.
    this.#drop();
    const verdict = this.#connection.answer(channel ? { interactionId, outcome, channel } : { interactionId, outcome });
    if (outcome === 'accepted') this.#emit(DOM_EVENTS.accepted, { interactionId, channel: channel ?? '', userData });
    else if (outcome === 'declined') this.#emit(DOM_EVENTS.declined, { interactionId });
    else this.#emit(DOM_EVENTS.timeout, { interactionId });
    this.#next();
    const ack = await verdict;
    if (!ack.ok) throw Object.assign(new Error(`Beckon: ${ack.message}`), { code: ack.code });
  }

  /**
   * Dispatches a `beckon:*` event on the element. It bubbles and is composed,
   * so it reaches `document` and `window` too; it is sent to `window` directly
   * only when the element is not in the document, because a second dispatch
   * would deliver it twice to window listeners. Returns false if cancelled.
   */
  #emit<K extends keyof BeckonEventDetails>(type: K, detail: BeckonEventDetails[K], cancelable = false): boolean {
    const init: CustomEventInit<BeckonEventDetails[K]> = { detail, bubbles: true, composed: true, cancelable };
    const notCancelled = this.dispatchEvent(new CustomEvent(type, init));
    return this.isConnected ? notCancelled : window.dispatchEvent(new CustomEvent(type, init)) && notCancelled;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'beckon-invite': BeckonInvite;
  }
}
