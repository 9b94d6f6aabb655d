/**
 * Finding, in a Redis Cluster, the primary that holds Beckon's keys, and
 * following it when the cluster fails over (docs/operations.md, "Redis with
 * failover").
 *
 * Every key of the store carries one hash tag (endpoint.ts,
 * `redisKeyPrefix`), so all of them live in one slot, on one shard: the
 * cluster gives failover, not write scaling (docs/sharding.md plans that).
 * One slot means one primary to talk to, so the store does not use
 * node-redis's cluster client: it keeps its plain fail-fast client
 * (connection.ts) pointed at that primary, as with Sentinel. That keeps what
 * the store promises (no command sent again after an error, `WAIT` on the
 * connection of its write) and avoids what the cluster client was seen to do
 * during a failover here: a command timeout thrown outside any promise, or a
 * command that hung.
 *
 * How the address is kept: the known nodes (the configured ones, then every
 * node the cluster names) are asked in turn for `CLUSTER SLOTS`; the primary
 * of the tag's slot is the address. There is no announcement to listen to,
 * so the question is asked again every half second while the store cannot
 * reach its primary, every few seconds otherwise, and whenever a connection
 * finds a replica there (ROLE) or Redis answers MOVED.
 */
import { createClient } from 'redis';
import { withDeadline } from './connection.js';
import type { ClusterEndpoint, HostAndPort } from './endpoint.js';
import { FollowedPrimary } from './followed-primary.js';

/** How long one node may take to answer. */
const ASK_TIMEOUT_MS = 500;
/** The safety net when all is well. */
const REFRESH_EVERY_MS = 5000;

export interface ClusterHooks {
  onError?: (error: unknown) => void;
}

/** The hash slot of a key (CRC16/XMODEM of its hash tag, or of the whole key, modulo 16384). */
export function hashSlot(key: string): number {
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(key)) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

/** The primary of one slot, kept up to date. */
export class ClusterPrimary extends FollowedPrimary {
  readonly #known: HostAndPort[];
  #timer: NodeJS.Timeout | null = null;
  /** Asking every half second until the store reaches its primary again. */
  #searching = false;

  private constructor(
    private readonly endpoint: ClusterEndpoint,
    private readonly slot: number,
    private readonly onError: (error: unknown) => void,
    found: { primary: HostAndPort; nodes: HostAndPort[] },
  ) {
    super(found.primary);
    this.#known = mergeNodes(endpoint.nodes, found.nodes);
  }

  /** Asks the nodes which primary holds `key`'s slot (within `timeoutMs`), then keeps asking. */
  static async open(
    endpoint: ClusterEndpoint,
    key: string,
    hooks: ClusterHooks = {},
    timeoutMs = 10_000,
  ): Promise<ClusterPrimary> {
    const onError = hooks.onError ?? (() => {});
    const slot = hashSlot(key);
    const giveUpAt = Date.now() + timeoutMs;
    for (;;) {
      const found = await askNodes(endpoint, endpoint.nodes, slot, onError);
      if (found !== null) {
        const located = new ClusterPrimary(endpoint, slot, onError, found);
        located.#schedule(REFRESH_EVERY_MS);
        return located;
      }
      if (Date.now() >= giveUpAt) {
        throw new ClusterUnreachableError(
          `No node of ${endpoint.nodes.map((n) => `${n.host}:${n.port}`).join(',')} named a primary for slot ${slot}.`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /**
   * The store cannot reach its primary: ask every half second until it can
   * (the caller says when with `reachable`), then go back to the slow pace.
   */
  unreachable(reachable: () => boolean): void {
    if (this.closed || this.#searching) return;
    this.#searching = true;
    this.#schedule(500, reachable);
  }

  override async close(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    await super.close();
  }

  /** The slot's primary by the first known node that answers; every node it names becomes known. */
  protected async ask(): Promise<HostAndPort | null> {
    const found = await askNodes(this.endpoint, this.#known, this.slot, this.onError);
    if (found === null) return null;
    for (const node of found.nodes) {
      if (!this.#known.some((k) => k.host === node.host && k.port === node.port)) this.#known.push(node);
    }
    return found.primary;
  }

  #schedule(everyMs: number, until?: () => boolean): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.refresh()
        .catch(() => {})
        .finally(() => {
          if (this.closed) return;
          if (until === undefined || until()) {
            this.#searching = false;
            this.#schedule(REFRESH_EVERY_MS);
          } else this.#schedule(everyMs, until);
        });
    }, everyMs);
    this.#timer.unref();
  }
}

/** No node could name the slot's primary. */
export class ClusterUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterUnreachableError';
  }
}

function mergeNodes(first: readonly HostAndPort[], more: readonly HostAndPort[]): HostAndPort[] {
  const merged: HostAndPort[] = [];
  for (const node of [...first, ...more]) {
    if (!merged.some((m) => m.host === node.host && m.port === node.port)) merged.push(node);
  }
  return merged;
}

type SlotRange = [number, number, ...[string, number, ...unknown[]][]];

/**
 * The primary of `slot` by the first node that answers CLUSTER SLOTS with a
 * primary for it, and every node that answer names; null if none does.
 */
async function askNodes(
  endpoint: ClusterEndpoint,
  nodes: readonly HostAndPort[],
  slot: number,
  onError: (error: unknown) => void,
): Promise<{ primary: HostAndPort; nodes: HostAndPort[] } | null> {
  const { username, password, tls } = endpoint.credentials;
  for (const node of nodes) {
    const client = createClient({
      socket: tls
        ? { host: node.host, port: node.port, connectTimeout: ASK_TIMEOUT_MS, reconnectStrategy: false, tls: true }
        : { host: node.host, port: node.port, connectTimeout: ASK_TIMEOUT_MS, reconnectStrategy: false },
      ...(username !== null ? { username } : {}),
      ...(password !== null ? { password } : {}),
    });
    client.on('error', onError);
    try {
      await withDeadline(client.connect(), ASK_TIMEOUT_MS);
      const ranges = (await withDeadline(client.sendCommand(['CLUSTER', 'SLOTS']), ASK_TIMEOUT_MS)) as SlotRange[];
      const named = ranges.flatMap(([, , ...holders]) =>
        holders.map(([host, port]) => ({ host: host === '' ? node.host : host, port: Number(port) })),
      );
      const range = ranges.find(([start, end]) => Number(start) <= slot && slot <= Number(end));
      // A node that has lost its view of the slot (the cluster is failing over) names no primary: ask another.
      const holder = range?.[2];
      if (holder) {
        const [host, port] = holder;
        return { primary: { host: host === '' ? node.host : host, port: Number(port) }, nodes: named };
      }
    } catch (error) {
      onError(error);
    } finally {
      try {
        client.destroy();
      } catch {
        // Never connected: nothing to drop.
      }
    }
  }
  return null;
}
