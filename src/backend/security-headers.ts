/**
 * Security headers on every answer (helmet), with a strict Content-Security-
 * Policy for the HTML pages Beckon serves (demo shop, console, API docs): no
 * inline script or style, no eval, nothing from other origins except
 * invitation pictures (`invitation.imageUrl` may be any https URL).
 */
import type { FastifyInstance } from 'fastify';
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

export async function installSecurityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: CONTENT_SECURITY_POLICY,
    // TLS ends at the proxy in front of Beckon, which is where HSTS belongs (docs/operations.md).
    strictTransportSecurity: false,
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });
  // helmet's same-origin CORP would stop <script src="https://beckon…/widget/beckon.js"> on a shop's pages.
  app.addHook('onRequest', async (request, reply) => {
    if (CROSS_ORIGIN_PREFIXES.some((prefix) => request.url.startsWith(prefix))) {
      void reply.header('cross-origin-resource-policy', 'cross-origin');
    }
  });
}
