/**
 * The connection controller against a real socket.io server on port 0, with
 * just enough browser globals stubbed to run in Node: no element is drawn.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ReactiveControllerHost } from 'lit';
import type { ClientToServerEvents, HandshakeAuth, PageUpdate, ServerToClientEvents, Session } from '../protocol/socket.js';
import { ConnectionController, VISIT_TOKEN_KEY } from './connection-controller.js';

type ServerSocket = Socket<ClientToServerEvents, ServerToClientEvents>;

class FakeDocument extends EventTarget {
  title = 'Checkout';
  visibilityState: DocumentVisibilityState = 'visible';
  baseURI = 'https://shop.example/checkout';
  focused = true;
  hasFocus(): boolean {
    return this.focused;
  }
}

function until<T>(find: () => T | undefined, ms = 5000): Promise<T> {
  return vi.waitFor(
    () => {
      const found = find();
      if (found === undefined) throw new Error('not yet');
      return found;
    },
    { timeout: ms, interval: 10 },
  );
}

describe('ConnectionController', () => {
  let http: HttpServer;
  let io: Server<ClientToServerEvents, ServerToClientEvents>;
  let url: string;
  let doc: FakeDocument;
  let storage: Map<string, string>;
  const handshakes: HandshakeAuth[] = [];
  const updates: PageUpdate[] = [];
  let connected: ServerSocket[] = [];
  let sessions = 0;

  const host: ReactiveControllerHost = {
    addController: () => undefined,
    removeController: () => undefined,
    requestUpdate: () => undefined,
    updateComplete: Promise.resolve(true),
  };

  beforeEach(async () => {
    handshakes.length = 0;
    updates.length = 0;
    connected = [];
    sessions = 0;
    doc = new FakeDocument();
    storage = new Map();
    vi.stubGlobal('document', doc);
    vi.stubGlobal('window', new EventTarget());
    vi.stubGlobal('location', { href: 'https://shop.example/checkout?step=2' });
    vi.stubGlobal('navigator', { language: 'fr-CA' });
    vi.stubGlobal('localStorage', {
      getItem: (key: string) => storage.get(key) ?? null,
      setItem: (key: string, value: string) => void storage.set(key, value),
    });

    http = createServer();
    io = new Server(http);
    io.on('connection', (socket: ServerSocket) => {
      handshakes.push(socket.handshake.auth as HandshakeAuth);
      connected.push(socket);
      socket.on('page:update', (update) => updates.push(update));
      socket.on('invitation:answer', (answer, ack) =>
        ack?.(answer.outcome === 'accepted' ? { ok: true, state: 'accepted' } : { ok: false, code: 'ALREADY_SETTLED', message: 'settled' }),
      );
      sessions += 1;
      const session: Session = {
        optedOut: false,
        globalVisitId: 'g1',
        visitId: 'v1',
        pageId: 'p1',
        visitToken: `visit-token-${sessions}`,
        pageToken: 'page-token-1',
        invitation: null,
      };
      socket.emit('session', session);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    await io.close();
    vi.unstubAllGlobals();
  });

  function connect(received: Session[] = []) {
    const controller = new ConnectionController(host, {
      server: () => url,
      session: (session) => received.push(session),
      start: () => undefined,
      withdraw: () => undefined,
    });
    controller.hostConnected();
    return controller;
  }

  it('sends the page in the handshake, then keeps the tokens the session gives', async () => {
    const received: Session[] = [];
    const controller = connect(received);
    await until(() => received[0]);
    expect(handshakes[0]).toEqual({
      page: {
        url: 'https://shop.example/checkout?step=2',
        title: 'Checkout',
        visible: true,
        focused: true,
        locale: 'fr-CA',
      },
    });
    expect(storage.get(VISIT_TOKEN_KEY)).toBe('visit-token-1');
    controller.hostDisconnected();
  });

  it('resumes the same visit and page on reconnect, with the latest tokens', async () => {
    const received: Session[] = [];
    const controller = connect(received);
    await until(() => received[0]);
    // A dropped transport, not a refusal: socket.io reconnects by itself.
    connected[0]?.conn.close();
    await until(() => received[1]);
    expect(handshakes[1]).toMatchObject({ visitToken: 'visit-token-1', pageToken: 'page-token-1' });
    expect(storage.get(VISIT_TOKEN_KEY)).toBe('visit-token-2');
    controller.hostDisconnected();
  });

  it('cuts what the strict server schema would refuse', async () => {
    doc.title = 'x'.repeat(400);
    vi.stubGlobal('location', { href: `https://shop.example/${'y'.repeat(3000)}` });
    storage.set(VISIT_TOKEN_KEY, 'z'.repeat(600));
    const received: Session[] = [];
    const controller = connect(received);
    await until(() => received[0]);
    expect(handshakes[0]?.page.title).toHaveLength(300);
    expect(handshakes[0]?.page.url).toHaveLength(2048);
    expect(handshakes[0]?.visitToken).toBeUndefined();
    controller.hostDisconnected();
  });

  it('reports presence when visibility or focus changes, and only then', async () => {
    const received: Session[] = [];
    const controller = connect(received);
    await until(() => received[0]);
    doc.visibilityState = 'hidden';
    doc.focused = false;
    doc.dispatchEvent(new Event('visibilitychange'));
    await until(() => updates[0]);
    expect(updates[0]).toEqual({ visible: false, focused: false });
    window.dispatchEvent(new Event('blur'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(updates).toHaveLength(1);
    controller.hostDisconnected();
  });

  it("resolves answers with the server's verdict", async () => {
    const received: Session[] = [];
    const controller = connect(received);
    await until(() => received[0]);
    await expect(controller.answer({ interactionId: 'i1', outcome: 'accepted', channel: 'chat' })).resolves.toEqual({
      ok: true,
      state: 'accepted',
    });
    await expect(controller.answer({ interactionId: 'i1', outcome: 'declined' })).resolves.toMatchObject({
      ok: false,
      code: 'ALREADY_SETTLED',
    });
    controller.hostDisconnected();
  });

  it('closes the socket when the host leaves the document', async () => {
    const received: Session[] = [];
    const controller = connect(received);
    await until(() => received[0]);
    const gone = new Promise((resolve) => connected[0]?.on('disconnect', resolve));
    controller.hostDisconnected();
    await expect(gone).resolves.toBe('client namespace disconnect');
    await expect(controller.answer({ interactionId: 'i1', outcome: 'declined' })).rejects.toThrow(/not connected/);
  });
});
