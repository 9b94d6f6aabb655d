/**
 * The console's live updates: the backend's event stream (GET
 * /backend/data/events, server-sent events; docs/events.md), read with fetch
 * because EventSource cannot send the Bearer token. Nothing polls: each
 * event says what to redraw, and a reconnect sends Last-Event-ID so the
 * server replays what was missed.
 */
import type { BeckonEvent } from '../protocol/events.js';
import { ConsoleApi, Fault } from './api.js';

/** The server sends a heartbeat every 15 s; this long without a byte means the stream is dead. */
export const STALL_MS = 45_000;
const RECONNECT_MIN_MS = 1000;
const RECONNECT_MAX_MS = 15_000;

/** One frame of the stream: its `id:` if it had one, and its data lines joined (null for a comment: the heartbeat). */
export interface SseFrame {
  id: string | null;
  data: string | null;
}

/** Cuts the stream's text, as it arrives in chunks of any size, into frames. */
export class SseFrames {
  #buffer = '';

  push(chunk: string): SseFrame[] {
    this.#buffer += chunk.replace(/\r\n?/g, '\n');
    const frames: SseFrame[] = [];
    let end;
    while ((end = this.#buffer.indexOf('\n\n')) !== -1) {
      const text = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      let id: string | null = null;
      const data: string[] = [];
      for (const line of text.split('\n')) {
        if (line.startsWith('id:')) id = line.slice(3).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      frames.push({ id, data: data.length ? data.join('\n') : null });
    }
    return frames;
  }
}

/** An event as the console reads it: its type checked here, the rest read where it is used. */
export type StreamEvent = Pick<BeckonEvent, 'at' | 'interactionId' | 'pageId' | 'channel' | 'reason'> & {
  type: string;
};

export const isStreamEvent = (value: unknown): value is StreamEvent =>
  value !== null && typeof value === 'object' && typeof (value as { type?: unknown }).type === 'string';

export interface StreamHandlers {
  /** The stream is open: events from now on arrive on it, so a load now cannot miss a change. */
  opened(): void;
  /** One event from the stream. */
  event(event: StreamEvent): void;
  /** The stream could not be opened, or it ended; it is opened again after a pause. */
  lost(fault: Fault): void;
}

/** Keeps one event stream open for the life of the page. */
export async function followEvents(api: ConsoleApi, on: StreamHandlers): Promise<never> {
  let lastEventId: string | null = null;
  let delay = RECONNECT_MIN_MS;
  for (;;) {
    const controller = new AbortController();
    let response: Response | null = null;
    try {
      response = await api.send('GET', '/events', {
        accept: 'text/event-stream',
        headers: lastEventId === null ? {} : { 'Last-Event-ID': lastEventId },
        signal: controller.signal,
      });
    } catch {
      // Nothing answered: told below.
    }
    if (response?.ok && response.body) {
      on.opened();
      delay = RECONNECT_MIN_MS;
      await readFrames(response.body, controller, (frame) => {
        if (frame.id !== null) lastEventId = frame.id;
        if (frame.data === null) return;
        let event: unknown;
        try {
          event = JSON.parse(frame.data);
        } catch {
          return; // not an event this console understands
        }
        if (isStreamEvent(event)) on.event(event);
      });
      on.lost(new Fault(0, null));
    } else {
      const fault = response
        ? new Fault(response.status, await response.json().catch(() => null), response.headers.get('Retry-After'))
        : new Fault(0, null);
      on.lost(fault);
      if (fault.status === 429) delay = Math.max(delay, fault.retryAfter * 1000 || 5000);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, RECONNECT_MAX_MS);
  }
}

/** Reads frames from the response body until it ends, fails, or stalls (then aborts it). */
async function readFrames(
  body: ReadableStream<BufferSource>,
  controller: AbortController,
  onFrame: (frame: SseFrame) => void,
): Promise<void> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  const frames = new SseFrames();
  let stall = setTimeout(() => controller.abort(), STALL_MS);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      clearTimeout(stall);
      stall = setTimeout(() => controller.abort(), STALL_MS);
      for (const frame of frames.push(value)) {
        try {
          onFrame(frame);
        } catch {
          // A frame this console cannot apply must not end the stream.
        }
      }
    }
  } catch {
    // Aborted (stalled) or the connection dropped: the caller reconnects.
  } finally {
    clearTimeout(stall);
  }
}
