/**
 * Which address a request comes from. Behind reverse proxies the peer is the
 * nearest proxy; each proxy appends the address it saw to X-Forwarded-For.
 * Only the hops we were told to trust (BECKON_TRUST_PROXY) are believed, so
 * a client cannot pick its own address by sending the header itself.
 */
import type { IncomingMessage } from 'node:http';

/**
 * The client address after trusting `trustedHops` proxies, with the same
 * rule as Fastify's numeric `trustProxy` (so REST and sockets agree).
 */
export function clientAddress(request: IncomingMessage, trustedHops: number): string {
  const peer = request.socket.remoteAddress ?? '';
  if (trustedHops <= 0) return peer;
  const header = request.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  // Nearest first: the peer, then what each proxy saw, right to left.
  const chain = [peer, ...forwarded.reverse()];
  return chain[Math.min(trustedHops, chain.length - 1)]!;
}

/** True when a proxy forwarded the request (it names a client other than the peer). */
export function isForwarded(request: IncomingMessage): boolean {
  return request.headers['x-forwarded-for'] !== undefined || request.headers.forwarded !== undefined;
}
