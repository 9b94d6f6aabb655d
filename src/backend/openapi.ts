/**
 * `GET /openapi.json` (OpenAPI 3.1), generated from the protocol's zod
 * schemas so that the document can never drift from what the server accepts.
 * The docs page (`/docs/`, a static page in demo/docs) renders it.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  FAULTS,
  cancelDataSchema,
  engagementExportSchema,
  engagementReportSchema,
  engagementSchema,
  faultBodySchema,
  gatewayOkSchema,
  ixnProfileSchema,
  visitListSchema,
  channelSettingsSchema,
  channelRecordSchema,
  channelListSchema,
  capacityReportSchema,
  capacityAnswerSchema,
  pacingStatusSchema,
  visitHistorySchema,
  visitorVisitsSchema,
  notificationsSchema,
  erasureCountsSchema,
} from '../protocol/index.js';

type JsonObject = Record<string, unknown>;

/** JSON Schema of what a caller sends (`io: 'input'`: defaults optional, aliases resolved by preprocess). */
function schemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonObject {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonObject;
  return json;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/**
 * A recursive schema (any JSON, as in a notification's data) comes with
 * `$defs` that its `$ref`s name from the schema's own root; in the document
 * they would point at the document's root. They become components of their
 * own, named after the schema, and the references follow them.
 */
function hoistDefinitions(schemas: Record<string, JsonObject>): Record<string, JsonObject> {
  const out: Record<string, JsonObject> = {};
  for (const [name, schema] of Object.entries(schemas)) {
    const { $defs, ...rest } = schema as JsonObject & { $defs?: Record<string, JsonObject> };
    if (!$defs) {
      out[name] = schema;
      continue;
    }
    const renamed = (def: string) => `${name}.${def.replace(/[^A-Za-z0-9]/g, '')}`;
    const rewrite = (text: string) =>
      text.replace(/"#\/\$defs\/([^"]+)"/g, (_match, def: string) => `"#/components/schemas/${renamed(def)}"`);
    out[name] = JSON.parse(rewrite(JSON.stringify(rest))) as JsonObject;
    for (const [def, body] of Object.entries($defs)) out[renamed(def)] = JSON.parse(rewrite(JSON.stringify(body)));
  }
  return out;
}
const json = (schema: JsonObject) => ({ 'application/json': { schema } });

/**
 * One response per FAULT status, each naming the codes it can carry; `also`
 * adds a code a route answers with another status than the table's.
 */
function faultResponses(statuses: number[], also: Partial<Record<number, string[]>> = {}): JsonObject {
  const responses: JsonObject = {};
  for (const status of statuses) {
    const codes = Object.entries(FAULTS)
      .filter(([, fault]) => fault.status === status)
      .map(([code]) => code)
      .concat(also[status] ?? []);
    responses[String(status)] = { description: `FAULT: ${codes.join(', ')}`, content: json(ref('Fault')) };
  }
  return responses;
}

/** A request body given as an object or as JSON text, in JSON or as a form parameter (docs/api.md). */
function envelope(name: string, schemaName: string): JsonObject {
  const value = { oneOf: [ref(schemaName), { type: 'string', description: `${schemaName} as JSON text` }] };
  return {
    required: true,
    content: {
      'application/json': { schema: { type: 'object', required: [name], properties: { [name]: value } } },
      'application/x-www-form-urlencoded': {
        schema: {
          type: 'object',
          required: [name],
          properties: { [name]: { type: 'string', description: `${schemaName} as JSON text` } },
        },
      },
    },
  };
}

/** Every data route also refuses a stranger Host (421) and a browser's cross-site request (403). */
const CALLER_FAULTS = [400, 401, 403, 413, 415, 421, 429, 503];

