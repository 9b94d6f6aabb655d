/**
 * One-off, for a Redis store written before the retention of pages and
 * visits, or of attempts: pages that closed, visits that ended and attempts
 * that settled then are in no retention index (`closed`, `ended`, `settled`;
 * see store.ts), so pruneVisits and pruneAttempts never see them. This walks
 * every key under the prefix (SCAN, in batches) and adds each closed page,
 * ended visit and settled attempt it finds to its index, one script per
 * batch, so that a page that reopens or a record pruned meanwhile is judged
 * on what it holds when the script runs (NX: an entry already there keeps its
 * time). Safe to run while Beckon runs, and again.
 *
 * An attempt's settle time is the ISO time its hash keeps for its terminal
 * state (`t:<state>`); scripts do no date maths, so it is read and turned
 * into ms here, and the script indexes it only if the attempt is still in
 * that state (a terminal state never changes, and a pruned one is gone).
 *
 *   node --import tsx src/store/redis/retention-backfill.ts redis://127.0.0.1:6379 beckon:
 *
 * A visit whose page closed after it ended (rare: the reaper closes pages of
 * ended visits) is indexed at its end, so it may go before that page; the
 * page still goes on its own close time.
 */
import { pathToFileURL } from 'node:url';
import { createFanoutClient } from './connection.js';

/** The terminal states: an attempt in one of them is settled (and never changes state again). */
const SETTLED_STATES = ['accepted', 'declined', 'timed_out', 'cancelled', 'expired'] as const;

/**
 * KEYS: closed ended settled record...(n)
 * ARGV: kind...(n) ('p' page, 'v' visit, 'a:<state>:<settled ms>' settled attempt), then id...(n)
 * Returns how many entries it added.
 */
const INDEX_BATCH = String.raw`
local n = #KEYS - 3
local added = 0
for i = 1, n do
  local key, kind, id = KEYS[3 + i], ARGV[i], ARGV[n + i]
  if string.sub(kind, 1, 2) == 'a:' then
    local state, settled_at = string.match(kind, '^a:([%w_]+):(%d+)$')
    if state and redis.call('HGET', key, 'state') == state then
      added = added + redis.call('ZADD', KEYS[3], 'NX', settled_at, id)
    end
  elseif kind == 'p' then
    local closed_at = redis.call('HGET', key, 'closedAt')
    if closed_at then added = added + redis.call('ZADD', KEYS[1], 'NX', closed_at, id) end
  else
    local ended_at = redis.call('HGET', key, 'endedAt')
    if ended_at then added = added + redis.call('ZADD', KEYS[2], 'NX', ended_at, id) end
  end
end
return added
`;

export async function backfillRetentionIndexes(
  url: string,
  prefix: string,
): Promise<{ scanned: number; added: number }> {
  const client = createFanoutClient(url);
  await client.connect();
  let scanned = 0;
  let added = 0;
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      scanned += keys.length;
      const records: { key: string; kind: string; id: string }[] = [];
      const attempts: { key: string; id: string }[] = [];
      for (const key of keys) {
        const rest = key.slice(prefix.length);
        if (rest.startsWith('pg:')) records.push({ key, kind: 'p', id: rest.slice(3) });
        else if (rest.startsWith('v:')) records.push({ key, kind: 'v', id: rest.slice(2) });
        else if (rest.startsWith('a:')) attempts.push({ key, id: rest.slice(2) });
      }
      // Settled attempts: their state and the time of each terminal transition (one pipelined read).
      const read = await Promise.all(
        attempts.map(({ key }) => client.hmGet(key, ['state', ...SETTLED_STATES.map((s) => `t:${s}`)])),
      );
      attempts.forEach(({ key, id }, i) => {
        const [state, ...times] = read[i]!;
        const at = state ? times[SETTLED_STATES.indexOf(state as (typeof SETTLED_STATES)[number])] : undefined;
        const ms = at ? Date.parse(at) : NaN;
        if (Number.isFinite(ms)) records.push({ key, kind: `a:${state}:${ms}`, id });
      });
      if (records.length === 0) continue;
      added += Number(
        await client.eval(INDEX_BATCH, {
          keys: [`${prefix}closed`, `${prefix}ended`, `${prefix}settled`, ...records.map((r) => r.key)],
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
  process.stdout.write(
    `${scanned} keys looked at, ${added} closed pages, ended visits and settled attempts indexed for the retention\n`,
  );
}
