/**
 * Caller authentication for the REST API (SPEC §6): Bearer token, or HTTP
 * Basic with the token as password because SCXML strategies can send Basic.
 * With no token configured, only loopback callers are served.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { BeckonFault } from './faults.js';

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

/** A preHandler that refuses callers without the right credentials. */
export function requireCaller(apiToken: string | null) {
  // Digests of equal length make the comparison constant-time whatever the token's length.
  const expected = apiToken === null ? null : digest(apiToken);
  return async (request: FastifyRequest): Promise<void> => {
    if (expected === null) {
      if (isLoopback(request.socket.remoteAddress)) return;
      throw new BeckonFault('UNAUTHORIZED', {
        message: 'No BECKON_API_TOKEN is configured, so only callers on this machine are served.',
      });
    }
    const presented = presentedToken(request.headers.authorization);
    if (presented === null || !timingSafeEqual(digest(presented), expected)) {
      throw new BeckonFault('UNAUTHORIZED');
    }
  };
}
