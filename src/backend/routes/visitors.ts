/**
 * What a caller reads and does about a visitor (docs/visitor-context.md): a
 * visit's history, a browser's visits, the erasure of a browser, and the
 * Notification API that sends data to a visit's open pages. Registered under
 * both API prefixes behind caller auth; the notification route also under
 * GWE's `/frontend/data` (see `notificationRoutes`).
 *
 * The backend never imports the socket side: reaching pages goes through
 * `PageReach`, which the composition (app.ts) gives it.
 */
import type { FastifyInstance } from 'fastify';
import {
  findHostileKey,
  notificationsSchema,
  visitorVisitsQuerySchema,
  type BusinessEvent,
  type ErasureCounts,
  type Identity,
  type Notification,
  type NotificationDetail,
  type VisitHistory,
  type VisitorVisits,
} from '../../protocol/index.js';
import { ERASURE_MARKER_MS, erasureMarkerKey } from '../../core/erasure.js';
import { BeckonFault, invalidParameter } from '../../core/faults.js';
import { invalidInput } from '../http.js';
import type {
  BeckonStore,
  BusinessEventRecord,
  IdentityRecord,
  VisitHistoryRecord,
  VisitPosition,
} from '../../core/store.js';

/** How the backend reaches visitors' pages, on whichever node holds them. */
export interface PageReach {
  /**
   * Sends one notification to one page (`pageId`) or to every open page of
   * the visit (null); resolves with how many distinct pages acknowledged it.
   */
  notify(target: { visitId: string; pageId: string | null; detail: NotificationDetail }): Promise<number>;
  /** Disconnects every open page of these visits, on every node. */
  disconnect(visitIds: readonly string[]): void | Promise<void>;
}

/** What the routes count (metrics.ts). */
export interface VisitorCounters {
  notified(pages: number): void;
  erased(counts: ErasureCounts): void;
}

/**
 * The Notification API's body limit: ten messages of 8 KB of data each, with
 * their page and channel, must fit (other routes take 64 KB).
 */
export const NOTIFICATION_BODY_LIMIT = 96 * 1024;

/** Ids Beckon mints: 128 random bits, URL-safe (docs/protocol.md). */
const MINTED_ID = /^[A-Za-z0-9_-]{22}$/;

/** An id from the path, or INVALID_PARAMETER: no visit or browser has an id of another form. */
function idOf(value: string | undefined, name: 'visitId' | 'globalVisitId'): string {
  if (value === undefined || !MINTED_ID.test(value)) {
    throw invalidParameter(name, 'must be an id as Beckon gives it (22 letters, digits, - or _)');
  }
  return value;
}

const iso = (ms: number) => new Date(ms).toISOString();

export const identityOf = (identity: IdentityRecord | null): Identity | null =>
  identity === null
    ? null
    : { userId: identity.userId, verified: identity.verified, traits: identity.traits, at: iso(identity.at) };

export const businessEventOfRecord = (event: BusinessEventRecord): BusinessEvent => ({
  name: event.name,
  data: event.data,
  at: iso(event.at),
  pageId: event.pageId,
});

export function historyOf(record: VisitHistoryRecord): VisitHistory {
  return {
    visitId: record.visit.visitId,
    globalVisitId: record.visit.globalVisitId,
    startedAt: iso(record.visit.startedAt),
    endedAt: record.visit.endedAt === null ? null : iso(record.visit.endedAt),
    identity: identityOf(record.identity),
    pages: record.pages.map((page) => ({
      pageId: page.pageId,
      url: page.url,
      title: page.title,
      enteredAt: iso(page.connectedAt),
      leftAt: page.closedAt === null ? null : iso(page.closedAt),
    })),
    events: record.events.map(businessEventOfRecord),
    attempts: record.attempts,
  };
}

/**
 * The cursor of a browser's visits: where the page ended, as base64url JSON.
 * Opaque to callers; anything that does not decode to a position is refused.
 */
export function encodeCursor(position: VisitPosition): string {
  return Buffer.from(JSON.stringify([position.startedAt, position.visitId])).toString('base64url');
}

export function decodeCursor(cursor: string): VisitPosition | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 2) return null;
    const [startedAt, visitId] = value as [unknown, unknown];
    if (typeof startedAt !== 'number' || !Number.isSafeInteger(startedAt) || startedAt < 0) return null;
    if (typeof visitId !== 'string' || !MINTED_ID.test(visitId)) return null;
    return { startedAt, visitId };
  } catch {
    return null;
  }
}

