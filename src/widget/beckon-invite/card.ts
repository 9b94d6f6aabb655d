/**
 * The invitation card of `<beckon-invite>`: Lit, the styles, the built-in
 * words, the dialog and what it says in the live region. It draws into the
 * element's shadow root what the element says is in force, and answers
 * through the element's own page API; it holds no state of the invitation.
 *
 * The ES module bundles it; the script tag loads it as a chunk of its own
 * (`/widget/beckon-ui.js`, built from ../ui.ts) when it is first needed.
 */
// lit-html alone: the card is a template rendered into the element's shadow root, not a LitElement.
import { html, nothing, render, type TemplateResult } from 'lit/html.js';
import type { BeckonApi } from '../../protocol/page-api.js';
import type { InvitationOffer } from '../../protocol/socket.js';
import { acceptLabel, stringsFor, type WidgetStrings } from '../strings.js';
import { styles } from './beckon-invite.styles.js';

/** What the card needs of its element. */
export type CardHost = HTMLElement & Pick<BeckonApi, 'accept' | 'decline'>;

/** A card attached to one element. */
export interface Card {
  /** Draws `offer` (or no card), synchronously. */
  draw(offer: InvitationOffer | null): void;
  /** The page element a keyboard user's focus came into the card from; the element sends it back there. */
  cameFrom: HTMLElement | null;
}

/** Attaches the card to `host`'s shadow root, drawn before its live region `status`. */
export type AttachCard = (host: CardHost, root: ShadowRoot, status: HTMLElement) => Card;

/** Images the card may load: https, or a path on the site itself (never `//host`, `data:` or `javascript:`). */
const SAFE_IMAGE_URL = /^(https:\/\/|\/(?![/\\]))/i;

/** Button handlers have nobody to report a refused answer to; the card is already gone. */
const ignore = (): void => undefined;

/** One stylesheet for every card of the page. */
let sheet: CSSStyleSheet | undefined;

/**
 * A constructed stylesheet adopted by the shadow root: allowed by a
 * Content-Security-Policy without 'unsafe-inline'. A browser without
 * constructed stylesheets gets a `<style>` element, with the nonce of
 * `window.litNonce` if the page set one, as Lit does.
 */
function adoptStyles(root: ShadowRoot): void {
  if ('adoptedStyleSheets' in root && 'replaceSync' in CSSStyleSheet.prototype) {
    if (!sheet) {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(styles);
    }
    root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
    return;
  }
  const style = document.createElement('style');
  const nonce = (window as { litNonce?: string }).litNonce;
  if (nonce) style.setAttribute('nonce', nonce);
  style.textContent = styles;
  root.append(style);
}

export const attachCard: AttachCard = (host, root, status) => {
  adoptStyles(root);
  /** The offer whose words are in the live region. */
  let announced: InvitationOffer | null = null;

  /** Built-in words: the profile's locale, else the element's `lang`, else the page's, else the browser's. */
  const wordsFor = (offer: InvitationOffer): WidgetStrings =>
    stringsFor(offer.invitation.locale, host.lang, document.documentElement.lang, navigator.language);
  const onDecline = () => void host.decline().catch(ignore);
  const onKeydown = (event: KeyboardEvent) => {
    if (event.key === 'Escape') onDecline();
  };
  const onFocusin = (event: FocusEvent) => {
    // Moving between the card's own buttons (in the shadow root) or slotted
    // content keeps the page element it came from.
    const from = event.relatedTarget;
    if (from instanceof HTMLElement && from !== host && !host.contains(from) && !root.contains(from)) {
      card.cameFrom = from;
    }
  };

  const dialog = (offer: InvitationOffer): TemplateResult => {
    const text = offer.invitation;
    const strings = wordsFor(offer);
    const image = text.imageUrl && SAFE_IMAGE_URL.test(text.imageUrl) ? text.imageUrl : null;
    return html`<div
      class="card"
      part="card"
      role="dialog"
      aria-labelledby="title"
      aria-describedby=${text.message ? 'message' : nothing}
      lang=${text.locale || nothing}
      @keydown=${onKeydown}
      @focusin=${onFocusin}
    >
      <div class="head" part="head">
        <slot name="image"
          >${image ? html`<img class="image" part="image" src=${image} alt="" width="48" height="48" />` : nothing}</slot
        >
        <h2 class="title" part="title" id="title">${text.title || strings.title}</h2>
        <button class="close" part="button close" type="button" aria-label=${strings.close} @click=${onDecline}>
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
              @click=${() => void host.accept(channel).catch(ignore)}
            >
              ${acceptLabel(strings, channel, text.acceptLabels)}
            </button>`,
        )}
        <button class="decline" part="button decline" type="button" @click=${onDecline}>
          ${text.declineLabel || strings.decline}
        </button>
      </div>
      <slot name="footer"></slot>
    </div>`;
  };

  const card: Card = {
    cameFrom: null,
    draw(offer) {
      render(offer ? dialog(offer) : nothing, root, { host, renderBefore: status });
      if (offer === announced) return;
      announced = offer;
      // Said once: the region keeps this text until the card goes, and drawing again does not change it.
      if (!offer) {
        if (status.textContent) status.textContent = '';
        return;
      }
      const strings = wordsFor(offer);
      const title = offer.invitation.title || strings.title;
      const message = offer.invitation.message;
      status.textContent = `${strings.announce}: ${title}${message ? (/[.?!…:]$/.test(title) ? ' ' : '. ') + message : ''}`;
    },
  };
  return card;
};
