/**
 * An example decision engine: the loop GWE users know, in one small script.
 *
 *   behaviour → decision → invitation → outcome
 *
 * It follows Beckon's event stream (SSE) for business events and outcomes,
 * keeps each visit's cart total from the page's `cart` events
 * (`Beckon.track('cart', { total: 120 })`, or GWE's `_gt.push(['event',
 * 'cart', { total: 120 }])`), and invites a visit to chat the first time its
 * cart passes a threshold. Then it prints how the visitor answered.
 *
 *   BECKON_URL=http://localhost:9081 CART_THRESHOLD=100 node --import tsx examples/cart-engine.ts
 *
 * BECKON_API_TOKEN is sent when set. Each line it prints is one JSON object
 * (`listening`, `decision`, `invited`, `refused`, `outcome`), so another
 * program can follow it too. A real engine would keep its state in its own
 * store; this one keeps it in memory and resumes the stream with
 * Last-Event-ID after a dropped connection, so it misses nothing while it
 * runs.
 */
import { randomUUID } from 'node:crypto';

interface BeckonEvent {
  seq: number;
  type: string;
  visitId: string | null;
  interactionId: string | null;
  channel: string | null;
  reason: string | null;
  name: string | null;
  data: Record<string, unknown>;
}

export interface EngineOptions {
  url: string;
  token?: string;
  threshold: number;
  /** Stops the engine. */
  signal?: AbortSignal;
  /** Where each line goes (stdout when run as a script). */
  say?: (line: object) => void;
}

/** Runs until `signal` aborts. */
export async function runCartEngine(options: EngineOptions): Promise<void> {
  const say = options.say ?? ((line) => console.log(JSON.stringify(line)));
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  // The visits already invited, and the invitations this engine made (to report their outcome).
  const invited = new Set<string>();
  const ours = new Map<string, { visitId: string; total: number }>();
  let lastSeq: number | null = null;

  const decide = async (event: BeckonEvent) => {
    if (event.type === 'page.event' && event.name === 'cart' && event.visitId !== null) {
      const total = Number(event.data.total);
      if (!Number.isFinite(total) || total <= options.threshold || invited.has(event.visitId)) return;
      invited.add(event.visitId);
      say({ decision: 'invite', visitId: event.visitId, total });
      await engage(event.visitId, total);
      return;
    }
    const attempt = event.interactionId === null ? undefined : ours.get(event.interactionId);
    if (attempt && ['accepted', 'declined', 'timed_out', 'cancelled', 'expired'].includes(event.type.slice(11))) {
      say({ outcome: event.type.slice(11), visitId: attempt.visitId, channel: event.channel, total: attempt.total });
      ours.delete(event.interactionId!);
    }
  };

  const engage = async (visitId: string, total: number) => {
    const interactionId = `cart-${randomUUID()}`;
    ours.set(interactionId, { visitId, total });
    const response = await fetch(`${options.url}/backend/data/gateway/engage`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({
        ixnProfile: {
          interactionId,
          visitId,
          channels: ['chat'],
          invitation: { title: 'Need a hand with your order?', message: 'An advisor can help you check out.' },
          userData: { cartTotal: total },
        },
      }),
    });
    const answer = (await response.json()) as { status: string; code?: string };
    if (answer.status === 'OK') say({ invited: visitId, interactionId });
    else {
      ours.delete(interactionId);
      // Capped, opted out, no agent free…: the visitor may pass the threshold again later.
      invited.delete(visitId);
      say({ refused: visitId, code: answer.code });
    }
  };

  while (!options.signal?.aborted) {
    try {
      const response: Response = await fetch(`${options.url}/backend/data/events?types=page.event,engagement.*`, {
        headers: { ...headers, accept: 'text/event-stream', ...(lastSeq ? { 'last-event-id': String(lastSeq) } : {}) },
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (!response.ok || !response.body) throw new Error(`event stream answered ${response.status}`);
      say({ listening: options.url, threshold: options.threshold });
      for await (const event of serverSentEvents(response.body as ReadableStream<Uint8Array>)) {
        lastSeq = event.seq;
        await decide(event);
      }
    } catch (error) {
      if (options.signal?.aborted) return;
      say({ error: String(error) });
    }
    // The stream ended or failed: come back after a second, from the last event seen.
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** The `data:` of each server-sent event, parsed as a Beckon event. */
async function* serverSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<BeckonEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trimStart())
        .join('\n');
      if (data !== '') yield JSON.parse(data) as BeckonEvent;
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  await runCartEngine({
    url: process.env.BECKON_URL ?? 'http://localhost:9081',
    ...(process.env.BECKON_API_TOKEN ? { token: process.env.BECKON_API_TOKEN } : {}),
    threshold: Number(process.env.CART_THRESHOLD ?? 100),
    signal: controller.signal,
  });
}
