/**
 * A Sentinel-managed Redis on 127.0.0.1, for tests, benchmarks and
 * `npm run cluster -- --ha`: a primary, its replicas (`replicaof`) and
 * sentinels (`redis-sentinel <conf>`, Debian's package) monitoring it under
 * one name, each process with its own port and temporary folder, started
 * and stopped by PID. Every data node keeps an AOF with `appendfsync always`:
 * a primary without persistence that restarts before the failover comes back
 * empty and wipes its replicas.
 *
 * Sentinel's timing is that of docs/operations.md: `down-after-milliseconds`
 * 1000, `failover-timeout` 3000, `parallel-syncs` 1, quorum 2. After kill -9
 * of the primary, sentinels flag it down after about a second and announce
 * the promoted replica (`+switch-master`) a second or so later. A killed
 * node restarted on its port and folder comes back as it was; Sentinel then
 * makes it a replica of the new primary.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { steadyPort } from './ports.js';
import { confValue, launchRedisProcess, startRedisServer, stopProcess, type RedisServer } from './redis-server.js';
import { infoFields, pairs, RespConnection, respCall, type Address, type RespAddress, type RespValue } from './resp.js';
import { until } from './until.js';

export type { Address } from './resp.js';

export interface SentinelTopologyOptions {
  /** The name the sentinels monitor the primary under (default `beckon`, as REDIS_SENTINEL_NAME). */
  name?: string;
  /** How many replicas (default 1). */
  replicas?: number;
  /** How many sentinels (default 3). */
  sentinels?: number;
  /** Sentinels that must agree the primary is down (default 2). */
  quorum?: number;
  downAfterMs?: number;
  failoverTimeoutMs?: number;
  /** `requirepass` and `masterauth` on every data node (`sentinel auth-pass` for the sentinels). */
  password?: string;
  /** With `password`: an ACL user of that name with every right, and the default user off. */
  username?: string;
  /** `requirepass` on every sentinel (also how they authenticate to each other). */
  sentinelPassword?: string;
  /** More redis.conf lines for every data node (e.g. `min-replicas-to-write 1`). */
  config?: readonly string[];
  /** How long to wait for everything to be linked and known (default 30 s). */
  readyTimeoutMs?: number;
}

export interface SentinelDataNode extends Address {
  readonly dir: string;
  /** What it was started as; Sentinel may have changed it since (see `role()`). */
  readonly startedAs: 'primary' | 'replica';
  /** The PID of its redis-server process (a new one after each restart). */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** What the node says it is now (`ROLE`). */
  role(): Promise<'master' | 'slave'>;
}

export interface SentinelProcess extends Address {
  readonly pid: number | undefined;
  readonly running: boolean;
  readonly dir: string;
}

export interface Switch {
  from: Address;
  to: Address;
  /** Date.now() when the first sentinel's `+switch-master` arrived. */
  at: number;
}

export interface SentinelTopology {
  name: string;
  sentinels: readonly SentinelProcess[];
  /** `host:port,host:port,…`, the value of REDIS_SENTINELS. */
  sentinelsVariable: string;
  /** What a Beckon node needs to use this topology (REDIS_SENTINELS, REDIS_SENTINEL_NAME and credentials). */
  env: Record<string, string>;
  /** The data nodes, primary first as started. */
  servers: readonly SentinelDataNode[];
  /** Every `+switch-master` seen since the start, oldest first. */
  switches: readonly Switch[];
  /** The primary, as a sentinel says it. */
  primary(): Promise<Address>;
  /** SIGKILL of the current primary; resolves once the process has exited. */
  killPrimary(): Promise<Address & { killedAt: number; pid: number | undefined }>;
  /** Stops one data node by PID (default SIGKILL, a crash); resolves once it has exited. */
  kill(port: number, signal?: NodeJS.Signals): Promise<{ killedAt: number }>;
  /**
   * Resolves with the new primary when the sentinels announce a switch away
   * from `fromPort` made after this topology last killed that node (or after
   * this call, for a node it did not kill).
   */
  waitForSwitch(fromPort: number, timeoutMs?: number): Promise<Address & { at: number }>;
  /** Starts a stopped data node again on its port and folder. */
  restart(port: number): Promise<void>;
  /**
   * Resolves once the topology is ready for a failover: every sentinel
   * names the same primary, every other running node is its replica with
   * the link up, and every sentinel knows those replicas and the other
   * sentinels.
   */
  settled(timeoutMs?: number): Promise<void>;
  /** Every sentinel's log (+sdown, +odown, +switch-master, +convert-to-slave, …), to tell what happened. */
  sentinelLogs(): string;
  /** Kills everything it started, by PID, and removes the folders. */
  dispose(): Promise<void>;
}

