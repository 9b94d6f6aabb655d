/**
 * The Redis store's Lua scripts: one per change, each atomic (Redis runs a
 * script alone), each in its own file beside this module (`<name>.lua`,
 * shared fragments in `includes/`, put together by script-loader.ts), and
 * registered with node-redis `defineScript`, so that EVALSHA is sent and
 * EVAL follows on NOSCRIPT (after a restart or SCRIPT FLUSH). The build
 * copies the files beside the compiled module (scripts/server-build/copy-lua.ts).
 *
 * Rules every script keeps:
 * - every key it touches comes in KEYS (the caller spells them, keys.ts), so
 *   that no key name is built inside Lua; the one exception is the attempt
 *   that enterPage and leavePage find in progress in `attempts:ix`, whose key is
 *   the attempt key's prefix (ARGV, from keys.ts) and its id;
 * - ARGV[1] is `notAfter` (connection.ts): a script that runs later than that
 *   on the Redis clock returns {'stale'} and changes nothing;
 * - all checks first, then the writes, the event's XADD first among them
 *   (the one write Redis can refuse: an id not above the stream's top);
 * - every loop is bounded;
 * - no date maths, no JSON parsing: times come as ms and ISO texts from the
 *   caller, JSON documents are stored as the text the caller made (Lua's
 *   cjson would round numbers to 14 digits);
 * - constants of the rules (caps, report limits, the histogram's bounds) come
 *   as ARGV from the TypeScript that defines them, never written into the Lua;
 * - a nullable string in ARGV is '' for null and '=' + text otherwise.
 *
 * The key layout is in docs/redis-keys.md and keys.ts.
 */
import { fileURLToPath } from 'node:url';
import { defineScript, type CommandParser } from 'redis';
import { loadScript, readFromFolder, type LoadedScript, type ScriptLayout } from './script-loader.js';

/** The store's scripts, one per change: `<name>.lua` beside this module. */
export const STORE_SCRIPTS = [
  'startVisit',
  'openPage',
  'updatePage',
  'closePage',
  'endVisit',
  'enterPage',
  'leavePage',
  'setOptOut',
  'heartbeat',
  'forgetNode',
  'pruneVisits',
  'createAttempt',
  'createTombstone',
  'transition',
  'placeOn',
  'pruneAttempts',
  'pruneEvents',
  'queueWebhookEvents',
  'claimWebhookDeliveries',
  'webhookDelivered',
  'webhookAttemptFailed',
  'putChannel',
  'deleteChannel',
  'reportCapacity',
  'recordBusinessEvent',
  'changeIdentity',
  'eraseVisits',
  'eraseEvents',
  'finishErasure',
  'migrateAttemptIndex',
] as const;

/** Run once by hand on an old store (retention-backfill.ts), with EVAL on a plain client. */
export const BACKFILL_SCRIPT = 'backfillRetention';

/** Every script the loader knows. */
export const ALL_SCRIPTS: readonly string[] = [...STORE_SCRIPTS, BACKFILL_SCRIPT];

export type ScriptName = (typeof STORE_SCRIPTS)[number];

/** The folder of the `.lua` files: beside this module, in src/ as in dist/server/. */
export const SCRIPTS_FOLDER = fileURLToPath(new URL('.', import.meta.url));

const fromFolder = readFromFolder(SCRIPTS_FOLDER);
const files = new Map<string, string | null>();
/** Each file read once, however many scripts include it. */
const read = (path: string) => {
  if (!files.has(path)) files.set(path, fromFolder(path));
  return files.get(path)!;
};
const loaded = new Map<string, LoadedScript>(ALL_SCRIPTS.map((name) => [name, loadScript(name, read)]));

function script(source: string) {
  return defineScript({
    SCRIPT: source,
    parseCommand(parser: CommandParser, keys: readonly string[], args: readonly string[]) {
      parser.pushKeysLength([...keys]);
      parser.push(...args);
    },
    transformReply: undefined as unknown as () => unknown,
  });
}

/** Every store script, ready for `createClient({ scripts })`. */
export const SCRIPTS = Object.fromEntries(STORE_SCRIPTS.map((name) => [name, script(loaded.get(name)!.source)])) as {
  [K in ScriptName]: ReturnType<typeof script>;
};

/** The text Redis runs for a script (its includes in place). */
export const scriptSource = (name: ScriptName | typeof BACKFILL_SCRIPT): string => loaded.get(name)!.source;

/** The names of a script's KEYS and ARGV, in order. */
export const scriptLayout = (name: ScriptName | typeof BACKFILL_SCRIPT): ScriptLayout => loaded.get(name)!.layout;
