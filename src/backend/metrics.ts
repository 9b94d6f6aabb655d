/**
 * Prometheus metrics (`/metrics`, docs/operations.md), on a registry of their
 * own so that several Beckon instances in one process (tests) never mix.
 * Counters are fed where things happen; gauges read the store when scraped,
 * so they are true for the whole system, not only for this process.
 */
import type { FastifyInstance, preHandlerAsyncHookHandler } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Engagement } from '../protocol/index.js';
import type { BeckonStore } from '../core/store.js';

/** What the channel gauges show of a channel. */
export interface ChannelMetric {
  channel: string;
  open: boolean;
  allowance: number | null;
  inProgress: number;
}

export class BeckonMetrics {
  readonly registry = new Registry();
  /** Where the scrape-time gauges read visits and pages; set once the store is open. */
  store: Pick<BeckonStore, 'counts'> | null = null;
  /** Events waiting in the webhook outbox; the webhook sender replaces this. */
  webhookBacklog: () => Promise<number> | number = () => 0;
  /** Every configured channel as pacing sees it now (the backend role sets it); none by default. */
  channels: () => Promise<readonly ChannelMetric[]> = async () => [];
  /** Visitor sockets connected to this process; set by instrumentSockets. */
  connectedSockets: () => number = () => 0;

