/**
 * What a benchmark runs Beckon as: one process on SQLite, one process on a
 * redis-server of its own, or a cluster on one redis-server (one backend, N
 * frontends; every node the same bench server child as the one-process rows,
 * at LOG_LEVEL=warn, so the rows differ only in topology). Pages connect
 * straight to the frontends, alternating between them (no nginx: a proxy on
 * the same two cores would be measured too); engage calls go to the backend.
 * Everything is stopped by PID by `stop()` (and by the run's bound).
 */
import { startRedisServer, type RedisServer } from '../../test/redis-server.js';
import { startBeckon, type ServerHandle } from './server.js';

export type TopologyKind = 'sqlite' | 'redis' | 'cluster';

export interface Topology {
  kind: TopologyKind;
  /** For tables: "SQLite", "Redis", "cluster (Redis, 1 backend + 2 frontends)". */
  label: string;
  /** Where engage calls and engagement reads go. */
  apiUrl: string;
  /** Where pages connect (one URL for one process; the frontends for a cluster). */
  pageUrls: string[];
  backend: ServerHandle;
  /** The processes holding sockets (the one process, or the frontends). */
  frontends: ServerHandle[];
  redis: RedisServer | null;
  stop(): Promise<void>;
}

export interface TopologyOptions {
  /** Key prefix on Redis (one per benchmark, so leftovers never mix). */
  prefix: string;
  frontends?: number;
  exposeGc?: boolean;
  appendfsync?: 'always' | 'everysec';
}

export async function startTopology(kind: TopologyKind, options: TopologyOptions): Promise<Topology> {
  const gc = { exposeGc: options.exposeGc ?? false };
  if (kind === 'sqlite') {
    const server = await startBeckon(gc);
    return {
      kind,
      label: 'SQLite',
      apiUrl: server.url,
      pageUrls: [server.url],
      backend: server,
      frontends: [server],
      redis: null,
      stop: () => server.stop(),
    };
  }
  // AOF with appendfsync always: the production setting docs/operations.md recommends.
  const redis = await startRedisServer({ appendfsync: options.appendfsync ?? 'always' });
  const started: ServerHandle[] = [];
  const stop = async () => {
    await Promise.all(started.map((s) => s.stop()));
    await redis.dispose();
  };
  try {
    const env = { BENCH_REDIS_URL: redis.url, BECKON_REDIS_PREFIX: options.prefix };
    if (kind === 'redis') {
      const server = await startBeckon({ ...gc, env });
      started.push(server);
      return {
        kind,
        label: 'Redis',
        apiUrl: server.url,
        pageUrls: [server.url],
        backend: server,
        frontends: [server],
        redis,
        stop,
      };
    }
    const backend = await startBeckon({
      ...gc,
      env: { ...env, BENCH_ROLE: 'backend', BENCH_NODE_ID: 'bench-backend-1' },
    });
    started.push(backend);
    const count = options.frontends ?? 2;
    const frontends: ServerHandle[] = [];
    for (let i = 1; i <= count; i++) {
      const frontend = await startBeckon({
        ...gc,
        env: { ...env, BENCH_ROLE: 'frontend', BENCH_NODE_ID: `bench-frontend-${i}` },
      });
      started.push(frontend);
      frontends.push(frontend);
    }
    return {
      kind,
      label: `cluster (Redis, 1 backend + ${count} frontends)`,
      apiUrl: backend.url,
      pageUrls: frontends.map((f) => f.url),
      backend,
      frontends,
      redis,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** `beckon_sockets_connected` of one node, from its /metrics (how many pages it holds). */
export async function socketsConnected(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('beckon_sockets_connected'));
  return line ? Number(line.trim().split(/\s+/).pop()) : Number.NaN;
}
