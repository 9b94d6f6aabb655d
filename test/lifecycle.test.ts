/**
 * Lifecycle rules that must hold across restarts and time: kill -9
 * durability and the end of idle visits, on the store the run uses (SQLite
 * or Redis, see stores.ts). Races between processes are in the store
 * contract (test/store-contract/processes.test.ts), run on both stores.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startBeckonProcess, type BeckonProcess } from './process.js';
import { storeEnv } from './stores.js';
import { eventually, startServer, TestPage, type TestServer } from './support.js';

/** REST calls to a Beckon process. */
function callerOf(url: string) {
  const post = async (path: string, body: unknown) => {
    const response = await fetch(url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  return {
    engage: (profile: Record<string, unknown>) => post('/backend/data/gateway/engage', { ixnProfile: profile }),
    status: async (id: string) => {
      const response = await fetch(`${url}/backend/data/gateway/engagements/${encodeURIComponent(id)}`);
      return { status: response.status, body: (await response.json()) as any };
    },
    visits: async () => ((await (await fetch(`${url}/backend/data/visits`)).json()) as any).visits as any[],
  };
}

describe('restart durability', () => {
  const processes: BeckonProcess[] = [];
  const pages: TestPage[] = [];
  afterEach(async () => {
    for (const page of pages.splice(0)) page.close();
    for (const server of processes.splice(0)) await server.stop('SIGKILL');
  });

  it('after kill -9, no acknowledged engage is lost, pending ones are delivered and shown ones re-shown or settled', async () => {
    const first = await startBeckonProcess();
    processes.push(first);
    const before = callerOf(first.url);
    const open = async (url: string, auth = {}) => {
      const page = await TestPage.open(url, auth);
      pages.push(page);
      return page;
    };

    // Visit A shows an invitation with a minute to go.
    const a = await open(first.url);
    await before.engage({ interactionId: 'shown', visitId: a.session.visitId, timeoutSeconds: 60 });
    await a.next('invitation:start');
    await a.shown('shown');
    // Visit B has no open page: its attempt waits.
    const b = await open(first.url);
    b.close();
    await eventually(async () => {
      const visit = (await before.visits()).find((v) => v.visitId === b.session.visitId);
      expect(visit.pages).toHaveLength(0);
    });
    expect(
      (await before.engage({ interactionId: 'waiting', visitId: b.session.visitId, expirationSeconds: 120 })).body
        .state,
    ).toBe('pending');
    // Visit C shows one that will time out while the server is down.
    const c = await open(first.url);
    await before.engage({ interactionId: 'short', visitId: c.session.visitId, timeoutSeconds: 5 });
    await c.next('invitation:start');
    await c.shown('short');
    const shortDeadline = Date.parse((await before.status('short')).body.timeoutAt);

    // A burst of engages, killed while calls are still in flight.
    const burst = await Promise.all(Array.from({ length: 25 }, () => open(first.url)));
    const acknowledged: string[] = [];
    let answered = 0;
    const calls = burst.map((page, i) =>
      before
        .engage({ interactionId: `burst-${i}`, visitId: page.session.visitId })
        .then((reply) => {
          if (reply.status === 200) acknowledged.push(`burst-${i}`);
        })
        .catch(() => undefined) // cut off by the kill: never acknowledged
        .finally(() => {
          answered++;
        }),
    );
    await eventually(async () => expect(answered).toBeGreaterThanOrEqual(5));
    await first.stop('SIGKILL');
    await Promise.all(calls);
    expect(acknowledged.length).toBeGreaterThanOrEqual(5);

    // Let the short invitation's deadline pass while nothing runs.
    await new Promise((r) => setTimeout(r, Math.max(0, shortDeadline - Date.now() + 300)));

    const second = await startBeckonProcess({ ...storeEnv(first.store), PORT: String(first.port) });
    processes.push(second);
    const after = callerOf(second.url);

    for (const id of acknowledged) expect((await after.status(id)).body.state).toBe('pending');
    await eventually(async () => expect((await after.status('short')).body.state).toBe('timed_out'));

    // The page of A comes back (same page load, so same tokens): the invitation is re-shown with its remaining time.
    const aAgain = await open(second.url, { visitToken: a.session.visitToken, pageToken: a.session.pageToken });
    expect(aAgain.session.pageId).toBe(a.session.pageId);
    expect(aAgain.session.invitation).toMatchObject({ interactionId: 'shown' });
    expect(aAgain.session.invitation!.remainingMs).toBeLessThan(60_000);
    expect(aAgain.session.invitation!.remainingMs).toBeGreaterThan(20_000);
    expect((await after.status('shown')).body.state).toBe('delivered');

    // A page of B opens: the attempt that waited through the crash is delivered.
    const bAgain = await open(second.url, { visitToken: b.session.visitToken });
    expect(bAgain.session.visitId).toBe(b.session.visitId);
    expect(bAgain.session.invitation).toMatchObject({ interactionId: 'waiting' });
    await bAgain.shown('waiting');
    expect((await after.status('waiting')).body.state).toBe('delivered');
  });
});

describe('visits end', () => {
  let server: TestServer;
  afterEach(() => server?.close());

  it('after the idle time with no open page: engage answers UNKNOWN_VISIT and the browser starts a new visit', async () => {
    server = await startServer({ visitIdleMs: 1500 });
    const page = await TestPage.open(server.url);
    const staying = await TestPage.open(server.url); // another browser, its page stays open
    page.close();

    await eventually(async () => {
      const visits = (await server.get('/backend/data/visits')).body.visits as { visitId: string }[];
      expect(visits.map((v) => v.visitId)).not.toContain(page.session.visitId);
    }, 8000);
    const refused = await server.engage({ interactionId: 'late', visitId: page.session.visitId });
    expect(refused.body.code).toBe('UNKNOWN_VISIT');
    // A visit with an open page never ends.
    expect((await server.engage({ interactionId: 'alive', visitId: staying.session.visitId })).status).toBe(200);

    const back = await TestPage.open(server.url, { visitToken: page.session.visitToken });
    expect(back.session.globalVisitId).toBe(page.session.globalVisitId);
    expect(back.session.visitId).not.toBe(page.session.visitId);
    back.close();
    staying.close();
  });

  it('a page that comes back before the idle time keeps its visit', async () => {
    server = await startServer({ visitIdleMs: 60_000 });
    const page = await TestPage.open(server.url);
    page.close();
    await eventually(async () => expect(await server.beckon.store.openPages(page.session.visitId)).toEqual([]));
    const back = await TestPage.open(server.url, { visitToken: page.session.visitToken });
    expect(back.session.visitId).toBe(page.session.visitId);
    back.close();
  });
});
