/**
 * Finding the primary through Redis Sentinel, and following it when
 * Sentinel replaces it (docs/operations.md, "Redis with failover").
 *
 * Why not node-redis's own `createSentinel` for the store: measured on this
 * kind of machine it missed Sentinel's `+switch-master` announcement (it
 * subscribes without the `+`), found the new primary only by polling with a
 * fixed one-second sleep, and silently sent the commands in flight at the
 * death again to the new primary: a write that had already answered "store
 * unavailable" to its caller could be applied later, and a `WAIT` re-sent
 * alone confirmed writes the new primary never saw. Here a plain fail-fast
 * client (connection.ts) talks to the address this module gives, and is
 * replaced, never re-sent through, when the address changes.
 *
 * How the address is kept:
 * - at start, the sentinels are asked in turn (`SENTINEL
 *   get-master-addr-by-name`); the first answer wins;
 * - every sentinel is listened to for `+switch-master`: the first one to
 *   announce the new primary moves every client at once (about 2.3 s after a
 *   kill -9 with `down-after-milliseconds 1000`);
 * - a subscription that reconnects may have missed an announcement, and a
 *   client may find a replica where the primary should be (it checks `ROLE`
 *   on every connection): both ask the sentinels again, and so does a
 *   slow timer, as a safety net.
 */
import { createClient } from 'redis';
import { withDeadline } from './connection.js';
import type { HostAndPort, SentinelEndpoint } from './endpoint.js';
import { FollowedPrimary } from './followed-primary.js';

/** How long one sentinel may take to answer. */
const ASK_TIMEOUT_MS = 500;
/** The safety net: the sentinels are asked again this often even when nothing was announced. */
const REFRESH_EVERY_MS = 5000;

type SentinelClient = ReturnType<typeof sentinelClient>;

export interface SentinelHooks {
  onError?: (error: unknown) => void;
}

/** The current primary as the sentinels name it, kept up to date. */
export class SentinelPrimary extends FollowedPrimary {
  readonly #clients: SentinelClient[] = [];
  #timer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly endpoint: SentinelEndpoint,
    private readonly onError: (error: unknown) => void,
    primary: HostAndPort,
  ) {
    super(primary);
  }

  /**
   * Asks the sentinels for the primary (within `timeoutMs`, trying each in
   * turn until one answers) and starts listening to them.
   */
  static async open(
    endpoint: SentinelEndpoint,
    hooks: SentinelHooks = {},
    timeoutMs = 10_000,
  ): Promise<SentinelPrimary> {
    const onError = hooks.onError ?? (() => {});
    const giveUpAt = Date.now() + timeoutMs;
    for (;;) {
      const primary = await askSentinels(endpoint, onError);
      if (primary !== null) {
        const located = new SentinelPrimary(endpoint, onError, primary);
        await located.#listen();
        return located;
      }
      if (Date.now() >= giveUpAt) {
        throw new SentinelUnreachableError(
          `No sentinel of ${endpoint.sentinels.map((s) => `${s.host}:${s.port}`).join(',')} named a primary for "${endpoint.name}".`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  override async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await super.close();
    await Promise.all(this.#clients.map((client) => closeQuickly(client)));
  }

  protected ask(): Promise<HostAndPort | null> {
    return askSentinels(this.endpoint, this.onError);
  }

  /** Subscribes to `+switch-master` on every sentinel; a sentinel that is down now is subscribed to when it comes back. */
  async #listen(): Promise<void> {
    await Promise.all(
      this.endpoint.sentinels.map(async (sentinel) => {
        const client = sentinelClient(sentinel, this.endpoint.sentinelPassword, this.onError);
        this.#clients.push(client);
        let wasReady = false;
        client.on('ready', () => {
          // Announcements made while this subscription was down are lost: ask instead.
          if (wasReady) this.refresh().catch(() => {});
          wasReady = true;
        });
        client.connect().catch(() => {});
        // node-redis subscribes again by itself after each reconnect.
        client
          .subscribe('+switch-master', (message) => {
            const [name, , , host, port] = message.split(' ');
            if (name === this.endpoint.name && host !== undefined && port !== undefined)
              this.moveTo({ host, port: Number(port) });
          })
          .catch(() => {});
      }),
    );
    this.#timer = setInterval(() => this.refresh().catch(() => {}), REFRESH_EVERY_MS);
    this.#timer.unref();
  }
}

/** No sentinel could name a primary. */
export class SentinelUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SentinelUnreachableError';
  }
}

/** A client to one sentinel: 1 s to connect, reconnects for ever, at most 2 s apart. */
function sentinelClient(sentinel: HostAndPort, password: string | null, onError: (error: unknown) => void) {
  const client = createClient({
    socket: {
      host: sentinel.host,
      port: sentinel.port,
      connectTimeout: 1000,
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 10), 2000),
    },
    ...(password !== null ? { password } : {}),
  });
  client.on('error', onError);
  return client;
}

/** The first primary a sentinel names, trying each in turn (each within ASK_TIMEOUT_MS); null if none answers. */
async function askSentinels(
  endpoint: SentinelEndpoint,
  onError: (error: unknown) => void,
): Promise<HostAndPort | null> {
  for (const sentinel of endpoint.sentinels) {
    const client = sentinelClient(sentinel, endpoint.sentinelPassword, onError);
    try {
      await withDeadline(client.connect(), ASK_TIMEOUT_MS);
      const reply = (await withDeadline(
        client.sendCommand(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', endpoint.name]),
        ASK_TIMEOUT_MS,
      )) as [string, string] | null;
      if (Array.isArray(reply) && reply.length === 2) return { host: reply[0], port: Number(reply[1]) };
    } catch (error) {
      onError(error);
    } finally {
      await closeQuickly(client);
    }
  }
  return null;
}

async function closeQuickly(client: SentinelClient): Promise<void> {
  if (!client.isOpen) {
    try {
      client.destroy();
    } catch {
      // Never connected: nothing to drop.
    }
    return;
  }
  try {
    await withDeadline(client.close(), 500);
  } catch {
    client.destroy();
  }
}
