/**
 * Where the Redis store lives (docs/operations.md, "Redis with failover"):
 * one server at a URL, a primary that Sentinel names and replaces when it
 * dies, or a Redis Cluster. Configuration gives at most one of the three.
 */

export interface HostAndPort {
  host: string;
  port: number;
}

/** Credentials and TLS for the data nodes (a URL carries its own). */
export interface RedisCredentials {
  username: string | null;
  password: string | null;
  tls: boolean;
}

export interface SentinelEndpoint {
  /** Any of the sentinels watching the primary; each is asked in turn, and every one is listened to. */
  sentinels: readonly HostAndPort[];
  /** The name the sentinels monitor the primary under. */
  name: string;
  credentials: RedisCredentials;
  /** The sentinels' own password (`requirepass` in sentinel.conf), if any. */
  sentinelPassword: string | null;
}

export interface ClusterEndpoint {
  /** Any nodes of the cluster: the client learns the others from them. */
  nodes: readonly HostAndPort[];
  credentials: RedisCredentials;
}

export type RedisEndpoint =
  | { kind: 'standalone'; url: string }
  | ({ kind: 'sentinel' } & SentinelEndpoint)
  | ({ kind: 'cluster' } & ClusterEndpoint);

/**
 * Where the primary is now, for a client that must follow it (Sentinel:
 * sentinel.ts; Redis Cluster: cluster.ts).
 */
export interface PrimaryLocator {
  readonly current: HostAndPort;
  /** Calls `listener` each time the primary moves; returns a function that stops it. */
  onMove(listener: (primary: HostAndPort) => void): () => void;
  /** Asks again now (a connection found a replica where the primary should be, or Redis answered MOVED). */
  refresh(): Promise<void>;
  /** The store cannot reach the primary: look for it more often until `reachable()` (optional). */
  unreachable?(reachable: () => boolean): void;
  close(): Promise<void>;
}

/**
 * The prefix every key, stream and channel name starts with. In a Redis
 * Cluster it is made one hash tag (`beckon:` becomes `{beckon}:`), so that
 * every key lives in one slot and every script runs on one shard.
 */
export function redisKeyPrefix(config: RedisPlacement & { redisPrefix: string }): string {
  if (!config.redisCluster) return config.redisPrefix;
  return `{${config.redisPrefix.replace(/:$/, '')}}:`;
}

/** The store configuration's three mutually exclusive ways to name Redis. */
export interface RedisPlacement {
  redisUrl: string | null;
  redisSentinel?: SentinelEndpoint | null;
  redisCluster?: ClusterEndpoint | null;
}

/** The endpoint a configuration names, or null for no Redis (the SQLite store). */
export function redisEndpointOf(config: RedisPlacement): RedisEndpoint | null {
  if (config.redisSentinel) return { kind: 'sentinel', ...config.redisSentinel };
  if (config.redisCluster) return { kind: 'cluster', ...config.redisCluster };
  if (config.redisUrl !== null) return { kind: 'standalone', url: config.redisUrl };
  return null;
}

/**
 * `host:port,host:port,…` as a list, or the reason it is not one. Hosts are
 * names, IPv4 addresses or bracketed IPv6 addresses (`[::1]:26379`).
 */
export function parseHostList(text: string): HostAndPort[] | { error: string } {
  const items = text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  if (items.length === 0) return { error: 'lists no host:port' };
  const list: HostAndPort[] = [];
  for (const item of items) {
    const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(item);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) return { error: `"${item}" is not a host:port like 10.0.0.5:26379` };
    list.push({ host: match[1]!.replace(/^\[|\]$/g, ''), port });
  }
  return list;
}

const hostPort = ({ host, port }: HostAndPort) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

/** Where Redis is, for logs and the start banner: addresses and names, never credentials. */
export function describeEndpoint(endpoint: RedisEndpoint): string {
  switch (endpoint.kind) {
    case 'standalone': {
      const url = new URL(endpoint.url);
      return `${url.protocol}//${url.host}${url.pathname}`;
    }
    case 'sentinel':
      return `Sentinel "${endpoint.name}" at ${endpoint.sentinels.map(hostPort).join(',')}`;
    case 'cluster':
      return `Redis Cluster at ${endpoint.nodes.map(hostPort).join(',')}`;
  }
}
