/**
 * Structured logs (pino, through Fastify): one JSON line per event, every
 * request line carrying its request id, and nothing secret. Fastify's request
 * serializer logs method, url and addresses only; the redaction below is the
 * second lock in case a header ever gets logged whole.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

/** Headers that carry credentials; never written to a log. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
];

export function loggerOptions(level: string): object {
  return { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
}

/** A request id a caller may choose (to follow a call through its own logs), if it is short and plain. */
const ACCEPTABLE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Honours `X-Request-Id` when it is plain text, else mints a UUID; the id is echoed in the answer. */
export function requestId(request: IncomingMessage): string {
  const offered = request.headers['x-request-id'];
  return typeof offered === 'string' && ACCEPTABLE_ID.test(offered) ? offered : randomUUID();
}

/** Every answer names its request id, so a caller can quote it when asking about a call. */
export function echoRequestId(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
}