/** Reads a query with `schema`; every bad parameter is named in the details. */
function readQuery(query: unknown): { limit: number; cursor?: string | undefined } {
  const params = (query ?? {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(params)) {
    if (typeof value !== 'string') throw invalidParameter(key.slice(0, 64), 'is given more than once');
  }
  const parsed = visitorVisitsQuerySchema.safeParse(params);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = issue.path.map(String).join('.') || (issue.code === 'unrecognized_keys' ? issue.keys[0]! : 'query');
  const message =
    issue.code === 'unrecognized_keys' ? 'is not a parameter of this list (use limit, cursor)' : issue.message;
  throw invalidParameter(path.slice(0, 64), message);
}

/** The Notification API's body: a JSON array of 1–10 messages; every bad field named in the details. */
function readNotifications(body: unknown): Notification[] {
  if (!Array.isArray(body)) throw invalidParameter('body', 'must be a JSON array of 1–10 messages');
  // Each message is looked at on its own, so that a message's data may nest as deep as its schema allows.
  for (const [index, message] of body.entries()) {
    const hostile = findHostileKey(message, [index]);
    if (hostile !== null) throw invalidParameter(hostile, 'is a forbidden key or nested too deeply');
  }
  const parsed = notificationsSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  throw invalidInput(parsed.error);
}

interface VisitorDeps {
  store: BeckonStore;
  pages: PageReach;
  /** The server secret: the key of an erased browser's marker (core/erasure.ts). */
  secret: string;
  counters: VisitorCounters;
  now: () => number;
}

/** History and erasure, under each API prefix. */
export function visitorRoutes(deps: VisitorDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const { store, pages, secret, counters, now } = deps;

    app.get<{ Params: { visitId: string } }>('/visits/:visitId', async (request): Promise<VisitHistory> => {
      const visitId = idOf(request.params.visitId, 'visitId');
      const record = await store.visitHistory(visitId);
      if (record === null) {
        throw new BeckonFault('UNKNOWN_VISIT', {
          status: 404,
          message: 'No visit has this visitId: it never existed, was pruned by retention, or was erased.',
        });
      }
      return historyOf(record);
    });

    app.get<{ Params: { globalVisitId: string } }>(
      '/visitors/:globalVisitId/visits',
      async (request): Promise<VisitorVisits> => {
        const globalVisitId = idOf(request.params.globalVisitId, 'globalVisitId');
        const query = readQuery(request.query);
        const after = query.cursor === undefined ? null : decodeCursor(query.cursor);
        if (query.cursor !== undefined && after === null) {
          throw invalidParameter('cursor', 'is not a cursor this list gave');
        }
        const found = await store.visitorVisits(globalVisitId, { after, limit: query.limit });
        const last = found.visits.at(-1);
        return {
          visits: found.visits.map(historyOf),
          next:
            found.more && last ? encodeCursor({ startedAt: last.visit.startedAt, visitId: last.visit.visitId }) : null,
        };
      },
    );

    app.delete<{ Params: { globalVisitId: string } }>('/visitors/:globalVisitId', async (request) => {
      const globalVisitId = idOf(request.params.globalVisitId, 'globalVisitId');
      // Which of its visits have pages to disconnect: read before the erasure, which forgets them.
      const live = (await store.liveVisits())
        .filter((visit) => visit.globalVisitId === globalVisitId)
        .map((visit) => visit.visitId);
      const at = now();
      const erased = await store.eraseVisitor(
        globalVisitId,
        { key: erasureMarkerKey(secret, globalVisitId), until: at + ERASURE_MARKER_MS },
        at,
      );
      // After the erasure, so that a page reconnecting at once finds its visit gone and its browser erased.
      if (live.length > 0) await pages.disconnect(live);
      counters.erased(erased);
      return { status: 'OK' as const, erased };
    });
  };
}

/**
 * The Notification API (GWE): `POST …/notification/notify/{visitId}`. Each
 * message goes to the open pages of the visit, or to the one it names if
 * that page is open and of this visit; nothing is kept for a page that opens
 * later. The answer counts the distinct pages that received any message.
 */
export function notificationRoutes(deps: Pick<VisitorDeps, 'store' | 'pages' | 'counters'>) {
  return async (app: FastifyInstance): Promise<void> => {
    const { store, pages, counters } = deps;

    app.post<{ Params: { visitId: string } }>(
      '/notification/notify/:visitId',
      { bodyLimit: NOTIFICATION_BODY_LIMIT },
      async (request) => {
        const visitId = idOf(request.params.visitId, 'visitId');
        const messages = readNotifications(request.body);
        const visit = await store.getVisit(visitId);
        if (visit === null || visit.endedAt !== null) throw new BeckonFault('UNKNOWN_VISIT');

        // Every page gets its messages in the order sent (one room, one connection: emits keep their order),
        // all sent at once, so a page that never acknowledges costs the caller one wait, not one per message.
        const open = new Set((await store.openPages(visitId)).map((page) => page.pageId));
        const perPage = new Map<string, NotificationDetail[]>();
        for (const message of messages) {
          const targets = message.page === undefined ? [...open] : open.has(message.page) ? [message.page] : [];
          for (const pageId of targets) {
            const detail: NotificationDetail = { channel: message.channel, data: message.data };
            perPage.set(pageId, [...(perPage.get(pageId) ?? []), detail]);
          }
        }
        const reached = await Promise.all(
          [...perPage].map(async ([pageId, details]) => {
            const counts = await Promise.all(details.map((detail) => pages.notify({ visitId, pageId, detail })));
            return counts.some((count) => count > 0);
          }),
        );
        const delivered = reached.filter(Boolean).length;
        counters.notified(delivered);
        return { status: 'OK' as const, delivered };
      },
    );
  };
}
