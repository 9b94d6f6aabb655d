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
 * Page commands do not go through the adapter: each goes to the node that
 * holds the page, on that node's own channel (cluster/page-commands.ts).
 *
 * It also carries one signal of Beckon's own between nodes: "resynchronise
 * your pages" (frontend/resync.ts), on a Redis channel under the prefix. Not
 * through socket.io's `serverSideEmit`: the adapter publishes that without
 * handling a failed publish, which would be an unhandled rejection (a crash)
 * when Redis goes away again at that moment.
 *
 * With Sentinel (docs/operations.md, "Redis with failover") the fan-out uses
 * node-redis's own Sentinel client, unlike the store: the adapter duplicates
 * its client for each blocking read, and only that client can follow the
 * primary under the adapter's feet. What it costs is acceptable here and not
 * for the store: it finds a new primary by polling (every second, set
 * below), and sends again what was in flight, so a page command may arrive
 * twice (the widget applies each by its interactionId) or late; pages are
 * resynchronised after a failover anyway.
 *
 * In a Redis Cluster the fan-out uses node-redis's cluster client, which the
 * adapter knows (its cluster mode): the adapter's stream and session keys
 * carry the store's hash tag, so they live on the store's shard, and its
 * broadcasts (PUBLISH) reach every node. The adapter counts servers by
 * asking each primary, through `masters[i].client`, which this client only
 * fills in once it has connected to that node: the view below gives it a
 * client that connects when asked.
 */
import { randomUUID } from 'node:crypto';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { createCluster, createSentinel } from 'redis';
import { createFanoutClient, withDeadline } from '../store/redis/connection.js';
import type { ClusterEndpoint, RedisEndpoint, SentinelEndpoint } from '../store/redis/endpoint.js';

export interface Fanout {
  adapter: ReturnType<typeof createAdapter>;
  /** Asks every other node to resynchronise its pages (at most once delivery; failures are ignored). */
  requestResync(): void;
  /**
   * Hears what is sent to this node (`sendToNode` with its id) on a channel of its own, from now on:
   * page commands for the pages it holds (cluster/page-commands.ts).
   */
  listenAsNode(nodeId: string, onMessage: (message: string) => void): Promise<void>;
  /** Sends a message to one node's channel; resolves with how many connections heard it (0: nobody listens). */
  sendToNode(nodeId: string, message: string): Promise<number>;
  close(): Promise<void>;
}

export interface FanoutHooks {
  onError: (error: unknown) => void;
  /** The connection is ready again after it was lost: commands on their way through it may be lost. */
  onRestored?: () => void;
  /** Another node asked this one to resynchronise its pages. */
  onResyncRequested?: () => void;
}

/** What the fan-out needs of a client: a node-redis client to one Redis, or a view of a Sentinel client. */
type FanoutClient = ReturnType<typeof createFanoutClient>;