export async function startSentinelTopology(options: SentinelTopologyOptions = {}): Promise<SentinelTopology> {
  const name = options.name ?? 'beckon';
  const replicaCount = options.replicas ?? 1;
  const sentinelCount = options.sentinels ?? 3;
  const quorum = options.quorum ?? 2;
  if (options.username && options.password === undefined) throw new Error('a username needs a password');

  const data: { server: RedisServer; startedAs: 'primary' | 'replica' }[] = [];
  const sentinelChildren: { child: ChildProcess | null; port: number; dir: string }[] = [];
  const watchers: RespConnection[] = [];
  const switches: Switch[] = [];
  const switchWaiters = new Set<() => void>();
  const killedAt = new Map<number, number>();
  let disposed = false;

  /** Kills whatever is left if the process exits without dispose() (a crashed test run). */
  const killOnExit = () => {
    for (const { server } of data) server.child()?.kill('SIGKILL');
    for (const { child } of sentinelChildren) child?.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const dataAuth = { username: options.username, password: options.password };
  const sentinelAuth = { password: options.sentinelPassword };
  const at = (port: number, auth: Omit<RespAddress, 'port'>): RespAddress => ({ host: '127.0.0.1', port, ...auth });
  const askNode = (port: number, args: string[]) => respCall(at(port, dataAuth), args);
  const askSentinel = (port: number, args: string[]) => respCall(at(port, sentinelAuth), args);

  const credentials: string[] = [];
  if (options.password !== undefined) {
    if (options.username) {
      credentials.push(
        `user ${options.username} on ${confValue(`>${options.password}`)} ~* &* +@all`,
        'user default off',
        `masteruser ${options.username}`,
      );
    } else {
      credentials.push(`requirepass ${confValue(options.password)}`);
    }
    credentials.push(`masterauth ${confValue(options.password)}`);
  }

  const dispose = async () => {
    disposed = true;
    for (const watcher of watchers) watcher.close();
    for (const { child, dir } of sentinelChildren) {
      await stopProcess(child, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
    for (const { server } of data) await server.dispose();
    process.removeListener('exit', killOnExit);
  };

  try {
    const primaryPort = await steadyPort();
    // A replica's full sync starts at once instead of after the default 5 s
    // wait for more replicas: a restarted node is back in sync sooner.
    const common = {
      appendfsync: 'always' as const,
      config: ['repl-diskless-sync-delay 0', ...credentials, ...(options.config ?? [])],
    };
    data.push({ server: await startRedisServer({ ...common, port: primaryPort }), startedAs: 'primary' });
    for (let i = 0; i < replicaCount; i++) {
      const server = await startRedisServer({
        ...common,
        port: await steadyPort(),
        config: [...common.config, `replicaof 127.0.0.1 ${primaryPort}`],
      });
      data.push({ server, startedAs: 'replica' });
    }

    for (let i = 0; i < sentinelCount; i++) {
      const port = await steadyPort();
      const dir = mkdtempSync(join(tmpdir(), 'beckon-sentinel-'));
      const entry = { child: null as ChildProcess | null, port, dir };
      sentinelChildren.push(entry);
      const configFile = join(dir, 'sentinel.conf');
      const logFile = join(dir, 'sentinel.log');
      writeFileSync(
        configFile,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${confValue(dir)}`,
          'daemonize no',
          `logfile ${confValue(logFile)}`,
          ...(options.sentinelPassword !== undefined
            ? [
                `requirepass ${confValue(options.sentinelPassword)}`,
                `sentinel sentinel-pass ${confValue(options.sentinelPassword)}`,
              ]
            : []),
          `sentinel monitor ${name} 127.0.0.1 ${primaryPort} ${quorum}`,
          `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1000}`,
          `sentinel failover-timeout ${name} ${options.failoverTimeoutMs ?? 3000}`,
          `sentinel parallel-syncs ${name} 1`,
          ...(options.password !== undefined ? [`sentinel auth-pass ${name} ${confValue(options.password)}`] : []),
          ...(options.username ? [`sentinel auth-user ${name} ${options.username}`] : []),
          '',
        ].join('\n'),
      );
      entry.child = await launchRedisProcess('redis-sentinel', [configFile], port, logFile);
    }

    // Every sentinel's announcements, kept with the time they arrived: a
    // caller may ask for a switch after it has happened.
    for (const { port } of sentinelChildren) {
      const watcher = await RespConnection.open(at(port, sentinelAuth));
      watchers.push(watcher);
      await watcher.subscribe('+switch-master', (message) => {
        const [who, oldHost, oldPort, newHost, newPort] = message.split(' ');
        if (who !== name || !newHost) return;
        const from = { host: oldHost!, port: Number(oldPort) };
        const to = { host: newHost, port: Number(newPort) };
        const last = switches.at(-1);
        if (last && last.from.port === from.port && last.to.port === to.port) return;
        switches.push({ from, to, at: Date.now() });
        for (const wake of switchWaiters) wake();
      });
    }
  } catch (error) {
    await dispose();
    throw error;
  }

  const nodeAt = (port: number) => {
    const entry = data.find(({ server }) => server.port === port);
    if (!entry)
      throw new Error(`no data node on port ${port} (they are on ${data.map((d) => d.server.port).join(', ')})`);
    return entry.server;
  };
  const running = (server: RedisServer) => {
    const child = server.child();
    return child !== null && child.exitCode === null && child.signalCode === null;
  };

  const primary = async (): Promise<Address> => {
    let last: unknown;
    for (const { port } of sentinelChildren) {
      try {
        const reply = await askSentinel(port, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name]);
        if (Array.isArray(reply)) return { host: String(reply[0]), port: Number(reply[1]) };
      } catch (error) {
        last = error;
      }
    }
    throw new Error(`no sentinel named the primary of ${name}`, { cause: last });
  };

  const kill = async (port: number, signal: NodeJS.Signals = 'SIGKILL') => {
    const server = nodeAt(port);
    const when = Date.now();
    await server.stop(signal);
    killedAt.set(port, when);
    return { killedAt: when };
  };

  /** Why the topology is not ready yet, or true. */
  const readiness = async (): Promise<true | string> => {
    const named = new Set<number>();
    for (const { port } of sentinelChildren) {
      const reply = await askSentinel(port, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name]);
      named.add(Array.isArray(reply) ? Number(reply[1]) : -1);
    }
    if (named.size !== 1) return `sentinels disagree on the primary: ${[...named].join(', ')}`;
    const primaryPort = [...named][0]!;
    const primaryNode = data.find(({ server }) => server.port === primaryPort)?.server;
    if (!primaryNode || !running(primaryNode)) return `the primary sentinels name (${primaryPort}) is not running`;
    const role = await askNode(primaryPort, ['ROLE']);
    if (!Array.isArray(role) || role[0] !== 'master') return `${primaryPort} is not a master yet`;

    const replicaPorts = data.map(({ server }) => server).filter((s) => s.port !== primaryPort && running(s));
    for (const replica of replicaPorts) {
      const info = infoFields(await askNode(replica.port, ['INFO', 'replication']));
      if (info.get('role') !== 'slave' || info.get('master_port') !== String(primaryPort))
        return `${replica.port} is not a replica of ${primaryPort} yet`;
      if (info.get('master_link_status') !== 'up') return `${replica.port}'s link to ${primaryPort} is not up yet`;
    }
    for (const { port } of sentinelChildren) {
      const master = pairs(await askSentinel(port, ['SENTINEL', 'MASTER', name]));
      if (master.get('flags') !== 'master') return `sentinel ${port} flags the primary ${String(master.get('flags'))}`;
      const known = ((await askSentinel(port, ['SENTINEL', 'REPLICAS', name])) as RespValue[]).map(pairs);
      for (const replica of replicaPorts) {
        const entry = known.find((r) => Number(r.get('port')) === replica.port);
        if (!entry) return `sentinel ${port} does not know replica ${replica.port} yet`;
        // Its view of the replica's link may lag by one INFO period (10 s); the
        // node's own INFO above is what counts, and a failover refreshes it every second.
        if (entry.get('flags') !== 'slave')
          return `sentinel ${port} sees replica ${replica.port} as ${String(entry.get('flags'))}`;
      }
      const others = ((await askSentinel(port, ['SENTINEL', 'SENTINELS', name])) as RespValue[]).map(pairs);
      const healthy = others.filter((s) => s.get('flags') === 'sentinel');
      if (healthy.length < sentinelChildren.length - 1)
        return `sentinel ${port} knows ${healthy.length} of the ${sentinelChildren.length - 1} other sentinels`;
      await askSentinel(port, ['SENTINEL', 'CKQUORUM', name]);
    }
    return true;
  };

  const settled = (timeoutMs = 30_000) => until(`Sentinel topology ${name}`, timeoutMs, readiness, 200);

  try {
    await settled(options.readyTimeoutMs ?? 30_000);
  } catch (error) {
    await dispose();
    throw error;
  }

  const sentinels: SentinelProcess[] = sentinelChildren.map((entry) => ({
    host: '127.0.0.1',
    port: entry.port,
    dir: entry.dir,
    get pid() {
      return entry.child?.pid;
    },
    get running() {
      return entry.child !== null && entry.child.exitCode === null && entry.child.signalCode === null;
    },
  }));
  const sentinelsVariable = sentinels.map((s) => `${s.host}:${s.port}`).join(',');
  const env: Record<string, string> = { REDIS_SENTINELS: sentinelsVariable, REDIS_SENTINEL_NAME: name };
  if (options.username) env.REDIS_USERNAME = options.username;
  if (options.password !== undefined) env.REDIS_PASSWORD = options.password;
  if (options.sentinelPassword !== undefined) env.REDIS_SENTINEL_PASSWORD = options.sentinelPassword;

  const servers: SentinelDataNode[] = data.map(({ server, startedAs }) => ({
    host: '127.0.0.1',
    port: server.port,
    dir: server.dir,
    startedAs,
    get pid() {
      return server.pid();
    },
    get running() {
      return running(server);
    },
    async role() {
      const reply = await askNode(server.port, ['ROLE']);
      return (Array.isArray(reply) ? reply[0] : reply) as 'master' | 'slave';
    },
  }));

  return {
    name,
    sentinels,
    sentinelsVariable,
    env,
    servers,
    switches,
    primary,
    kill,
    async killPrimary() {
      const current = await primary();
      const pid = nodeAt(current.port).pid();
      const { killedAt } = await kill(current.port, 'SIGKILL');
      return { ...current, pid, killedAt };
    },
    async waitForSwitch(fromPort, timeoutMs = 15_000) {
      const since = killedAt.get(fromPort) ?? Date.now();
      const found = () => switches.find((s) => s.from.port === fromPort && s.at >= since);
      const already = found();
      if (already) return { ...already.to, at: already.at };
      return new Promise((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          switchWaiters.delete(wake);
        };
        const wake = () => {
          const seen = found();
          if (!seen) return;
          done();
          resolve({ ...seen.to, at: seen.at });
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no +switch-master away from ${fromPort} within ${timeoutMs} ms`));
        }, timeoutMs);
        switchWaiters.add(wake);
      });
    },
    async restart(port) {
      if (disposed) throw new Error('the topology is disposed');
      const server = nodeAt(port);
      if (running(server)) throw new Error(`the data node on port ${port} is running`);
      await server.restart();
    },
    settled,
    sentinelLogs() {
      return sentinelChildren
        .map(({ port, dir }) => {
          const file = join(dir, 'sentinel.log');
          return `sentinel ${port}:\n${existsSync(file) ? readFileSync(file, 'utf8') : '(no log)\n'}`;
        })
        .join('');
    },
    dispose,
  };
}
