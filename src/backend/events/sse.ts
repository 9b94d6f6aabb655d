/**
 * Server-Sent Events streams of the event log. Each stream replays what it
 * missed from the store (after `Last-Event-ID`), then follows the live feed.
 * The SSE `id:` of every event is its `seq`, so a reconnecting client
 * resumes exactly where it stopped: nothing missed, nothing twice.
 */
import type { ServerResponse } from 'node:http';
import type { BeckonEvent, EventType } from '../../protocol/index.js';
import type { EventFeed } from './feed.js';
import type { BeckonStore, EventFilter } from '../../core/store.js';

/** A client that reads slower than this many unsent bytes is dropped; it resumes with Last-Event-ID. */
const MAX_UNSENT_BYTES = 1024 * 1024;
const REPLAY_BATCH = 500;
/** What EventSource waits before reconnecting. */
const RECONNECT_MS = 2000;

export interface EventStreamsOptions {
  /** Comment lines this often keep proxies from closing an idle stream. */
  heartbeatMs: number;
}

/** One SSE frame. JSON has no raw newlines, so `data:` is one line. */
export function sseFrame(event: BeckonEvent): string {
  return `id: ${event.seq}\ndata: ${JSON.stringify(event)}\n\n`;
}

export class EventStreams {
  private readonly open = new Set<() => void>();

  constructor(
    private readonly store: BeckonStore,
    private readonly feed: EventFeed,
    private readonly options: EventStreamsOptions,
  ) {}

  get size(): number {
    return this.open.size;
  }

  /**
   * Streams events passing `filter` to `res` (already hijacked from Fastify).
   * `afterSeq` null: only events from now on.
   */
  async stream(res: ServerResponse, filter: EventFilter, afterSeq: number | null): Promise<void> {
    const types = filter.types === null ? null : new Set<EventType>(filter.types);
    const matches = (event: BeckonEvent) =>
      (types === null || types.has(event.type)) && (filter.visitId === null || event.visitId === filter.visitId);

    let closed = false;
    let sent = this.feed.position;
    // Live events that arrive while the replay runs wait here, so none slips between the two.
    let held: BeckonEvent[] | null = afterSeq === null ? null : [];
    const write = (events: BeckonEvent[]) => {
      let text = '';
      for (const event of events) {
        if (event.seq <= sent) continue;
        sent = event.seq;
        if (matches(event)) text += sseFrame(event);
      }
      if (text === '' || closed) return true;
      return res.write(text);
    };
    const unsubscribe = this.feed.subscribe((events) => {
      if (held !== null) {
        held.push(...events);
        return;
      }
      write(events);
      if (res.writableLength > MAX_UNSENT_BYTES) close();
    });
    const heartbeat = setInterval(() => {
      if (!closed) res.write(': ping\n\n');
    }, this.options.heartbeatMs);
    heartbeat.unref();

    const close = () => {
      if (closed) return;
      closed = true;
      unsubscribe();
      clearInterval(heartbeat);
      this.open.delete(close);
      res.end();
    };
    this.open.add(close);
    res.on('close', close);
    res.on('error', close);

    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx buffers responses unless told not to.
      'x-accel-buffering': 'no',
    });
    res.write(`retry: ${RECONNECT_MS}\n: connected\n\n`);

    if (afterSeq === null) return;
    try {
      // An id from beyond the log (e.g. a store that was reset) resumes at its end, not never.
      sent = Math.min(afterSeq, await this.store.lastEventSeq());
      while (!closed) {
        const events = await this.store.eventsAfter(sent, filter, REPLAY_BATCH);
        if (events.length === 0) break;
        if (!write(events)) await new Promise((resolve) => res.once('drain', resolve).once('close', resolve));
        if (events.length < REPLAY_BATCH) break;
      }
    } catch (error) {
      // The client resumes from the last id it got once the store answers again.
      close();
      throw error;
    }
    const waiting = held!;
    held = null;
    if (!closed) write(waiting);
  }

  /** Ends every stream (the server is closing); clients reconnect elsewhere or later. */
  closeAll(): void {
    for (const close of [...this.open]) close();
  }
}
