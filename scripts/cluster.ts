/**
 * `npm run cluster`: a Beckon cluster on this machine, as production runs it.
 * redis-server (its own temp folder, AOF with appendfsync always), one
 * backend and two frontends (`node dist/server/main.js` with roles, one
 * generated BECKON_SECRET, distinct BECKON_NODE_IDs, one key prefix) and
 * nginx in front on one port (scripts/cluster/nginx.ts). Everything listens
 * on 127.0.0.1.
 *
 *   CLUSTER_PORT  nginx's port (default 9080 if free, else a free one)
 *   REDIS_PORT    redis-server's port (default a free one)
 *   BECKON_REDIS_PREFIX, BECKON_API_TOKEN and the other BECKON_* variables
 *   are passed to every node.
 *
 * Ctrl-C or SIGTERM stops everything it started, by PID, and removes the
 * Redis and nginx folders (the nodes' logs stay). If any of its
 * processes dies, it stops the rest and exits with 1.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNginx, type Nginx } from './cluster/nginx.js';
import { startNode, type BeckonNode } from './cluster/node.js';
import { freePort, startRedisServer, type RedisServer } from '../test/redis-server.js';

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function givenPort(name: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`${name} must be a port number, not ${value}`);
  return port;
}

let redis: RedisServer | null = null;
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
}

async function shutdown(code: number, why: string): Promise<never> {
  if (!stopping) {
    console.log(`\n${why}: stopping everything this script started…`);
    await stopAll();
  }
  process.exit(code);
}

async function main(): Promise<void> {
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

  redis = await startRedisServer({
    appendfsync: 'always',
    ...(givenPort('REDIS_PORT') ? { port: givenPort('REDIS_PORT')! } : {}),
  });
  const env = {
    REDIS_URL: redis.url,
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
  const redisPid = redis.pid();
  redis.child()?.once('exit', (code, signal) => {
    if (!stopping) void shutdown(1, `redis-server (PID ${redisPid}) exited with ${code ?? signal}`);
  });

  const url = nginx.url;
  console.log(`Beckon cluster on ${url}
  demo shop  ${url}/
  console    ${url}/console
  docs       ${url}/docs/
  engage     curl -s ${url}/backend/data/gateway/engage -H 'content-type: application/json' -d '{"ixnProfile":{"interactionId":"try-1","visitId":"<visitId>"}}'

  nginx         PID ${nginx.pid}   ${url}   (config ${join(nginx.dir, 'nginx.conf')})
  redis-server  PID ${redisPid}   ${redis.url}   (AOF in ${redis.dir})
${nodes.map((n) => `  ${n.name.padEnd(12)}  PID ${n.pid}   ${n.url}`).join('\n')}
  logs          ${logs}

Ctrl-C stops them all.`);
}

main().catch(async (error) => {
  console.error(error instanceof Error ? error.message : error);
  await stopAll();
  process.exit(1);
});
