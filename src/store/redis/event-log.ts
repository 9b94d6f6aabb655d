/**
 * The ordered event log on Redis (EventLog in core/store.ts): one stream,
 * written by every script that records an event (includes/events.lua).
 * Retention deletes single entries (XDEL, pruneEvents.lua) rather than
 * XTRIM MINID, since an event still waiting for its webhook must stay while
 * older ones go. The filters of eventsAfter (type, visit) are applied while
 * reading the log in batches; there is no index of events by visit.
 */
import type { BeckonEvent } from '../../protocol/index.js';
import type { EventLog } from '../../core/store.js';
import type { StoreContext } from './context.js';
import { int, seqOf, toEvent, type Fields } from './records.js';

/** Entries read per round trip while filtering. */
const LOG_BATCH = 1000;

export function eventLog({ conn, keys: k, exec, listeners }: StoreContext): EventLog {
  return {
    onEvents(listener) {
      return listeners.add(listener);
    },

    async lastEventSeq() {
      const [top] = (await conn.run((c) => c.xRevRange(k.log, '+', '-', { COUNT: 1 }))) ?? [];
      return top ? seqOf(top.id) : 0;
    },

    async pruneEvents(before, limit) {
      const reply = await exec(
        'pruneEvents',
        { logKey: k.log, waitingKey: k.whWaiting, failedKey: k.whFailed },
        { before: int(before), limit: String(limit) },
      );
      return Number(reply[1]);
    },

    async eventsAfter(afterSeq, filter, limit) {
      const out: BeckonEvent[] = [];
      if (limit <= 0) return out;
      const filtered = filter.types !== null || filter.visitId !== null;
      const batch = filtered ? Math.max(limit, LOG_BATCH) : limit;
      let from = afterSeq;
      for (;;) {
        const entries = (await conn.run((c) => c.xRange(k.log, `(${from}-0`, '+', { COUNT: batch }))) ?? [];
        for (const entry of entries) {
          const event = toEvent(seqOf(entry.id), entry.message as Fields);
          if (filter.types !== null && !filter.types.includes(event.type)) continue;
          if (filter.visitId !== null && event.visitId !== filter.visitId) continue;
          out.push(event);
          if (out.length === limit) return out;
        }
        if (entries.length < batch) return out;
        from = seqOf(entries[entries.length - 1]!.id);
      }
    },
  };
}
