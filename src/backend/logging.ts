/**
 * Structured logs (pino, through Fastify): one JSON line per event, every
 * request line carrying its request id, and nothing secret. On a terminal
 * (someone trying Beckon out) the same entries are drawn by pino-pretty
 * instead; anywhere else (a service manager, a container, a pipe, a test)
 * they stay JSON, one line each, for log collectors. Fastify's request
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

/** pino's options; with `stream` (from prettyLogStream) entries go there instead of stdout as JSON. */
export function loggerOptions(level: string, stream?: NodeJS.WritableStream): object {
  return { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, ...(stream ? { stream } : {}) };
}

/**
 * Human-readable log lines for a terminal: time, level, message, then the
 * entry's fields. Synchronous, so the last lines before an exit are not lost.
 * Loaded only when wanted: JSON logging needs none of it.
 */
export async function prettyLogStream(): Promise<NodeJS.WritableStream> {
  const { default: pretty } = await import('pino-pretty');
  return pretty({ colorize: true, sync: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' });
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
