import { LitElement, html, nothing, type PropertyDeclarations, type TemplateResult } from 'lit';
import type { BeckonApi, BeckonEventDetails, BeckonIDs, FlatData } from '../../protocol/page-api.js';
import type { ClientToServerEvents, InvitationOffer, Session, Withdrawal } from '../../protocol/socket.js';
import { DOM_EVENTS, SOCKET_EVENTS, type Answer } from '../../protocol/names.js';
import { USER_ID_MAX, eventNameProblem, flatDataProblem, userIdProblem } from '../../protocol/visitor-rules.js';
import { ConnectionController, type ContextEvent } from '../connection-controller.js';
import { installGtQueue } from '../gt-queue.js';
import { pageApi } from '../page-api.js';
import { acceptLabel, stringsFor, type WidgetStrings } from '../strings.js';
import { styles } from './beckon-invite.styles.js';

/** The element's tag name. */
export const TAG_NAME = 'beckon-invite';

/** Images the card may load: https, or a path on the site itself (never `//host`, `data:` or `javascript:`). */
const SAFE_IMAGE_URL = /^(https:\/\/|\/(?![/\\]))/i;

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
 * Shows a Beckon invitation to the visitor and reports the visitor's answer
 * to the server. The loader script mounts one at the end of `<body>`; with a
 * bundler, import `beckon/widget` and place `<beckon-invite server="…">`.
 *
 * The card is a non-modal dialog named by its title and described by its
 * message: it never takes focus, is announced once through a polite live
 * region, and Escape inside it declines. Opted-out visitors never see one.
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
export class BeckonInvite extends LitElement implements BeckonApi {
  static override styles = styles;

  // `static properties` and `declare` fields instead of decorators: the
  // project's tsconfig has no experimentalDecorators, and a class field
  // initializer would shadow Lit's accessors.
  static override properties: PropertyDeclarations = {
    server: { type: String },
    position: { type: String, reflect: true },
    _offer: { state: true },
    _drawn: { state: true },
    _announcement: { state: true },
  };

  /** Origin of the Beckon server; the connection opens once it is set. */
  declare server: string | null;
  /** Corner of the card; `bottom-right` when unset. */
  declare position: string | null;
  /** The invitation in force on this page, drawn by us or by the site. */
  declare private _offer: InvitationOffer | null;
  /** False when the site cancelled `beckon:invite` to draw its own UI. */
  declare private _drawn: boolean;
  /** Text of the polite live region. */
  declare private _announcement: string;

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
  /** Where a keyboard user's focus was before it entered the card: it goes back there when the card goes. */
  #cameFrom: HTMLElement | null = null;
  #ids: BeckonIDs | undefined;
  #resolveIds: (ids: BeckonIDs) => void = ignore;
  readonly #idsReady = new Promise<BeckonIDs>((resolve) => (this.#resolveIds = resolve));
  #ownsPageApi = false;

  constructor() {
    super();
    this.server = null;
    this.position = null;
    this._offer = null;
    this._drawn = false;
    this._announcement = '';
  }

  override connectedCallback(): void {
    super.connectedCallback();
    // A hand-placed element provides the page API itself; the loader sets it earlier.
    if (!window.Beckon) {
      window.Beckon = pageApi(this);
      this.#ownsPageApi = true;
      installGtQueue(window.Beckon);
    }
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    // The socket closes with the element; the next session resyncs whatever is still in force.
    this.#drop();
    this.#queue = [];
    if (this.#ownsPageApi) {
      delete window.Beckon;
      this.#ownsPageApi = false;
    }
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

  override render(): TemplateResult {
    const offer = this._drawn ? this._offer : null;
    return html`${offer ? this.#card(offer) : nothing}
      <div class="status" role="status" aria-live="polite">${this._announcement}</div>`;
  }

  #card(offer: InvitationOffer): TemplateResult {
    const text = offer.invitation;
    const strings = this.#strings(offer);
    const image = text.imageUrl && SAFE_IMAGE_URL.test(text.imageUrl) ? text.imageUrl : null;
    return html`<div
      class="card"
      part="card"
      role="dialog"
      aria-labelledby="title"
      aria-describedby=${text.message ? 'message' : nothing}
      lang=${text.locale || nothing}
      @keydown=${this.#onKeydown}
      @focusin=${this.#onFocusin}
    >
      <div class="head" part="head">
        <slot name="image"
          >${image ? html`<img class="image" part="image" src=${image} alt="" width="48" height="48" />` : nothing}</slot
        >
        <h2 class="title" part="title" id="title">${text.title || strings.title}</h2>
        <button class="close" part="button close" type="button" aria-label=${strings.close} @click=${this.#onDecline}>
          <span aria-hidden="true">×</span>
        </button>
      </div>
      ${text.message ? html`<p class="message" part="message" id="message">${text.message}</p>` : nothing}
      <slot></slot>
      <div class="actions" part="actions">
        ${offer.channels.map(
          (channel) =>
            html`<button
              class="accept"
              part="button accept accept-${channel}"
              type="button"
              @click=${() => void this.accept(channel).catch(ignore)}
            >
              ${acceptLabel(strings, channel, text.acceptLabels)}
            </button>`,
        )}
        <button class="decline" part="button decline" type="button" @click=${this.#onDecline}>
          ${text.declineLabel || strings.decline}
        </button>
      </div>
      <slot name="footer"></slot>
    </div>`;
  }

