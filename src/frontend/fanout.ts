/**
 * Fan-out between nodes (SPEC §1 scale-out): with REDIS_URL set, every
 * socket.io server (a frontend's, and a backend's that never listens) uses
 * socket.io's Redis Streams adapter, so an emit to a visit's or a page's room
 * reaches the page on whichever node holds it. The adapter gets a client of
 * its own (SCALE-OUT: its XREAD loop must not share the store's fail-fast
 * client), and its stream, channels and session keys start with the store's
 * prefix, so installations sharing a Redis never hear each other.
 */
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { createFanoutClient, withDeadline } from '../store/redis/connection.js';

export interface Fanout {
  adapter: ReturnType<typeof createAdapter>;
  close(): Promise<void>;
}

export async function openFanout(url: string, prefix: string, onError: (error: unknown) => void): Promise<Fanout> {
  const client = createFanoutClient(url, onError);
  await client.connect();
  const adapter = createAdapter(client, {
    streamName: `${prefix}socket.io`,
    channelPrefix: `${prefix}socket.io`,
    sessionKeyPrefix: `${prefix}sio:session:`,
    // Beckon never sends binary.
    onlyPlaintext: true,
  });
  return {
    adapter,
    async close() {
      // Graceful when Redis answers; never a hang when it is away (the client would wait for it for ever).
      try {
        await withDeadline(client.close(), 1000);
      } catch {
        client.destroy();
      }
    },
  };
}
