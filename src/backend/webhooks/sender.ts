/**
 * Delivers the webhook outbox (docs/events.md): every event of the chosen
 * types is POSTed to BECKON_WEBHOOK_URL, signed, at least once, in order per
 * visit, retried with back-off for up to 24 hours. The outbox lives in the
 * store, so a restart (even kill -9) loses nothing: what was not acknowledged
 * with a 2xx is sent again. Receivers dedupe by the event `id`.
 */
import type { BeckonEvent, EventType } from '../../protocol/index.js';
import type { BeckonStore, WebhookDelivery } from '../../core/store.js';
import { nextAttemptAt, type RetryPolicy } from './backoff.js';
import { signWebhook } from './signature.js';

export interface WebhookSenderOptions {
  url: string;
  secret: string;
  /** Event types to send; null: all. */
  types: readonly EventType[] | null;
  policy: RetryPolicy;
  /** One attempt (connect, send, response headers) may take this long before it counts as failed. */
  timeoutMs: number;
  /** Visits delivered in parallel; events of one visit always go one after another. */
  concurrency?: number;
  /** Longest sleep between looks at the outbox (events and retries of other processes). */
  pollMs?: number;
  log: {
    warn(object: object, message: string): void;
    error(object: object, message: string): void;
  };
  random?: () => number;
  /** Told the result of every attempt that reached an answer or failed (not those interrupted by shutdown). */
  onAttempt?: (result: 'delivered' | 'failed' | 'gave_up') => void;
}

const QUEUE_BATCH = 1000;
/** A claim outlives its attempt by this much, so a slow bookkeeping write never lets a second sender in. */
const LEASE_MARGIN_MS = 5000;
const USER_AGENT = 'Beckon-Webhooks/1';

/** The headers of one attempt; the timestamp is taken per attempt so receivers can refuse stale ones. */
export function webhookHeaders(event: BeckonEvent, rawBody: string, secret: string, attempt: number, nowMs: number) {
  const timestamp = Math.floor(nowMs / 1000);
  return {
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    'x-beckon-event-id': event.id,
    'x-beckon-event-type': event.type,
    'x-beckon-delivery-attempt': String(attempt),
    'x-beckon-timestamp': String(timestamp),
    'x-beckon-signature': signWebhook(secret, timestamp, rawBody),
  };
}

export class WebhookSender {
  private readonly inFlight = new Map<number, { abort: AbortController; done: Promise<void> }>();
  private pumping = false;
  private pumpAgain = false;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly concurrency: number;
  private readonly random: () => number;

  constructor(
    private readonly store: BeckonStore,
    private readonly options: WebhookSenderOptions,
  ) {
    this.concurrency = options.concurrency ?? 8;
    this.random = options.random ?? Math.random;
  }

  /** Picks up where the outbox stands (after a restart too) and starts sending. */
  async start(): Promise<void> {
    // The very first call fixes where sending starts, before any new event is recorded.
    await this.queue();
    this.wake();
  }

  /** Looks at the outbox soon (new events were recorded, or an attempt finished). */
  wake(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    setImmediate(() => void this.pump());
  }

  /** How many attempts are on the wire now. */
  get sending(): number {
    return this.inFlight.size;
  }

