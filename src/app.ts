/**
 * Composes one Beckon process: the backend (REST, lifecycle, store, deadlines)
 * and the frontend server (socket.io) on one Fastify server, plus the widget
 * bundle, the demo shop and the console as static files. `main.ts` runs it;
 * tests build it on port 0.
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { Server } from 'socket.io';
import type { BeckonConfig } from './config.js';
import { requireCaller } from './backend/auth.js';
import { EventFeed } from './backend/events/feed.js';
import { EventRetention } from './backend/events/retention.js';
import { EventStreams } from './backend/events/sse.js';
import { BODY_LIMIT, clientErrorHandler, frameworkErrors, installHttpPlumbing } from './backend/http.js';
import { BeckonFault } from './core/faults.js';
import { mintId } from './core/ids.js';
import { Lifecycle, type PageCommand } from './core/lifecycle.js';
import { VisitorContext } from './core/visitor-context.js';
import { Presence } from './core/presence.js';
import { echoRequestId, loggerOptions, requestId } from './backend/logging.js';
import { BeckonMetrics, instrumentHttp, instrumentStore, metricsRoute } from './backend/metrics.js';
import { openApiRoute } from './backend/openapi.js';
import { installRateLimit } from './backend/rate-limit.js';
import { browserRefusal, hostRule, isDataRequest } from './edge/host-and-origin.js';
import { installSecurityHeaders } from './backend/security-headers.js';
import { serveConsoleVendor } from './backend/console-vendor.js';
import { eventRoutes } from './backend/routes/events.js';
import { reportRoutes } from './backend/routes/reports.js';
import { gatewayRoutes } from './backend/routes/gateway.js';
import { channelRoutes } from './backend/routes/channels.js';
import { notificationRoutes, visitorRoutes, type VisitorCounters } from './backend/routes/visitors.js';
import { openStore } from './store/open.js';
import { StoreUnavailableError, type BeckonStore } from './core/store.js';
import { DEFAULT_RETRY_POLICY } from './backend/webhooks/backoff.js';
import { WebhookSender } from './backend/webhooks/sender.js';
import { IdentitySigner } from './frontend/identity.js';
import { admitHandshake, ConnectionLimiter } from './frontend/limits.js';
import { openFanout } from './cluster/fanout.js';
import { AddressedPageCommands } from './cluster/page-commands.js';
import { redisEndpointOf, redisKeyPrefix } from './store/redis/endpoint.js';
import { attachFrontend, deliverPageCommand, disconnectVisits, notifyPages } from './frontend/server.js';
import { pageParser } from './frontend/parser.js';
import type { BeckonIo } from './frontend/io.js';
import { PageResync } from './frontend/resync.js';
import { instrumentSockets } from './frontend/socket-metrics.js';

/** GWE 8.1.2 and GWE 8.5 spell the API prefix differently; both are served. */
export const API_PREFIXES = ['/backend/data', '/server/data'] as const;

/** GWE also serves its Notification API under the frontend's prefix; the backend answers it there too. */
export const NOTIFICATION_PREFIXES = [...API_PREFIXES, '/frontend/data'] as const;

/** Largest socket message a page may send; every legitimate one is far smaller. */
export const MAX_SOCKET_MESSAGE_BYTES = 16 * 1024;

export interface Beckon {
  app: FastifyInstance;
  io: BeckonIo;
  store: BeckonStore;
  lifecycle: Lifecycle;
  /** Prometheus metrics; `metrics.webhookBacklog` is where the webhook sender reports its backlog. */
  metrics: BeckonMetrics;
  /** Reaches open pages on any node: a caller's notification (resolves with the pages that got it), an erased browser's disconnection. */
  pages: {
    notify(target: Parameters<typeof notifyPages>[1]): Promise<number>;
    disconnect(visitIds: readonly string[]): void;
  };
  /** Listens and resolves with the base URL (e.g. http://127.0.0.1:53211). */
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

/** The checkout (or installed package) root: where demo/ and dist/widget/ live. */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the Beckon project root');
    dir = parent;
  }
  return dir;
}

