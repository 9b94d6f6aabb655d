/**
 * The local Redis topologies that the failover tests, the benchmarks and
 * `npm run cluster -- --ha` start (scripts/cluster/sentinel.ts,
 * scripts/cluster/redis-cluster.ts) really fail over: kill -9 of a primary
 * promotes its replica with the data it had, and the killed node restarted
 * on its port and folder comes back as a replica. Real redis-server,
 * redis-sentinel and redis-cli, each process stopped by its PID.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startRedisCluster, type RedisCluster } from '../scripts/cluster/redis-cluster.js';
import { respCall, RespConnection, RespError, type RespAddress, type RespValue } from '../scripts/cluster/resp.js';
import { startSentinelTopology, type SentinelTopology } from '../scripts/cluster/sentinel.js';
import { until } from '../scripts/cluster/until.js';

const started: { dispose(): Promise<void>; pids(): (number | undefined)[] }[] = [];
afterAll(async () => {
  const pids = started.flatMap((topology) => topology.pids());
  for (const topology of started) await topology.dispose();
  const alive = pids.filter((pid) => pid !== undefined && isAlive(pid));
  if (alive.length > 0) throw new Error(`still running after dispose: PIDs ${alive.join(', ')}`);
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function sentinelTopology(options: Parameters<typeof startSentinelTopology>[0] = {}): Promise<SentinelTopology> {
  const topology = await startSentinelTopology(options);
  started.push({
    dispose: topology.dispose,
    pids: () => [...topology.servers.map((s) => s.pid), ...topology.sentinels.map((s) => s.pid)],
  });
  return topology;
}

async function redisCluster(): Promise<RedisCluster> {
  const cluster = await startRedisCluster();
  started.push({ dispose: cluster.dispose, pids: () => cluster.nodes.map((n) => n.pid) });
  return cluster;
}

/** A write confirmed by `replicas` replicas: WAIT counts the writes of its own connection, so both go on one. */
async function writeReplicated(address: RespAddress, key: string, value: string, replicas = 1): Promise<void> {
  const connection = await RespConnection.open(address);
  try {
    expect(await connection.call(['SET', key, value])).toBe('OK');
    expect(await connection.call(['WAIT', replicas, 2000], 3000)).toBeGreaterThanOrEqual(replicas);
  } finally {
    connection.close();
  }
}

async function replicationOf(address: RespAddress): Promise<Map<string, string>> {
  const text = String(await respCall(address, ['INFO', 'replication']));
  return new Map(text.split('\r\n').map((line) => line.split(':', 2) as [string, string]));
}

describe('Sentinel topology', () => {
  it('promotes the replica after kill -9 of the primary, and takes the old primary back as a replica', async () => {
    const topology = await sentinelTopology();
    expect(topology.sentinels).toHaveLength(3);
    expect(topology.sentinelsVariable).toBe(topology.sentinels.map((s) => `127.0.0.1:${s.port}`).join(','));
    expect(topology.env).toEqual({ REDIS_SENTINELS: topology.sentinelsVariable, REDIS_SENTINEL_NAME: 'beckon' });
    const [first, second] = topology.servers;
    expect(await topology.primary()).toEqual({ host: '127.0.0.1', port: first!.port });
    expect(await first!.role()).toBe('master');
    expect(await second!.role()).toBe('slave');
    await writeReplicated(first!, 'before', 'kept');

    const killed = await topology.killPrimary();
    expect(killed.port).toBe(first!.port);
    expect(first!.running).toBe(false);
    expect(isAlive(killed.pid!)).toBe(false);

    const promoted = await topology.waitForSwitch(killed.port, 15_000);
    // Sentinel flags the primary down after down-after-milliseconds (1 s), then elects and promotes.
    expect(promoted.at - killed.killedAt).toBeGreaterThanOrEqual(1000);
    expect(promoted.at - killed.killedAt).toBeLessThan(10_000);
    expect(promoted.port).toBe(second!.port);
    expect(await topology.primary()).toEqual({ host: '127.0.0.1', port: second!.port });
    expect(await second!.role()).toBe('master');
    expect(await respCall(second!, ['GET', 'before'])).toBe('kept');

    await topology.restart(first!.port);
    expect(first!.running).toBe(true);
    await topology.settled(30_000);
    const switches = topology.switches.map((s) => `${s.from.port} -> ${s.to.port}`);
    expect(switches, topology.sentinelLogs()).toEqual([`${first!.port} -> ${second!.port}`]);
    expect(await first!.role()).toBe('slave');
    expect((await replicationOf(first!)).get('master_port')).toBe(String(second!.port));
    // It follows the new primary: what is written there now reaches it.
    await writeReplicated(second!, 'after', 'replicated');
    expect(await respCall(first!, ['GET', 'after'])).toBe('replicated');
    expect(await respCall(first!, ['GET', 'before'])).toBe('kept');
  }, 90_000);

  it('runs with passwords on the data nodes and the sentinels, and still fails over', async () => {
    const topology = await sentinelTopology({ password: 'data secret', sentinelPassword: 'sentinel-secret' });
    expect(topology.env).toMatchObject({ REDIS_PASSWORD: 'data secret', REDIS_SENTINEL_PASSWORD: 'sentinel-secret' });
    const [first, second] = topology.servers;
    const sentinel = topology.sentinels[0]!;
    await expect(respCall({ port: first!.port }, ['GET', 'x'])).rejects.toThrow(/NOAUTH/);
    await expect(respCall({ port: sentinel.port }, ['SENTINEL', 'MASTERS'])).rejects.toThrow(/NOAUTH/);
    await expect(respCall({ port: first!.port, password: 'wrong' }, ['PING'])).rejects.toBeInstanceOf(RespError);
    const named = (await respCall({ port: sentinel.port, password: 'sentinel-secret' }, [
      'SENTINEL',
      'GET-MASTER-ADDR-BY-NAME',
      'beckon',
    ])) as RespValue[];
    expect(Number(named[1])).toBe(first!.port);
    await writeReplicated({ port: first!.port, password: 'data secret' }, 'k', 'v');

    const killed = await topology.killPrimary();
    const promoted = await topology.waitForSwitch(killed.port, 15_000);
    expect(promoted.port).toBe(second!.port);
    expect(await respCall({ port: second!.port, password: 'data secret' }, ['GET', 'k'])).toBe('v');
  }, 60_000);
});

