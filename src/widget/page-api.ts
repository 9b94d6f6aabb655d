/**
 * `window.Beckon`, the page API for sites that draw their own UI, pass the
 * visitor's ids to their own backend, offer "don't invite me again", or tell
 * what the visitor does and who they are.
 */
import type { BeckonApi } from '../protocol/page-api.js';

/**
 * A frozen `window.Beckon` that forwards each call to the widget `widget()`
 * gives at the time of the call, and hides the rest of the element. The
 * script tag's loader may not know yet which element will be the page's
 * widget (docs/widget.md, "How the script loads"): it gives a promise of it,
 * and a call made meanwhile waits for it like any call waits for the
 * connection.
 */
export function pageApi(widget: () => BeckonApi | Promise<BeckonApi>): BeckonApi {
  const on = async () => widget();
  return Object.freeze<BeckonApi>({
    getIDs: async () => (await on()).getIDs(),
    accept: async (channel) => (await on()).accept(channel),
    decline: async () => (await on()).decline(),
    optOut: async () => (await on()).optOut(),
    optIn: async () => (await on()).optIn(),
    isOptedOut: async () => (await on()).isOptedOut(),
    track: async (name, data) => (await on()).track(name, data),
    signIn: async (userId, traits, options) => (await on()).signIn(userId, traits, options),
    signOut: async () => (await on()).signOut(),
    setUserInfo: async (traits) => (await on()).setUserInfo(traits),
  });
}
