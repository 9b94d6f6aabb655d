/**
 * Ports for the local Redis servers, sentinels and cluster nodes, all on
 * 127.0.0.1.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A port that was free a moment ago (the kernel's pick, in its ephemeral range). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** The first port of the kernel's ephemeral range (32768 unless configured otherwise). */
function ephemeralStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(first) && first > 12_000) return first;
  } catch {
    // not Linux: assume the usual range
  }
  return 32_768;
}

const taken = new Set<number>();

/**
 * A free port below the kernel's ephemeral range, for a server that is
 * killed and restarted on the same port: a port from the ephemeral range can
 * be taken by any outgoing connection on the machine while its server is
 * down. With `bus`, port + 10000 (a Redis Cluster node's bus) is free and
 * below that range too. Never the same port twice in one process.
 */
export async function steadyPort(options: { bus?: boolean } = {}): Promise<number> {
  const low = 10_000;
  const high = ephemeralStart() - (options.bus ? 10_000 : 0);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (taken.has(port) || (options.bus && taken.has(port + 10_000))) continue;
    if (!(await portIsFree(port))) continue;
    if (options.bus && !(await portIsFree(port + 10_000))) continue;
    taken.add(port);
    if (options.bus) taken.add(port + 10_000);
    return port;
  }
  throw new Error(`no free port between ${low} and ${high}`);
}
