/**
 * `GET /events`: the Server-Sent Events stream of every lifecycle and visit
 * event (docs/events.md), filtered by type and by visit, resumable with
 * `Last-Event-ID`. Registered under both API prefixes, behind caller auth.
 */
import type { FastifyInstance } from 'fastify';
import { parseEventTypes, type EventType } from '../../protocol/index.js';
import { BeckonFault, invalidParameter } from '../../core/faults.js';
import type { EventStreams } from '../events/sse.js';

const QUERY_KEYS = ['types', 'visitId', 'lastEventId'] as const;
const SEQ = /^\d{1,15}$/;
const VISIBLE_ID = /^[\x21-\x7e]{1,128}$/;

export interface EventStreamRequest {
  types: EventType[] | null;
  visitId: string | null;
  afterSeq: number | null;
}

/** Reads and checks the query and `Last-Event-ID` header; throws INVALID_PARAMETER naming what is wrong. */
export function readEventStreamRequest(
  query: unknown,
  lastEventIdHeader: string | string[] | undefined,
): EventStreamRequest {
  const params = (query ?? {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(params)) {
    if (!(QUERY_KEYS as readonly string[]).includes(key)) {
      throw invalidParameter(key.slice(0, 64), `is not a parameter of the event stream (use ${QUERY_KEYS.join(', ')})`);
    }
    if (typeof value !== 'string') throw invalidParameter(key, 'is given more than once');
  }
  const text = params as Partial<Record<(typeof QUERY_KEYS)[number], string>>;

  let types: EventType[] | null = null;
  if (text.types !== undefined) {
    const parsed = parseEventTypes(text.types);
    if ('unknown' in parsed) {
      throw invalidParameter(
        'types',
        parsed.unknown === ''
          ? 'names no event type'
          : `has "${parsed.unknown}", which is not an event type or family like engagement.*`,
      );
    }
    types = parsed.types;
  }

  if (text.visitId !== undefined && !VISIBLE_ID.test(text.visitId)) {
    throw invalidParameter('visitId', 'must be 1–128 visible characters');
  }

  if (Array.isArray(lastEventIdHeader)) throw invalidParameter('Last-Event-ID', 'is given more than once');
  const header = lastEventIdHeader?.trim() || undefined;
  const fromQuery = text.lastEventId?.trim() || undefined;
  if (header !== undefined && fromQuery !== undefined && header !== fromQuery) {
    throw invalidParameter('lastEventId', 'differs from the Last-Event-ID header');
  }
  const resumeFrom = header ?? fromQuery;
  if (resumeFrom !== undefined && !SEQ.test(resumeFrom)) {
    throw invalidParameter(
      header !== undefined ? 'Last-Event-ID' : 'lastEventId',
      'must be the id of an event (a whole number)',
    );
  }

  return {
    types,
    visitId: text.visitId ?? null,
    afterSeq: resumeFrom === undefined ? null : Number(resumeFrom),
  };
}

/** Open streams beyond this many are refused: each holds a connection and a little memory. */
export const MAX_EVENT_STREAMS = 1000;

export function eventRoutes(deps: { streams: EventStreams }) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/events', async (request, reply) => {
      const wanted = readEventStreamRequest(request.query, request.headers['last-event-id']);
      if (deps.streams.size >= MAX_EVENT_STREAMS) {
        void reply.header('retry-after', '5');
        throw new BeckonFault('RATE_LIMITED', { message: 'Too many event streams are open; retry shortly.' });
      }
      reply.hijack();
      deps.streams
        .stream(reply.raw, { types: wanted.types, visitId: wanted.visitId }, wanted.afterSeq)
        .catch((error: unknown) => request.log.error({ err: error }, 'replaying events failed'));
    });
  };
}
