/**
 * Frequency caps through the API (docs/lifecycle.md) on a real server, on the
 * store the run uses (SQLite or Redis, see stores.ts): each cap refuses with
 * VISITOR_CAPPED naming it and when it lifts, lifts at that time, never-shown
 * attempts do not count, and `GET /visits` shows each browser's cap state.
 * The server's clock is held still and moved by the test, so "24 hours later"
 * takes no time. Races between processes are in the store contract
 * (test/store-contract/processes.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CapSettings } from '../src/core/caps.js';
import { startServer, TestPage, type TestServer } from './support.js';

const MINUTE = 60_000;
const DAY = 86_400_000;

const servers: TestServer[] = [];
const pages: TestPage[] = [];
afterEach(async () => {
  for (const page of pages.splice(0)) page.close();
  for (const server of servers.splice(0)) await server.close();
});

/** A server with these caps and a clock the test moves; and one visitor's page on it. */
async function capped(caps: CapSettings) {
  const clock = { now: Date.now() };
  const server = await startServer({ caps }, { now: () => clock.now });
  servers.push(server);
  const page = await TestPage.open(server.url);
  pages.push(page);
  const visitId = page.session.visitId as string;
  return {
    server,
    page,
    visitId,
    clock,
    /** Engages, has the page show it, and returns the time it was shown. */
    async showOne(interactionId: string): Promise<number> {
      expect((await server.engage({ interactionId, visitId })).status).toBe(200);
      await page.next('invitation:start', (offer) => offer.interactionId === interactionId);
      expect(await page.shown(interactionId)).toMatchObject({ ok: true });
      return Date.parse((await server.status(interactionId)).body.transitions.delivered);
    },
    async capsOfVisit() {
      const reply = await server.get('/backend/data/visits');
      expect(reply.status).toBe(200);
      return reply.body.visits.find((visit: { visitId: string }) => visit.visitId === visitId).caps;
    },
  };
}

