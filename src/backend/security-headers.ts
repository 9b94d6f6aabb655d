/**
 * Security headers on every answer (helmet), with a strict Content-Security-
 * Policy for the HTML pages Beckon serves (demo shop, console, API docs): no
 * inline script or style, no eval, nothing from other origins except
 * invitation pictures (`invitation.imageUrl` may be any https URL).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import helmet from '@fastify/helmet';

export const CONTENT_SECURITY_POLICY = {
  useDefaults: false,
  directives: {
    'default-src': ["'self'"],
    'script-src': ["'self'"],
    'style-src': ["'self'"],
    'img-src': ["'self'", 'data:', 'https:'],
    'font-src': ["'self'"],
    // 'self' covers ws: and wss: of the same host (CSP level 3), which is what the widget's socket uses.
    'connect-src': ["'self'"],
    'object-src': ["'none'"],
    'base-uri': ["'self'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'self'"],
  },
};

/** Served to other sites' pages (the widget script), so cross-origin reads must be allowed. */
const CROSS_ORIGIN_PREFIXES = ['/widget/'];

/**
 * The headers helmet sets with these options. They are the same on every
 * answer (no nonces), and @fastify/helmet builds helmet's middleware again
 * for every request, which was a visible part of an engage call's CPU time:
 * so helmet runs once, at start, in a throwaway instance, and each request
 * gets the headers it set.
 */
async function helmetHeaders(): Promise<[string, string][]> {
  const probe = Fastify({ logger: false });
  await probe.register(helmet, {
    contentSecurityPolicy: CONTENT_SECURITY_POLICY,
    // TLS ends at the proxy in front of Beckon, which is where HSTS belongs (docs/operations.md).
    strictTransportSecurity: false,
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });
  // helmet's hooks have set its headers on the raw response by the time a handler runs.
  probe.get('/', async (_request, reply) => reply.raw.getHeaders());
  const answer = await probe.inject({ method: 'GET', url: '/' });
  await probe.close();
  return Object.entries(answer.json<Record<string, string | number | string[]>>()).map(([name, value]) => [
    name,
    String(value),
  ]);
}

export async function installSecurityHeaders(app: FastifyInstance): Promise<void> {
  const headers = await helmetHeaders();
  // helmet's same-origin CORP would stop <script src="https://beckon…/widget/beckon.js"> on a shop's pages.
  const crossOrigin = headers.map(([name, value]): [string, string] => [
    name,
    name === 'cross-origin-resource-policy' ? 'cross-origin' : value,
  ]);
  // On the raw response, as helmet does: answers that take over the response (event streams) get them too.
  app.addHook('onRequest', (request, reply, done) => {
    const set = CROSS_ORIGIN_PREFIXES.some((prefix) => request.url.startsWith(prefix)) ? crossOrigin : headers;
    for (const [name, value] of set) reply.raw.setHeader(name, value);
    done();
  });
}
