/**
 * The origin allow-list for visitor sockets (docs/security.md): the server's own
 * origin always; the configured origins; and, when none are configured, any
 * loopback origin so that a local install works out of the box.
 */
import type { IncomingMessage } from 'node:http';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export function isOriginAllowed(request: IncomingMessage, allowed: readonly string[] | null): boolean {
  const origin = request.headers.origin;
  // Browsers always send Origin on a socket handshake; other clients can claim any origin anyway.
  if (origin === undefined) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.host === request.headers.host) return true;
  if (allowed === null) return LOOPBACK_HOSTS.has(url.hostname) || url.hostname.startsWith('127.');
  return allowed.includes(url.origin);
}