/** The OpenAPI document; the same object every time (it depends on nothing at run time). */
export function buildOpenApi(prefixes: readonly string[]): JsonObject {
  const paths: JsonObject = {};
  for (const prefix of prefixes) {
    const style = prefix.startsWith('/server') ? 'GWE 8.5 path' : 'GWE 8.1.2 path';
    paths[`${prefix}/gateway/engage`] = {
      post: {
        summary: `Start an invitation for one visit (${style})`,
        description:
          'Creates a pending attempt and offers it to one open page of the visit. Repeating the same interactionId for the same visit answers its current state. GWE spellings interactionID, ixnId, visitID and pageID are accepted as aliases.',
        requestBody: envelope('ixnProfile', 'IxnProfile'),
        responses: { 200: { description: 'OK', content: json(ref('GatewayOk')) }, ...faultResponses(CALLER_FAULTS) },
      },
    };
    paths[`${prefix}/gateway/noengage`] = {
      post: {
        summary: `Cancel an invitation (${style})`,
        description:
          'Cancels an attempt in progress and withdraws it from the page. An unknown id is recorded as cancelled.',
        requestBody: envelope('cancelData', 'CancelData'),
        responses: { 200: { description: 'OK', content: json(ref('GatewayOk')) }, ...faultResponses(CALLER_FAULTS) },
      },
    };
    paths[`${prefix}/gateway/engagements/{interactionId}`] = {
      get: {
        summary: `One attempt with the time of every transition (${style})`,
        parameters: [{ name: 'interactionId', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          200: { description: 'The attempt', content: json(ref('Engagement')) },
          ...faultResponses([401, 403, 404, 421, 429, 503]),
        },
      },
    };
    const time = (name: string, what: string) => ({
      name,
      in: 'query',
      required: false,
      schema: { type: 'string' },
      description: `${what}: ISO 8601 with a zone (2026-12-01T10:00:00Z, …+01:00) or a date (UTC midnight)`,
    });
    paths[`${prefix}/reports/engagements`] = {
      get: {
        summary: `The invitation funnel per UTC hour or day (${style})`,
        description:
          'Counts of each transition in the bucket of the time it happened (UTC), acceptance rate, time to answer (p50/p90, within 5 %) and the top page paths. The range is widened to whole buckets; by default it is the 24 hours ending with the current hour. At most 31 days by hour, 366 by day. Tombstones are not counted.',
        parameters: [
          time('from', 'Start of the range (default: 24 hours before to)'),
          time('to', 'End of the range, exclusive (default: the end of the current bucket)'),
          { name: 'bucket', in: 'query', required: false, schema: { enum: ['hour', 'day'], default: 'hour' } },
        ],
        responses: {
          200: { description: 'The report', content: json(ref('EngagementReport')) },
          ...faultResponses([400, 401, 403, 421, 429, 503]),
        },
      },
    };
    paths[`${prefix}/engagements`] = {
      get: {
        summary: `The attempts created in a range, oldest first: JSON pages or CSV (${style})`,
        description:
          "Each attempt as the status endpoint answers it, ordered by createdAt then interactionId, tombstones included. JSON: pages of `limit`, `next` is the cursor of the following page (null on the last). CSV (format=csv or Accept: text/csv): the whole range, one row per attempt after a header row, nested fields as JSON, cells that a spreadsheet would read as a formula prefixed with '. The range is at most 366 days; by default the 24 hours up to now.",
        parameters: [
          time('from', 'Created at or after (default: 24 hours before to)'),
          time('to', 'Created before (default: now)'),
          {
            name: 'limit',
            in: 'query',
            required: false,
            schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            description: 'JSON only',
          },
          {
            name: 'cursor',
            in: 'query',
            required: false,
            schema: { type: 'string' },
            description: 'The next of the page before, with the same from and to (JSON only)',
          },
          {
            name: 'format',
            in: 'query',
            required: false,
            schema: { enum: ['json', 'csv'] },
            description: 'Default: CSV if Accept lists text/csv, else JSON',
          },
        ],
        responses: {
          200: {
            description: 'A page of attempts, or CSV of the whole range',
            content: { ...json(ref('EngagementExport')), 'text/csv': { schema: { type: 'string' } } },
          },
          ...faultResponses([400, 401, 403, 421, 429, 503]),
        },
      },
    };
    const channel = {
      name: 'channel',
      in: 'path',
      required: true,
      schema: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,31}$' },
    };
    const channelBody = (name: string) => ({ required: true, content: json(ref(name)) });
    paths[`${prefix}/channels`] = {
      get: {
        summary: `Every channel with settings, by name (${style})`,
        responses: {
          200: { description: 'The channels', content: json(ref('ChannelList')) },
          ...faultResponses([401, 403, 421, 429, 503]),
        },
      },
    };
    paths[`${prefix}/channels/{channel}`] = {
      get: {
        summary: `A channel's business hours and pacing (${style})`,
        parameters: [channel],
        responses: {
          200: { description: 'The channel', content: json(ref('Channel')) },
          ...faultResponses([400, 401, 403, 404, 421, 429, 503]),
        },
      },
      put: {
        summary: `Store a channel's business hours and pacing, replacing any (${style})`,
        description:
          'Every field is optional; left out, it takes its default (always open, not paced). The answer is the channel as stored. A bad field is named in the FAULT details.',
        parameters: [channel],
        requestBody: channelBody('ChannelSettings'),
        responses: {
          200: { description: 'Replaced', content: json(ref('Channel')) },
          201: { description: 'Created', content: json(ref('Channel')) },
          ...faultResponses([400, 401, 403, 413, 415, 421, 429, 503]),
        },
      },
      delete: {
        summary: `Remove a channel's settings: it is no longer paced (${style})`,
        parameters: [channel],
        responses: {
          200: { description: 'Removed', content: json({ type: 'object' }) },
          ...faultResponses([400, 401, 403, 404, 421, 429, 503]),
        },
      },
    };
    paths[`${prefix}/channels/{channel}/capacity`] = {
      put: {
        summary: `Report a channel's free slots (${style})`,
        description:
          'Either {"freeSlots": n} or the agents figures (free slots = max(0, agentsReady × maxPerAgent − active − queued)). Replaces the last report, stamped with the time Beckon received it. 404 for a channel without settings.',
        parameters: [channel],
        requestBody: channelBody('CapacityReport'),
        responses: {
          200: { description: 'Recorded', content: json(ref('CapacityAnswer')) },
          ...faultResponses([400, 401, 403, 404, 413, 415, 421, 429, 503]),
        },
      },
    };
    paths[`${prefix}/pacing`] = {
      get: {
        summary: `Every channel with settings as pacing sees it now (${style})`,
        responses: {
          200: { description: 'Pacing per channel', content: json(ref('PacingStatus')) },
          ...faultResponses([401, 403, 421, 429, 503]),
        },
      },
    };
    paths[`${prefix}/visits`] = {
      get: {
        summary: `Live visits and their open pages (${style})`,
        description:
          "Each visit with its open pages, its browser's frequency caps, its identity (null until a sign-in or user info) and its 10 latest business events, newest first.",
        responses: {
          200: { description: 'Live visits', content: json(ref('VisitList')) },
          ...faultResponses([401, 403, 421, 429, 503]),
        },
      },
    };
    const mintedId = (name: string, what: string) => ({
      name,
      in: 'path',
      required: true,
      schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{22}$' },
      description: `${what}, as the page's session or getIDs gives it; any other form is INVALID_PARAMETER`,
    });
    paths[`${prefix}/visits/{visitId}`] = {
      get: {
        summary: `One visit's history, live or ended (${style})`,
        description:
          'The visit with every page it had, its identity, its kept business events (newest first, at most 100) and its attempts as the status endpoint answers them. 404 UNKNOWN_VISIT when the visit is unknown, pruned by retention or erased.',
        parameters: [mintedId('visitId', 'The visit')],
        responses: {
          200: { description: 'The visit', content: json(ref('VisitHistory')) },
          ...faultResponses([400, 401, 403, 404, 421, 429, 503], { 404: ['UNKNOWN_VISIT'] }),
        },
      },
    };
    paths[`${prefix}/visitors/{globalVisitId}/visits`] = {
      get: {
        summary: `A browser's visits, newest first, page by page (${style})`,
        description:
          'Each visit as its history answers it. `next` is the cursor of the following page (null on the last); pass it back as `cursor` with the same browser.',
        parameters: [
          mintedId('globalVisitId', 'The browser'),
          {
            name: 'limit',
            in: 'query',
            required: false,
            schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
          },
          {
            name: 'cursor',
            in: 'query',
            required: false,
            schema: { type: 'string', maxLength: 200 },
            description: 'The next of the page before',
          },
        ],
        responses: {
          200: { description: 'A page of visits', content: json(ref('VisitorVisits')) },
          ...faultResponses([400, 401, 403, 421, 429, 503]),
        },
      },
    };
    paths[`${prefix}/visitors/{globalVisitId}`] = {
      delete: {
        summary: `Erase a browser: its visits, pages, identity, business events, attempts, caps and opt-out (${style})`,
        description:
          "Removes everything the store holds of the browser, on every node, and its visits' events from the event log; open pages of the browser are disconnected and its old visit token starts a new browser. Records visitor.erased (the counts, no ids). Idempotent: a repeated call answers zeros. Report counters are aggregated and stay.",
        parameters: [mintedId('globalVisitId', 'The browser')],
        responses: {
          200: { description: 'Erased', content: json(ref('ErasureAnswer')) },
          ...faultResponses([400, 401, 403, 421, 429, 503]),
        },
      },
    };
  }
  for (const prefix of [...prefixes, '/frontend/data']) {
    paths[`${prefix}/notification/notify/{visitId}`] = {
      post: {
        summary: `Send data to the open pages of a visit (GWE Notification API)`,
        description:
          'A JSON array of 1–10 messages (the body may be up to 96 KB). Each goes to every open page of the visit, or only to the page it names (if that page is open and of this visit), on whichever frontend holds it, as the beckon:notification DOM event. Nothing is kept: a page that opens later does not get it. `delivered` counts the distinct pages that acknowledged any message. 400 UNKNOWN_VISIT for a visit that is unknown or has ended.',
        parameters: [
          {
            name: 'visitId',
            in: 'path',
            required: true,
            schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{22}$' },
          },
        ],
        requestBody: { required: true, content: json(ref('Notifications')) },
        responses: {
          200: { description: 'Sent', content: json(ref('NotifyAnswer')) },
          ...faultResponses(CALLER_FAULTS),
        },
      },
    };
  }
  const open = { security: [] };
  const health = { type: 'object', properties: { status: { const: 'OK' } } };
  paths['/healthz'] = {
    get: { ...open, summary: 'The process is up', responses: { 200: { description: 'OK', content: json(health) } } },
  };
  paths['/readyz'] = {
    get: {
      ...open,
      summary: 'The store answers and the server is not shutting down',
      responses: { 200: { description: 'Ready', content: json(health) }, ...faultResponses([503]) },
    },
  };
  paths['/metrics'] = {
    get: {
      summary: 'Prometheus metrics (text format), names prefixed beckon_',
      responses: {
        200: { description: 'Metrics', content: { 'text/plain': { schema: { type: 'string' } } } },
        ...faultResponses([401, 403, 421, 429]),
      },
    },
  };
  paths['/openapi.json'] = {
    get: {
      ...open,
      summary: 'This document',
      responses: { 200: { description: 'OpenAPI 3.1', content: json({ type: 'object' }) } },
    },
  };

  return {
    openapi: '3.1.0',
    info: {
      title: 'Beckon REST API',
      version: '1',
      description:
        'Proactive web engagement, compatible with the Genesys Web Engagement (GWE 8.1.2/8.5) Engagement REST API. Every refusal is a FAULT body; see the Fault schema.',
    },
    security: [{ bearer: [] }, { basic: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'BECKON_API_TOKEN' },
        basic: { type: 'http', scheme: 'basic', description: 'Any user name, BECKON_API_TOKEN as password' },
      },
      schemas: hoistDefinitions({
        IxnProfile: schemaOf(ixnProfileSchema, 'input'),
        CancelData: schemaOf(cancelDataSchema, 'input'),
        GatewayOk: schemaOf(gatewayOkSchema, 'output'),
        Fault: schemaOf(faultBodySchema, 'output'),
        Engagement: schemaOf(engagementSchema, 'output'),
        VisitList: schemaOf(visitListSchema, 'output'),
        EngagementReport: schemaOf(engagementReportSchema, 'output'),
        EngagementExport: schemaOf(engagementExportSchema, 'output'),
        ChannelSettings: schemaOf(channelSettingsSchema, 'input'),
        Channel: schemaOf(channelRecordSchema, 'output'),
        ChannelList: schemaOf(channelListSchema, 'output'),
        CapacityReport: schemaOf(capacityReportSchema, 'input'),
        CapacityAnswer: schemaOf(capacityAnswerSchema, 'output'),
        PacingStatus: schemaOf(pacingStatusSchema, 'output'),
        VisitHistory: schemaOf(visitHistorySchema, 'output'),
        VisitorVisits: schemaOf(visitorVisitsSchema, 'output'),
        Notifications: schemaOf(notificationsSchema, 'input'),
        NotifyAnswer: {
          type: 'object',
          required: ['status', 'delivered'],
          properties: { status: { const: 'OK' }, delivered: { type: 'integer', minimum: 0 } },
        },
        ErasureAnswer: {
          type: 'object',
          required: ['status', 'erased'],
          properties: { status: { const: 'OK' }, erased: schemaOf(erasureCountsSchema, 'output') },
        },
      }),
    },
  };
}

/** `GET /openapi.json`, open like the docs page: it holds no data. */
export function openApiRoute(prefixes: readonly string[]) {
  const document = JSON.stringify(buildOpenApi(prefixes));
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/openapi.json', async (_request, reply) => reply.type('application/json; charset=utf-8').send(document));
  };
}
