/**
 * What Redis itself says during a benchmark: `used_memory`, where the bytes
 * sit (keys grouped by pattern, MEMORY USAGE), and which commands it ran
 * (MONITOR, through `redis-cli`, between two ECHO markers). MONITOR is the
 * one source that tells a command a client sent from one a Lua script ran
 * (`[0 lua]`): INFO commandstats counts both together, so it cannot split
 * the store's scripts from the adapter's XADD/XREAD. MONITOR slows Redis
 * down, so it is on only while commands are counted, never while latency is
 * measured.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { track, stopChild } from './procs.js';
import { sleep } from './stats.js';

export interface CommandCounts {
  /** Commands clients sent (each a round trip or part of a pipeline), by name. */
  sent: Record<string, number>;
  /** Commands Lua scripts ran inside those calls, by name. */
  inScripts: Record<string, number>;
  seconds: number;
  /** Time Redis spent in each command over the window (INFO commandstats `usec`; a script's includes what it ran). */
  usec: Record<string, number>;
}

export interface KeyGroup {
  /** The key with its ids replaced by `*`, without the prefix. */
  pattern: string;
  type: string;
  keys: number;
  /** MEMORY USAGE of all of them (sampled keys × count for groups of many keys). */
  bytes: number;
  /** Members/fields/entries in the group (sum of ZCARD, SCARD, HLEN, XLEN). */
  items: number;
}

function connectClient(url: string) {
  return createClient({ url });
}
type Client = ReturnType<typeof connectClient>;

export class RedisStats {
  private constructor(
    private readonly client: Client,
    private readonly port: number,
  ) {}

  static async open(url: string): Promise<RedisStats> {
    const client = connectClient(url);
    await client.connect();
    return new RedisStats(client, Number(new URL(url).port));
  }

  private async info(section: string): Promise<Map<string, string>> {
    const text = await this.client.info(section);
    return new Map(
      text
        .split('\r\n')
        .filter((l) => l.includes(':') && !l.startsWith('#'))
        .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]),
    );
  }

  /** Microseconds spent per command name since the start (INFO commandstats). */
  async commandUsec(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const [key, value] of await this.info('commandstats')) {
      const usec = /usec=(\d+)/.exec(value);
      if (usec) out[key.replace(/^cmdstat_/, '')] = Number(usec[1]);
    }
    return out;
  }

  /**
   * Calls per command name since the start (INFO commandstats): a script a
   * client runs counts as one `evalsha`, and each command it runs inside
   * counts under its own name as well.
   */
  async commandCalls(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const [key, value] of await this.info('commandstats')) {
      const calls = /calls=(\d+)/.exec(value);
      if (calls) out[key.replace(/^cmdstat_/, '')] = Number(calls[1]);
    }
    return out;
  }

  /** CPU seconds redis-server has used (INFO cpu, user + system, all its threads): its work, networking included. */
  async cpuSeconds(): Promise<number> {
    const cpu = await this.info('cpu');
    return Number(cpu.get('used_cpu_user')) + Number(cpu.get('used_cpu_sys'));
  }

  /**
   * CPU seconds of redis-server's main thread (INFO cpu `*_main_thread`): the one thread that runs
   * commands and scripts (and, with `appendfsync always`, the fsync), so the one core a Redis fills.
   */
  async mainThreadCpuSeconds(): Promise<number> {
    const cpu = await this.info('cpu');
    return Number(cpu.get('used_cpu_user_main_thread')) + Number(cpu.get('used_cpu_sys_main_thread'));
  }

  async usedMemory(): Promise<number> {
    return Number((await this.info('memory')).get('used_memory'));
  }

  /** Counts the commands Redis runs while `work` runs (MONITOR between two ECHO markers). */
  async countCommands(work: () => Promise<void>): Promise<CommandCounts> {
    const marker = randomUUID();
    const child = track(
      spawn('redis-cli', ['-p', String(this.port), 'monitor'], { stdio: ['ignore', 'pipe', 'ignore'] }),
    );
    const sent: Record<string, number> = {};
    const inScripts: Record<string, number> = {};
    let inside = false;
    let ended!: () => void;
    const end = new Promise<void>((resolve) => (ended = resolve));
    let monitoring!: () => void;
    const ready = new Promise<void>((resolve) => (monitoring = resolve));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'OK') return monitoring();
      // 1733130000.123456 [0 127.0.0.1:54321] "evalsha" "…" …   or   [0 lua] "hset" …
      const match = /^\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]+)"(?: "([^"]*)")?/.exec(line);
      if (!match) return;
      const [, source, rawName, firstArg] = match;
      const name = rawName!.toLowerCase();
      if (name === 'echo' && firstArg === `start-${marker}`) inside = true;
      else if (name === 'echo' && firstArg === `end-${marker}`) ended();
      else if (inside) {
        const counts = source === 'lua' ? inScripts : sent;
        counts[name] = (counts[name] ?? 0) + 1;
      }
    });
    try {
      await ready;
      const usecBefore = await this.commandUsec();
      await this.client.echo(`start-${marker}`);
      const started = performance.now();
      await work();
      const seconds = (performance.now() - started) / 1000;
      await this.client.echo(`end-${marker}`);
      await Promise.race([end, sleep(10_000)]);
      const usecAfter = await this.commandUsec();
      const usec: Record<string, number> = {};
      for (const [name, after] of Object.entries(usecAfter)) {
        if (!['info', 'echo', 'monitor'].includes(name)) usec[name] = after - (usecBefore[name] ?? 0);
      }
      return { sent, inScripts, seconds, usec };
    } finally {
      await stopChild(child, 'SIGKILL');
    }
  }

  /** Keys under `prefix`, grouped by pattern, with their memory (MEMORY USAGE; ≤ `sample` keys measured per group). */
  async keyGroups(prefix: string, sample = 300): Promise<KeyGroup[]> {
    const groups = new Map<string, string[]>();
    for await (const keys of this.client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      for (const key of keys) {
        // Ids (visit, page, attempt, boot) are long or numbered; the fixed parts of a key name are short words.
        const pattern = key
          .slice(prefix.length)
          .split(':')
          .map((part) => (part.length >= 12 || /\d/.test(part) ? '*' : part))
          .join(':');
        const list = groups.get(pattern) ?? [];
        list.push(key);
        groups.set(pattern, list);
      }
    }
    const result: KeyGroup[] = [];
    for (const [pattern, keys] of groups) {
      const measured = keys.slice(0, sample);
      const type = await this.client.type(measured[0]!);
      let bytes = 0;
      let items = 0;
      for (const key of measured) {
        bytes += Number(await this.client.memoryUsage(key, { SAMPLES: 0 }));
        items += await this.itemsOf(key, type);
      }
      const scale = keys.length / measured.length;
      result.push({ pattern, type, keys: keys.length, bytes: bytes * scale, items: items * scale });
    }
    return result.sort((a, b) => b.bytes - a.bytes);
  }

  private async itemsOf(key: string, type: string): Promise<number> {
    switch (type) {
      case 'zset':
        return this.client.zCard(key);
      case 'set':
        return this.client.sCard(key);
      case 'hash':
        return this.client.hLen(key);
      case 'stream':
        return this.client.xLen(key);
      default:
        return 1;
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/** Sums counts by a classifier (e.g. store script / adapter / watchdog). */
export function sumBy(counts: Record<string, number>, classify: (name: string) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, n] of Object.entries(counts)) out[classify(name)] = (out[classify(name)] ?? 0) + n;
  return out;
}

export function total(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}
