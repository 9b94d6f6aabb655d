/**
 * A six-node Redis Cluster on 127.0.0.1 (three primaries, a replica each),
 * for tests and benchmarks: `cluster-enabled yes`, `cluster-node-timeout`
 * 1000, AOF with `appendfsync always`, each node with its own port (and the
 * bus on port + 10000, both free) and temporary folder, created with
 * `redis-cli --cluster create … --cluster-replicas 1`, started and stopped by
 * PID. After kill -9 of a primary its replica is elected in about two
 * seconds; the killed node restarted on its port and folder (its
 * nodes.conf kept) rejoins as a replica of the one that replaced it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { steadyPort } from './ports.js';
import { confValue, startRedisServer, type RedisServer } from './redis-server.js';
import { infoFields, respCall, type Address, type RespValue } from './resp.js';
import { until } from './until.js';

export interface RedisClusterOptions {
  /** Primaries (default 3), each with `replicasPerPrimary` replicas (default 1). */
  primaries?: number;
  replicasPerPrimary?: number;
  nodeTimeoutMs?: number;
  /** `requirepass` and `masterauth` on every node. */
  password?: string;
  /** More redis.conf lines for every node. */
  config?: readonly string[];
  /** How long to wait for the cluster to be formed and every replica linked (default 60 s). */
  readyTimeoutMs?: number;
}

export interface ClusterNode extends Address {
  readonly dir: string;
  /** The PID of its redis-server process (a new one after each restart). */
  readonly pid: number | undefined;
  readonly running: boolean;
}

export interface RedisCluster {
  nodes: readonly ClusterNode[];
  /** `host:port,host:port,…`, the value of REDIS_CLUSTER_NODES. */
  nodesVariable: string;
  /** What a Beckon node needs to use this cluster (REDIS_CLUSTER_NODES and the password, if any). */
  env: Record<string, string>;
  /** The hash slot of `key` (CLUSTER KEYSLOT: a `{tag}` decides). */
  slotOf(key: string): Promise<number>;
  /** The primary serving `key`'s slot now, as a running node says. */
  primaryFor(key: string): Promise<Address & { pid: number | undefined }>;
  /** Stops one node by PID (default SIGKILL, a crash); resolves once it has exited. */
  kill(port: number, signal?: NodeJS.Signals): Promise<{ killedAt: number }>;
  /** Starts a stopped node again on its port and folder. */
  restart(port: number): Promise<void>;
  /**
   * Resolves once a node other than `notPort` is primary of the slot (a
   * number) or of the key's slot (a string), by its own account and by
   * that of every other running node; `at` is Date.now() when they all agreed.
   */
  waitForPrimaryOf(
    slotOrKey: number | string,
    notPort: number,
    timeoutMs?: number,
  ): Promise<Address & { pid: number | undefined; at: number }>;
  /** Resolves once every running node says `cluster_state:ok` and every running replica's link is up. */
  settled(timeoutMs?: number): Promise<void>;
  /** Kills every node by PID and removes the folders. */
  dispose(): Promise<void>;
}

/** The owner of `slot` in a CLUSTER SLOTS reply: [[start, end, [ip, port, id, …], replicas…], …]. */
function ownerIn(slots: RespValue, slot: number): Address | undefined {
  if (!Array.isArray(slots)) return undefined;
  for (const range of slots) {
    if (!Array.isArray(range)) continue;
    const [start, end, master] = range;
    if (Number(start) <= slot && slot <= Number(end) && Array.isArray(master))
      return { host: String(master[0]), port: Number(master[1]) };
  }
  return undefined;
}

