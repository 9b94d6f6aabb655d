/**
 * The widget's global types: the `beckon:*` DOM events, declared the way
 * Shoelace declares its own (merged into `GlobalEventHandlersEventMap`, so
 * `addEventListener` on `window`, `document` or the element is typed), and
 * `window.Beckon`. The ES entry re-exports from here so that bundler users
 * get both.
 */
import type { BeckonApi, BeckonEventDetails } from '../protocol/page-api.js';

/** Each `beckon:*` event as listeners receive it: a CustomEvent with the detail declared in the protocol. */
export type BeckonEventMap = { [K in keyof BeckonEventDetails]: CustomEvent<BeckonEventDetails[K]> };

/** The name of one `beckon:*` event. */
export type BeckonEventName = keyof BeckonEventDetails;

declare global {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface GlobalEventHandlersEventMap extends BeckonEventMap {}
  interface Window {
    /** Set by the widget script as soon as it runs (before the ids are known). */
    Beckon?: BeckonApi;
  }
}