describe('frequency caps through the API', () => {
  it('refuses an engage over the per-day cap with VISITOR_CAPPED until the oldest show is 24 hours old', async () => {
    const { server, page, visitId, clock, showOne, capsOfVisit } = await capped({ perDay: 2, afterDeclineMs: null });
    expect(await capsOfVisit()).toEqual({
      shownLast24Hours: 0,
      perDay: 2,
      quietUntil: null,
      capped: null,
      retryAfter: null,
    });
    const firstShown = await showOne('day-1');
    expect(await page.answer('day-1', 'accepted', 'chat')).toMatchObject({ ok: true });
    clock.now += 10 * MINUTE;
    await showOne('day-2');
    expect(await page.answer('day-2', 'timed_out')).toMatchObject({ ok: true });

    const lifts = new Date(firstShown + DAY).toISOString();
    const refused = await server.engage({ interactionId: 'day-3', visitId });
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({
      status: 'FAULT',
      code: 'VISITOR_CAPPED',
      message: expect.stringContaining('BECKON_CAP_PER_DAY'),
      cap: 'per-day',
      retryAfter: lifts,
    });
    expect(refused.body.message).toContain(lifts);
    expect((await server.status('day-3')).status).toBe(404); // nothing was made
    expect(await capsOfVisit()).toEqual({
      shownLast24Hours: 2,
      perDay: 2,
      quietUntil: null,
      capped: 'per-day',
      retryAfter: lifts,
    });
    // An engage repeated with an existing id answers as before (idempotency comes before caps).
    expect((await server.engage({ interactionId: 'day-1', visitId })).body).toEqual({
      status: 'OK',
      interactionId: 'day-1',
      state: 'accepted',
    });

    clock.now = firstShown + DAY - 1;
    expect((await server.engage({ interactionId: 'day-3', visitId })).body).toMatchObject({
      code: 'VISITOR_CAPPED',
      retryAfter: lifts,
    });
    clock.now = firstShown + DAY;
    expect((await server.engage({ interactionId: 'day-3', visitId })).body).toEqual({
      status: 'OK',
      interactionId: 'day-3',
      state: 'pending',
    });
  });

  it('keeps quiet after the visitor declines or closes, until the quiet time ends', async () => {
    const { server, page, visitId, clock, showOne, capsOfVisit } = await capped({
      perDay: null,
      afterDeclineMs: 15 * MINUTE,
    });
    await showOne('quiet-1');
    clock.now += 2000;
    const declinedAt = clock.now;
    expect(await page.answer('quiet-1', 'declined')).toMatchObject({ ok: true, state: 'declined' });

    const quietUntil = new Date(declinedAt + 15 * MINUTE).toISOString();
    const refused = await server.engage({ interactionId: 'quiet-2', visitId });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ code: 'VISITOR_CAPPED', cap: 'after-decline', retryAfter: quietUntil });
    expect(refused.body.message).toContain('BECKON_CAP_AFTER_DECLINE_MINUTES');
    expect(await capsOfVisit()).toEqual({
      shownLast24Hours: 1,
      perDay: null,
      quietUntil,
      capped: 'after-decline',
      retryAfter: quietUntil,
    });

    clock.now = declinedAt + 15 * MINUTE - 1;
    expect((await server.engage({ interactionId: 'quiet-2', visitId })).body).toMatchObject({ code: 'VISITOR_CAPPED' });
    clock.now = declinedAt + 15 * MINUTE;
    expect((await server.engage({ interactionId: 'quiet-2', visitId })).body).toMatchObject({
      status: 'OK',
      state: 'pending',
    });
    expect(await capsOfVisit()).toMatchObject({ quietUntil: null, capped: null });
  });

  it('does not count an attempt cancelled before it was shown', async () => {
    const { server, page, visitId, showOne, capsOfVisit } = await capped({ perDay: 1, afterDeclineMs: null });
    expect((await server.engage({ interactionId: 'never-shown', visitId })).status).toBe(200);
    await page.next('invitation:start', (offer) => offer.interactionId === 'never-shown');
    // Pending, it holds the browser's one place: a second engage (another visit of it, or strict off) must wait.
    expect(await capsOfVisit()).toMatchObject({ shownLast24Hours: 0, capped: 'per-day' });
    expect((await server.noengage({ interactionId: 'never-shown' })).body).toMatchObject({ state: 'cancelled' });
    expect(await capsOfVisit()).toMatchObject({ shownLast24Hours: 0, capped: null });

    await showOne('shown-once');
    expect(await page.answer('shown-once', 'accepted', 'chat')).toMatchObject({ ok: true });
    expect((await server.engage({ interactionId: 'one-too-many', visitId })).body).toMatchObject({
      code: 'VISITOR_CAPPED',
      cap: 'per-day',
    });
    expect(await capsOfVisit()).toMatchObject({ shownLast24Hours: 1, capped: 'per-day' });
  });

  it('shows no cap state and refuses nothing when no cap is configured (the default)', async () => {
    const server = await startServer();
    servers.push(server);
    const page = await TestPage.open(server.url);
    pages.push(page);
    for (let i = 0; i < 3; i++) {
      const id = `free-${i}`;
      expect((await server.engage({ interactionId: id, visitId: page.session.visitId })).status).toBe(200);
      await page.next('invitation:start', (offer) => offer.interactionId === id);
      await page.shown(id);
      expect(await page.answer(id, 'declined')).toMatchObject({ ok: true });
    }
    const visits = (await server.get('/backend/data/visits')).body.visits;
    expect(visits.find((visit: { visitId: string }) => visit.visitId === page.session.visitId).caps).toBeNull();
  });

  it('documents the cap state and the fault in the OpenAPI document', async () => {
    const server = await startServer();
    servers.push(server);
    const doc = (await server.get('/openapi.json')).body;
    const text = JSON.stringify(doc);
    expect(text).toContain('VISITOR_CAPPED');
    expect(text).toContain('shownLast24Hours');
    expect(text).toContain('retryAfter');
  });
});
