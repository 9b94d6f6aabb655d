/**
 * Where a Redis-store write spends its time: the store ceiling (one
 * invitation at a time) against a redis-server of its own with
 * appendfsync everysec, then Redis' own per-script time (INFO commandstats)
 * beside the wall time per write seen by Beckon. The difference is the
 * round trip and the client (node-redis, reply parsing, the call deadline).
 *
 *   node --import tsx bench/redis-profile.ts        (BENCH_SECONDS=6)
 */
import { createConnection } from 'node:net';
import { startRedisServer } from '../test/redis-server.js';
import { storeFloor } from './lib/store-floor.js';
import { ensureBuilt } from './lib/server.js';
import { envInt } from './lib/stats.js';

/** One RESP command over a plain socket, its reply as text. */
function raw(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString();
      if (/\r\n$/.test(text) && text.length > 4) {
        socket.end();
        resolve(text);
      }
    });
    socket.on('error', reject);
    socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  });
}

ensureBuilt();
const redis = await startRedisServer({
  appendfsync: (process.env.BENCH_REDIS_APPENDFSYNC ?? 'everysec') as 'everysec',
});
try {
  const floor = await storeFloor(envInt('BENCH_SECONDS', 6) * 2, 1, { redisUrl: redis.url });
  const stats = await raw(redis.port, 'INFO', 'commandstats');
  const lines = stats.split('\r\n').filter((line) => /^cmdstat_(evalsha|eval|hgetall|hget|zrange|exists)/.test(line));
  process.stdout.write(
    `Beckon: ${floor.alone.microsecondsPerWrite.toFixed(1)} µs per write (one at a time, ${floor.alone.cycles} invitations)\n`,
  );
  for (const line of lines) {
    const [name, rest] = line.split(':');
    const fields = Object.fromEntries(rest!.split(',').map((kv) => kv.split('=')));
    process.stdout.write(
      `Redis ${name!.slice(8)}: ${fields.calls} calls, ${fields.usec_per_call} µs per call inside Redis\n`,
    );
  }
} finally {
  await redis.dispose();
}