  readonly engagements = new Counter({
    name: 'beckon_engagements_total',
    help: 'Engagement attempts entering each state (transitions made by this process).',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  readonly engageToDelivered = new Histogram({
    name: 'beckon_engage_to_delivered_seconds',
    help: 'From engage to the page confirming the invitation is on screen.',
    buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  readonly httpRequests = new Counter({
    name: 'beckon_http_requests_total',
    help: 'HTTP requests answered, by route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly socketConnections = new Counter({
    name: 'beckon_socket_connections_total',
    help: 'Visitor sockets accepted.',
    registers: [this.registry],
  });
  readonly socketRefusals = new Counter({
    name: 'beckon_socket_handshakes_refused_total',
    help: 'Visitor socket handshakes refused, by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly socketEvents = new Counter({
    name: 'beckon_socket_events_total',
    help: 'Messages received from pages, by event (unknown names counted as "other").',
    labelNames: ['event'] as const,
    registers: [this.registry],
  });
  readonly webhookAttempts = new Counter({
    name: 'beckon_webhook_attempts_total',
    help: 'Webhook delivery attempts made by this process, by result (delivered, failed, gave_up).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly notifications = new Counter({
    name: 'beckon_notifications_total',
    help: 'Notification API requests answered OK by this process.',
    registers: [this.registry],
  });
  readonly notifiedPages = new Counter({
    name: 'beckon_notified_pages_total',
    help: 'Pages that received a notification, counted once per request.',
    registers: [this.registry],
  });
  readonly erasures = new Counter({
    name: 'beckon_erasures_total',
    help: 'Erasures of a browser answered OK by this process (a repeated one included).',
    registers: [this.registry],
  });
  readonly erasedRecords = new Counter({
    name: 'beckon_erased_records_total',
    help: 'What erasures removed, by kind (visits, pages, events, attempts).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly foreignAnswers = new Counter({
    name: 'beckon_foreign_answers_total',
    help: 'Acknowledgements or answers from a page for an attempt not shown to its visit (ignored).',
    registers: [this.registry],
  });

  /** `labels` go on every series: the node's role and id, since each node serves its own `/metrics`. */
  constructor(labels: { role: string; node: string } = { role: 'all', node: 'beckon' }) {
    this.registry.setDefaultLabels(labels);
    // The gauges' collect callbacks run with `this` bound to the gauge, so they reach the registry's owner by name.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const metrics = this;
    const counts = async () => (await metrics.store?.counts()) ?? { liveVisits: 0, openPages: 0 };
    // Scrape-time gauges read the store, the one truth shared by every node.
    new Gauge({
      name: 'beckon_open_pages',
      help: 'Pages of live visits with a connected widget.',
      registers: [this.registry],
      async collect() {
        this.set((await counts()).openPages);
      },
    });
    new Gauge({
      name: 'beckon_visits',
      help: 'Live visits (not ended).',
      registers: [this.registry],
      async collect() {
        this.set((await counts()).liveVisits);
      },
    });
    new Gauge({
      name: 'beckon_webhook_backlog',
      help: 'Events waiting to be delivered to BECKON_WEBHOOK_URL.',
      registers: [this.registry],
      async collect() {
        this.set(await metrics.webhookBacklog());
      },
    });
    new Gauge({
      name: 'beckon_sockets_connected',
      help: 'Visitor sockets connected to this process.',
      registers: [this.registry],
      collect() {
        this.set(metrics.connectedSockets());
      },
    });
    // Pacing per channel, read at scrape time from the store like the gauges above; one read serves all three.
    let channelsRead: Promise<readonly ChannelMetric[]> | null = null;
    const channels = () => {
      channelsRead ??= metrics.channels().finally(() => setTimeout(() => (channelsRead = null), 0));
      return channelsRead;
    };
    const perChannel = (name: string, help: string, value: (channel: ChannelMetric) => number | null) =>
      new Gauge({
        name,
        help,
        labelNames: ['channel'] as const,
        registers: [this.registry],
        async collect() {
          this.reset();
          for (const channel of await channels()) {
            const n = value(channel);
            if (n !== null) this.set({ channel: channel.channel }, n);
          }
        },
      });
    perChannel('beckon_channel_open', 'Whether a new invitation may offer the channel now (1) or not (0).', (c) =>
      c.open ? 1 : 0,
    );
    perChannel(
      'beckon_channel_allowance',
      'How many invitations of the channel may be in progress at once now (paced channels only).',
      (c) => c.allowance,
    );
    perChannel(
      'beckon_channel_in_progress',
      'Invitations pending or shown that offer the channel.',
      (c) => c.inProgress,
    );
    collectDefaultMetrics({ register: this.registry, prefix: 'beckon_' });
  }

  /** Counts one state change; a first `delivered` also records how long delivery took. */
  recordTransition(engagement: Engagement): void {
    this.engagements.inc({ state: engagement.state });
    if (engagement.state === 'delivered') {
      const from = Date.parse(engagement.createdAt);
      const to = Date.parse(engagement.transitions.delivered ?? '');
      if (Number.isFinite(from) && Number.isFinite(to)) this.engageToDelivered.observe(Math.max(0, to - from) / 1000);
    }
  }

  /** The Prometheus text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/**
 * The store with every state change counted. Wrapping the store (rather than
 * each caller) counts changes made by the lifecycle, deadlines and opt-outs alike.
 */
export function instrumentStore(store: BeckonStore, metrics: BeckonMetrics): BeckonStore {
  metrics.store = store;
  const counted: Partial<BeckonStore> = {
    async createAttempt(profile, options) {
      const result = await store.createAttempt(profile, options);
      if (result.kind === 'created') metrics.recordTransition(result.engagement);
      return result;
    },
    async createTombstone(cancel, now) {
      const result = await store.createTombstone(cancel, now);
      if (result.kind === 'created') metrics.recordTransition(result.engagement);
      return result;
    },
    async transition(request) {
      const changed = await store.transition(request);
      if (changed) metrics.recordTransition(changed);
      return changed;
    },
    async setOptOut(globalVisitId, optedOut, now) {
      const declined = await store.setOptOut(globalVisitId, optedOut, now);
      for (const engagement of declined) metrics.recordTransition(engagement);
      return declined;
    },
  };
  // Everything else (including methods added later) goes straight to the store.
  return new Proxy(store, {
    get(target, key, receiver) {
      if (typeof key === 'string' && Object.hasOwn(counted, key)) return counted[key as keyof BeckonStore];
      const value = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Counts every HTTP answer by route pattern (never the raw URL: ids would explode the label set). */
export function instrumentHttp(app: FastifyInstance, metrics: BeckonMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpRequests.inc({
      method: request.method,
      route: request.routeOptions.url ?? '(no route)',
      status: String(reply.statusCode),
    });
  });
}

/** `GET /metrics`, behind the same credentials as the API. */
export function metricsRoute(metrics: BeckonMetrics, callerCheck: preHandlerAsyncHookHandler) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/metrics', { preHandler: callerCheck }, async (_request, reply) => {
      const { contentType, body } = await metrics.render();
      return reply.type(contentType).send(body);
    });
  };
}
