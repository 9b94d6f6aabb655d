/**
 * Caller authentication for the REST API (docs/security.md): Bearer token, or
 * HTTP Basic with the token as password because SCXML strategies can send
 * Basic. With no token configured, only loopback callers are served.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { isForwarded } from '../edge/client-address.js';
import { BeckonFault } from '../core/faults.js';

const digest = (text: string) => createHash('sha256').update(text).digest();

/** True for 127.0.0.0/8 and ::1, also in their IPv4-mapped IPv6 forms. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

/** The token a request presents, from `Bearer <token>` or the password of `Basic`. */
export function presentedToken(header: string | undefined): string | null {
  if (!header) return null;
  const [scheme, value] = header.trim().split(/\s+/, 2);
  if (!scheme || !value) return null;
  if (scheme.toLowerCase() === 'bearer') return value;
  if (scheme.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon === -1 ? null : decoded.slice(colon + 1);
  }
  return null;
}

/** Whether a request presents the configured token; always false when none is configured. */
export function tokenMatcher(apiToken: string | null): (request: FastifyRequest) => boolean {
  // Digests of equal length make the comparison constant-time whatever the token's length.
  const expected = apiToken === null ? null : digest(apiToken);
  return (request) => {
    if (expected === null) return false;
    const presented = presentedToken(request.headers.authorization);
    return presented !== null && timingSafeEqual(digest(presented), expected);
  };
}

/** A preHandler that refuses callers without the right credentials. */
export function requireCaller(apiToken: string | null, options: { trustProxy?: number } = {}) {
  const matches = tokenMatcher(apiToken);
  const trustProxy = options.trustProxy ?? 0;
  return async (request: FastifyRequest): Promise<void> => {
    if (apiToken === null) {
      // A proxy on this machine makes every caller look local: without trusted hops, a forwarded
      // request is someone else's, and without a token only this machine is served.
      const local =
        trustProxy > 0 ? isLoopback(request.ip) : isLoopback(request.socket.remoteAddress) && !isForwarded(request.raw);
      if (local) return;
      throw new BeckonFault('UNAUTHORIZED', {
        message: 'No BECKON_API_TOKEN is configured, so only callers on this machine are served.',
      });
    }
    if (!matches(request)) throw new BeckonFault('UNAUTHORIZED');
  };
}
