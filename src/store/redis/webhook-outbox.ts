/**
 * The webhook outbox on Redis (WebhookOutbox in core/store.ts): deliveries
 * in lanes, one per visit, so that a visit's events go out in order, with
 * leases that run out when a sender dies (includes/outbox.lua has the
 * layout). Each change is one script: queueWebhookEvents.lua,
 * claimWebhookDeliveries.lua, webhookDelivered.lua, webhookAttemptFailed.lua.
 */
import type { WebhookDelivery, WebhookOutbox } from '../../core/store.js';
import type { StoreContext } from './context.js';
import { int, nullable, pairs, toEvent } from './records.js';

/** The longest error text kept with a failed delivery. */
const MAX_ERROR = 500;

export function webhookOutbox({ conn, keys: k, exec }: StoreContext): WebhookOutbox {
  return {
    async queueWebhookEvents({ types, now, maxAgeMs, limit }) {
      const reply = await exec(
        'queueWebhookEvents',
        {
          logKey: k.log,
          cursorKey: k.whCursor,
          queueKey: k.whQueue,
          readyKey: k.whReady,
          waitingKey: k.whWaiting,
        },
        {
          now: int(now),
          oldest: int(now - maxAgeMs),
          limit: String(limit),
          types: types === null ? '' : `,${types.join(',')},`,
        },
      );
      return Number(reply[1]);
    },

    async claimWebhookDeliveries(now, leaseUntil, limit) {
      const reply = await exec(
        'claimWebhookDeliveries',
        { logKey: k.log, queueKey: k.whQueue, readyKey: k.whReady, waitingKey: k.whWaiting },
        { now: int(now), leaseUntil: int(leaseUntil), limit: String(limit) },
      );
      const deliveries: WebhookDelivery[] = reply.slice(1).map((item) => {
        const [seq, attempts, fields] = item as [string, string, string[]];
        return { event: toEvent(Number(seq), pairs(fields)), attempts: Number(attempts) };
      });
      return deliveries.sort((a, b) => a.event.seq - b.event.seq);
    },

    async webhookDelivered(seq) {
      await exec(
        'webhookDelivered',
        { queueKey: k.whQueue, readyKey: k.whReady, waitingKey: k.whWaiting },
        { seq: String(seq) },
      );
    },

    async webhookAttemptFailed(seq, attempts, retryAt, error) {
      await exec(
        'webhookAttemptFailed',
        { queueKey: k.whQueue, readyKey: k.whReady, waitingKey: k.whWaiting, failedKey: k.whFailed },
        {
          seq: String(seq),
          attempts: String(attempts),
          retryAt: retryAt === null ? '' : nullable(int(retryAt)),
          lastError: error.slice(0, MAX_ERROR),
        },
      );
    },

    async nextWebhookAt() {
      const [first] = await conn.run((c) => c.zRangeWithScores(k.whReady, 0, 0));
      return first === undefined ? null : first.score;
    },

    async webhookBacklog() {
      const [waiting, failed] = await conn.run((c) => Promise.all([c.hLen(k.whWaiting), c.hLen(k.whFailed)]));
      return { waiting: Number(waiting), failed: Number(failed) };
    },
  };
}
