/**
 * Test support: a real Beckon on port 0 with its own SQLite file, real
 * `fetch` for callers and real socket.io-client connections for pages.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { createBeckon, type Beckon } from '../src/app.js';
import type { BeckonConfig } from '../src/config.js';
import type { StoreConfig } from '../src/store/open.js';
import { freshStore } from './stores.js';
import type {
  BeckonEvent,
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
  /** Where its store is: another server or process given the same opens the same store. */
  store: StoreConfig;
  /** POSTs JSON (or a pre-encoded body with its content type) and returns status and parsed body. */
  post(path: string, body: unknown, init?: { contentType?: string; headers?: Record<string, string> }): Promise<Reply>;
  get(path: string, headers?: Record<string, string>): Promise<Reply>;
  /** PUTs JSON and returns status and parsed body. */
  put(path: string, body: unknown): Promise<Reply>;
  delete(path: string): Promise<Reply>;
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
    ...freshStore(dir),
    redisSentinel: null,
    redisCluster: null,
    redisMinReplicas: 0,
    redisReplicaTimeoutMs: 200,
    secret: 'test-secret-for-signing-visit-tokens',
    identitySecret: null,
    apiToken: null,
    allowedOrigins: null,
    allowedHosts: [],
    strict: true,
    visitIdleMs: 30 * 60_000,
    caps: { perDay: null, afterDeclineMs: null },
    eventRetentionMs: 7 * 86_400_000,
    visitRetentionMs: null,
    reportRetentionMs: 400 * 86_400_000,
    attemptRetentionMs: 400 * 86_400_000,
    webhookUrl: null,
    webhookSecret: null,
    webhookEvents: null,
    webhookRetryBaseMs: 1000,
    webhookTimeoutMs: 10_000,
    role: 'all',
    nodeId: null,
    logLevel: 'silent',
    rateLimitPerMinute: 6000,
    socketConnectionsPerMinute: 600,
    trustProxy: 0,
    ...overrides,
  };
}

