/**
 * Entry of the script-tag build (`/widget/beckon.js`):
 *
 *   <script async src="https://HOST/widget/beckon.js"></script>
 *
 * Finds its server, mounts one `<beckon-invite>` at the end of `<body>` and
 * exposes `window.Beckon` at once, and GWE's `window._gt` queue with it. It must never break the page it is on, so
 * nothing here throws.
 */
import { TAG_NAME, type BeckonInvite } from './beckon-invite/beckon-invite.js';
import './beckon-invite/define.js';
import { installGtQueue } from './gt-queue.js';
import { pageApi } from './page-api.js';

/**
 * The server: the script tag's `data-server`, else the origin the script was
 * loaded from. `document.currentScript` is set only while the script's top
 * level runs (async scripts included), which is when this is called; if a
 * tag manager injected it some other way, find the tag by its path.
 */
function findServer(): string | undefined {
  const script =
    document.currentScript instanceof HTMLScriptElement
      ? document.currentScript
      : document.querySelector<HTMLScriptElement>('script[src*="/widget/beckon"]');
  if (!script) return undefined;
  return script.dataset.server || new URL(script.src, document.baseURI).origin;
}

function mount(element: BeckonInvite): void {
  if (document.body) document.body.append(element);
  else document.addEventListener('DOMContentLoaded', () => mount(element), { once: true });
}

/**
 * Mounting renders the element and opens the socket. Doing that in a task of
 * its own, when the page is idle (at most a second later), keeps the
 * script's evaluation and the start of the connection from adding up to one
 * long task while the page is still loading.
 */
function whenIdle(work: () => void): void {
  if (typeof requestIdleCallback === 'function') requestIdleCallback(work, { timeout: 1000 });
  else setTimeout(work, 0);
}

try {
  const placed = document.querySelector(TAG_NAME);
  if (placed) {
    // A site placed the element itself: give it a server if it has none, add nothing.
    placed.server ||= findServer() ?? null;
  } else if (!window.Beckon) {
    // Beckon already set means this script ran before (included twice): one widget only.
    const server = findServer();
    if (server) {
      const element = document.createElement(TAG_NAME);
      element.server = server;
      // Before mounting, so a site can call Beckon.getIDs() right after this script runs.
      window.Beckon = pageApi(element);
      // A page instrumented for GWE queued its commands on window._gt: they wait for the connection like any call.
      installGtQueue(window.Beckon);
      whenIdle(() => {
        try {
          mount(element);
        } catch {
          // as above: a widget that cannot start is as if it were absent
        }
      });
    }
  }
} catch {
  // A widget that cannot start is as if it were absent.
}
