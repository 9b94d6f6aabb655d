/**
 * Entry of the script-tag build (`/widget/beckon.js`):
 *
 *   <script async src="https://HOST/widget/beckon.js"></script>
 *
 * Finds its server and exposes `window.Beckon` at once, and GWE's
 * `window._gt` queue with it; once the page has loaded, mounts one
 * `<beckon-invite>` at the end of `<body>`, which connects. It must never
 * break the page it is on, so nothing here throws.
 *
 * What every page runs is only the connection, the page API and the state of
 * the invitation. The card (Lit, its styles and words) is the chunk
 * `beckon-ui.js` beside this script, on the same origin: imported when the
 * page is idle after the connection is up, or when an invitation arrives
 * first. A chunk that cannot be loaded leaves the invitation undrawn and
 * unacknowledged (see BeckonInvite), never an error on the page.
 */
import { BeckonInvite, TAG_NAME, provideCard, whenIdle } from './beckon-invite/beckon-invite.js';
import type { AttachCard } from './beckon-invite/card.js';
import { installGtQueue } from './gt-queue.js';
import { pageApi } from './page-api.js';

/** What the chunk exports (src/widget/ui.ts). */
interface UiChunk {
  attachCard: AttachCard;
}

/**
 * The server: the script tag's `data-server`, else the origin the script was
 * loaded from. `document.currentScript` is set only while the script's top
 * level runs (async scripts included), which is when this is called; if a
 * tag manager injected it some other way, find the tag by its path.
 */
function findScript(): HTMLScriptElement | null {
  return document.currentScript instanceof HTMLScriptElement
    ? document.currentScript
    : document.querySelector<HTMLScriptElement>('script[src*="/widget/beckon"]');
}

function findServer(script: HTMLScriptElement | null): string | undefined {
  if (!script) return undefined;
  return script.dataset.server || new URL(script.src, document.baseURI).origin;
}

/**
 * The card comes from beside this script (same origin and folder, whatever
 * `data-server` says), as an ES module: allowed by the same `script-src` as
 * the script, no inline code, no eval. A failed import stays failed for the
 * page's life in the browser's module map, so a retry asks for a new URL.
 */
function cardBeside(script: HTMLScriptElement): void {
  const chunk = new URL('beckon-ui.js', new URL(script.src, document.baseURI)).href;
  let attempts = 0;
  provideCard({
    load: () =>
      (import(/* @vite-ignore */ attempts++ ? `${chunk}?attempt=${attempts}` : chunk) as Promise<UiChunk>).then(
        (ui) => ui.attachCard,
      ),
  });
}

/**
 * How long the connection waits for a page that is still loading: a page
 * whose `load` never comes (a stalled image, a long-polling frame) is still
 * connected, and invitable, this long after the script ran.
 */
const LOAD_WAIT_MAX_MS = 3000;

/** Runs `work` once, after the page's `load` or LOAD_WAIT_MAX_MS from now, whichever is first. */
function afterLoad(work: () => void): void {
  if (document.readyState === 'complete') {
    work();
    return;
  }
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    removeEventListener('load', once);
    work();
  };
  const timer = setTimeout(once, LOAD_WAIT_MAX_MS);
  addEventListener('load', once);
}

/** Runs `work` once the page is parsed (its `<body>` and any `<beckon-invite>` the site placed are there). */
function whenParsed(work: () => void): void {
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', work, { once: true });
  else work();
}

/**
 * The widget of this page: the site's own `<beckon-invite>` if it placed
 * one (given this script's server if it has none), else a new one at the
 * end of `<body>` if the script knows its server. Defining the element,
 * creating it and mounting it, which opens the socket (reading the visit
 * token, the first use of the origin's storage, the WebSocket, the session
 * and its listeners), are all left to this moment, after the page's load
 * and when it is idle: none of it is needed to draw the page.
 */
function startWidget(script: HTMLScriptElement | null, server: string | undefined): BeckonInvite | null {
  // Defined here, not by an import of define.ts: that one bundles the card.
  if (!customElements.get(TAG_NAME)) {
    if (script) cardBeside(script);
    customElements.define(TAG_NAME, BeckonInvite);
  }
  const placed = document.querySelector(TAG_NAME);
  if (placed) {
    placed.server ||= server ?? null;
    return placed;
  }
  if (!server) return null;
  const element = document.createElement(TAG_NAME);
  element.server = server;
  document.body.append(element);
  return element;
}

try {
  const script = findScript();
  const server = findServer(script);
  /** Starts the widget after the page's load, once it is parsed, when it is idle. */
  const whenStarted = (then?: (widget: BeckonInvite | null) => void) =>
    afterLoad(() =>
      whenParsed(() =>
        whenIdle(() => {
          try {
            const widget = startWidget(script, server);
            then?.(widget);
          } catch {
            // as below: a widget that cannot start is as if it were absent (its calls never settle)
          }
        }),
      ),
    );
  // Beckon already set means this script ran before (included twice), or the page has the ES module's
  // widget: one widget only.
  if (!window.Beckon) {
    if (server) {
      // Set at once, so a site can call Beckon.getIDs() right after this script runs: a call made before
      // the widget starts waits for it, as any call waits for the connection.
      let widget: BeckonInvite | Promise<BeckonInvite> = new Promise((started) =>
        whenStarted((element) => started((widget = element!))),
      );
      window.Beckon = pageApi(() => widget);
      // A page instrumented for GWE queued its commands on window._gt: they wait for the widget and its
      // connection like any call.
      installGtQueue(window.Beckon);
    } else {
      // No server known to the script (its tag not found): a <beckon-invite> the site placed, with its
      // own server attribute, is still defined, and provides the page API itself.
      whenStarted();
    }
  }
} catch {
  // A widget that cannot start is as if it were absent.
}