  /** Built-in words: the profile's locale, else the element's `lang`, else the page's, else the browser's. */
  #strings(offer: InvitationOffer): WidgetStrings {
    return stringsFor(offer.invitation.locale, this.lang, document.documentElement.lang, navigator.language);
  }

  #onDecline(): void {
    void this.decline().catch(ignore);
  }

  #onKeydown(event: KeyboardEvent): void {
    if (event.key === 'Escape') this.#onDecline();
  }

  #onFocusin(event: FocusEvent): void {
    // Moving between the card's own buttons (in the shadow root) or slotted
    // content keeps the page element it came from.
    const from = event.relatedTarget;
    if (from instanceof HTMLElement && from !== this && !this.contains(from) && !this.renderRoot.contains(from)) {
      this.#cameFrom = from;
    }
  }

  #onSession(session: Session): void {
    const { globalVisitId, visitId, pageId } = session;
    const first = !this.#ids;
    this.#ids = { globalVisitId, visitId, pageId };
    this.#optedOut = session.optedOut;
    if (first) {
      this.#resolveIds({ ...this.#ids });
      this.#emit(DOM_EVENTS.ready, { ...this.#ids });
    }
    // The store is the truth: after a reconnect show exactly what the session says.
    const offer = session.optedOut ? null : session.invitation;
    const next = offer && !this.#answered.has(offer.interactionId) ? offer : null;
    this.#queue = [];
    if (next && next.interactionId === this._offer?.interactionId) {
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
      this._offer?.interactionId === id ||
      this.#queue.some((o) => o.interactionId === id)
    ) {
      return;
    }
    if (this._offer) this.#queue.push(offer);
    else this.#present(offer);
  }

  #onWithdraw({ interactionId, state }: Withdrawal): void {
    const shown = this._offer?.interactionId === interactionId;
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
    this._offer = offer;
    this.#unshown = id;
    this.#countdown(offer);
    const draw = this.#emit(DOM_EVENTS.invite, offer, true);
    // A listener may have answered it already, from inside the event.
    if (this._offer !== offer) return;
    this._drawn = draw;
    if (draw) {
      // Said once: the region keeps this text until the card goes, and re-renders do not change it.
      const strings = this.#strings(offer);
      const title = offer.invitation.title || strings.title;
      const message = offer.invitation.message;
      this._announcement = `${strings.announce}: ${title}${message ? (/[.?!…:]$/.test(title) ? ' ' : '. ') + message : ''}`;
    }
    // The server counts the invitation as delivered only once it is really on screen.
    void this.updateComplete.then(() => this.#acknowledge(id));
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
        if (this._offer?.interactionId === id) void this.#answer('timed_out').catch(ignore);
      },
      Math.max(0, offer.remainingMs),
    );
  }

  /** Hides the current invitation without telling anyone. */
  #drop(): void {
    // A keyboard user who answered (or was inside when it was withdrawn) is not left on <body>.
    const back = this.matches(':focus-within') ? this.#cameFrom : null;
    this.#cameFrom = null;
    if (back) void this.updateComplete.then(() => back.isConnected && back.focus({ preventScroll: true }));
    clearTimeout(this.#timer);
    this.#unshown = undefined;
    this._offer = null;
    this._drawn = false;
    this._announcement = '';
  }

  #next(): void {
    const offer = this._offer ? undefined : this.#queue.shift();
    if (offer) this.#present(offer);
  }

  async #answer(outcome: Answer, channel?: string): Promise<void> {
    const offer = this._offer;
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