export async function startServer(
  overrides: Partial<BeckonConfig> = {},
  options: Parameters<typeof createBeckon>[1] = {},
): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'beckon-test-'));
  const config = testConfig(dir, overrides);
  const beckon = await createBeckon(config, { logger: false, ...options });
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
    store: { db: config.db, redisUrl: config.redisUrl, redisPrefix: config.redisPrefix },
    post,
    get: (path, headers = {}) => send(path, { headers }),
    put: (path, body) =>
      send(path, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    delete: (path) => send(path, { method: 'DELETE' }),
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
    // A page acknowledges a notification with its pageId, as the widget does.
    this.socket.on('notification', (payload, ack) => {
      this.received.push({ event: 'notification', payload });
      this.waiters = this.waiters.filter((w) => {
        if (w.event !== 'notification' || !w.test(payload)) return true;
        w.resolve(payload);
        return false;
      });
      ack(this.session.pageId);
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

/** Rejects after `ms` with `what` (so a missing event fails the test instead of hanging it). */
function within<T>(ms: number, what: string, register: (resolve: (value: T) => void) => () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      unregister();
      reject(new Error(`${what} within ${ms} ms`));
    }, ms);
    const unregister = register((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/** A caller reading `GET …/events` with real `fetch`, parsing the SSE frames as they arrive. */
export class EventStreamClient {
  readonly events: BeckonEvent[] = [];
  /** The `id:` of each event, as EventSource would keep it for Last-Event-ID. */
  readonly ids: string[] = [];
  readonly comments: string[] = [];
  retryMs: number | null = null;
  ended = false;
  private readonly abort = new AbortController();
  private listeners: (() => void)[] = [];

  private constructor(readonly response: Response) {}

  /** Opens the stream; resolves once the response headers are in (status may be a FAULT). */
  static async open(
    url: string,
    query = '',
    headers: Record<string, string> = {},
    prefix: '/backend/data' | '/server/data' = '/backend/data',
  ): Promise<EventStreamClient> {
    const controller = new AbortController();
    const response = await fetch(`${url}${prefix}/events${query}`, { headers, signal: controller.signal });
    const client = new EventStreamClient(response);
    client.abort.signal.addEventListener('abort', () => controller.abort());
    if (response.ok) void client.read();
    return client;
  }

  private async read(): Promise<void> {
    const reader = this.response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          this.frame(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
        this.listeners.forEach((listener) => listener());
      }
    } catch {
      // aborted by close()
    }
    this.ended = true;
    this.listeners.forEach((listener) => listener());
  }

  private frame(text: string): void {
    let id: string | null = null;
    let data: string | null = null;
    for (const line of text.split('\n')) {
      if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
      else if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('data: ')) data = line.slice(6);
      else if (line.startsWith('retry: ')) this.retryMs = Number(line.slice(7));
    }
    if (data !== null) {
      this.events.push(JSON.parse(data));
      this.ids.push(id ?? '');
    }
  }

  /** Resolves once `check` holds for what has arrived. */
  until(check: (client: EventStreamClient) => boolean, timeoutMs = 5000): Promise<void> {
    if (check(this)) return Promise.resolve();
    return within(timeoutMs, 'the event stream did not get there', (resolve) => {
      const listener = () => {
        if (check(this)) resolve(undefined);
      };
      this.listeners.push(listener);
      return () => (this.listeners = this.listeners.filter((l) => l !== listener));
    });
  }

  /** The first event passing `test`, already received or still to come. */
  async next(test: (event: BeckonEvent) => boolean, timeoutMs = 5000): Promise<BeckonEvent> {
    await this.until((c) => c.events.some(test), timeoutMs);
    return this.events.find(test)!;
  }

  close(): void {
    this.abort.abort();
  }
}

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  event: BeckonEvent;
  /** performance.now() when it arrived. */
  at: number;
  status: number;
}

/**
 * A real webhook receiver on 127.0.0.1. `answer` picks the status of each
 * request (by its index); 0 means never answer (a hung receiver).
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  answer: (request: number, event: BeckonEvent) => number = () => 204;
  private listeners: (() => void)[] = [];
  private readonly server: Server;

  private constructor(
    readonly port: number,
    server: Server,
  ) {
    this.server = server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/beckon`;
  }

  /** Listens on `port` (0: any free one). */
  static async start(port = 0): Promise<WebhookReceiver> {
    // Assigned once listening; the handler below runs only after that.
    // eslint-disable-next-line prefer-const
    let receiver: WebhookReceiver;
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const event = JSON.parse(body) as BeckonEvent;
        const status = receiver.answer(receiver.received.length, event);
        receiver.received.push({ headers: request.headers, body, event, at: performance.now(), status });
        receiver.listeners.forEach((listener) => listener());
        if (status === 0) return; // hang until the sender gives up
        response.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'no');
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    receiver = new WebhookReceiver(typeof address === 'object' && address ? address.port : port, server);
    return receiver;
  }

  /** A port that was free a moment ago and has nothing listening: a receiver that is down. */
  static async freePort(): Promise<number> {
    const probe = await WebhookReceiver.start();
    await probe.close();
    return probe.port;
  }

  /** Events answered 2xx, in arrival order. */
  get accepted(): BeckonEvent[] {
    return this.received.filter((r) => r.status >= 200 && r.status < 300).map((r) => r.event);
  }

  until(check: (receiver: WebhookReceiver) => boolean, timeoutMs = 10_000): Promise<void> {
    if (check(this)) return Promise.resolve();
    return within(timeoutMs, `the receiver did not get there (${this.received.length} received)`, (resolve) => {
      const listener = () => {
        if (check(this)) resolve(undefined);
      };
      this.listeners.push(listener);
      return () => (this.listeners = this.listeners.filter((l) => l !== listener));
    });
  }

  async close(): Promise<void> {
    const closed = new Promise((resolve) => this.server.close(resolve));
    this.server.closeAllConnections();
    await closed;
  }
}

/**
 * One sample of a metric from Prometheus text, e.g. metricSample(text, 'beckon_engagements_total{state="pending"}'),
 * ignoring the node's own labels (role, node) that every series carries.
 */
export function metricSample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    const normal = line
      .replace(/,?(role|node)="[^"]*"/g, '')
      .replace('{,', '{')
      .replace('{}', '');
    if (normal.startsWith(`${series} `)) return Number(normal.slice(series.length + 1));
  }
  return undefined;
}