  /** Stops sending; attempts on the wire are aborted and put back to be retried after a restart. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const pending = [...this.inFlight.values()];
    for (const { abort } of pending) abort.abort(new Error('shutting down'));
    await Promise.allSettled(pending.map((p) => p.done));
  }

  private async queue(): Promise<void> {
    while (
      (await this.store.queueWebhookEvents({
        types: this.options.types,
        now: Date.now(),
        maxAgeMs: this.options.policy.giveUpAfterMs,
        limit: QUEUE_BATCH,
      })) === QUEUE_BATCH
    );
  }

  private async pump(): Promise<void> {
    let sleepMs = this.options.pollMs ?? 1000;
    try {
      do {
        this.pumpAgain = false;
        if (this.stopped) return;
        await this.queue();
        const free = this.concurrency - this.inFlight.size;
        if (free > 0) {
          const now = Date.now();
          const claimed = await this.store.claimWebhookDeliveries(
            now,
            now + this.options.timeoutMs + LEASE_MARGIN_MS,
            free,
          );
          for (const delivery of claimed) this.send(delivery);
        }
      } while (this.pumpAgain);
      // With every slot busy, a finishing attempt wakes us; otherwise sleep until the next retry is due.
      if (this.inFlight.size < this.concurrency) {
        const next = await this.store.nextWebhookAt();
        if (next !== null) sleepMs = Math.min(sleepMs, Math.max(next - Date.now(), 10));
      }
    } catch (error) {
      if (!this.stopped) this.options.log.error({ err: error }, 'webhook outbox: reading the store failed');
    } finally {
      this.pumping = false;
      if (this.pumpAgain) {
        // Woken while looking up the next retry: look again now rather than after the sleep.
        this.pumpAgain = false;
        this.wake();
      } else if (!this.stopped) {
        if (this.timer) clearTimeout(this.timer);
        this.timer = setTimeout(() => this.wake(), sleepMs);
        this.timer.unref();
      }
    }
  }

  private send(delivery: WebhookDelivery): void {
    const abort = new AbortController();
    const done = this.attempt(delivery, abort.signal)
      .catch((error: unknown) => this.options.log.error({ err: error }, 'webhook outbox: recording an attempt failed'))
      .finally(() => {
        this.inFlight.delete(delivery.event.seq);
        this.wake();
      });
    this.inFlight.set(delivery.event.seq, { abort, done });
  }

  private async attempt({ event, attempts }: WebhookDelivery, stop: AbortSignal): Promise<void> {
    const attempt = attempts + 1;
    const rawBody = JSON.stringify(event);
    const signal = AbortSignal.any([stop, AbortSignal.timeout(this.options.timeoutMs)]);
    let failure: string | null = null;
    try {
      const response = await fetch(this.options.url, {
        method: 'POST',
        headers: webhookHeaders(event, rawBody, this.options.secret, attempt, Date.now()),
        body: rawBody,
        signal,
        // A redirect is not an acknowledgement; following it would hand the signed event to another host.
        redirect: 'manual',
      });
      // Only the status matters; do not let a receiver's large answer hold memory.
      await response.body?.cancel().catch(() => {});
      if (response.status < 200 || response.status > 299) failure = `HTTP ${response.status}`;
    } catch (error) {
      failure = describeFailure(error, signal, this.options.timeoutMs);
    }

    if (stop.aborted) {
      // Shutting down: not the receiver's fault, so the attempt is not counted; retried at the next start.
      await this.store.webhookAttemptFailed(event.seq, attempts, Date.now(), 'interrupted by shutdown');
      return;
    }
    if (failure === null) {
      await this.store.webhookDelivered(event.seq);
      this.options.onAttempt?.('delivered');
      return;
    }
    const now = Date.now();
    const retryAt = nextAttemptAt(attempt, Date.parse(event.at), now, this.options.policy, this.random());
    await this.store.webhookAttemptFailed(event.seq, attempt, retryAt, failure);
    this.options.onAttempt?.(retryAt === null ? 'gave_up' : 'failed');
    const fields = { eventId: event.id, type: event.type, attempt, error: failure };
    if (retryAt === null) this.options.log.error(fields, 'webhook delivery given up after 24 hours of failures');
    else if (attempt === 1)
      this.options.log.warn({ ...fields, retryInMs: retryAt - now }, 'webhook delivery failed; retrying');
  }
}

/** A short reason for the log and the outbox row; never the URL (it may hold credentials). */
function describeFailure(error: unknown, signal: AbortSignal, timeoutMs: number): string {
  if (signal.aborted && signal.reason instanceof DOMException && signal.reason.name === 'TimeoutError') {
    return `no answer within ${timeoutMs} ms`;
  }
  const cause = (error as { cause?: { code?: unknown; message?: unknown } })?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message.slice(0, 200);
  return error instanceof Error ? error.message.slice(0, 200) : 'failed';
}
