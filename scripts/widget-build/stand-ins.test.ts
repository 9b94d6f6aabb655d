/**
 * The stand-ins the script tag's build puts in place of socket.io's internals
 * (scripts/widget-build/stand-ins/): the parser decodes what the original
 * decodes and refuses what it refuses, and a socket.io-client bundled with
 * all of them talks to a real socket.io server, keeps its heartbeat, and
 * survives a broken packet by reconnecting instead of throwing.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Server } from 'socket.io';
import * as original from 'socket.io-parser';
import { build, type Rolldown } from 'vite';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain JavaScript stand-in, without declarations
import * as standIn from './stand-ins/socket.io-parser.js';
import {
  jsonParser,
  platformLookup,
  singleTransport,
  websocketOnly,
  websocketTransport,
  withoutUnusedEngineParser,
} from './size-tricks.js';

interface Parser {
  Decoder: new () => { on(event: 'decoded', listener: (packet: unknown) => void): void; add(data: unknown): void };
  Encoder: new () => { encode(packet: unknown): unknown[] };
}

/** What a decoder makes of one message: the packet as JSON, or the fact that it refused it. */
function decoded(parser: Parser, message: string): string {
  const decoder = new parser.Decoder();
  let packet: unknown;
  decoder.on('decoded', (p) => (packet = p));
  try {
    decoder.add(message);
    return JSON.stringify(packet);
  } catch {
    return 'refused';
  }
}

