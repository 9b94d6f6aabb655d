/**
 * `npm run cluster`: a Beckon cluster on this machine, as production runs it.
 * redis-server (its own temp folder, AOF with appendfsync always), one
 * backend and two frontends (`node dist/server/main.js` with roles, one
 * generated BECKON_SECRET, distinct BECKON_NODE_IDs, one key prefix) and
 * nginx in front on one port (scripts/cluster/nginx.ts). Everything listens
 * on 127.0.0.1.
 *
 * `npm run cluster -- --ha`: Redis without a single point of failure
 * instead of one redis-server: a primary, a replica and three sentinels
 * (scripts/cluster/sentinel.ts), and the nodes get REDIS_SENTINELS and
 * REDIS_SENTINEL_NAME instead of REDIS_URL. It prints the primary's PID to
 * kill for a failover; after the sentinels' switch it starts the killed
 * redis-server again on its port and folder, and Sentinel makes it a
 * replica, ready for the next kill.
 *
 *   CLUSTER_PORT  nginx's port (default 9080 if free, else a free one)
 *   REDIS_PORT    redis-server's port (default a free one; not with --ha)
 *   BECKON_REDIS_PREFIX, BECKON_API_TOKEN and the other BECKON_* variables
 *   are passed to every node.
 *
 * Ctrl-C or SIGTERM stops everything it started, by PID, and removes the
 * Redis and nginx folders (the nodes' logs stay). If any of its
 * processes dies (with --ha: a sentinel, not a data node), it stops the
 * rest and exits with 1.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNginx, type Nginx } from './cluster/nginx.js';
import { startNode, type BeckonNode } from './cluster/node.js';
import { freePort, portIsFree } from './cluster/ports.js';
import { startRedisServer, type RedisServer } from './cluster/redis-server.js';
import { startSentinelTopology, type SentinelTopology } from './cluster/sentinel.js';

const usage = 'usage: npm run cluster [-- --ha]';

function givenPort(name: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`${name} must be a port number, not ${value}`);
  return port;
}

let redis: RedisServer | null = null;
let sentinel: SentinelTopology | null = null;
const nodes: BeckonNode[] = [];
let nginx: Nginx | null = null;
let stopping = false;

/** Stops what was started, in reverse order, each by its PID. */
async function stopAll(): Promise<void> {
  stopping = true;
  await nginx?.dispose();
  for (const node of [...nodes].reverse()) await node.stop('SIGTERM');
  await redis?.stop('SIGTERM');
  if (redis) rmSync(redis.dir, { recursive: true, force: true });
  await sentinel?.dispose();
}

async function shutdown(code: number, why: string): Promise<never> {
  if (!stopping) {
    console.log(`\n${why}: stopping everything this script started…`);
    await stopAll();
  }
  process.exit(code);
}

/**
 * With --ha: reports a data node's death, and once the sentinels have
 * switched to a new primary (or at once, for a replica) starts it again on
 * its port and folder, so that the newcomer can kill the next primary.
 */
