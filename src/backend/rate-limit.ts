/**
 * Rate limit of the credentialed API (docs/security.md), per credential:
 * callers that present the API token share its budget; everyone else is
 * counted by address, so guessing tokens is throttled too. The widget script,
 * the pages and the health checks are not limited: behind a proxy every
 * visitor shares one address, and a shop must not lose its widget to a busy
 * hour.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { tokenMatcher } from './auth.js';
import { isDataRequest } from '../edge/host-and-origin.js';
import { BeckonFault } from '../core/faults.js';

export interface RateLimitOptions {
  perMinute: number;
  apiToken: string | null;
  /** Paths of the credentialed API (everything under them is limited). */
  prefixes: readonly string[];
}

export async function installRateLimit(app: FastifyInstance, options: RateLimitOptions): Promise<void> {
  const hasToken = tokenMatcher(options.apiToken);
  await app.register(rateLimit, {
    max: options.perMinute,
    timeWindow: 60_000,
    // Before authentication, so that wrong tokens are throttled as well.
    hook: 'onRequest',
    // The resolved route counts as well as the raw URL, so a percent-encoded or absolute-form URL is limited too.
    allowList: (request: FastifyRequest) => !isDataRequest(request, options.prefixes),
    // The key never holds the token itself.
    keyGenerator: (request: FastifyRequest) => (hasToken(request) ? 'credential:api-token' : `address:${request.ip}`),
    errorResponseBuilder: (_request, context) =>
      new BeckonFault('RATE_LIMITED', { message: `Too many requests; retry in ${context.after}.` }),
  });
}
