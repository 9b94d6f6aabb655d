/**
 * One-off, for a Redis store written before the retention of pages and
 * visits, or of attempts: pages that closed, visits that ended and attempts
 * that settled then are in no retention index (`closed`, `ended`, `settled`;
 * docs/redis-keys.md), so pruneVisits and pruneAttempts never see them; and
 * for one written before visitor context: visits, pages and attempts are in
 * none of the history indexes (`visits:g`, `pages:v`, `attempts:ix` by browser and visit), so a
 * browser's visits, a visit's history and an erasure miss them. This walks
 * every key under the prefix (SCAN, in batches) and adds each closed page,
 * ended visit and settled attempt it finds to its index, one script per
 * batch (backfillRetention.lua), so that a page that reopens or a record
 * pruned meanwhile is judged on what it holds when the script runs (NX: an
 * entry already there keeps its time). Safe to run while Beckon runs, and again.
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
import { recordOfKey, redisKeys } from './keys.js';
import { orderedArguments } from './script-loader.js';
import { BACKFILL_SCRIPT, scriptLayout, scriptSource } from './scripts.js';

/** The terminal states: an attempt in one of them is settled (and never changes state again). */
const SETTLED_STATES = ['accepted', 'declined', 'timed_out', 'cancelled', 'expired'] as const;

export async function backfillRetentionIndexes(
  url: string,
  prefix: string,
): Promise<{ scanned: number; added: number; history: number }> {
  const k = redisKeys(prefix);
  const layout = scriptLayout(BACKFILL_SCRIPT);
  const client = createFanoutClient(url);
  await client.connect();
  let scanned = 0;
  let added = 0;
  let history = 0;
  try {
    for await (const keys of client.scanIterator({ MATCH: k.everything, COUNT: 1000 })) {
      scanned += keys.length;
      const records: { key: string; kind: string; id: string }[] = [];
      const attempts: { key: string; id: string }[] = [];
      for (const key of keys) {
        const record = recordOfKey(prefix, key);
        if (record?.kind === 'page') records.push({ key, kind: 'p', id: record.id });
        else if (record?.kind === 'visit') records.push({ key, kind: 'v', id: record.id });
        else if (record?.kind === 'attempt') attempts.push({ key, id: record.id });
      }
      // Settled attempts: their state and the time of each terminal transition (one pipelined read).
      const read = await Promise.all(
        attempts.map(({ key }) => client.hmGet(key, ['state', ...SETTLED_STATES.map((s) => `t:${s}`)])),
      );
      attempts.forEach(({ key, id }, i) => {
        const [state, ...times] = read[i]!;
        const at = state ? times[SETTLED_STATES.indexOf(state as (typeof SETTLED_STATES)[number])] : undefined;
        const ms = at ? Date.parse(at) : NaN;
        records.push({ key, kind: Number.isFinite(ms) ? `a:${state}:${ms}` : 'a', id });
      });
      if (records.length === 0) continue;
      const indexes = {
        closedKey: k.closed,
        endedKey: k.ended,
        settledKey: k.settled,
        visitsByBrowserKey: k.visitsByBrowser,
        pagesByVisitKey: k.pagesByVisit,
        attemptIndexKey: k.attemptIndex,
      };
      const [retention, indexed] = (await client.eval(scriptSource(BACKFILL_SCRIPT), {
        keys: orderedArguments(
          BACKFILL_SCRIPT,
          layout.keys,
          indexes,
          records.map((r) => r.key),
        ),
        arguments: [...records.map((r) => r.kind), ...records.map((r) => r.id)],
      })) as [number, number];
      added += Number(retention);
      history += Number(indexed);
    }
  } finally {
    client.destroy();
  }
  return { scanned, added, history };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [url, prefix = 'beckon:'] = process.argv.slice(2);
  if (!url) {
    process.stderr.write('usage: retention-backfill.ts <redis url> [prefix, default beckon:]\n');
    process.exit(2);
  }
  const { scanned, added, history } = await backfillRetentionIndexes(url, prefix);
  process.stdout.write(
    `${scanned} keys looked at, ${added} closed pages, ended visits and settled attempts indexed for the retention, ` +
      `${history} visits, pages and attempts for history and erasure\n`,
  );
}
