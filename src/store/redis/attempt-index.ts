/**
 * The move of a store written by an older version to the index of
 * attempts. Older versions kept four lex indexes of attempts in keys of
 * their own (`active`, `active:g`, `created`, `attempts:g`); this version
 * keeps them in one sorted set, `attempts:ix`, each family's members behind
 * a tag (ATTEMPT_INDEX_TAG in keys.ts, docs/redis-keys.md), so that an
 * engage writes its four members with one command and a settle removes its
 * two in progress with one.
 *
 * The store runs the move when it opens, before it serves: one EXISTS of
 * the four former keys when there is nothing to move. Otherwise it reads a
 * batch of a former key and one script (migrateAttemptIndex.lua) moves it:
 * each member only if it is still there (two nodes opening at once move it
 * once, and running it again changes nothing), a member in progress only
 * while its attempt is pending or delivered (one that settled or is gone is
 * dropped). A former key goes with its last member. It can also be run by
 * hand, while no node runs:
 *
 *   node --import tsx src/store/redis/attempt-index.ts redis://127.0.0.1:6379 beckon:
 *
 * Nodes of an older version must not run beside this one on the same Redis:
 * they read and write the former keys (docs/operations.md).
 */
import { pathToFileURL } from 'node:url';
import { createFanoutClient } from './connection.js';
import { ATTEMPT_INDEX_TAG, redisKeys, type AttemptIndexTag, type RedisKeys } from './keys.js';
import { orderedArguments } from './script-loader.js';
import { scriptLayout, scriptSource } from './scripts.js';
import type { Named } from './context.js';

/** Members moved per script call: a few milliseconds of Redis each. */
export const MIGRATION_BATCH = 500;

const SCRIPT = 'migrateAttemptIndex';

/** What the move did: members moved into attempts:ix, and members in progress of attempts that were not. */
export interface AttemptIndexMigration {
  moved: number;
  dropped: number;
}

/** The reads the move makes, on any client of the store's Redis. */
export interface MigrationReader {
  exists(keys: string[]): Promise<number>;
  zRange(key: string, start: number, stop: number): Promise<string[]>;
}

/** Runs migrateAttemptIndex: KEYS and ARGV by name (`notAfter` filled in), then the variable part. */
export type MigrationRunner = (
  keys: Named,
  args: Named,
  more: { keys: readonly string[]; args: readonly string[] },
) => Promise<unknown[]>;

/**
 * The id of the attempt a member in progress names: after the visit's (or
 * the browser's) lex prefix and 37 (or 21) bytes of times and seq. Members
 * count bytes, not UTF-16 units.
 */
export function attemptOfFormerMember(tag: AttemptIndexTag, member: string): string {
  const bytes = Buffer.from(member);
  const colon = bytes.indexOf(0x3a);
  const length = Number(bytes.toString('latin1', 0, colon));
  const prefix = colon + 1 + length + 1;
  return bytes.toString('utf8', prefix + (tag === ATTEMPT_INDEX_TAG.active ? 37 : 21));
}

/** Moves every member of the four former keys into attempts:ix (see above). */
export async function migrateAttemptIndex(
  k: RedisKeys,
  read: <T>(fn: (c: MigrationReader) => Promise<T>) => Promise<T>,
  run: MigrationRunner,
  batch = MIGRATION_BATCH,
): Promise<AttemptIndexMigration> {
  const done = { moved: 0, dropped: 0 };
  const former = Object.entries(k.formerAttemptIndexes) as [AttemptIndexTag, string][];
  if ((await read((c) => c.exists(former.map(([, key]) => key)))) === 0) return done;
  for (const [tag, key] of former) {
    const inProgress = tag === ATTEMPT_INDEX_TAG.active || tag === ATTEMPT_INDEX_TAG.activeByBrowser;
    // Each call takes out every member it was given that is still there: the key shrinks every round.
    for (;;) {
      const members = await read((c) => c.zRange(key, 0, batch - 1));
      if (members.length === 0) break;
      const reply = await run(
        { attemptIndexKey: k.attemptIndex, formerKey: key },
        { tag, count: String(members.length) },
        {
          keys: inProgress ? members.map((member) => k.attempt(attemptOfFormerMember(tag, member))) : [],
          args: members,
        },
      );
      done.moved += Number(reply[1]);
      done.dropped += Number(reply[2]);
    }
  }
  return done;
}

/** The move on a plain client (EVAL, no caller's deadline): for the command below and for tests. */
export async function migrateAttemptIndexAt(
  url: string,
  prefix: string,
  batch = MIGRATION_BATCH,
): Promise<AttemptIndexMigration> {
  const layout = scriptLayout(SCRIPT);
  const client = createFanoutClient(url);
  await client.connect();
  try {
    return await migrateAttemptIndex(
      redisKeys(prefix),
      (fn) => fn(client),
      async (keys, args, more) =>
        (await client.eval(scriptSource(SCRIPT), {
          keys: orderedArguments(SCRIPT, layout.keys, keys, more.keys),
          arguments: orderedArguments(SCRIPT, layout.args, { notAfter: '0', ...args }, more.args),
        })) as unknown[],
      batch,
    );
  } finally {
    client.destroy();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [url, prefix = 'beckon:'] = process.argv.slice(2);
  if (!url) {
    process.stderr.write('usage: attempt-index.ts <redis url> [prefix, default beckon:]\n');
    process.exit(2);
  }
  const { moved, dropped } = await migrateAttemptIndexAt(url, prefix);
  process.stdout.write(
    `${moved} index members moved into ${prefix}attempts:ix, ` +
      `${dropped} of attempts no longer in progress dropped\n`,
  );
}
