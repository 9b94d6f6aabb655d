/**
 * Attacks that ride the operator's own browser (docs/security.md), on a
 * real server (port 0) with raw HTTP requests, since `fetch` writes its own
 * Host. Each attack checks that nothing changed in the store, not only the
 * status; each legitimate caller checks that it still gets through.
 * The same attacks in a real Chromium are in e2e/cross-site.spec.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { io } from 'socket.io-client';
import { FAULTS } from '../src/protocol/index.js';
import { startBeckonProcess } from './process.js';
import { rawRequest, type RawReply } from './raw-request.js';
import { metricSample, startServer, TestPage, type TestServer } from './support.js';

const servers: TestServer[] = [];
const pages: TestPage[] = [];

async function serve(...args: Parameters<typeof startServer>): Promise<TestServer> {
  const server = await startServer(...args);
  servers.push(server);
  return server;
}

/** A visitor's page whose url and title are the data a rebound page must not read. */
async function visitor(server: TestServer, title = 'Checkout — Jane Doe'): Promise<TestPage> {
  const page = await TestPage.open(server.url, {
    page: { url: 'http://shop.test/account/orders/4711', title, visible: true, focused: true, locale: 'en' },
  });
  pages.push(page);
  return page;
}

afterAll(async () => {
  for (const page of pages) page.close();
  await Promise.all(servers.map((s) => s.close()));
});

function expectFault(reply: RawReply, code: keyof typeof FAULTS): void {
  expect(reply.status, reply.text).toBe(FAULTS[code].status);
  expect(reply.headers['content-type']).toMatch(/^application\/json/);
  expect(reply.body).toMatchObject({ status: 'FAULT', code });
}

const port = (server: TestServer) => new URL(server.url).port;
const form = (name: string, value: unknown) => new URLSearchParams({ [name]: JSON.stringify(value) }).toString();
const FORM = 'application/x-www-form-urlencoded';
const basic = (token: string) => `Basic ${Buffer.from(`strategy:${token}`).toString('base64')}`;

let counter = 0;
const nextId = (label: string) => `${label}-${++counter}-${Date.now()}`;

/** The attempt as a trusted script reads it (no browser marks, loopback Host). */
async function stateOf(server: TestServer, id: string, headers: Record<string, string> = {}): Promise<string | null> {
  const reply = await rawRequest(server.url, `/backend/data/gateway/engagements/${encodeURIComponent(id)}`, {
    headers,
  });
  if (reply.status === 404) return null;
  expect(reply.status, reply.text).toBe(200);
  return reply.body.state;
}

