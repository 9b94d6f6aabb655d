/**
 * One-off, for a Redis store written before the retention of pages and
 * visits: pages that closed and visits that ended then are in neither
 * retention index (`closed`, `ended`; see store.ts), so pruneVisits never
 * sees them. This walks every key under the prefix (SCAN, in batches) and
 * adds each closed page and ended visit it finds to its index, one script per
 * batch, so that a page that reopens or a record pruned meanwhile is judged
 * on what it holds when the script runs (NX: an entry already there keeps its
 * time). Safe to run while Beckon runs, and again.
 *
 *   node --import tsx src/store/redis/retention-backfill.ts redis://127.0.0.1:6379 beckon:
 *
 * A visit whose page closed after it ended (rare: the reaper closes pages of
 * ended visits) is indexed at its end, so it may go before that page; the
 * page still goes on its own close time.
 */
import { pathToFileURL } from 'node:url';
import { createFanoutClient } from './connection.js';

/**
 * KEYS: closed ended record...(n)   ARGV: kind...(n) ('p' page, 'v' visit), then id...(n)
 * Returns how many entries it added.
 */
const INDEX_BATCH = String.raw`
local n = #KEYS - 2
local added = 0
for i = 1, n do
  local key, kind, id = KEYS[2 + i], ARGV[i], ARGV[n + i]
  if kind == 'p' then
    local closed_at = redis.call('HGET', key, 'closedAt')
    if closed_at then added = added + redis.call('ZADD', KEYS[1], 'NX', closed_at, id) end
  else
    local ended_at = redis.call('HGET', key, 'endedAt')
    if ended_at then added = added + redis.call('ZADD', KEYS[2], 'NX', ended_at, id) end
  end
end
return added
`;

export async function backfillRetentionIndexes(url: string, prefix: string): Promise<{ scanned: number; added: number }> {
  const client = createFanoutClient(url);
  await client.connect();
  let scanned = 0;
  let added = 0;
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      scanned += keys.length;
      const records: { key: string; kind: 'p' | 'v'; id: string }[] = [];
      for (const key of keys) {
        const rest = key.slice(prefix.length);
        if (rest.startsWith('pg:')) records.push({ key, kind: 'p', id: rest.slice(3) });
        else if (rest.startsWith('v:')) records.push({ key, kind: 'v', id: rest.slice(2) });
      }
      if (records.length === 0) continue;
      added += Number(
        await client.eval(INDEX_BATCH, {
          keys: [`${prefix}closed`, `${prefix}ended`, ...records.map((r) => r.key)],
          arguments: [...records.map((r) => r.kind), ...records.map((r) => r.id)],
        }),
      );
    }
  } finally {
    client.destroy();
  }
  return { scanned, added };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [url, prefix = 'beckon:'] = process.argv.slice(2);
  if (!url) {
    process.stderr.write('usage: retention-backfill.ts <redis url> [prefix, default beckon:]\n');
    process.exit(2);
  }
  const { scanned, added } = await backfillRetentionIndexes(url, prefix);
  process.stdout.write(`${scanned} keys looked at, ${added} closed pages and ended visits indexed for the retention\n`);
}
