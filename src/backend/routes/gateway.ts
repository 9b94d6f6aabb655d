/**
 * The GWE-compatible gateway (docs/api.md): engage and noengage, plus the status
 * of one attempt and the list of live visits. Registered under both the
 * GWE 8.1.2 (`/backend/data`) and GWE 8.5 (`/server/data`) prefixes.
 */
import type { FastifyInstance } from 'fastify';
import {
  RECENT_BUSINESS_EVENTS,
  cancelDataSchema,
  ixnProfileSchema,
  type Engagement,
  type GatewayOk,
  type Visit,
  type VisitCaps,
} from '../../protocol/index.js';
import type { CapState } from '../../core/caps.js';
import { readParameter } from '../http.js';
import { businessEventOfRecord, identityOf } from './visitors.js';
import type { Lifecycle } from '../../core/lifecycle.js';
import type { BeckonStore } from '../../core/store.js';

const ok = (engagement: Engagement): GatewayOk => ({
  status: 'OK',
  interactionId: engagement.interactionId,
  state: engagement.state,
});

const iso = (ms: number) => new Date(ms).toISOString();

/** A browser's cap state as `GET /visits` shows it (ISO times); null when caps are off. */
const visitCaps = (state: CapState | undefined): VisitCaps | null =>
  state === undefined
    ? null
    : {
        shownLast24Hours: state.shownLast24Hours,
        perDay: state.perDay,
        quietUntil: state.quietUntil === null ? null : iso(state.quietUntil),
        capped: state.capped,
        retryAfter: state.retryAfter === null ? null : iso(state.retryAfter),
      };

export function gatewayRoutes(deps: { lifecycle: Lifecycle; store: BeckonStore }) {
  return async (app: FastifyInstance): Promise<void> => {
    const { lifecycle, store } = deps;

    app.post('/gateway/engage', async (request) =>
      ok(await lifecycle.engage(readParameter(request.body, 'ixnProfile', ixnProfileSchema))),
    );

    app.post('/gateway/noengage', async (request) =>
      ok(await lifecycle.noengage(readParameter(request.body, 'cancelData', cancelDataSchema))),
    );

    app.get<{ Params: { interactionId: string } }>('/gateway/engagements/:interactionId', async (request) =>
      lifecycle.status(request.params.interactionId),
    );

    app.get('/visits', async (): Promise<{ visits: Visit[] }> => {
      const visits = await store.liveVisits();
      const [caps, contexts] = await Promise.all([
        lifecycle.capStates(visits.map((visit) => visit.globalVisitId)),
        store.visitContexts(
          visits.map((visit) => visit.visitId),
          RECENT_BUSINESS_EVENTS,
        ),
      ]);
      return {
        visits: visits.map((visit) => ({
          visitId: visit.visitId,
          globalVisitId: visit.globalVisitId,
          startedAt: iso(visit.startedAt),
          activeInteractionId: visit.activeInteractionId,
          caps: visitCaps(caps?.get(visit.globalVisitId)),
          identity: identityOf(contexts.get(visit.visitId)?.identity ?? null),
          events: (contexts.get(visit.visitId)?.events ?? []).map(businessEventOfRecord),
          pages: visit.pages.map((page) => ({
            pageId: page.pageId,
            url: page.url,
            title: page.title,
            visible: page.visible,
            focused: page.focused,
            locale: page.locale,
            connectedSince: iso(page.connectedAt),
          })),
        })),
      };
    });
  };
}
