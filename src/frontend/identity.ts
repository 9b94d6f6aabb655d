/**
 * Visitor identity (docs/protocol.md, "Ids and tokens"). The server mints
 * every id and signs it into a token the widget keeps; a page can only resume
 * ids whose token verifies, so nobody can claim another visitor's visit by
 * guessing or copying an id.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export { mintId } from '../core/ids.js';

const ID = /^[A-Za-z0-9_-]{22}$/;
/** A browser's globalVisitId lives a year after it was last seen. */
export const GLOBAL_VISIT_TTL_MS = 365 * 24 * 3600 * 1000;

export interface VisitClaim {
  globalVisitId: string;
  visitId: string;
  /** When the token was issued (ms); each session reissues it, so the year slides. */
  issuedAt: number;
}

export class IdentitySigner {
  constructor(private readonly secret: string) {}

  private mac(kind: 'visit' | 'page', fields: string[]): string {
    // The kind is part of the MAC so a page token can never pass as a visit token.
    return createHmac('sha256', this.secret)
      .update(`${kind}|${fields.join('|')}`)
      .digest('base64url');
  }

  signVisit(claim: VisitClaim): string {
    const fields = [claim.globalVisitId, claim.visitId, claim.issuedAt.toString(36)];
    return `${fields.join('.')}.${this.mac('visit', fields)}`;
  }

  /** The claim inside a visit token, or null when it is malformed, forged or older than a year. */
  verifyVisit(token: string | undefined, now: number): VisitClaim | null {
    const parts = token?.split('.');
    if (!parts || parts.length !== 4) return null;
    const [globalVisitId, visitId, issued, mac] = parts as [string, string, string, string];
    if (!ID.test(globalVisitId) || !ID.test(visitId) || !/^[0-9a-z]{1,12}$/.test(issued)) return null;
    if (!sameText(mac, this.mac('visit', [globalVisitId, visitId, issued]))) return null;
    const issuedAt = parseInt(issued, 36);
    if (now - issuedAt > GLOBAL_VISIT_TTL_MS) return null;
    return { globalVisitId, visitId, issuedAt };
  }

  signPage(visitId: string, pageId: string): string {
    return `${visitId}.${pageId}.${this.mac('page', [visitId, pageId])}`;
  }

  /** The pageId inside a page token, if it verifies and belongs to `visitId`. */
  verifyPage(token: string | undefined, visitId: string): string | null {
    const parts = token?.split('.');
    if (!parts || parts.length !== 3) return null;
    const [tokenVisit, pageId, mac] = parts as [string, string, string];
    if (tokenVisit !== visitId || !ID.test(pageId)) return null;
    return sameText(mac, this.mac('page', [tokenVisit, pageId])) ? pageId : null;
  }
}

/** Constant-time comparison, so a forger learns nothing from response times. */
export function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
