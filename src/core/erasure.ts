/**
 * What is remembered of an erased browser (docs/visitor-context.md): not its
 * id, which must not outlive the erasure anywhere in the store, but a keyed
 * hash of it, so that its old visit token (kept in the browser's
 * localStorage) starts a new browser instead of reviving the erased one. The
 * key is the server secret that signs visit tokens, so the hash cannot be
 * computed back from a list of candidate ids by anyone without the secret.
 */
import { createHmac } from 'node:crypto';

/** As long as a visit token stays valid: after that an old token is refused anyway. */
export const ERASURE_MARKER_MS = 365 * 24 * 3600 * 1000;

/** The marker of an erased browser: a hex HMAC-SHA256 of its globalVisitId under the server secret. */
export function erasureMarkerKey(secret: string, globalVisitId: string): string {
  return createHmac('sha256', secret).update(`erased|${globalVisitId}`).digest('hex');
}
