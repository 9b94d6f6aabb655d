/**
 * Fan-out between nodes (docs/architecture.md): with REDIS_URL set, every
 * socket.io server (a frontend's, and a backend's that never listens) uses
 * socket.io's Redis Streams adapter, so an emit to a visit's or a page's room
 * reaches the page on whichever node holds it. The adapter gets a client of
 * its own: its XREAD loop must not share the store's fail-fast client, whose
 * instant refusals while Redis is away would make that loop spin without
 * back-off. Its stream, channels and session keys start with the store's
 * prefix, so installations sharing a Redis never hear each other.
 *
 * It also carries one signal of Beckon's own between nodes: "resynchronise
 * your pages" (frontend/resync.ts), on a Redis channel under the prefix. Not
 * through socket.io's `serverSideEmit`: the adapter publishes that without
 * handling a failed publish, which would be an unhandled rejection (a crash)
 * when Redis goes away again at that moment.
 */
import { randomUUID } from 'node:crypto';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { createFanoutClient, withDeadline } from '../store/redis/connection.js';

export interface Fanout {
  adapter: ReturnType<typeof createAdapter>;
  /** Asks every other node to resynchronise its pages (at most once delivery; failures are ignored). */
  requestResync(): void;
  close(): Promise<void>;
}

export interface FanoutHooks {
  onError: (error: unknown) => void;
  /** The connection is ready again after it was lost: commands on their way through it may be lost. */
  onRestored?: () => void;
  /** Another node asked this one to resynchronise its pages. */
  onResyncRequested?: () => void;
}

export async function openFanout(url: string, prefix: string, hooks: FanoutHooks): Promise<Fanout> {
  const client = createFanoutClient(url, hooks.onError);
  // Every 'ready' after the first is a reconnect (node-redis reconnects by itself, for ever).
  let wasReady = false;
  client.on('ready', () => {
    if (wasReady) hooks.onRestored?.();
    wasReady = true;
  });
  await client.connect();
  // Subscribing takes a connection of its own; node-redis subscribes again after each reconnect.
  const channel = `${prefix}beckon:resync`;
  // Names this node in its own requests, which it then ignores.
  const self = randomUUID();
  const subscriber = client.duplicate();
  subscriber.on('error', hooks.onError);
  await subscriber.connect();
  await subscriber.subscribe(channel, (from) => {
    if (from !== self) hooks.onResyncRequested?.();
  });
  const adapter = createAdapter(client, {
    streamName: `${prefix}socket.io`,
    channelPrefix: `${prefix}socket.io`,
    sessionKeyPrefix: `${prefix}sio:session:`,
    // Beckon never sends binary.
    onlyPlaintext: true,
  });
  return {
    adapter,
    requestResync() {
      client.publish(channel, self).catch(hooks.onError);
    },
    async close() {
      // Graceful when Redis answers; never a hang when it is away (the client would wait for it for ever).
      for (const each of [subscriber, client]) {
        try {
          await withDeadline(each.close(), 1000);
        } catch {
          each.destroy();
        }
      }
    },
  };
}
