/**
 * What a page tells about its visitor (docs/visitor-context.md): business
 * events and identity, recorded for the page that said it, and the rule that
 * keeps an erased browser erased. The socket adapter validates and
 * rate-limits what a page sends; this records it and decides what an
 * identity is worth.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { CONTEXT_DATA_MAX_BYTES, type ContextData, type SignInMessage } from '../protocol/index.js';
import { BeckonFault } from './faults.js';
import { erasureMarkerKey } from './erasure.js';
import type { BeckonStore, IdentityChange } from './store.js';

export interface VisitorContextOptions {
  /**
   * BECKON_IDENTITY_SECRET: a sign-in is verified only with the site
   * server's HMAC of its userId under it; null: no sign-in is verified.
   */
  identitySecret: string | null;
  /** The secret that signs visit tokens, which keys the erasure markers too. */
  tokenSecret: string;
  now?: () => number;
}

/** The page a message came from. */
export interface ContextPage {
  visitId: string;
  pageId: string;
}

/** The hex HMAC-SHA256 of `userId` under the identity secret: what the site's server computes. */
export function identityToken(secret: string, userId: string): string {
  return createHmac('sha256', secret).update(userId, 'utf8').digest('hex');
}

/** Whether `token` is the identity token of `userId`, compared in constant time. */
export function verifiesIdentity(secret: string | null, userId: string, token: string | undefined): boolean {
  if (secret === null || token === undefined) return false;
  const expected = Buffer.from(identityToken(secret, userId), 'utf8');
  // Hex is case-insensitive; anything longer or shorter is wrong without comparing.
  const given = Buffer.from(token.toLowerCase(), 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export class VisitorContext {
  private readonly now: () => number;

  constructor(
    private readonly store: BeckonStore,
    private readonly options: VisitorContextOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Records a business event of an open page. */
  async track(page: ContextPage, event: { name: string; data: ContextData }): Promise<void> {
    const result = await this.store.recordBusinessEvent({ ...page, ...event }, this.now());
    if (result === 'no-page') throw new BeckonFault('UNKNOWN_VISIT');
  }

  /** The visitor signed in; verified only with the site server's token for this userId. */
  async signIn(page: ContextPage, signIn: SignInMessage): Promise<{ verified: boolean }> {
    const verified = verifiesIdentity(this.options.identitySecret, signIn.userId, signIn.token);
    await this.change(page, { kind: 'sign-in', userId: signIn.userId, verified, traits: signIn.traits });
    return { verified };
  }

  async signOut(page: ContextPage): Promise<void> {
    await this.change(page, { kind: 'sign-out' });
  }

  /**
   * Merges traits into the visit's identity. The merge must stay within the
   * size one message may carry, or pages could grow a visit's traits without
   * bound a few keys at a time; checked on what is stored now (two pages of
   * one visit merging at the same instant could pass it once, by at most one
   * message).
   */
  async userInfo(page: ContextPage, traits: ContextData): Promise<void> {
    const known = (await this.store.visitContexts([page.visitId], 0)).get(page.visitId)?.identity?.traits ?? {};
    const merged = { ...known, ...traits };
    if (new TextEncoder().encode(JSON.stringify(merged)).length > CONTEXT_DATA_MAX_BYTES) {
      throw new BeckonFault('INVALID_PARAMETER', {
        message: `traits: with the traits the visit already has, they must be at most ${CONTEXT_DATA_MAX_BYTES} bytes as JSON`,
      });
    }
    await this.change(page, { kind: 'user-info', traits });
  }

  /**
   * Whether a visit token issued at `issuedAt` for `globalVisitId` belongs to
   * a browser erased since: then it must start a new browser, not revive the
   * erased one.
   */
  async erasedSince(globalVisitId: string, issuedAt: number): Promise<boolean> {
    const erasedAt = await this.store.erasedAt(erasureMarkerKey(this.options.tokenSecret, globalVisitId), this.now());
    return erasedAt !== null && erasedAt >= issuedAt;
  }

  private async change(page: ContextPage, change: IdentityChange): Promise<void> {
    const result = await this.store.changeIdentity(page.visitId, page.pageId, change, this.now());
    if (result === 'no-visit') throw new BeckonFault('UNKNOWN_VISIT');
  }
}
