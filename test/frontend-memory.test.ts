/**
 * What a frontend keeps for a connected page (docs/architecture.md, "What a
 * frontend holds per page"): the parts of the connection it lets go of, on a
 * real server with real socket.io-client pages, and that a page still talks
 * to it as before.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startServer, TestPage, type TestServer } from './support.js';

let server: TestServer;
beforeEach(async () => {
  server = await startServer();
});
afterEach(async () => {
  await server.close();
});

/** The server's socket of a page (this server holds every page of the test). */
function serverSocket(pageId: string) {
  const socket = [...server.beckon.io.of('/').sockets.values()].find((each) => each.data.pageId === pageId);
  if (!socket) throw new Error(`no socket for page ${pageId}`);
  return socket;
}

describe('what a frontend keeps per connected page', () => {
  it('lets go of engine.io’s stand-in response to the upgrade: it no longer waits for the connection to close', async () => {
    const responses: { res: any; socketClosed: Promise<void>; closed: boolean }[] = [];
    // Runs after Beckon's own middleware, as any middleware added later would.
    server.beckon.io.engine.use((_req: unknown, res: any, next: () => void) => {
      const seen = { res, closed: false, socketClosed: new Promise<void>((r) => res.socket.once('close', () => r())) };
      res.on('close', () => (seen.closed = true));
      responses.push(seen);
      next();
    });
    const page = await TestPage.open(server.url);
    expect(responses).toHaveLength(1);
    const [seen] = responses;
    expect(seen!.res.req).toBeNull();
    page.close();
    // The TCP socket's listeners run in the order added: the response's, had it been kept, would have run first.
    await seen!.socketClosed;
    expect(seen!.closed).toBe(false);
  });

  it('keeps no headers listener on a WebSocket transport, and one options object for every transport', async () => {
    const page = await TestPage.open(server.url);
    const other = await TestPage.open(server.url);
    const [transport, otherTransport] = [page, other].map((p) => serverSocket(p.session.pageId).conn.transport as any);
    expect(transport.name).toBe('websocket');
    expect(transport.listenerCount('headers')).toBe(0);
    expect(transport.opts).toBe(otherTransport.opts);
    expect(Object.isFrozen(transport.opts)).toBe(true);
    expect(transport.opts.perMessageDeflate).toBeFalsy();
    page.close();
    other.close();
  });

  it('copies each layer’s event table into a compact one with the same listeners, and the connection still works and closes', async () => {
    const page = await TestPage.open(server.url);
    const socket = serverSocket(page.session.pageId);
    const transport = socket.conn.transport as any;
    for (const emitter of [socket, socket.conn, transport, transport.socket, transport.socket._receiver] as any[]) {
      expect(Object.getPrototypeOf(emitter._events)).toBeNull();
    }
    expect(transport.listenerCount('packet')).toBe(1);
    const client = socket.client as any;
    expect(client.sockets.get(socket.id)).toBe(socket);
    expect(client.nsps.get('/')).toBe(socket);
    expect(client.sockets).not.toBeInstanceOf(Map);
    expect(transport.socket.listenerCount('message')).toBe(1);
    // The page's messages arrive, and a closing page is seen closing on the server.
    expect(await page.socket.timeout(5000).emitWithAck('invitation:shown', { interactionId: 'none' })).toMatchObject({
      ok: false,
      code: 'UNKNOWN_ENGAGEMENT',
    });
    const gone = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    page.close();
    expect(await gone).toBe('client namespace disconnect');
    expect(client.sockets.size + client.nsps.size).toBe(0);
  });

  it('decodes with one listener in a table of one and shared options, and the page is still served', async () => {
    const page = await TestPage.open(server.url);
    const other = await TestPage.open(server.url);
    const decoders = [page, other].map((p) => (serverSocket(p.session.pageId).client as any).decoder);
    expect(Object.keys(decoders[0]._callbacks)).toEqual(['$decoded']);
    expect(decoders[0]._callbacks.$decoded).toHaveLength(1);
    expect(decoders[0].opts).toBe(decoders[1].opts);
    // A message, a malformed one and an answer all still go through the decoder.
    const engaged = await server.engage({ interactionId: 'memory-1', visitId: page.session.visitId });
    expect(engaged.status).toBe(200);
    const start = await page.next('invitation:start');
    expect(await page.socket.timeout(5000).emitWithAck('invitation:shown', { nope: 1 } as any)).toMatchObject({
      ok: false,
      code: 'INVALID_PARAMETER',
    });
    expect(await page.shown(start.interactionId)).toMatchObject({ ok: true, state: 'delivered' });
    page.close();
    other.close();
  });
});
