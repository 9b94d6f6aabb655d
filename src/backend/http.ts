/**
 * REST plumbing shared by every route: the two accepted body encodings, and
 * the one error handler that turns anything thrown into a FAULT body. No
 * HTML error page, stack trace or internal message ever reaches a caller.
 */
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { findHostileKey } from '../protocol/index.js';
import { BeckonFault, domainFault, invalidParameter } from '../core/faults.js';
import { StoreUnavailableError } from '../core/store.js';

export const BODY_LIMIT = 64 * 1024;

/** Sentences for Fastify's own request errors; their texts can name internals, ours cannot. */
const FASTIFY_ERRORS: Record<string, BeckonFault> = {
  FST_ERR_CTP_BODY_TOO_LARGE: new BeckonFault('PAYLOAD_TOO_LARGE'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: new BeckonFault('UNSUPPORTED_MEDIA_TYPE'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: new BeckonFault('INVALID_PARAMETER', {
    message: 'The Content-Length header does not match the body.',
  }),
  FST_ERR_CTP_EMPTY_JSON_BODY: new BeckonFault('INVALID_PARAMETER', {
    message: 'The body is empty but the Content-Type says JSON.',
  }),
};

/** Maps any error to the fault a caller should see. */
export function toFault(error: unknown): BeckonFault {
  if (error instanceof BeckonFault || error instanceof StoreUnavailableError) return domainFault(error);
  const e = error as Partial<FastifyError>;
  if (e.code && FASTIFY_ERRORS[e.code]) return FASTIFY_ERRORS[e.code]!;
  const status = e.statusCode ?? 500;
  if (status === 413) return new BeckonFault('PAYLOAD_TOO_LARGE');
  if (status === 415) return new BeckonFault('UNSUPPORTED_MEDIA_TYPE');
  if (status === 429) return new BeckonFault('RATE_LIMITED');
  if (status === 401) return new BeckonFault('UNAUTHORIZED');
  if (status === 404) return new BeckonFault('NOT_FOUND');
  if (status >= 400 && status < 500) {
    if (/forbidden prototype|constructor/i.test(e.message ?? '')) {
      return new BeckonFault('INVALID_PARAMETER', {
        message: 'The body has a forbidden key (__proto__ or constructor).',
      });
    }
    // JSON syntax errors land here.
    return new BeckonFault('INVALID_PARAMETER', { message: 'The body is not valid JSON.' });
  }
  return new BeckonFault('INTERNAL_ERROR');
}

/**
 * Fastify's `frameworkErrors`: errors raised before routing (a URL that is not
 * valid percent-encoding, …) that never reach the error handler.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const fault =
    error.code === 'FST_ERR_BAD_URL'
      ? new BeckonFault('INVALID_PARAMETER', { message: 'The URL is not valid percent-encoded text.' })
      : toFault(error);
  request.log.info({ code: fault.code }, 'request refused');
  void reply.status(fault.status).type('application/json').send(fault.toBody());
}

const NOT_HTTP = JSON.stringify(
  new BeckonFault('INVALID_PARAMETER', { message: 'The request is not valid HTTP/1.1.' }).toBody(),
);

/** Fastify's `clientErrorHandler`: bytes Node cannot parse as HTTP get a FAULT too, then the connection closes. */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(
    `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(NOT_HTTP)}\r\nConnection: close\r\n\r\n${NOT_HTTP}`,
  );
}

/** Installs the form parser, the error handler and the not-found handler on the root instance. */
export function installHttpPlumbing(app: FastifyInstance): void {
  // Only JSON and form bodies (docs/api.md) are accepted; anything else is a 415 FAULT.
  app.removeContentTypeParser('text/plain');
  // SCXML strategies post `ixnProfile=<JSON text>`; a parameter given twice is ambiguous, so refused.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    const params = new URLSearchParams(body as string);
    const seen = new Set<string>();
    for (const key of params.keys()) {
      if (seen.has(key)) return done(invalidParameter(key, 'is given more than once'), undefined);
      seen.add(key);
    }
    // fromEntries defines own properties, so a `__proto__` key cannot reach a prototype.
    done(null, Object.fromEntries(params));
  });

  app.setErrorHandler((error, request, reply) => {
    let fault = toFault(error);
    // A route with a larger body limit (the Notification API) names its own in the refusal.
    const limit = request.routeOptions.bodyLimit;
    if (fault.code === 'PAYLOAD_TOO_LARGE' && limit !== undefined && limit !== BODY_LIMIT) {
      fault = new BeckonFault('PAYLOAD_TOO_LARGE', { message: `The request body is larger than ${limit / 1024} KB.` });
    }
    // Only a bug is an error. A 503 is a refusal the caller retries: closing is expected (info), an
    // unreachable store is the operator's concern (warn, without the stack of a request that did nothing).
    if (fault.code === 'INTERNAL_ERROR') request.log.error({ err: error }, 'request failed');
    else if (fault.code === 'STORE_UNAVAILABLE') request.log.warn({ code: fault.code }, 'request refused');
    else request.log.info({ code: fault.code }, 'request refused');
    // Bearer only: a Basic challenge makes browsers prompt, then attach the cached credentials to
    // every later request, cross-site forms included. Basic sent unasked (SCXML strategies) still works.
    if (fault.code === 'UNAUTHORIZED') reply.header('WWW-Authenticate', 'Bearer realm="beckon"');
    void reply.status(fault.status).type('application/json').send(fault.toBody());
  });

  app.setNotFoundHandler((_request, reply) => {
    void reply.status(404).send(new BeckonFault('NOT_FOUND').toBody());
  });
}

/**
 * The one INVALID_PARAMETER fault for input a schema refused: every bad
 * field named in the details (under `prefix` when the input is a named
 * parameter), the message naming the only one, or how many there are.
 */
export function invalidInput(error: z.ZodError, prefix?: string): BeckonFault {
  const details = error.issues.map((issue) => ({
    path: (prefix === undefined ? issue.path.map(String) : [prefix, ...issue.path.map(String)]).join('.') || 'body',
    message: issue.message,
  }));
  const first = details[0]!;
  return new BeckonFault('INVALID_PARAMETER', {
    message:
      details.length === 1
        ? `${first.path} ${first.message}.`
        : `${details.length} parameters are invalid; see details.`,
    details,
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads one named parameter (`ixnProfile` or `cancelData`) from a parsed body,
 * whether it came as an object or as JSON text, and validates it.
 */
export function readParameter<S extends z.ZodType>(body: unknown, name: string, schema: S): z.output<S> {
  if (!isRecord(body)) throw invalidParameter(name, 'is required');
  let value = body[name];
  if (value === undefined) throw invalidParameter(name, 'is required');
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      throw invalidParameter(name, 'is not valid JSON');
    }
  }
  const hostile = findHostileKey(value);
  if (hostile !== null) throw invalidParameter(`${name}.${hostile}`, 'is a forbidden key or nested too deeply');
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw invalidInput(parsed.error, name);
}