export async function createBeckon(
  config: BeckonConfig,
  options: {
    logger?: boolean | object;
    now?: () => number;
    /** SSE heartbeat and the feed's look for other processes' events (tests shorten them). */
    events?: { heartbeatMs?: number; pollMs?: number };
    /** Heartbeat, registration and reaping periods of presence across nodes (tests shorten them). */
    presence?: { heartbeatMs?: number; ttlMs?: number; reapEveryMs?: number };
    /** How the pages are resynchronised after a Redis outage (tests shorten the waits). */
    resync?: { settleMs?: number; retryMs?: number };
  } = {},
): Promise<Beckon> {
  const app = Fastify({
    logger: options.logger ?? loggerOptions(config.logLevel),
    bodyLimit: BODY_LIMIT,
    // X-Request-Id is honoured when it is plain text (see logging.ts), else a fresh id is minted.
    requestIdHeader: false,
    genReqId: requestId,
    // Trust exactly BECKON_TRUST_PROXY hops of X-Forwarded-For (the same rule as client-ip.ts for sockets).
    trustProxy: config.trustProxy > 0 ? (_address: string, hop: number) => hop < config.trustProxy : false,
    // Our own 404 FAULT handles unknown paths; `/x/` and `/x` are the same resource.
    routerOptions: { ignoreTrailingSlash: true },
    // Fastify's own 503 body is not a FAULT; the onRequest hook below answers instead.
    return503OnClosing: false,
    // Malformed URLs and unparsable HTTP are answered with FAULT bodies like everything else.
    frameworkErrors,
    clientErrorHandler,
  });
  installHttpPlumbing(app);
  echoRequestId(app);
  await installSecurityHeaders(app);
  let closing = false;
  app.addHook('onRequest', async () => {
    if (closing) throw new BeckonFault('SHUTTING_DOWN');
  });
  // A keep-alive connection whose request was in flight when closing began is
  // not idle when Fastify closes the idle ones, and would hold server.close()
  // for the whole keep-alive timeout: answer it and close it.
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });

  // Which process this is among several: every metric carries it, so one dashboard can tell nodes apart.
  const nodeId = config.nodeId ?? `${hostname()}:${config.port || mintId()}`;
  const metrics = new BeckonMetrics({ role: config.role, node: nodeId });
  instrumentHttp(app, metrics);
  // While Redis is away every reconnect attempt fails: say so once every 10 s, not a hundred times.
  let lastConnectionWarning = 0;
  // Set once the socket side exists (below): what to do when a connection to Redis comes back.
  let redisRestored = (_which: 'store' | 'fan-out') => {};
  const store = instrumentStore(
    await openStore(config, {
      onConnectionError: (error) => {
        if (Date.now() - lastConnectionWarning < 10_000) return;
        lastConnectionWarning = Date.now();
        app.log.warn({ err: error }, 'the store connection failed; calls answer STORE_UNAVAILABLE until it is back');
      },
      onConnectionRestored: () => redisRestored('store'),
    }),
    metrics,
  );
  /**
   * Logs a failure of background work (deadlines, the event feed, presence, retention). A store that
   * cannot be reached is reported by its connection once every 10 s; each loop retrying it every
   * second or so would bury that in errors, so those are left to the connection's warning.
   */
  const backgroundFailure = (what: string) => (error: unknown) => {
    if (!(error instanceof StoreUnavailableError)) app.log.error({ err: error }, what);
  };
  // Which half of Beckon this process is (BECKON_ROLE, docs/architecture.md): the REST side, the socket side, or both.
  const serves = { backend: config.role !== 'frontend', frontend: config.role !== 'backend' };
  const feed = new EventFeed(store, {
    ...(options.events?.pollMs ? { pollMs: options.events.pollMs } : {}),
    onError: backgroundFailure('reading the event log failed'),
  });
  if (serves.backend) await feed.start();
  const streams = new EventStreams(store, feed, { heartbeatMs: options.events?.heartbeatMs ?? 15_000 });
  const webhooks =
    serves.backend && config.webhookUrl && config.webhookSecret
      ? new WebhookSender(store, {
          url: config.webhookUrl,
          secret: config.webhookSecret,
          types: config.webhookEvents,
          policy: { ...DEFAULT_RETRY_POLICY, baseMs: config.webhookRetryBaseMs },
          timeoutMs: config.webhookTimeoutMs,
          log: app.log,
          onAttempt: (result) => metrics.webhookAttempts.inc({ result }),
        })
      : null;
  // Events waiting for the receiver (and given up on) are the backlog an operator watches.
  metrics.webhookBacklog = async () => {
    const backlog = await store.webhookBacklog();
    return backlog.waiting + backlog.failed;
  };
  if (webhooks) {
    // Started before anything else records events, so that the first start sends all that follow.
    await webhooks.start();
    feed.subscribe(() => webhooks.wake());
  }
  // One process on SQLite holds every socket: pages recorded open before a restart are gone. With
  // Redis, other nodes hold pages too: each closes only its own earlier boots' (presence, below).
  const redis = redisEndpointOf(config);
  if (redis === null) await store.closeAllPages(Date.now());

  const lifecycle = new Lifecycle(store, {
    strict: config.strict,
    visitIdleMs: config.visitIdleMs,
    caps: config.caps,
    // Deadlines and placing the next invitation run outside any request: their failures are logged.
    onBackgroundError: backgroundFailure('settling deadlines or placing an invitation failed'),
    ...(options.now ? { now: options.now } : {}),
  });
  if (serves.backend) metrics.channels = () => lifecycle.channels.status((options.now ?? Date.now)());
  // Several nodes: each keeps a heartbeat, and every node closes the pages of a node that died.
  let io: BeckonIo | null = null;
  let resync: PageResync | null = null;
  /**
   * How the backend reaches pages on any node, for the Notification API and erasure (a backend alone
   * reaches them through the adapter too). Usable by routes registered before the socket server
   * exists: it is looked up when called.
   */
  const socketServer = () => {
    if (!io) throw new Error('the socket server is not set up yet');
    return io;
  };
  const pages: Beckon['pages'] = {
    notify: (target) => notifyPages(socketServer(), target),
    disconnect: (visitIds) => disconnectVisits(socketServer(), visitIds),
  };
  const presence = redis
    ? new Presence(store, lifecycle, {
        nodeId,
        ...options.presence,
        // Reaped while alive (frozen, or cut off from Redis too long): its sockets belong to no one; they reconnect.
        onReaped: () => {
          app.log.warn('this node was taken for dead by the others; its pages reconnect');
          io?.local.disconnectSockets(true);
        },
        onError: backgroundFailure('presence: heartbeat or reaping failed'),
      })
    : null;
  const retention = new EventRetention(store, {
    retentionMs: config.eventRetentionMs,
    ...(config.visitRetentionMs !== null ? { visitRetentionMs: config.visitRetentionMs } : {}),
    reportRetentionMs: config.reportRetentionMs,
    attemptRetentionMs: config.attemptRetentionMs,
    ...(options.now ? { now: options.now } : {}),
    onError: backgroundFailure('pruning old events failed'),
  });

  const callerCheck = requireCaller(config.apiToken, { trustProxy: config.trustProxy });
  // Credentialed paths: the API under both prefixes, the Notification API under GWE's frontend prefix, metrics.
  const dataPaths = [...API_PREFIXES, '/frontend/data/notification', '/metrics'];
  await installRateLimit(app, {
    perMinute: config.rateLimitPerMinute,
    apiToken: config.apiToken,
    prefixes: dataPaths,
  });
  // The operator's browser is not a trusted caller (request-origin.ts): every data path refuses a Host
  // Beckon does not answer to and another site's request. After the rate limit (a rebound page that
  // hammers is throttled too), before the body is parsed or the credentials are looked at.
  const hosts = hostRule(config.host, config.allowedHosts);
  app.addHook('onRequest', async (request) => {
    if (!isDataRequest(request, dataPaths)) return;
    const refusal = browserRefusal(request.headers, hosts, config.trustProxy);
    if (refusal) throw new BeckonFault(refusal.code, refusal.message === undefined ? {} : { message: refusal.message });
  });
  const counters: VisitorCounters = {
    notified(reached) {
      metrics.notifications.inc();
      metrics.notifiedPages.inc(reached);
    },
    erased(counts) {
      metrics.erasures.inc();
      for (const [kind, n] of Object.entries(counts)) metrics.erasedRecords.inc({ kind }, n);
    },
  };
  // The other role's routes are simply not registered here: they answer the 404 NOT_FOUND FAULT.
  if (serves.backend) {
    const now = options.now ?? Date.now;
    for (const prefix of API_PREFIXES) {
      await app.register(
        async (api) => {
          api.addHook('preHandler', callerCheck);
          await api.register(gatewayRoutes({ lifecycle, store }));
          await api.register(eventRoutes({ streams }));
          await api.register(reportRoutes({ store, now }));
          await api.register(channelRoutes({ lifecycle, store, now }));
          await api.register(visitorRoutes({ store, pages, secret: config.secret, counters, now }));
        },
        { prefix },
      );
    }
    for (const prefix of NOTIFICATION_PREFIXES) {
      await app.register(
        async (api) => {
          api.addHook('preHandler', callerCheck);
          await api.register(notificationRoutes({ store, pages, counters }));
        },
        { prefix },
      );
    }
    await app.register(openApiRoute(API_PREFIXES));
  }
  await app.register(metricsRoute(metrics, callerCheck));

  app.get('/healthz', async () => ({ status: 'OK' }));
  app.get('/readyz', async () => {
    if (await store.ping()) return { status: 'OK' };
    throw new BeckonFault('STORE_UNAVAILABLE');
  });

  const root = projectRoot();
  // The backend serves the docs page, the frontend the demo shop; both their shared assets.
  const backendPage = (path: string) => /^\/(docs|assets)(\/|$)/.test(path);
  await app.register(fastifyStatic, {
    root: join(root, 'demo'),
    prefix: '/',
    redirect: true,
    index: ['index.html'],
    // reply.sendFile is the console's (below).
    decorateReply: false,
    allowedPath: (path) =>
      (serves.backend && backendPage(path)) || (serves.frontend && !/^\/(console|docs)(\/|$)/.test(path)),
  });
  if (serves.backend) {
    // The operator's console, as Vite built it from src/console (vite.console.config.ts): its page and
    // its hashed script and stylesheet under /console/assets/.
    await app.register(fastifyStatic, { root: join(root, 'dist', 'console'), prefix: '/console/' });
    // The router ignores trailing slashes, so this one route answers /console and /console/. The page
    // lives at /console/, like the shop's folders, and the bare name is sent there.
    app.get('/console', (request, reply) => {
      const query = request.url.indexOf('?');
      const path = query === -1 ? request.url : request.url.slice(0, query);
      if (path.endsWith('/')) return reply.sendFile('index.html');
      return reply.redirect(`/console/${query === -1 ? '' : request.url.slice(query)}`, 301);
    });
    await serveConsoleVendor(app);
  }
  if (serves.frontend) {
    await app.register(fastifyStatic, {
      root: join(root, 'dist', 'widget'),
      prefix: '/widget/',
      decorateReply: false,
      // The script tag has no version in its URL: let browsers revalidate so an upgrade reaches visitors.
      cacheControl: true,
      maxAge: 0,
      // Sites load the ES build with <script type="module"> from their own origin, which needs CORS.
      setHeaders: (res) => res.setHeader('Access-Control-Allow-Origin', '*'),
    });
  }

  // With Redis, every node's socket.io server shares rooms through the streams adapter, so an emit
  // to a page's room reaches it on whichever frontend holds it.
  const fanout = redis
    ? await openFanout(redis, redisKeyPrefix(config), {
        onError: (error) =>
          app.log.warn({ err: error }, 'the fan-out connection to Redis failed; it reconnects by itself'),
        onRestored: () => redisRestored('fan-out'),
        onResyncRequested: () => resync?.request(),
      })
    : null;
  // Several nodes: a page command goes to the node that holds its page, not through the adapter to all.
  const addressed =
    fanout && presence
      ? new AddressedPageCommands({
          store,
          fanout,
          self: serves.frontend ? nodeId : null,
          delivery: {
            here: (command) => deliverPageCommand(socketServer().local, command),
            everywhere: (command) => deliverPageCommand(socketServer(), command),
          },
          onError: backgroundFailure('a page command could not be addressed to its node; it went through the adapter'),
        })
      : null;
  await addressed?.listen();
  const sendPageCommand = addressed ? (command: PageCommand) => addressed.send(command) : null;
  const ioOptions = { serveClient: false, ...(fanout ? { adapter: fanout.adapter } : {}) };
  if (serves.frontend) {
    io = new Server(app.server, {
      ...ioOptions,
      // socket.io's parser with a decoder that costs each connected page less (frontend/parser.ts).
      parser: pageParser,
      maxHttpBufferSize: MAX_SOCKET_MESSAGE_BYTES,
      allowRequest: admitHandshake({
        hosts,
        allowedOrigins: config.allowedOrigins,
        limiter: new ConnectionLimiter(config.socketConnectionsPerMinute),
        trustProxy: config.trustProxy,
        onRefused: (reason) => metrics.socketRefusals.inc({ reason }),
      }),
    });
    instrumentSockets(io, metrics);
    // Several nodes: page commands cross Redis and are lost with it; pages are resent the store's word.
    resync = fanout ? new PageResync(io, lifecycle, { log: app.log, ...options.resync }) : null;
    attachFrontend({
      io,
      lifecycle,
      signer: new IdentitySigner(config.secret),
      visitorContext: new VisitorContext(store, {
        identitySecret: config.identitySecret,
        tokenSecret: config.secret,
        ...(options.now ? { now: options.now } : {}),
      }),
      log: app.log,
      ...(resync ? { resync } : {}),
      ...(presence ? { node: () => presence.node } : {}),
      ...(sendPageCommand ? { sendPageCommand } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
  } else {
    // A backend never listens for sockets, but still tells pages through the adapter.
    const emitter: BeckonIo = new Server(ioOptions);
    io = emitter;
    lifecycle.onPageCommand(sendPageCommand ?? ((command) => deliverPageCommand(emitter, command)));
  }
  const sockets = io;
  if (fanout) {
    // A command on its way through Redis when it went away is lost, though its change is stored: this
    // node's pages are resent what the store says, and the other nodes are asked to do the same with
    // theirs (a backend's lost emit is only noticed by the backend). Both connections coming back, and
    // every node asking, make a few requests; each frontend folds those close together into one round.
    redisRestored = (which) => {
      if (closing) return;
      app.log.info({ connection: which }, 'the connection to Redis is back: pages are resynchronised from the store');
      resync?.request();
      fanout.requestResync();
    };
  }

  app.addHook('preClose', async () => {
    closing = true;
    lifecycle.stopDeadlines();
    await presence?.stop();
    await resync?.stop();
    await retention.stop();
    // Open event streams would keep server.close() waiting; clients resume with Last-Event-ID.
    streams.closeAll();
    feed.stop();
    // Attempts on the wire are put back in the outbox before the store closes.
    await webhooks?.stop();
    // Close the sockets first: Fastify's server.close() waits for every open connection.
    if (serves.frontend) {
      sockets.disconnectSockets(true);
      sockets.engine.close();
    }
  });
  app.addHook('onClose', async () => {
    // The adapter stops reading its stream before its connection goes (Beckon uses the main namespace only).
    if (fanout) {
      await Promise.race([
        sockets.of('/').adapter.close(),
        new Promise((resolve) => setTimeout(resolve, 1000).unref()),
      ]);
      await fanout.close();
    }
    await store.close();
  });

  return {
    app,
    io: sockets,
    store,
    lifecycle,
    metrics,
    pages,
    async listen(port = config.port, host = config.host) {
      // Before any socket is accepted: register this boot and close what this node's earlier boots held.
      await presence?.start();
      await app.listen({ port, host });
      // Deadlines, retention and webhooks are the backend's work (any number of backends: each fires once).
      if (serves.backend) {
        lifecycle.startDeadlines();
        retention.start();
      }
      const address = app.server.address();
      const actualPort = typeof address === 'object' && address ? address.port : port;
      const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
      return `http://${shownHost}:${actualPort}`;
    },
    close: () => app.close(),
  };
}