describe('DNS rebinding: a Host Beckon does not answer to', () => {
  it('cannot read live visits, their pages or anything else on a data route, and changes nothing', async () => {
    const server = await serve();
    await visitor(server);
    const rebound = { host: `rebound.example:${port(server)}` };

    const visits = await rawRequest(server.url, '/backend/data/visits', { headers: rebound });
    expectFault(visits, 'HOST_NOT_ALLOWED');
    expect(visits.body.message).toContain('"rebound.example"');
    expect(visits.text).not.toMatch(/Jane Doe|4711/);
    for (const path of [
      '/server/data/visits',
      '/backend/data/gateway/engagements/x',
      '/metrics',
      '/backend/data/no-such-route',
    ]) {
      expectFault(await rawRequest(server.url, path, { headers: rebound }), 'HOST_NOT_ALLOWED');
    }
    const events = await rawRequest(server.url, '/backend/data/events', { headers: rebound, headersOnly: true });
    expect(events.status).toBe(421);
    expect(events.headers['content-type']).not.toMatch(/event-stream/);

    const id = nextId('rebound');
    const engage = await rawRequest(server.url, '/backend/data/gateway/noengage', {
      method: 'POST',
      headers: { ...rebound, 'content-type': FORM },
      body: form('cancelData', { interactionId: id }),
    });
    expectFault(engage, 'HOST_NOT_ALLOWED');
    expect(await stateOf(server, id)).toBeNull();

    // The names Beckon does answer to read the same data.
    for (const host of [
      `127.0.0.1:${port(server)}`,
      `localhost:${port(server)}`,
      `LOCALHOST.:${port(server)}`,
      `[::1]:${port(server)}`,
    ]) {
      const ok = await rawRequest(server.url, '/backend/data/visits', { headers: { host } });
      expect(ok.status, host).toBe(200);
      expect(ok.text).toContain('Jane Doe');
    }
  });

  it('guards every spelling of a data URL: percent-encoded, absolute-form, with a suffix or a query', async () => {
    const server = await serve();
    await visitor(server);
    const rebound = `rebound.example:${port(server)}`;
    for (const path of [
      '/%62ackend/data/visits',
      '/backend/data/visits;x',
      `http://${rebound}/backend/data/visits`,
      `http://127.0.0.1:${port(server)}/server/data/visits`,
      '/backend/data/visits/',
      '/metrics?name=x',
    ]) {
      const reply = await rawRequest(server.url, path, { headers: { host: rebound } });
      expectFault(reply, 'HOST_NOT_ALLOWED');
      expect(reply.text).not.toContain('Jane Doe');
    }
  });

  it('stays on with a token: valid credentials from a rebound page are refused too', async () => {
    const server = await serve({ apiToken: 'rebind-token' });
    await visitor(server);
    const reply = await rawRequest(server.url, '/backend/data/visits', {
      headers: { host: `rebound.example:${port(server)}`, authorization: 'Bearer rebind-token' },
    });
    expectFault(reply, 'HOST_NOT_ALLOWED');
    expect(reply.text).not.toContain('Jane Doe');
  });

  it('cannot open a visitor socket, so it cannot hold a visit under a name Beckon does not answer to', async () => {
    const server = await serve({ apiToken: 't' });
    const socket = io(server.url, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      // A rebound page's own origin: allowed by the origin rule, which is why the Host rule must come first.
      extraHeaders: { host: `rebound.example:${port(server)}`, origin: `http://rebound.example:${port(server)}` },
      auth: {
        page: { url: `http://rebound.example:${port(server)}/`, title: 'Rebound', visible: true, focused: true },
      },
    });
    const refused = await new Promise<string>((resolve) => {
      socket.on('connect', () => resolve('connected'));
      socket.on('connect_error', () => resolve('refused'));
    });
    socket.close();
    expect(refused).toBe('refused');
    const auth = { authorization: 'Bearer t' };
    expect((await rawRequest(server.url, '/backend/data/visits', { headers: auth })).body.visits).toEqual([]);
    const metrics = await rawRequest(server.url, '/metrics', { headers: auth });
    expect(metricSample(metrics.text, 'beckon_socket_handshakes_refused_total{reason="host"}')).toBe(1);
    // The same handshake addressed to a name Beckon answers to connects.
    const page = new TestPage(server.url, {}, { origin: `http://127.0.0.1:${port(server)}` });
    pages.push(page);
    await page.next('session');
  });

  it('serves the pages, the widget script and the health checks whatever the Host: they hold no data', async () => {
    const server = await serve();
    const host = { host: `rebound.example:${port(server)}` };
    for (const path of ['/', '/console/', '/healthz', '/readyz', '/openapi.json']) {
      expect((await rawRequest(server.url, path, { headers: host })).status, path).toBe(200);
    }
  });
});

