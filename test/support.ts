/**
 * Test support: a real Beckon on port 0 with its own SQLite file, real
 * `fetch` for callers and real socket.io-client connections for pages.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { createBeckon, type Beckon } from '../src/app.js';
import type { BeckonConfig } from '../src/config.js';
import type {
  ClientToServerEvents,
  HandshakeAuth,
  PageAck,
  ServerToClientEvents,
  Session,
} from '../src/protocol/index.js';

export interface TestServer {
  beckon: Beckon;
  url: string;
  dir: string;
  /** POSTs JSON (or a pre-encoded body with its content type) and returns status and parsed body. */
  post(path: string, body: unknown, init?: { contentType?: string; headers?: Record<string, string> }): Promise<Reply>;
  get(path: string, headers?: Record<string, string>): Promise<Reply>;
  engage(profile: Record<string, unknown>): Promise<Reply>;
  noengage(cancel: Record<string, unknown>): Promise<Reply>;
  status(interactionId: string): Promise<Reply>;
  close(): Promise<void>;
}

export interface Reply {
  status: number;
  headers: Headers;
  body: any;
}

export function testConfig(dir: string, overrides: Partial<BeckonConfig> = {}): BeckonConfig {
  return {
    port: 0,
    host: '127.0.0.1',
    db: join(dir, 'beckon.db'),
    secret: 'test-secret-for-signing-visit-tokens',
    apiToken: null,
    allowedOrigins: null,
    strict: true,
    visitIdleMs: 30 * 60_000,
    webhookUrl: null,
    webhookSecret: null,
    redisUrl: null,
    role: 'all',
    logLevel: 'silent',
    rateLimitPerMinute: 6000,
    socketConnectionsPerMinute: 600,
    trustProxy: 0,
    ...overrides,
  };
}

export async function startServer(overrides: Partial<BeckonConfig> = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'beckon-test-'));
  const beckon = await createBeckon(testConfig(dir, overrides), { logger: false });
  const url = await beckon.listen(0, '127.0.0.1');

  async function send(path: string, init: RequestInit): Promise<Reply> {
    const response = await fetch(url + path, init);
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: the test will say so
    }
    return { status: response.status, headers: response.headers, body };
  }

  const post: TestServer['post'] = (path, body, init = {}) =>
    send(path, {
      method: 'POST',
      headers: { 'content-type': init.contentType ?? 'application/json', ...init.headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  return {
    beckon,
    url,
    dir,
    post,
    get: (path, headers = {}) => send(path, { headers }),
    engage: (profile) => post('/backend/data/gateway/engage', { ixnProfile: profile }),
    noengage: (cancel) => post('/backend/data/gateway/noengage', { cancelData: cancel }),
    status: (id) => send(`/backend/data/gateway/engagements/${encodeURIComponent(id)}`, {}),
    async close() {
      await beckon.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

type ServerEvent = keyof ServerToClientEvents;

/** A visitor's page: a real socket.io-client connection that records everything it receives. */
export class TestPage {
  readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  readonly received: { event: ServerEvent; payload: any }[] = [];
  private waiters: { event: ServerEvent; test: (p: any) => boolean; resolve: (p: any) => void }[] = [];
  session!: Session;

  constructor(url: string, auth: Partial<HandshakeAuth> = {}, options: { origin?: string } = {}) {
    this.socket = io(url, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      auth: {
        page: { url: 'http://shop.test/', title: 'Shop', visible: true, focused: true, locale: 'en' },
        ...auth,
      },
      ...(options.origin ? { extraHeaders: { origin: options.origin } } : {}),
    });
    for (const event of ['session', 'invitation:start', 'invitation:withdraw', 'visitor:opt'] as const) {
      this.socket.on(event, (payload: any) => {
        if (event === 'session') this.session = payload;
        this.received.push({ event, payload });
        this.waiters = this.waiters.filter((w) => {
          if (w.event !== event || !w.test(payload)) return true;
          w.resolve(payload);
          return false;
        });
      });
    }
  }

  /** Connects and resolves with the session event. */
  static async open(url: string, auth: Partial<HandshakeAuth> = {}): Promise<TestPage> {
    const page = new TestPage(url, auth);
    await page.next('session');
    return page;
  }

  /** The first matching event already received or still to come. */
  next(event: ServerEvent, test: (payload: any) => boolean = () => true, timeoutMs = 5000): Promise<any> {
    const seen = this.received.find((r) => r.event === event && test(r.payload));
    if (seen) return Promise.resolve(seen.payload);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        event,
        test,
        resolve: (p) => {
          clearTimeout(timer);
          resolve(p);
        },
      });
    });
  }

  count(event: ServerEvent, test: (payload: any) => boolean = () => true): number {
    return this.received.filter((r) => r.event === event && test(r.payload)).length;
  }

  shown(interactionId: string): Promise<PageAck> {
    return this.socket.timeout(5000).emitWithAck('invitation:shown', { interactionId });
  }

  answer(interactionId: string, outcome: 'accepted' | 'declined' | 'timed_out', channel?: string): Promise<PageAck> {
    return this.socket
      .timeout(5000)
      .emitWithAck('invitation:answer', { interactionId, outcome, ...(channel ? { channel } : {}) });
  }

  close(): void {
    this.socket.disconnect();
  }
}

/** Polls until `check` passes (for state that changes asynchronously on the server). */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 5000): Promise<T> {
  const started = Date.now();
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() - started > timeoutMs) throw error;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}