export async function openFanout(where: RedisEndpoint | string, prefix: string, hooks: FanoutHooks): Promise<Fanout> {
  const endpoint: RedisEndpoint = typeof where === 'string' ? { kind: 'standalone', url: where } : where;
  const client =
    endpoint.kind === 'sentinel'
      ? sentinelClient(endpoint, hooks)
      : endpoint.kind === 'cluster'
        ? clusterClient(endpoint, hooks)
        : createFanoutClient(endpoint.url);
  if (endpoint.kind === 'standalone') {
    client.on('error', hooks.onError);
    onReconnect(client, hooks);
  }
  await client.connect();
  // Subscribing takes a connection of its own; node-redis subscribes again after each reconnect.
  const channel = `${prefix}beckon:resync`;
  // Names this node in its own requests, which it then ignores.
  const self = randomUUID();
  const subscriber = client.duplicate();
  subscriber.on('error', hooks.onError);
  // What was published to this node while its subscription was away is lost: its pages are resent.
  if (endpoint.kind === 'standalone') onReconnect(subscriber, hooks);
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
  // A node's own channel is under the prefix, whose hash tag in a Redis Cluster puts it on the store's
  // shard; sharded pub/sub there delivers it on that shard alone, where PUBLISH would cross every shard.
  const nodeChannel = (nodeId: string) => `${prefix}node:${nodeId}`;
  const sharded = endpoint.kind === 'cluster';
  return {
    adapter,
    requestResync() {
      client.publish(channel, self).catch(hooks.onError);
    },
    async listenAsNode(nodeId, onMessage) {
      if (sharded) await subscriber.sSubscribe(nodeChannel(nodeId), onMessage);
      else await subscriber.subscribe(nodeChannel(nodeId), onMessage);
    },
    sendToNode(nodeId, message) {
      return sharded ? client.sPublish(nodeChannel(nodeId), message) : client.publish(nodeChannel(nodeId), message);
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

/** Tells `onRestored` of each reconnect: every 'ready' after the first (node-redis reconnects by itself, for ever). */
function onReconnect(connection: { on(event: 'ready', listener: () => void): unknown }, hooks: FanoutHooks): void {
  let wasReady = false;
  connection.on('ready', () => {
    if (wasReady) hooks.onRestored?.();
    wasReady = true;
  });
}

/**
 * A Sentinel client as the adapter uses a plain one. The adapter counts
 * servers with `sendCommand(args)`, which a Sentinel client spells
 * `sendCommand(isReadonly, args)`: the view translates, and so does each
 * duplicate it makes.
 */
function sentinelClient(endpoint: SentinelEndpoint, hooks: FanoutHooks): FanoutClient {
  const { username, password, tls } = endpoint.credentials;
  const sentinel = createSentinel({
    name: endpoint.name,
    sentinelRootNodes: endpoint.sentinels.map(({ host, port }) => ({ host, port })),
    nodeClientOptions: {
      ...(username !== null ? { username } : {}),
      ...(password !== null ? { password } : {}),
      ...(tls ? { socket: { tls: true } } : {}),
    },
    ...(endpoint.sentinelPassword !== null ? { sentinelClientOptions: { password: endpoint.sentinelPassword } } : {}),
    // Rediscovery by polling is how this client learns of a failover: poll every second.
    scanInterval: 1000,
  });
  sentinel.on('error', hooks.onError);
  sentinel.on('topology-change', (event: { type: string }) => {
    // A new primary: what crossed the old one may be lost; have the pages resynchronised.
    if (event.type === 'MASTER_CHANGE') hooks.onRestored?.();
  });
  return view(sentinel as unknown as SentinelClient) as unknown as FanoutClient;
}

type SentinelClient = ReturnType<typeof createSentinel>;

function view(sentinel: SentinelClient): object {
  return new Proxy(sentinel, {
    get(target, property, receiver) {
      if (property === 'sendCommand')
        return (args: string[], options?: object) => target.sendCommand(false, args, options as never);
      if (property === 'duplicate') return () => view(target.duplicate());
      // The adapter drops its reading clients with disconnect(), which a Sentinel client calls destroy().
      if (property === 'disconnect') return () => target.destroy();
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** A cluster client as the adapter uses one (its cluster mode), with every primary's client at hand. */
function clusterClient(endpoint: ClusterEndpoint, hooks: FanoutHooks): FanoutClient {
  const { username, password, tls } = endpoint.credentials;
  const cluster = createCluster({
    rootNodes: endpoint.nodes.map(({ host, port }) => ({ socket: { host, port } })),
    defaults: {
      ...(username !== null ? { username } : {}),
      ...(password !== null ? { password } : {}),
      socket: { connectTimeout: 1000, ...(tls ? { tls: true as const } : {}) },
    },
  });
  cluster.on('error', hooks.onError);
  return clusterView(cluster as unknown as ClusterClient) as unknown as FanoutClient;
}

type ClusterClient = ReturnType<typeof createCluster>;

function clusterView(cluster: ClusterClient): object {
  return new Proxy(cluster, {
    get(target, property, receiver) {
      if (property === 'duplicate') return () => clusterView(target.duplicate());
      if (property === 'disconnect') return () => target.destroy();
      if (property === 'masters') {
        return target.masters.map((master) => ({
          ...master,
          client: {
            sendCommand: async (args: string[]) => (await target.nodeClient(master)).sendCommand(args),
          },
        }));
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