describe('cross-site requests from a page in the operator’s browser', () => {
  it('cannot cancel an attempt with a form: refused whatever the marks, the attempt and its page untouched', async () => {
    const server = await serve();
    const page = await visitor(server);
    const id = nextId('form-cancel');
    expect((await server.engage({ interactionId: id, visitId: page.session.visitId })).status).toBe(200);
    await page.next('invitation:start');

    const marks: Record<string, string>[] = [
      { origin: 'http://evil.example' },
      { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' },
      // A sandboxed frame, or a form after a cross-site redirect.
      { origin: 'null' },
      // Another server on the same machine: same site, another origin.
      { origin: `http://127.0.0.1:${Number(port(server)) + 1}`, 'sec-fetch-site': 'same-site' },
      { origin: `http://localhost:${port(server)}`, 'sec-fetch-site': 'cross-site' },
      // A top-level navigation that sends no Origin.
      { 'sec-fetch-site': 'cross-site' },
    ];
    for (const headers of marks) {
      const reply = await rawRequest(server.url, '/backend/data/gateway/noengage', {
        method: 'POST',
        headers: { ...headers, 'content-type': FORM },
        body: form('cancelData', { interactionId: id }),
      });
      expectFault(reply, 'CROSS_SITE_REQUEST');
    }
    // A never-engaged id would have been recorded as cancelled (a tombstone): it is not.
    const tombstone = nextId('form-tombstone');
    expectFault(
      await rawRequest(server.url, '/server/data/gateway/noengage', {
        method: 'POST',
        headers: { origin: 'http://evil.example', 'content-type': FORM },
        body: form('cancelData', { interactionId: tombstone }),
      }),
      'CROSS_SITE_REQUEST',
    );
    expect(await stateOf(server, tombstone)).toBeNull();
    expect(await stateOf(server, id)).toBe('pending');
    expect(page.count('invitation:withdraw')).toBe(0);
  });

  it('cannot start an invitation with a form, even when the browser holds valid Basic or Bearer credentials', async () => {
    const token = 'cross-site-token';
    const server = await serve({ apiToken: token });
    const page = await visitor(server);
    for (const authorization of [basic(token), `Bearer ${token}`]) {
      const id = nextId('form-engage');
      const reply = await rawRequest(server.url, '/server/data/gateway/engage', {
        method: 'POST',
        headers: { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site', authorization, 'content-type': FORM },
        body: form('ixnProfile', { interactionID: id, visitID: page.session.visitId }),
      });
      expectFault(reply, 'CROSS_SITE_REQUEST');
      expect(await stateOf(server, id, { authorization: `Bearer ${token}` })).toBeNull();
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(page.count('invitation:start')).toBe(0);
  });

  it('cannot read data cross-site either (visits, the event stream, metrics)', async () => {
    const server = await serve();
    await visitor(server);
    const headers = { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' };
    for (const path of ['/backend/data/visits', '/metrics']) {
      const reply = await rawRequest(server.url, path, { headers });
      expectFault(reply, 'CROSS_SITE_REQUEST');
      expect(reply.text).not.toContain('Jane Doe');
    }
    expect((await rawRequest(server.url, '/backend/data/events', { headers, headersOnly: true })).status).toBe(403);
  });

  it('lets the widget’s sites open sockets but not call the REST API', async () => {
    const shop = 'https://shop.example';
    const server = await serve({ allowedOrigins: [shop] });
    const page = new TestPage(server.url, {}, { origin: shop });
    pages.push(page);
    await page.next('session');
    const id = nextId('shop-engage');
    const reply = await rawRequest(server.url, '/backend/data/gateway/engage', {
      method: 'POST',
      headers: { origin: shop, 'content-type': 'application/json' },
      body: JSON.stringify({ ixnProfile: { interactionId: id, visitId: page.session.visitId } }),
    });
    expectFault(reply, 'CROSS_SITE_REQUEST');
    expect(await stateOf(server, id)).toBeNull();
  });

  it('challenges a 401 with Bearer only, so that no browser prompts for Basic and caches it', async () => {
    const server = await serve({ apiToken: 'challenge-token' });
    const attempts: Record<string, string>[] = [
      {},
      { authorization: basic('wrong') },
      { authorization: 'Bearer wrong' },
    ];
    for (const headers of attempts) {
      const reply = await rawRequest(server.url, '/backend/data/visits', { headers });
      expectFault(reply, 'UNAUTHORIZED');
      expect(reply.headers['www-authenticate']).toBe('Bearer realm="beckon"');
    }
    expect((await rawRequest(server.url, '/metrics')).headers['www-authenticate']).toBe('Bearer realm="beckon"');
  });
});

describe('legitimate callers keep working', () => {
  it('a strategy posting form-encoded with Basic it was never asked for, and a script with Bearer', async () => {
    const token = 'strategy-token';
    const server = await serve({ apiToken: token });
    const page = await visitor(server);
    const id = nextId('strategy');
    const engage = await rawRequest(server.url, '/server/data/gateway/engage', {
      method: 'POST',
      headers: { authorization: basic(token), 'content-type': FORM },
      body: form('ixnProfile', { interactionID: id, visitID: page.session.visitId }),
    });
    expect(engage.status, engage.text).toBe(200);
    await page.next('invitation:start', (p) => p.interactionId === id);
    const cancel = await rawRequest(server.url, '/backend/data/gateway/noengage', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ cancelData: { interactionId: id, reason: 'no-agents' } }),
    });
    expect(cancel.body).toMatchObject({ status: 'OK', state: 'cancelled' });
    await page.next('invitation:withdraw', (p) => p.interactionId === id);
  });

  it('the console: same-origin requests on whichever name Beckon answers to', async () => {
    const server = await serve();
    const page = await visitor(server);
    for (const name of ['127.0.0.1', 'localhost']) {
      const self = `${name}:${port(server)}`;
      const id = nextId(`console-${name}`);
      const engage = await rawRequest(server.url, '/backend/data/gateway/engage', {
        method: 'POST',
        headers: {
          host: self,
          origin: `http://${self}`,
          'sec-fetch-site': 'same-origin',
          'content-type': 'application/json',
        },
        body: JSON.stringify({ ixnProfile: { interactionId: id, visitId: page.session.visitId } }),
      });
      expect(engage.status, engage.text).toBe(200);
      // GETs carry no Origin, only Sec-Fetch-Site; the operator typing the URL sends `none`.
      for (const site of ['same-origin', 'none']) {
        const read = await rawRequest(server.url, `/backend/data/gateway/engagements/${id}`, {
          headers: { host: self, 'sec-fetch-site': site },
        });
        expect(read.body.state).toBe('pending');
      }
      await server.noengage({ interactionId: id });
    }
  });

  it('a script over HTTP/1.0 with no Host header', async () => {
    const server = await serve();
    const socket = connect(Number(port(server)), '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += chunk));
    const closed = new Promise((resolve) => socket.on('close', resolve));
    socket.write('GET /backend/data/visits HTTP/1.0\r\n\r\n');
    await closed;
    expect(received).toMatch(/^HTTP\/1\.1 200/);
  });

  it('behind a trusted proxy: the public name in Host (nginx `Host $host`) or in X-Forwarded-Host', async () => {
    const token = 'proxy-token';
    const server = await serve({ apiToken: token, trustProxy: 1, allowedHosts: ['beckon.example.com'] });
    const page = await visitor(server);
    const auth = { authorization: `Bearer ${token}`, 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' };
    const public_ = 'https://beckon.example.com';
    const viaHost = { ...auth, host: 'beckon.example.com' };
    const viaForwarded = { ...auth, host: `127.0.0.1:${port(server)}`, 'x-forwarded-host': 'beckon.example.com' };
    for (const headers of [viaHost, viaForwarded]) {
      expect((await rawRequest(server.url, '/backend/data/visits', { headers })).text).toContain('Jane Doe');
      // The console behind the proxy posts with its public origin.
      const id = nextId('proxied');
      const engage = await rawRequest(server.url, '/backend/data/gateway/engage', {
        method: 'POST',
        headers: { ...headers, origin: public_, 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' },
        body: JSON.stringify({ ixnProfile: { interactionId: id, visitId: page.session.visitId } }),
      });
      expect(engage.status, engage.text).toBe(200);
      await server.post(
        '/backend/data/gateway/noengage',
        { cancelData: { interactionId: id } },
        { headers: { authorization: `Bearer ${token}` } },
      );
    }
    // A rebound name, whether the proxy forwarded it in Host or in X-Forwarded-Host, is refused.
    expectFault(
      await rawRequest(server.url, '/backend/data/visits', { headers: { ...auth, host: 'rebound.example' } }),
      'HOST_NOT_ALLOWED',
    );
    expectFault(
      await rawRequest(server.url, '/backend/data/visits', {
        headers: { ...viaForwarded, 'x-forwarded-host': 'rebound.example' },
      }),
      'HOST_NOT_ALLOWED',
    );
    // The proxy's own upstream address is not the console's origin.
    expectFault(
      await rawRequest(server.url, '/backend/data/visits', {
        headers: { ...viaForwarded, origin: `http://127.0.0.1:${port(server)}` },
      }),
      'CROSS_SITE_REQUEST',
    );
  });

  it('without trusted proxies, X-Forwarded-Host is not believed in either direction', async () => {
    const server = await serve({ apiToken: 't' });
    const auth = { authorization: 'Bearer t' };
    const local = await rawRequest(server.url, '/backend/data/visits', {
      headers: { ...auth, 'x-forwarded-host': 'rebound.example' },
    });
    expect(local.status).toBe(200);
    expectFault(
      await rawRequest(server.url, '/backend/data/visits', {
        headers: { ...auth, host: 'rebound.example', 'x-forwarded-host': 'localhost' },
      }),
      'HOST_NOT_ALLOWED',
    );
  });

  it('BECKON_ALLOWED_HOSTS from the environment reaches the running server, and the start log names it', async () => {
    const beckon = await startBeckonProcess({ BECKON_ALLOWED_HOSTS: 'Beckon.Example.com' });
    try {
      expect(
        (await rawRequest(beckon.url, '/backend/data/visits', { headers: { host: 'beckon.example.com' } })).status,
      ).toBe(200);
      expectFault(
        await rawRequest(beckon.url, '/backend/data/visits', { headers: { host: 'rebound.example' } }),
        'HOST_NOT_ALLOWED',
      );
      const lines = beckon
        .output()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line));
      expect(lines.find((line) => line.allowedHosts !== undefined)).toMatchObject({
        host: '127.0.0.1',
        allowedHosts: ['beckon.example.com'],
      });
    } finally {
      await beckon.stop();
    }
  });

  it('BECKON_ALLOWED_HOSTS widens the names: .example.com for subdomains, * for every name', async () => {
    const suffix = await serve({ apiToken: 't', allowedHosts: ['.example.com'] });
    const auth = { authorization: 'Bearer t' };
    for (const host of ['example.com', 'beckon.example.com', 'a.b.example.com:8443']) {
      expect((await rawRequest(suffix.url, '/backend/data/visits', { headers: { ...auth, host } })).status, host).toBe(
        200,
      );
    }
    expectFault(
      await rawRequest(suffix.url, '/backend/data/visits', { headers: { ...auth, host: 'evilexample.com' } }),
      'HOST_NOT_ALLOWED',
    );

    const any = await serve({ apiToken: 't', allowedHosts: ['*'] });
    expect(
      (await rawRequest(any.url, '/backend/data/visits', { headers: { ...auth, host: 'rebound.example' } })).status,
    ).toBe(200);
    // The Origin rule stays on: a page elsewhere still cannot post.
    expectFault(
      await rawRequest(any.url, '/backend/data/visits', {
        headers: { ...auth, host: 'beckon.lan', origin: 'http://evil.example' },
      }),
      'CROSS_SITE_REQUEST',
    );
    // …and the named HOST is answered to as well.
    const named = await serve({ apiToken: 't', host: 'beckon.internal' });
    expect(
      (await rawRequest(named.url, '/backend/data/visits', { headers: { ...auth, host: 'beckon.internal:9081' } }))
        .status,
    ).toBe(200);
  });
});
