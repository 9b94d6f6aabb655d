/**
 * `window.Beckon`, the page API for sites that draw their own UI, pass the
 * visitor's ids to their own backend, offer "don't invite me again", or tell
 * what the visitor does and who they are.
 */
import type { BeckonApi } from '../protocol/page-api.js';

/** A frozen `window.Beckon` that forwards to `target` and hides the rest of the element. */
export function pageApi(target: BeckonApi): BeckonApi {
  return Object.freeze<BeckonApi>({
    getIDs: () => target.getIDs(),
    accept: (channel: string) => target.accept(channel),
    decline: () => target.decline(),
    optOut: () => target.optOut(),
    optIn: () => target.optIn(),
    isOptedOut: () => target.isOptedOut(),
    track: (name, data) => target.track(name, data),
    signIn: (userId, traits, options) => target.signIn(userId, traits, options),
    signOut: () => target.signOut(),
    setUserInfo: (traits) => target.setUserInfo(traits),
  });
}
