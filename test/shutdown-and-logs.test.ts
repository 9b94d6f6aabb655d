/**
 * Beckon as an operator runs it: the built entry point (`dist/server/main.js`)
 * in a child process, stopped with SIGTERM. Proves that secrets never reach the
 * logs and that a SIGTERM in the middle of traffic loses no acknowledged call.
 */
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import { openStore } from '../src/store/open.js';
import { storeEnv } from './stores.js';
import { startBeckonProcess, type BeckonProcess } from './process.js';
import { eventually, startServer } from './support.js';

const dirs: string[] = [];
const running: BeckonProcess[] = [];

afterAll(async () => {
  for (const beckon of running) await beckon.stop('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The built server (`node dist/server/main.js`; `npm test` builds first), stopped by the test itself. */
async function startBeckon(env: Record<string, string>): Promise<BeckonProcess> {
  const beckon = await startBeckonProcess(env);
  running.push(beckon);
  return beckon;
}

/** Sends SIGTERM and resolves with the exit code. */
async function terminate(beckon: BeckonProcess): Promise<number | null> {
  await beckon.stop('SIGTERM');
  return beckon.child.exitCode;
}

/** A visitor's page in the child process; resolves with its session. */
async function openPage(url: string) {
  const socket = io(url, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    auth: { page: { url: 'http://shop.test/', title: 'Shop', visible: true, focused: true } },
  });
  const session = await new Promise<{ visitId: string; visitToken: string }>((resolve) =>
    socket.once('session', resolve),
  );
  return { socket, session };
}

describe('logs', () => {
  it('carry request ids and never the API token, the signing secret or the webhook secret', async () => {
    const secrets = {
      BECKON_API_TOKEN: 'api-token-9d1f-never-logged',
      BECKON_SECRET: 'signing-secret-44ab-never-logged',
      BECKON_WEBHOOK_SECRET: 'webhook-secret-7c2e-never-logged',
    };
    const beckon = await startBeckon({ ...secrets, LOG_LEVEL: 'trace' });
    const basic = Buffer.from(`strategy:${secrets.BECKON_API_TOKEN}`).toString('base64');
    const page = await openPage(beckon.url);
    const calls: [string, RequestInit][] = [
      [
        '/backend/data/visits',
        { headers: { authorization: `Bearer ${secrets.BECKON_API_TOKEN}`, 'x-request-id': 'trace-me-1' } },
      ],
      ['/server/data/visits', { headers: { authorization: `Basic ${basic}` } }],
      ['/backend/data/visits', { headers: { authorization: 'Bearer wrong' } }],
      [
        '/backend/data/gateway/engage',
        {
          method: 'POST',
          headers: { authorization: `Bearer ${secrets.BECKON_API_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ ixnProfile: { interactionId: 'log-1', visitId: page.session.visitId } }),
        },
      ],
      ['/metrics', { headers: { authorization: `Bearer ${secrets.BECKON_API_TOKEN}`, cookie: 'session=abc' } }],
    ];
    for (const [path, init] of calls) {
      const response = await fetch(beckon.url + path, init);
      expect(response.status).toBeLessThan(500);
      await response.arrayBuffer();
    }
    page.socket.close();
    expect(await terminate(beckon)).toBe(0);

    const output = beckon.output();
    for (const secret of [...Object.values(secrets), basic]) expect(output).not.toContain(secret);
    const lines = output
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, any>);
    // Structured: every request line names its request id, and the caller's own id is kept.
    const traced = lines.filter((line) => line.reqId === 'trace-me-1');
    expect(traced.map((line) => line.msg)).toEqual(expect.arrayContaining(['incoming request', 'request completed']));
    expect(lines.some((line) => line.msg === 'request refused' && typeof line.reqId === 'string')).toBe(true);
    expect(lines.some((line) => line.msg?.includes('BECKON_API_TOKEN is not set'))).toBe(false);
  });

  it('warn at start when no API token is set', async () => {
    const beckon = await startBeckon({});
    expect(await terminate(beckon)).toBe(0);
    const warning = beckon
      .output()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
      .find((line) => line.level === 40 && /BECKON_API_TOKEN is not set/.test(line.msg));
    expect(warning).toBeDefined();
  });
});

describe('graceful shutdown', () => {
  it('SIGTERM during traffic loses no acknowledged call, and refuses the rest with 503 FAULT or a closed connection', async () => {
    // Not strict, so that every engage of the stream creates an attempt for the one visit.
    const first = await startBeckon({ BECKON_STRICT: 'false' });
    const env = { ...storeEnv(first.store), BECKON_STRICT: 'false' };
    const page = await openPage(first.url);
    const pageDisconnected = new Promise<string>((resolve) => page.socket.once('disconnect', resolve));

    type Outcome = { id: string; kind: 'engage' | 'noengage'; status: number | 'connection-error'; body: any };
    const outcomes: Outcome[] = [];
    let acknowledged = 0;
    let signalled = false;
    let stopped = false;
    const firstExit = new Promise<number | null>((resolve) => first.child.once('exit', resolve));
    void firstExit.then(() => (stopped = true));

    async function call(n: number, kind: Outcome['kind']): Promise<Outcome> {
      const id = `sigterm-${kind}-${n}`;
      const body =
        kind === 'engage'
          ? { ixnProfile: { interactionId: id, visitId: page.session.visitId, expirationSeconds: 1800 } }
          : { cancelData: { interactionId: id, reason: 'pacing' } };
      try {
        const response = await fetch(`${first.url}/backend/data/gateway/${kind}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const text = await response.text();
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // kept as text: the assertions below will show it
        }
        return { id, kind, status: response.status, body: parsed };
      } catch {
        return { id, kind, status: 'connection-error', body: null };
      }
    }

    // Eight callers in parallel; SIGTERM once 150 calls are acknowledged; each caller stops at its
    // first refusal after the signal, when the process is gone, or at a hard cap.
    let next = 0;
    const MAX_CALLS = 3000;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (!stopped && next < MAX_CALLS) {
          const n = next++;
          const outcome = await call(n, n % 2 === 0 ? 'engage' : 'noengage');
          outcomes.push(outcome);
          if (outcome.status === 200) acknowledged++;
          if (!signalled && acknowledged >= 150) {
            signalled = true;
            first.child.kill('SIGTERM');
          }
          if (signalled && outcome.status !== 200) break;
        }
      }),
    );
    expect(signalled).toBe(true);
    expect(await firstExit).toBe(0);
    // Pages were told to go (and reconnect elsewhere or later).
    expect(await pageDisconnected).toBeTruthy();
    page.socket.close();

    const ok = outcomes.filter((o) => o.status === 200);
    const refused = outcomes.filter((o) => o.status !== 200);
    for (const o of ok) expect(o.body, o.id).toMatchObject({ status: 'OK', interactionId: o.id });
    for (const o of refused) {
      if (o.status === 'connection-error') continue;
      expect(o.status, JSON.stringify(o)).toBe(503);
      expect(o.body, o.id).toMatchObject({ status: 'FAULT', code: 'SHUTTING_DOWN' });
    }
    // Nothing went wrong inside while closing.
    const errors = first
      .output()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
      .filter((line) => line.level >= 50);
    expect(errors).toEqual([]);

    // Restart on the same database: every acknowledged call is there, as acknowledged.
    const second = await startBeckon(env);
    for (let i = 0; i < ok.length; i += 25) {
      await Promise.all(
        ok.slice(i, i + 25).map(async (o) => {
          const response = await fetch(`${second.url}/backend/data/gateway/engagements/${o.id}`);
          expect(response.status, o.id).toBe(200);
          const record = await response.json();
          if (o.kind === 'noengage') expect(record.state, o.id).toBe('cancelled');
          else
            expect(record, o.id).toMatchObject({
              visitId: page.session.visitId,
              state: expect.stringMatching(/pending|delivered/),
            });
        }),
      );
    }
    expect(await terminate(second)).toBe(0);
    console.info(
      `SIGTERM test: ${ok.length} acknowledged, ${refused.filter((o) => o.status === 503).length} answered 503, ` +
        `${refused.filter((o) => o.status === 'connection-error').length} connection errors`,
    );
  }, 90_000);
});