function superviseSentinel(topology: SentinelTopology): void {
  const down = new Set<number>();
  const restart = async (port: number, pid: number | undefined, wasPrimary: boolean) => {
    await topology.restart(port);
    const node = topology.servers.find((s) => s.port === port)!;
    const next = wasPrimary ? 'Sentinel makes it a replica of the new primary in about 10 s' : 'it is a replica again';
    console.log(`redis-server 127.0.0.1:${port} started again (PID ${node.pid}, was ${pid}); ${next}`);
    await topology.settled(60_000);
    const primary = await topology.primary();
    const primaryPid = topology.servers.find((s) => s.port === primary.port)?.pid;
    console.log(`ready for another failover: kill -9 ${primaryPid}   (the primary, 127.0.0.1:${primary.port})`);
  };
  const look = async () => {
    for (const sentinelProcess of topology.sentinels)
      if (!sentinelProcess.running) return shutdown(1, `redis-sentinel (PID ${sentinelProcess.pid}) exited`);
    for (const node of topology.servers) {
      if (node.running || down.has(node.port)) continue;
      down.add(node.port);
      try {
        const pid = node.pid;
        const noticed = Date.now();
        const primary = await topology.primary();
        if (primary.port !== node.port) {
          console.log(`redis-server 127.0.0.1:${node.port} (PID ${pid}, a replica) exited`);
        } else {
          console.log(
            `redis-server 127.0.0.1:${node.port} (PID ${pid}, the primary) exited; waiting for the sentinels…`,
          );
          const promoted = await topology.waitForSwitch(node.port, 30_000);
          const promotedPid = topology.servers.find((s) => s.port === promoted.port)?.pid;
          const seconds = ((promoted.at - noticed) / 1000).toFixed(1);
          console.log(
            `sentinels switched to 127.0.0.1:${promoted.port} (PID ${promotedPid}), ${seconds} s after the exit`,
          );
        }
        await restart(node.port, pid, primary.port === node.port);
      } finally {
        down.delete(node.port);
      }
    }
  };
  const loop = async () => {
    while (!stopping) {
      try {
        await look();
      } catch (error) {
        if (!stopping) console.error(`watching Redis: ${error instanceof Error ? error.message : String(error)}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  void loop();
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const ha = args.includes('--ha');
  const unknown = args.filter((a) => a !== '--ha');
  if (unknown.length > 0) throw new Error(`unknown argument ${unknown.join(' ')}\n${usage}`);
  const redisPort = givenPort('REDIS_PORT');
  if (ha && redisPort) throw new Error('REDIS_PORT is for the one redis-server: --ha picks free ports');

  process.once('SIGINT', () => void shutdown(0, 'SIGINT'));
  process.once('SIGTERM', () => void shutdown(0, 'SIGTERM'));

  if (!existsSync('dist/server/main.js') || !existsSync('dist/widget/beckon.js')) {
    console.log('dist/ is missing: npm run build');
    const built = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
    if (built.status !== 0) throw new Error('npm run build failed');
  }

  const wanted = givenPort('CLUSTER_PORT');
  const port = wanted ?? ((await portIsFree(9080)) ? 9080 : await freePort());
  const logs = mkdtempSync(join(tmpdir(), 'beckon-cluster-'));

  // The nodes reach this script's Redis and nothing else, whatever REDIS_* this shell has set
  // (the nodes inherit this process's environment).
  for (const name of Object.keys(process.env)) if (name.startsWith('REDIS_')) delete process.env[name];
  let redisEnv: Record<string, string>;
  if (ha) {
    console.log('starting Redis with Sentinel (a primary, a replica, three sentinels)…');
    sentinel = await startSentinelTopology({ replicas: 1, sentinels: 3 });
    redisEnv = sentinel.env;
  } else {
    redis = await startRedisServer({
      appendfsync: 'always',
      ...(redisPort ? { port: redisPort } : {}),
    });
    redisEnv = { REDIS_URL: redis.url };
  }
  const env = {
    ...redisEnv,
    BECKON_SECRET: process.env.BECKON_SECRET ?? randomBytes(32).toString('hex'),
    BECKON_REDIS_PREFIX: process.env.BECKON_REDIS_PREFIX ?? 'beckon:',
  };
  const watch = (node: BeckonNode) => {
    node.child.once('exit', (code, signal) => {
      if (!stopping) void shutdown(1, `${node.name} (PID ${node.pid}) exited with ${code ?? signal}`);
    });
    nodes.push(node);
    return node;
  };
  watch(await startNode({ name: 'backend-1', role: 'backend', env, logFile: join(logs, 'backend-1.log') }));
  watch(await startNode({ name: 'frontend-1', role: 'frontend', env, logFile: join(logs, 'frontend-1.log') }));
  watch(await startNode({ name: 'frontend-2', role: 'frontend', env, logFile: join(logs, 'frontend-2.log') }));
  nginx = await startNginx({
    port,
    backendPorts: nodes.filter((n) => n.name.startsWith('backend')).map((n) => n.port),
    frontendPorts: nodes.filter((n) => n.name.startsWith('frontend')).map((n) => n.port),
  });
  nginx.child.once('exit', (code, signal) => {
    if (!stopping) void shutdown(1, `nginx (PID ${nginx?.pid}) exited with ${code ?? signal}`);
  });

  let redisLines: string;
  let failover = '';
  if (sentinel) {
    const primary = await sentinel.primary();
    const primaryNode = sentinel.servers.find((s) => s.port === primary.port)!;
    redisLines = [
      ...sentinel.servers.map(
        (s) =>
          `  ${(s.port === primary.port ? 'primary' : 'replica').padEnd(12)}  PID ${s.pid}   redis://127.0.0.1:${s.port}   (AOF in ${s.dir})`,
      ),
      ...sentinel.sentinels.map((s) => `  sentinel      PID ${s.pid}   127.0.0.1:${s.port}   (config in ${s.dir})`),
    ].join('\n');
    const firstSentinel = sentinel.sentinels[0]!;
    failover = `
Try a failover: open the console, then kill the primary:
  kill -9 ${primaryNode.pid}
The sentinels promote the replica in about 2 s (they wait 1 s to call the primary down); Beckon
follows it by itself. This script then starts the killed redis-server again, Sentinel makes it
a replica, and it prints the next primary's PID. Which one is the primary now:
  redis-cli -p ${firstSentinel.port} SENTINEL get-master-addr-by-name ${sentinel.name}
`;
    superviseSentinel(sentinel);
  } else {
    const redisPid = redis!.pid();
    redis!.child()?.once('exit', (code, signal) => {
      if (!stopping) void shutdown(1, `redis-server (PID ${redisPid}) exited with ${code ?? signal}`);
    });
    redisLines = `  redis-server  PID ${redisPid}   ${redis!.url}   (AOF in ${redis!.dir})`;
  }

  const url = nginx.url;
  console.log(`Beckon cluster on ${url}${sentinel ? ` (Redis with Sentinel: REDIS_SENTINELS=${sentinel.sentinelsVariable})` : ''}
  demo shop  ${url}/
  console    ${url}/console
  docs       ${url}/docs/
  engage     curl -s ${url}/backend/data/gateway/engage -H 'content-type: application/json' -d '{"ixnProfile":{"interactionId":"try-1","visitId":"<visitId>"}}'

  nginx         PID ${nginx.pid}   ${url}   (config ${join(nginx.dir, 'nginx.conf')})
${redisLines}
${nodes.map((n) => `  ${n.name.padEnd(12)}  PID ${n.pid}   ${n.url}`).join('\n')}
  logs          ${logs}
${failover}
Ctrl-C stops them all.`);
}

main().catch(async (error) => {
  console.error(error instanceof Error ? error.message : error);
  await stopAll();
  process.exit(1);
});
