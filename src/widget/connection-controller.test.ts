/**
 * The connection controller against the real Beckon server (port 0, its own
 * SQLite file), in Node: only the browser globals the controller reads
 * (document, location, navigator, localStorage) are provided, and nothing is
 * drawn. What the server learned is read back through its REST API.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ReactiveControllerHost } from 'lit';
import type { InvitationOffer, OptMessage, Session, Withdrawal } from '../protocol/socket.js';
import { startRedisServer } from '../../test/redis-server.js';
import { startServer, type TestServer } from '../../test/support.js';
import { ConnectionController, VISIT_TOKEN_KEY } from './connection-controller.js';

/** The part of `document` the controller reads, with presence the test can change. */
class PageDocument extends EventTarget {
  title = 'Checkout';
  visibilityState: DocumentVisibilityState = 'visible';
  baseURI = 'https://shop.example/checkout';
  focused = true;
  hasFocus(): boolean {
    return this.focused;
  }
}

function until<T>(find: () => T | undefined | Promise<T | undefined>, ms = 5000): Promise<T> {
  return vi.waitFor(
    async () => {
      const found = await find();
      if (found === undefined) throw new Error('not yet');
      return found;
    },
    { timeout: ms, interval: 20 },
  );
}

describe('ConnectionController against the real server', () => {
  let server: TestServer;
  let doc: PageDocument;
  let storage: Map<string, string>;
  const controllers: ConnectionController[] = [];

  const host: ReactiveControllerHost = {
    addController: () => undefined,
    removeController: () => undefined,
    requestUpdate: () => undefined,
    updateComplete: Promise.resolve(true),
  };

  beforeEach(async () => {
    server = await startServer();
    doc = new PageDocument();
    storage = new Map();
    vi.stubGlobal('document', doc);
    vi.stubGlobal('window', new EventTarget());
    vi.stubGlobal('location', { href: 'https://shop.example/checkout?step=2' });
    vi.stubGlobal('navigator', { language: 'fr-CA' });
    vi.stubGlobal('localStorage', {
      getItem: (key: string) => storage.get(key) ?? null,
      setItem: (key: string, value: string) => void storage.set(key, value),
    });
  });

  afterEach(async () => {
    for (const controller of controllers.splice(0)) controller.hostDisconnected();
    await server.close();
    vi.unstubAllGlobals();
  });

  interface Heard {
    sessions: Session[];
    offers: InvitationOffer[];
    withdrawals: Withdrawal[];
    opts: OptMessage[];
  }

  function connect(): { controller: ConnectionController; heard: Heard } {
    const heard: Heard = { sessions: [], offers: [], withdrawals: [], opts: [] };
    const controller = new ConnectionController(host, {
      server: () => server.url,
      session: (session) => heard.sessions.push(session),
      start: (offer) => heard.offers.push(offer),
      withdraw: (withdrawal) => heard.withdrawals.push(withdrawal),
      opt: (opt) => heard.opts.push(opt),
    });
    controller.hostConnected();
    controllers.push(controller);
    return { controller, heard };
  }

  /** The page as the server's visits endpoint lists it. */
  async function listedPage(pageId: string): Promise<any> {
    const { body } = await server.get('/backend/data/visits');
    for (const visit of body.visits) {
      const page = visit.pages.find((p: any) => p.pageId === pageId);
      if (page) return page;
    }
    return undefined;
  }

  it('tells the server about the page in the handshake, then keeps the visit token it gives', async () => {
    const { heard } = connect();
    const session = await until(() => heard.sessions[0]);
    expect(session.optedOut).toBe(false);
    expect(await listedPage(session.pageId)).toMatchObject({
      url: 'https://shop.example/checkout?step=2',
      title: 'Checkout',
      visible: true,
      focused: true,
      locale: 'fr-CA',
    });
    expect(storage.get(VISIT_TOKEN_KEY)).toBe(session.visitToken);
  });

  it('resumes the same visit and page after the transport drops', async () => {
    const { heard } = connect();
    const first = await until(() => heard.sessions[0]);
    // A dropped transport, not a refusal: socket.io reconnects by itself.
    for (const socket of server.beckon.io.sockets.sockets.values()) socket.conn.close();
    const second = await until(() => heard.sessions[1]);
    expect(second).toMatchObject({ globalVisitId: first.globalVisitId, visitId: first.visitId, pageId: first.pageId });
  });

  it('a second page load of the same browser joins the visit with a new page', async () => {
    const { heard } = connect();
    const first = await until(() => heard.sessions[0]);
    const { heard: next } = connect();
    const second = await until(() => next.sessions[0]);
    expect(second.visitId).toBe(first.visitId);
    expect(second.pageId).not.toBe(first.pageId);
  });

  it('cuts what the strict server schema would refuse, so the page still connects', async () => {
    doc.title = 'x'.repeat(400);
    vi.stubGlobal('location', { href: `https://shop.example/${'y'.repeat(3000)}` });
    storage.set(VISIT_TOKEN_KEY, 'z'.repeat(600));
    const { heard } = connect();
    const session = await until(() => heard.sessions[0]);
    const page = await listedPage(session.pageId);
    expect(page.title).toHaveLength(300);
    expect(page.url).toHaveLength(2048);
  });

  it('reports presence when visibility or focus changes', async () => {
    const { heard } = connect();
    const session = await until(() => heard.sessions[0]);
    doc.visibilityState = 'hidden';
    doc.focused = false;
    doc.dispatchEvent(new Event('visibilitychange'));
    await until(async () => {
      const page = await listedPage(session.pageId);
      return page && !page.visible && !page.focused ? page : undefined;
    });
  });

  it('hears invitations and answers them; the server records the outcome', async () => {
    const { controller, heard } = connect();
    const { visitId } = await until(() => heard.sessions[0]);
    await server.engage({ interactionId: 'ctl-1', visitId, channels: ['chat', 'callback'] });
    const offer = await until(() => heard.offers[0]);
    expect(offer).toMatchObject({ interactionId: 'ctl-1', channels: ['chat', 'callback'] });
    controller.shown('ctl-1');
    await until(async () => ((await server.status('ctl-1')).body.state === 'delivered' ? true : undefined));
    await expect(controller.answer({ interactionId: 'ctl-1', outcome: 'accepted', channel: 'chat' })).resolves.toEqual({
      ok: true,
      state: 'accepted',
    });
    expect((await server.status('ctl-1')).body).toMatchObject({ state: 'accepted', channel: 'chat' });
    await expect(controller.answer({ interactionId: 'ctl-1', outcome: 'declined' })).resolves.toMatchObject({
      ok: false,
      code: 'ALREADY_SETTLED',
    });
  });

  it('hears a withdrawal when the caller cancels', async () => {
    const { controller, heard } = connect();
    const { visitId } = await until(() => heard.sessions[0]);
    await server.engage({ interactionId: 'ctl-2', visitId });
    await until(() => heard.offers[0]);
    controller.shown('ctl-2');
    await server.noengage({ interactionId: 'ctl-2' });
    expect(await until(() => heard.withdrawals[0])).toEqual({ interactionId: 'ctl-2', state: 'cancelled' });
  });

  it('opts out for the browser: engage is refused, other tabs hear it, a new page learns it', async () => {
    const { controller, heard } = connect();
    const { visitId } = await until(() => heard.sessions[0]);
    const { heard: otherTab } = connect();
    await until(() => otherTab.sessions[0]);
    await expect(controller.opt({ optedOut: true })).resolves.toEqual({ ok: true, optedOut: true });
    expect(await until(() => otherTab.opts[0])).toEqual({ optedOut: true });
    const refused = await server.engage({ interactionId: 'ctl-3', visitId });
    expect(refused.body).toMatchObject({ status: 'FAULT', code: 'VISITOR_OPTED_OUT' });
    const { heard: later } = connect();
    expect((await until(() => later.sessions[0])).optedOut).toBe(true);
    await expect(controller.opt({ optedOut: false })).resolves.toEqual({ ok: true, optedOut: false });
    expect((await server.engage({ interactionId: 'ctl-4', visitId })).body).toMatchObject({ status: 'OK' });
  });

  it('sends an answer again while the store is away, until it is recorded (Redis restarting)', async () => {
    const redis = await startRedisServer({ appendfsync: 'always' });
    try {
      await server.close();
      server = await startServer({ redisUrl: redis.url, redisPrefix: 'widget-retry:' });
      const { controller, heard } = connect();
      const { visitId } = await until(() => heard.sessions[0]);
      await server.engage({ interactionId: 'ctl-5', visitId });
      await until(() => heard.offers[0]);
      controller.shown('ctl-5');
      await until(async () => ((await server.status('ctl-5')).body.state === 'delivered' ? true : undefined));

      await redis.stop('SIGKILL');
      const verdict = controller.answer({ interactionId: 'ctl-5', outcome: 'accepted', channel: 'chat' });
      // The first tries are refused with STORE_UNAVAILABLE; Redis comes back while the controller keeps trying.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await redis.restart();
      await expect(verdict).resolves.toEqual({ ok: true, state: 'accepted' });
      expect((await server.status('ctl-5')).body).toMatchObject({ state: 'accepted', channel: 'chat' });
    } finally {
      await redis.dispose();
    }
  });

  it('closes the socket when the host leaves the document', async () => {
    const { controller, heard } = connect();
    const session = await until(() => heard.sessions[0]);
    controller.hostDisconnected();
    // The server closes the page once its socket is gone.
    await until(async () => ((await listedPage(session.pageId)) === undefined ? true : undefined));
    await expect(controller.answer({ interactionId: 'x', outcome: 'declined' })).rejects.toThrow(/not connected/);
  });
});