describe('closing with calls on open connections', () => {
  it('finishes a call in flight, answers a new call and readiness with 503 SHUTTING_DOWN, then closes the store', async () => {
    const server = await startServer({ strict: false });
    dirs.push(server.dir);
    const page = await openPage(server.url);
    const { port } = new URL(server.url);

    /** A raw HTTP/1.1 connection that sends `head` now and the rest when told. */
    async function connection(head: string) {
      const socket = connect(Number(port), '127.0.0.1');
      await once(socket, 'connect');
      let received = '';
      socket.on('data', (chunk) => (received += chunk));
      const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      socket.write(head);
      return {
        finish: (rest: string) => socket.write(rest),
        answer: async () => {
          await ended;
          const [headers = '', body = ''] = received.split('\r\n\r\n');
          return { status: Number(headers.split(' ')[1]), headers, body: body ? JSON.parse(body) : null };
        },
      };
    }

    // In flight: headers and half the body of an engage are in when the server starts closing.
    const engage = JSON.stringify({ ixnProfile: { interactionId: 'in-flight-1', visitId: page.session.visitId } });
    const inFlight = await connection(
      `POST /backend/data/gateway/engage HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(engage)}\r\nConnection: close\r\n\r\n${engage.slice(0, 20)}`,
    );
    // New calls: only the start of their request line has arrived.
    const newCall = await connection('POST /backend/data/gateway/noengage HTTP/1.1\r\n');
    const readiness = await connection('GET /readyz HTTP/1.1\r\n');
    // The server holds the three connections (and the page's) and has read what was sent so far.
    const app = server.beckon.app;
    await eventually(async () => {
      const count = await new Promise<number>((resolve) => app.server.getConnections((_e, n) => resolve(n)));
      expect(count).toBe(4);
    });
    await new Promise((resolve) => setTimeout(resolve, 50));

    const pageGone = new Promise<string>((resolve) => page.socket.once('disconnect', resolve));
    const closed = server.beckon.close();
    // Listening stops once the shutdown has begun (after preClose); only then do the calls complete.
    await eventually(async () => expect(app.server.listening).toBe(false));
    inFlight.finish(engage.slice(20));
    const cancel = JSON.stringify({ cancelData: { interactionId: 'new-call-1' } });
    newCall.finish(
      `Host: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${cancel.length}\r\n\r\n${cancel}`,
    );
    readiness.finish('Host: 127.0.0.1\r\n\r\n');

    const [a, b, c] = await Promise.all([inFlight.answer(), newCall.answer(), readiness.answer()]);
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ status: 'OK', interactionId: 'in-flight-1', state: 'pending' });
    for (const refused of [b, c]) {
      expect(refused.status).toBe(503);
      expect(refused.headers).toMatch(/content-type: application\/json/i);
      expect(refused.body).toMatchObject({ status: 'FAULT', code: 'SHUTTING_DOWN' });
    }
    await closed;
    expect(await pageGone).toBeTruthy();
    page.socket.close();
    // The acknowledged call is in the store; the refused one left nothing.
    const store = await openStore(server.store);
    expect((await store.getEngagement('in-flight-1'))?.state).toBe('pending');
    expect(await store.getEngagement('new-call-1')).toBeNull();
    await store.close();
  });
});