describe('Redis Cluster', () => {
  it('elects the replica of a primary killed with -9, and takes the old primary back as a replica', async () => {
    const cluster = await redisCluster();
    expect(cluster.nodes).toHaveLength(6);
    expect(cluster.env).toEqual({ REDIS_CLUSTER_NODES: cluster.nodes.map((n) => `127.0.0.1:${n.port}`).join(',') });
    const key = '{beckon}:topology';
    const slot = await cluster.slotOf(key);
    expect(await cluster.slotOf('{beckon}:another')).toBe(slot);
    const primary = await cluster.primaryFor(key);
    const [role, , replicas] = (await respCall(primary, ['ROLE'])) as [string, number, RespValue[][]];
    expect(role).toBe('master');
    expect(replicas).toHaveLength(1);
    const replicaPort = Number(replicas[0]![1]);
    await writeReplicated(primary, key, 'kept');
    // The other shards' primaries, which the kill must leave alone.
    const otherKey = (await findKeyElsewhere(cluster, primary.port)) ?? '';
    const otherPrimary = await cluster.primaryFor(otherKey);

    const { killedAt } = await cluster.kill(primary.port);
    expect(isAlive(primary.pid!)).toBe(false);
    const promoted = await cluster.waitForPrimaryOf(key, primary.port, 20_000);
    expect(promoted.port).toBe(replicaPort);
    // cluster-node-timeout is 1 s: the replica waits for the failure to be agreed, then for its election.
    expect(promoted.at - killedAt).toBeLessThan(15_000);
    expect(await respCall(promoted, ['GET', key])).toBe('kept');
    expect((await cluster.primaryFor(otherKey)).port).toBe(otherPrimary.port);

    await cluster.restart(primary.port);
    await cluster.settled(30_000);
    const back = await replicationOf(primary);
    expect(back.get('role')).toBe('slave');
    expect(back.get('master_port')).toBe(String(replicaPort));
    expect((await cluster.primaryFor(key)).port).toBe(replicaPort);
    const readOnly = await respCall(primary, ['GET', key]).catch((error: Error) => error.message);
    expect(readOnly).toMatch(new RegExp(`^MOVED ${slot} 127\\.0\\.0\\.1:${replicaPort}$`));
  }, 120_000);
});

/** A key whose slot another primary than `port` serves. */
async function findKeyElsewhere(cluster: RedisCluster, port: number): Promise<string | undefined> {
  for (let i = 0; i < 100; i++) {
    const key = `{other-${i}}:k`;
    if ((await cluster.primaryFor(key)).port !== port) return key;
  }
  return undefined;
}

describe('waiting with a reason', () => {
  it('says why it gave up', async () => {
    let checks = 0;
    await expect(
      until('the impossible', 300, async () => {
        checks++;
        return `still waiting (${checks})`;
      }),
    ).rejects.toThrow(/^the impossible: not after 300 ms \(still waiting \(\d+\)\)$/);
    expect(checks).toBeGreaterThan(1);
  });
});