/** A small deterministic generator, so that a failing message can be found again. */
function random(seed: number): () => number {
  return () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

describe('the socket.io parser stand-in', () => {
  it('decodes what the original decodes and refuses what it refuses, hostile input included', () => {
    const known = [
      '0',
      '0{"sid":"abc"}',
      '0/admin,{"sid":"abc"}',
      '1',
      '1/admin,',
      '2["session",{"pageId":"p"}]',
      '2/admin,["x"]',
      '212["invitation:answer",{"interactionId":"i"}]',
      '3/admin,12[{"ok":true}]',
      '312[]',
      '4{"message":"not authorized"}',
      '4"refused"',
      '',
      ' ',
      '2',
      '2["connect"]',
      '2["disconnect"]',
      '2[]',
      '2[null]',
      '2{"a":1}',
      '2[1',
      '2 ["x"]',
      '21 2["x"]',
      '3{}',
      '0"x"',
      '0[]',
      '1{}',
      '4[]',
      '7',
      'x',
      '/',
      '2/',
      '2/a',
      '2/a,',
      '2/a,1',
      '2["__proto__"]',
      '2["x",' + '['.repeat(5000) + ']'.repeat(5000) + ']',
    ];
    const next = random(22);
    const alphabet = [
      '0',
      '1',
      '2',
      '3',
      '4',
      '7',
      '9',
      '/',
      ',',
      ' ',
      '\n',
      '[',
      ']',
      '{',
      '}',
      '"',
      'a',
      ':',
      '-',
      'é',
    ];
    const fuzzed = Array.from({ length: 20_000 }, () =>
      Array.from({ length: Math.floor(next() * 12) }, () => alphabet[Math.floor(next() * alphabet.length)]).join(''),
    );
    // Binary packets (5 and 6) are left out here: the original waits for their attachments, the stand-in refuses them.
    for (const message of [...known, ...fuzzed].filter((m) => m[0] !== '5' && m[0] !== '6')) {
      expect(decoded(standIn as Parser, message), JSON.stringify(message)).toBe(decoded(original, message));
    }
    for (const hostile of ['2["connect"]', '2{"a":1}', '2[1', '1{}', '7', 'x', '0"x"'])
      expect(decoded(standIn as Parser, hostile)).toBe('refused');
    expect(decoded(standIn as Parser, '51-["x",{"_placeholder":true,"num":0}]')).toBe('refused');
    expect(() => new (standIn as Parser).Decoder().add(new ArrayBuffer(2))).toThrow(/JSON only/);
  });

  it('encodes as the original does', () => {
    const packets = [
      { type: 0, nsp: '/', data: { token: 't' } },
      { type: 0, nsp: '/admin' },
      { type: 1, nsp: '/' },
      { type: 2, nsp: '/', data: ['visit:track', { name: 'x', data: { a: 1, b: 'é"' } }] },
      { type: 2, nsp: '/', data: ['invitation:answer', { interactionId: 'i' }], id: 12 },
      { type: 3, nsp: '/admin', data: ['p'], id: 0 },
    ];
    for (const packet of packets)
      expect(new (standIn as Parser).Encoder().encode(packet)).toEqual(new original.Encoder().encode(packet));
  });
});

describe('socket.io-client bundled with every stand-in', () => {
  const io = new Server({ pingInterval: 100, pingTimeout: 200, transports: ['websocket'] });
  const http = createServer();
  let url = '';
  let connect: (url: string, options: object) => any;

  beforeAll(async () => {
    io.attach(http);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const dir = join(process.cwd(), 'test-results', 'size-tricks');
    mkdirSync(dir, { recursive: true });
    const entry = join(dir, 'live-entry.js');
    writeFileSync(
      entry,
      "import { io } from 'socket.io-client';\nexport const connect = (url, options) => io(url, options);\n",
    );
    const result = (await build({
      configFile: false,
      logLevel: 'silent',
      root: dir,
      plugins: [websocketOnly(), jsonParser(), singleTransport(), websocketTransport(), platformLookup()],
      define: { 'process.env.NODE_ENV': JSON.stringify('production') },
      resolve: { conditions: ['module', 'browser', 'production'] },
      build: {
        write: false,
        minify: false,
        lib: { entry, formats: ['es'] },
        rolldownOptions: { treeshake: { moduleSideEffects: withoutUnusedEngineParser } },
      },
    })) as Rolldown.RolldownOutput[];
    const code = result.flatMap((o) => o.output).find((chunk) => 'code' in chunk)!.code;
    const file = join(dir, `live-${Date.now()}.mjs`);
    writeFileSync(file, code);
    // Node 20 has no WebSocket of its own; the page's is the same interface.
    (globalThis as any).WebSocket = WebSocket;
    ({ connect } = await import(pathToFileURL(file).href));
  });

  afterAll(async () => {
    delete (globalThis as any).WebSocket;
    await io.close();
  });

  it('connects, exchanges events and acks, keeps its heartbeat, and reconnects after a broken packet', async () => {
    io.on('connection', (socket) => {
      socket.emit('session', { pageId: 'p1', auth: socket.handshake.auth });
      socket.on('invitation:answer', (answer: unknown, ack: (result: unknown) => void) => ack({ ok: true, answer }));
      socket.on('break me', () => socket.conn.write('2{"not":"an array"}'));
    });
    const socket = connect(url, { transports: ['websocket'], forceNew: true, auth: (cb: any) => cb({ page: 'x' }) });
    const session = await new Promise<any>((resolve) => socket.once('session', resolve));
    expect(session).toEqual({ pageId: 'p1', auth: { page: 'x' } });
    const verdict = await new Promise((resolve) => socket.emit('invitation:answer', { interactionId: 'i' }, resolve));
    expect(verdict).toEqual({ ok: true, answer: { interactionId: 'i' } });

    // Several heartbeats (ping every 100 ms, 200 ms to answer): the connection stays up.
    const firstId = socket.id;
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(socket.connected).toBe(true);
    expect(socket.id).toBe(firstId);

    // A packet the decoder refuses closes the connection ("parse error") and the client reconnects.
    const reason = new Promise((resolve) => socket.once('disconnect', resolve));
    const again = new Promise((resolve) => socket.once('session', resolve));
    socket.emit('break me');
    expect(await reason).toBe('parse error');
    expect(await again).toMatchObject({ pageId: 'p1' });
    expect(socket.connected).toBe(true);
    socket.disconnect();
  });
});
