/**
 * What every part of the Redis store shares: the connection, the key names,
 * running a script by the names of its KEYS and ARGV, and telling listeners
 * that events were recorded.
 */
import { NotReplicatedError, StoreUnavailableError } from '../../core/store.js';
import type { StoreConnection } from './connection.js';
import type { RedisKeys } from './keys.js';
import { orderedArguments } from './script-loader.js';
import { scriptLayout, type SCRIPTS, type ScriptName } from './scripts.js';
import type { EventListeners } from '../listeners.js';

/** What a script's reply needs from the replicas (StoreConnection.runConfirmed). */
export type Confirmation = (reply: unknown[]) => 'wrote' | 'found' | 'nothing';

/**
 * The parsed result of a write made for a caller, also when the replicas did
 * not confirm it: NotReplicatedError then carries the parsed result, which
 * the core acts on before it tells the caller.
 */
export async function parsedEvenUnconfirmed<T>(
  write: Promise<unknown[]>,
  parse: (reply: unknown[]) => T | Promise<T>,
): Promise<T> {
  let reply: unknown[];
  try {
    reply = await write;
  } catch (error) {
    if (error instanceof NotReplicatedError)
      throw new NotReplicatedError(await parse(error.result as unknown[]), error.message);
    throw error;
  }
  return parse(reply);
}

/** KEYS or ARGV of a script by the names its file gives them (`notAfter` is filled in). */
export type Named = Readonly<Record<string, string>>;

export interface StoreContext {
  readonly keys: RedisKeys;
  readonly conn: StoreConnection<typeof SCRIPTS>;
  /**
   * Runs one script: `keys` and `args` by name, then the variable part some
   * scripts end with (`more`). Its first reply element says how it went;
   * 'stale' (it ran too late and changed nothing) throws StoreUnavailableError.
   * `confirm`: a write made for a caller (an engage, a cancel, a page's
   * answer, a channel change), confirmed by replicas when they are asked for:
   * what its reply needs (StoreConnection.runConfirmed; NotReplicatedError
   * carries the reply).
   */
  exec(
    name: ScriptName,
    keys: Named,
    args: Named,
    more?: { keys?: readonly string[]; args?: readonly string[]; confirm?: Confirmation },
  ): Promise<unknown[]>;
  /** After a change that recorded events has committed (the script returned). */
  recorded(): void;
  readonly listeners: EventListeners;
  /** How long report hours are kept after they end, ms. */
  readonly reportRetentionMs: number;
}

type ScriptCaller = Record<ScriptName, (keys: readonly string[], args: readonly string[]) => Promise<unknown>>;

export function storeContext(options: {
  keys: RedisKeys;
  conn: StoreConnection<typeof SCRIPTS>;
  listeners: EventListeners;
  reportRetentionMs: number;
}): StoreContext {
  const { conn, listeners } = options;
  return {
    keys: options.keys,
    conn,
    listeners,
    reportRetentionMs: options.reportRetentionMs,
    recorded: () => listeners.notify(),
    async exec(name, keys, args, more = {}) {
      const layout = scriptLayout(name);
      const keyList = orderedArguments(name, layout.keys, keys, more.keys);
      const write = (client: Parameters<Parameters<typeof conn.run>[0]>[0]) =>
        (client as unknown as ScriptCaller)[name](
          keyList,
          orderedArguments(name, layout.args, { notAfter: conn.notAfter(), ...args }, more.args),
        ) as Promise<unknown[]>;
      const { confirm } = more;
      const reply = confirm
        ? await conn.runConfirmed(write, (value) => (value[0] === 'stale' ? 'nothing' : confirm(value)))
        : await conn.run(write);
      if (reply[0] === 'stale') {
        throw new StoreUnavailableError(
          'Redis ran the change only after the call had given up, so it refused it; nothing was changed.',
        );
      }
      return reply;
    },
  };
}