/** A CLUSTER SLOTS reply as `start-end:port` ranges in order, to compare two nodes' views. */
function slotMap(slots: RespValue): string {
  if (!Array.isArray(slots)) return '';
  return slots
    .filter(Array.isArray)
    .map((range) => ({ start: Number(range[0]), end: Number(range[1]), master: range[2] }))
    .sort((a, b) => a.start - b.start)
    .map(({ start, end, master }) => `${start}-${end}:${Array.isArray(master) ? Number(master[1]) : '?'}`)
    .join(' ');
}

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const primaries = options.primaries ?? 3;
  const replicasPerPrimary = options.replicasPerPrimary ?? 1;
  const count = primaries * (1 + replicasPerPrimary);
  const parentDir = mkdtempSync(join(tmpdir(), 'beckon-redis-cluster-'));
  const servers: RedisServer[] = [];
  const auth = options.password !== undefined ? { password: options.password } : {};
  const ask = (port: number, args: (string | number)[]) => respCall({ host: '127.0.0.1', port, ...auth }, args);

  const killOnExit = () => {
    for (const server of servers) server.child()?.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const dispose = async () => {
    for (const server of servers) await server.dispose();
    rmSync(parentDir, { recursive: true, force: true });
    process.removeListener('exit', killOnExit);
  };

  const running = (server: RedisServer) => {
    const child = server.child();
    return child !== null && child.exitCode === null && child.signalCode === null;
  };
  const serverAt = (port: number) => {
    const server = servers.find((s) => s.port === port);
    if (!server) throw new Error(`no cluster node on port ${port}`);
    return server;
  };

  /**
   * Why the cluster is not ready yet, or true. A restarted node first claims
   * its old slots from its nodes.conf until gossip tells it better, so
   * `cluster_state:ok` alone is not enough: every running node must draw
   * the same map of slots, its owners must say they are primaries, and every
   * other running node must be a replica with its link up.
   */
  const readiness = async (): Promise<true | string> => {
    const live = servers.filter(running);
    let map: string | undefined;
    for (const server of live) {
      const info = infoFields(await ask(server.port, ['CLUSTER', 'INFO']));
      if (info.get('cluster_state') !== 'ok') return `${server.port} says cluster_state:${info.get('cluster_state')}`;
      if (info.get('cluster_slots_assigned') !== '16384')
        return `${server.port} sees ${info.get('cluster_slots_assigned')} slots assigned`;
      const view = slotMap(await ask(server.port, ['CLUSTER', 'SLOTS']));
      if (map === undefined) map = view;
      else if (view !== map) return `nodes draw different slot maps: ${map} and ${view} (${server.port})`;
    }
    const owners = new Set([...(map ?? '').matchAll(/:(\d+)/g)].map((m) => Number(m[1])));
    for (const server of live) {
      const replication = infoFields(await ask(server.port, ['INFO', 'replication']));
      const role = replication.get('role');
      if (owners.has(server.port)) {
        if (role !== 'master') return `${server.port} holds slots but says it is a ${role}`;
      } else if (role !== 'slave') return `${server.port} holds no slot but says it is a ${role}`;
      else if (replication.get('master_link_status') !== 'up')
        return `${server.port}'s link to its primary is not up yet`;
    }
    return true;
  };
  const settled = (timeoutMs = 60_000) => until('Redis Cluster', timeoutMs, readiness, 200);

  try {
    for (let i = 0; i < count; i++) {
      servers.push(
        await startRedisServer({
          port: await steadyPort({ bus: true }),
          appendfsync: 'always',
          parentDir,
          config: [
            'cluster-enabled yes',
            'cluster-config-file nodes.conf',
            `cluster-node-timeout ${options.nodeTimeoutMs ?? 1000}`,
            // A replica's full sync starts at once instead of after a 5 s wait for more replicas.
            'repl-diskless-sync-delay 0',
            ...(options.password !== undefined
              ? [`requirepass ${confValue(options.password)}`, `masterauth ${confValue(options.password)}`]
              : []),
            ...(options.config ?? []),
          ],
        }),
      );
    }
    const create = spawn(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...servers.map((s) => `127.0.0.1:${s.port}`),
        '--cluster-replicas',
        String(replicasPerPrimary),
        '--cluster-yes',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ...(options.password !== undefined ? { REDISCLI_AUTH: options.password } : {}) },
      },
    );
    let output = '';
    create.stdout.on('data', (chunk) => (output += chunk));
    create.stderr.on('data', (chunk) => (output += chunk));
    const code = await new Promise<number | null>((resolve) => create.once('exit', resolve));
    if (code !== 0) throw new Error(`redis-cli --cluster create exited with ${code}:\n${output}`);
    await settled(options.readyTimeoutMs ?? 60_000);
  } catch (error) {
    await dispose();
    throw error;
  }

  const slotOf = async (key: string) => {
    const server = servers.find(running);
    if (!server) throw new Error('no cluster node is running');
    return Number(await ask(server.port, ['CLUSTER', 'KEYSLOT', key]));
  };
  const slotFor = (slotOrKey: number | string) =>
    typeof slotOrKey === 'number' ? Promise.resolve(slotOrKey) : slotOf(slotOrKey);

  /** The owner of `slot` if every running node agrees and the owner says it is a primary with that slot. */
  const agreedOwner = async (slot: number): Promise<Address | string> => {
    const owners = new Set<number>();
    for (const server of servers.filter(running)) {
      const owner = ownerIn(await ask(server.port, ['CLUSTER', 'SLOTS']), slot);
      owners.add(owner?.port ?? -1);
    }
    if (owners.size !== 1) return `nodes disagree on slot ${slot}'s primary: ${[...owners].join(', ')}`;
    const port = [...owners][0]!;
    const owner = servers.find((s) => s.port === port);
    if (!owner || !running(owner)) return `slot ${slot}'s primary ${port} is not running`;
    const role = await ask(port, ['ROLE']);
    if (!Array.isArray(role) || role[0] !== 'master') return `${port} does not say it is a primary`;
    return { host: '127.0.0.1', port };
  };

  const nodes: ClusterNode[] = servers.map((server) => ({
    host: '127.0.0.1',
    port: server.port,
    dir: server.dir,
    get pid() {
      return server.pid();
    },
    get running() {
      return running(server);
    },
  }));
  const nodesVariable = nodes.map((n) => `${n.host}:${n.port}`).join(',');
  const env: Record<string, string> = { REDIS_CLUSTER_NODES: nodesVariable };
  if (options.password !== undefined) env.REDIS_PASSWORD = options.password;

  return {
    nodes,
    nodesVariable,
    env,
    slotOf,
    async primaryFor(key) {
      const slot = await slotOf(key);
      let answer: Address | string = 'not asked';
      await until(`the primary of slot ${slot}`, 10_000, async () => {
        answer = await agreedOwner(slot);
        return typeof answer === 'string' ? answer : true;
      });
      const owner = answer as unknown as Address;
      return { ...owner, pid: serverAt(owner.port).pid() };
    },
    async kill(port, signal = 'SIGKILL') {
      const server = serverAt(port);
      const killedAt = Date.now();
      await server.stop(signal);
      return { killedAt };
    },
    async restart(port) {
      const server = serverAt(port);
      if (running(server)) throw new Error(`the cluster node on port ${port} is running`);
      await server.restart();
    },
    async waitForPrimaryOf(slotOrKey, notPort, timeoutMs = 20_000) {
      const slot = await slotFor(slotOrKey);
      let found: (Address & { at: number }) | undefined;
      await until(
        `a primary of slot ${slot} other than ${notPort}`,
        timeoutMs,
        async () => {
          const owner = await agreedOwner(slot);
          if (typeof owner === 'string') return owner;
          if (owner.port === notPort) return `${notPort} still holds slot ${slot}`;
          found = { ...owner, at: Date.now() };
          return true;
        },
        50,
      );
      return { ...found!, pid: serverAt(found!.port).pid() };
    },
    settled,
    dispose,
  };
}
