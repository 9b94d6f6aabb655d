/**
 * Security and operations on a real server (port 0, real fetch and
 * socket.io-client): headers, request ids, rate limits, the socket
 * connection and message limits, metrics, OpenAPI and the docs page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { io } from 'socket.io-client';
import { FAULTS } from '../src/protocol/index.js';
import { eventually, metricSample, startServer, TestPage, type Reply, type TestServer } from './support.js';

const servers: TestServer[] = [];
const pages: TestPage[] = [];

async function serve(...args: Parameters<typeof startServer>): Promise<TestServer> {
  const server = await startServer(...args);
  servers.push(server);
  return server;
}
async function open(server: TestServer): Promise<TestPage> {
  const page = await TestPage.open(server.url);
  pages.push(page);
  return page;
}

afterAll(async () => {
  for (const page of pages) page.close();
  await Promise.all(servers.map((s) => s.close()));
});

function expectFault(reply: Reply, code: keyof typeof FAULTS): void {
  expect(reply.status).toBe(FAULTS[code].status);
  expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
  expect(reply.body).toMatchObject({ status: 'FAULT', code });
}

let counter = 0;
const nextId = () => `ops-${++counter}-${Date.now()}`;

describe('security headers', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await serve();
  });

  it('puts a strict Content-Security-Policy on the demo, the console and the docs page', async () => {
    for (const path of ['/', '/products.html', '/console/', '/docs/']) {
      const response = await fetch(server.url + path);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type'), path).toMatch(/^text\/html/);
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("default-src 'self'");
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).toContain("style-src 'self'");
      expect(csp, path).toContain("object-src 'none'");
      expect(csp, path).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(response.headers.get('x-frame-options'), path).toBe('SAMEORIGIN');
      expect(response.headers.get('cross-origin-resource-policy'), path).toBe('same-origin');
      await response.arrayBuffer();
    }
  });

  it('serves pages whose scripts and styles are all external files (nothing the CSP would block)', async () => {
    for (const path of ['/', '/console/', '/docs/']) {
      const html = await (await fetch(server.url + path)).text();
      // Every <script> has a src; no inline handlers or style attributes.
      for (const tag of html.match(/<script\b[^>]*>/g) ?? []) expect(tag, path).toMatch(/\ssrc=/);
      expect(html, path).not.toMatch(/\son[a-z]+=|\sstyle=|<style\b/i);
    }
  });

  it('marks JSON answers nosniff and lets other sites load the widget script', async () => {
    const reply = await server.engage({ interactionId: nextId(), visitId: 'nope' });
    expect(reply.headers.get('x-content-type-options')).toBe('nosniff');
    const widget = await fetch(`${server.url}/widget/beckon.js`);
    await widget.arrayBuffer();
    expect(widget.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    if (existsSync('dist/widget/beckon.js')) {
      expect(widget.status).toBe(200);
      expect(widget.headers.get('access-control-allow-origin')).toBe('*');
    }
  });

  it("serves the widget's card chunk beside its script, with the same headers", async () => {
    const [script, chunk] = await Promise.all(
      ['beckon.js', 'beckon-ui.js'].map((file) => fetch(`${server.url}/widget/${file}`)),
    );
    await Promise.all([script!.arrayBuffer(), chunk!.arrayBuffer()]);
    expect(chunk!.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    if (existsSync('dist/widget/beckon-ui.js')) {
      expect(chunk!.status).toBe(200);
      // An ES module imported from another site's page: it needs CORS, and a JavaScript type.
      expect(chunk!.headers.get('access-control-allow-origin')).toBe('*');
      expect(chunk!.headers.get('content-type')).toMatch(/^(text|application)\/javascript/);
      for (const header of ['cache-control', 'x-content-type-options']) {
        expect(chunk!.headers.get(header), header).toBe(script!.headers.get(header));
      }
      expect(chunk!.headers.get('etag')).toBeTruthy();
    }
  });

  it('answers bytes that are not HTTP with a FAULT body too', async () => {
    const { port } = new URL(server.url);
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += chunk));
    const closed = new Promise((resolve) => socket.on('close', resolve));
    socket.write('GARBAGE \u0000 NOT HTTP\r\n\r\n');
    await closed;
    const [head = '', body = ''] = received.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 400/);
    expect(JSON.parse(body)).toMatchObject({ status: 'FAULT', code: 'INVALID_PARAMETER' });
  });

  it('honours a plain X-Request-Id, replaces a hostile one, and echoes the id', async () => {
    const mine = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'strategy-42.call:7' } });
    expect(mine.headers.get('x-request-id')).toBe('strategy-42.call:7');
    const hostile = await fetch(`${server.url}/healthz`, {
      headers: { 'x-request-id': `a b\u00e9${'x'.repeat(300)}` },
    });
    expect(hostile.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const none = await fetch(`${server.url}/healthz`);
    expect(none.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('readiness', () => {
  it('answers /readyz with 503 STORE_UNAVAILABLE once the store no longer answers, while /healthz stays up', async () => {
    const server = await serve();
    expect((await server.get('/readyz')).status).toBe(200);
    await server.beckon.store.close();
    expectFault(await server.get('/readyz'), 'STORE_UNAVAILABLE');
    expect((await server.get('/healthz')).status).toBe(200);
  });
});

describe('authentication behind a proxy', () => {
  it('without a token, refuses a request a local proxy forwarded for someone else', async () => {
    const server = await serve();
    expectFault(await server.get('/backend/data/visits', { 'x-forwarded-for': '203.0.113.7' }), 'UNAUTHORIZED');
    expect((await server.get('/backend/data/visits')).status).toBe(200);
  });

  it('with trusted proxy hops, judges the forwarded client, not the proxy', async () => {
    const server = await serve({ trustProxy: 1 });
    expectFault(await server.get('/backend/data/visits', { 'x-forwarded-for': '203.0.113.7' }), 'UNAUTHORIZED');
    expect((await server.get('/backend/data/visits', { 'x-forwarded-for': '127.0.0.1' })).status).toBe(200);
  });
});

describe('REST rate limit', () => {
  it('answers 429 RATE_LIMITED with Retry-After past the budget, per credential, and never limits health checks', async () => {
    const server = await serve({ rateLimitPerMinute: 3, apiToken: 'rate-token' });
    const auth = { authorization: 'Bearer rate-token' };
    for (let i = 0; i < 3; i++) expect((await server.get('/backend/data/visits', auth)).status).toBe(200);
    const limited = await server.get('/server/data/visits', auth);
    expectFault(limited, 'RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Wrong tokens are counted by address, so guessing is throttled too, but not against the token's budget…
    for (let i = 0; i < 3; i++)
      expectFault(await server.get('/backend/data/visits', { authorization: 'Bearer guess' }), 'UNAUTHORIZED');
    expectFault(await server.get('/backend/data/visits', { authorization: 'Bearer guess' }), 'RATE_LIMITED');
    // Another spelling of the same route (percent-encoded) shares the budget, it does not slip past it.
    const encoded = await server.get('/%62ackend/data/visits', auth);
    expectFault(encoded, 'RATE_LIMITED');
    // …and the open endpoints and pages are never limited.
    for (let i = 0; i < 5; i++) {
      expect((await server.get('/healthz')).status).toBe(200);
      expect((await server.get('/openapi.json')).status).toBe(200);
    }
  });
});

describe('visitor socket limits', () => {
  it('refuses connections from one address past its budget per minute, and counts them', async () => {
    const server = await serve({ socketConnectionsPerMinute: 2, apiToken: 't' });
    await open(server);
    await open(server);
    const third = io(server.url, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      auth: { page: { url: 'http://shop.test/', title: 'x', visible: true, focused: true } },
    });
    await new Promise((resolve) => third.on('connect_error', resolve));
    expect(third.connected).toBe(false);
    third.close();
    expect((await server.get('/healthz')).status).toBe(200);
    const metrics = await server.get('/metrics', { authorization: 'Bearer t' });
    expect(metricSample(metrics.body, 'beckon_socket_handshakes_refused_total{reason="rate_limited"}')).toBe(1);
    expect(metricSample(metrics.body, 'beckon_socket_connections_total')).toBe(2);
  });

  it('drops a socket that sends a message over the size limit, and keeps serving others', async () => {
    const server = await serve();
    const page = await open(server);
    const reason = new Promise<string>((resolve) => page.socket.on('disconnect', resolve));
    page.socket.emit('page:update', { title: 'x'.repeat(20 * 1024) });
    expect(await reason).toMatch(/transport (close|error)/);
    expect((await server.get('/healthz')).status).toBe(200);
    const next = await open(server);
    expect(next.session.visitId).toBeTruthy();
    // The oversized title never reached the store.
    const visits = (await server.get('/backend/data/visits')).body.visits;
    expect(JSON.stringify(visits)).not.toContain('x'.repeat(1000));
  });
});

describe('metrics', () => {
  let server: TestServer;
  const auth = { authorization: 'Bearer metrics-token' };
  beforeAll(async () => {
    server = await serve({ apiToken: 'metrics-token' });
  });

  it('needs the API credentials', async () => {
    expectFault(await server.get('/metrics'), 'UNAUTHORIZED');
    const basic = `Basic ${Buffer.from(`x:metrics-token`).toString('base64')}`;
    const reply = await server.get('/metrics', { authorization: basic });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('counts transitions, delivery latency, pages, visits, HTTP, socket events and foreign answers', async () => {
    const before = (await server.get('/metrics', auth)).body as string;
    expect(metricSample(before, 'beckon_engage_to_delivered_seconds_count')).toBe(0);
    expect(metricSample(before, 'beckon_webhook_backlog')).toBe(0);

    const owner = await open(server);
    const tab = new TestPage(server.url, { visitToken: owner.session.visitToken });
    pages.push(tab);
    await tab.next('session');
    const stranger = await open(server);
    const id = nextId();
    const engage = await server.post(
      '/backend/data/gateway/engage',
      { ixnProfile: { interactionId: id, visitId: owner.session.visitId } },
      { headers: auth },
    );
    expect(engage.status).toBe(200);
    await Promise.race([owner.next('invitation:start'), tab.next('invitation:start')]);
    const shownOn = owner.count('invitation:start') ? owner : tab;
    expect(await shownOn.shown(id)).toMatchObject({ ok: true, state: 'delivered' });
    // Answers for an attempt of another visit change nothing and are counted.
    expect(await stranger.answer(id, 'accepted', 'chat')).toMatchObject({ ok: false, code: 'UNKNOWN_ENGAGEMENT' });
    expect(await stranger.shown(id)).toMatchObject({ ok: false, code: 'UNKNOWN_ENGAGEMENT' });
    stranger.socket.emit('invitation:answer', { interactionId: id, outcome: 'declined' }); // no callback: counted all the same
    (stranger.socket as unknown as { emit(event: string, p: unknown): void }).emit('made-up-event', {});
    expect(await shownOn.answer(id, 'accepted', 'chat')).toMatchObject({ ok: true, state: 'accepted' });

    const text = await eventually(async () => {
      const body = (await server.get('/metrics', auth)).body as string;
      expect(metricSample(body, 'beckon_foreign_answers_total')).toBe(3);
      return body;
    });
    expect(metricSample(text, 'beckon_engagements_total{state="pending"}')).toBe(1);
    expect(metricSample(text, 'beckon_engagements_total{state="delivered"}')).toBe(1);
    expect(metricSample(text, 'beckon_engagements_total{state="accepted"}')).toBe(1);
    expect(metricSample(text, 'beckon_engage_to_delivered_seconds_count')).toBe(1);
    expect(metricSample(text, 'beckon_open_pages')).toBe(3);
    expect(metricSample(text, 'beckon_visits')).toBe(2);
    expect(metricSample(text, 'beckon_sockets_connected')).toBe(3);
    expect(metricSample(text, 'beckon_socket_connections_total')).toBe(3);
    expect(metricSample(text, 'beckon_socket_events_total{event="invitation:answer"}')).toBe(3);
    expect(metricSample(text, 'beckon_socket_events_total{event="other"}')).toBe(1);
    expect(
      metricSample(text, 'beckon_http_requests_total{method="POST",route="/backend/data/gateway/engage",status="200"}'),
    ).toBe(1);
    expect(metricSample(text, 'beckon_http_requests_total{method="GET",route="/metrics",status="401"}')).toBe(1);
    expect(text).toContain('beckon_process_cpu_user_seconds_total');
  });
});

describe('OpenAPI and the docs page', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await serve({ apiToken: 'docs-token' });
  });

  it('serves /openapi.json without credentials, generated from the schemas', async () => {
    const reply = await server.get('/openapi.json');
    expect(reply.status).toBe(200);
    const doc = reply.body;
    expect(doc.openapi).toBe('3.1.0');
    for (const prefix of ['/backend/data', '/server/data']) {
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining([`${prefix}/gateway/engage`, `${prefix}/gateway/noengage`, `${prefix}/visits`]),
      );
    }
    const profile = doc.components.schemas.IxnProfile;
    expect(profile.required).toEqual(['interactionId', 'visitId']);
    expect(profile.properties.timeoutSeconds).toBeDefined();
    expect(profile.properties.invitation.properties.title.maxLength).toBe(120);
    expect(doc.components.schemas.Fault.properties.code.enum).toEqual(Object.keys(FAULTS));
    expect(doc.paths['/backend/data/gateway/engage'].post.responses['429']).toBeDefined();
    expect(doc.components.securitySchemes.bearer.scheme).toBe('bearer');
  });

  it('serves the docs page and its script without credentials', async () => {
    const redirect = await fetch(`${server.url}/docs`, { redirect: 'manual' });
    expect([301, 302, 200]).toContain(redirect.status);
    const page = await fetch(`${server.url}/docs/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('src="/docs/docs.js"');
    const script = await fetch(`${server.url}/docs/docs.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    expect(await script.text()).toContain('/openapi.json');
  });
});

describe('metrics of one node among several', () => {
  it('label every series with the node’s role and id', async () => {
    const server = await serve({ nodeId: 'node-7' });
    const text = (await server.get('/metrics')).body as string;
    expect(text).toMatch(/^beckon_visits\{role="all",node="node-7"\} \d+$/m);
    expect(text).toMatch(/^beckon_process_cpu_user_seconds_total\{role="all",node="node-7"\} /m);
  });
});
