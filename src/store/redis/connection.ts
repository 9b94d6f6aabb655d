/**
 * The one module that creates Redis clients (docs/operations.md has how to
 * run Redis for Beckon). The rest of Beckon never calls `createClient` itself.
 *
 * Two kinds of client:
 * - the store connection (`StoreConnection`): fails fast. No offline queue
 *   (a command sent while Redis is away is refused at once instead of piling
 *   up), 1 s to connect, no `socketTimeout`, a reconnect strategy that never
 *   gives up (node-redis's default stops after a SocketTimeoutError), and a
 *   deadline on every round trip (Promise.race, 1.5 s): v6's
 *   `commandOptions.timeout` stops counting once a command is written, so a
 *   frozen server would otherwise hang the call for ever. Every failure to
 *   reach Redis surfaces as `StoreUnavailableError`; a script error (a bug)
 *   is passed on as it is. A watchdog probes the connection every second
 *   (TIME, which also measures the Redis clock) and replaces a client that
 *   missed three probes, or that has not become ready for ten seconds.
 * - the fan-out client (`createFanoutClient`), for socket.io's streams adapter
 *   and blocking reads: offline queue on and no `socketTimeout`, since either
 *   makes the adapter's XREAD loop spin without back-off while Redis is away.
 *
 * Writes that arrive late: a script is sent with a `notAfter` time on the
 * Redis clock (our clock plus the offset the watchdog measures), a little
 * before the call's deadline. A script that Redis runs after it (a frozen
 * server that wakes up, a command stuck behind a long one) changes nothing.
 * So "unavailable" means "nothing was changed", short of a reply lost after
 * Redis ran the script in time.
 */
import { createClient, ErrorReply, type RedisScripts } from 'redis';
import { StoreUnavailableError } from '../../core/store.js';

/** Deadline of one round trip to Redis. */
export const CALL_DEADLINE_MS = 1500;
/** How long a TCP connect may take. */
export const CONNECT_TIMEOUT_MS = 1000;
/** Longest wait between two reconnect attempts (with jitter). */
export const MAX_RECONNECT_DELAY_MS = 2000;
/** A script refuses to run this long before the caller's deadline (clock offset error margin). */
const LATE_MARGIN_MS = 200;

/**
 * Reconnects for ever: exponential back-off from 50 ms, at most 2 s with its
 * jitter, whatever the cause (SocketTimeoutError included, unlike the default).
 */
export function reconnectDelay(retries: number): number {
  const jitter = Math.floor(Math.random() * 200);
  return Math.min(50 * 2 ** Math.min(retries, 10), MAX_RECONNECT_DELAY_MS - 200) + jitter;
}

/** Server errors that say Redis cannot serve right now (not that the command is wrong). */
const UNAVAILABLE_REPLIES = [
  'LOADING',
  'BUSY',
  'MISCONF',
  'READONLY',
  'MASTERDOWN',
  'TRYAGAIN',
  'CLUSTERDOWN',
  'OOM',
  'NOREPLICAS',
];
/** node-redis errors that mean the command did not reach Redis or its answer did not come back. */
const TRANSPORT_ERRORS = new Set([
  'ClientClosedError',
  'ClientOfflineError',
  'ConnectionTimeoutError',
  'SocketClosedUnexpectedlyError',
  'DisconnectsClientError',
  'SocketTimeoutError',
  'ReconnectStrategyError',
  'AbortError',
  'TimeoutError',
]);
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
]);

class DeadlineError extends Error {
  constructor(ms: number) {
    super(`Redis did not answer within ${ms} ms.`);
    this.name = 'DeadlineError';
  }
}

/** True when `error` says Redis could not be reached or could not serve (as opposed to a bug). */
export function isUnavailable(error: unknown): boolean {
  if (error instanceof StoreUnavailableError || error instanceof DeadlineError) return true;
  if (error instanceof ErrorReply) return UNAVAILABLE_REPLIES.some((code) => error.message.startsWith(code));
  if (!(error instanceof Error)) return false;
  if (TRANSPORT_ERRORS.has(error.constructor.name) || TRANSPORT_ERRORS.has(error.name)) return true;
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== undefined && SOCKET_CODES.has(code)) return true;
  return error.message === 'The queue is full';
}

/** `error` as the store reports it: StoreUnavailableError for any failure to reach Redis, else unchanged. */
export function toStoreError(error: unknown): unknown {
  if (error instanceof StoreUnavailableError) return error;
  if (isUnavailable(error)) {
    const reason = error instanceof Error ? error.message : String(error);
    return new StoreUnavailableError(`The store (Redis) is unreachable: ${reason}`, { cause: error });
  }
  return error;
}

/** Resolves like `promise`, or rejects with a DeadlineError after `ms`. */
export async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(ms)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function baseOptions(url: string) {
  return {
    url,
    socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy: reconnectDelay },
  };
}

/** A fail-fast client for store calls (see the header); not connected yet. */
export function createStoreClient<S extends RedisScripts>(
  url: string,
  scripts: S,
  onError: (error: unknown) => void = () => {},
) {
  const client = createClient({
    ...baseOptions(url),
    scripts,
    disableOfflineQueue: true,
    // No commandOptions.timeout: it bounds only the wait before a command is written (measured on node-redis 6),
    // which `run`'s deadline bounds already, and it costs an AbortSignal.timeout per command (about 5 %
    // of the store's CPU in a profile of the store ceiling).
  });
  // node-redis throws an 'error' with no listener; every reconnect attempt reports one.
  client.on('error', onError);
  // Load every script as soon as the connection is ready (again after Redis restarted and forgot them),
  // so that a burst of calls does not meet NOSCRIPT and resend each script's whole text with EVAL.
  client.on('ready', () => {
    for (const script of Object.values(scripts)) {
      client.scriptLoad(script.SCRIPT).catch(() => {});
    }
  });
  return client;
}

/**
 * A client for socket.io's streams adapter and blocking reads: keeps its
 * offline queue and has no socket timeout (see the header); reconnects for ever.
 */
export function createFanoutClient(url: string, onError: (error: unknown) => void = () => {}) {
  const client = createClient(baseOptions(url));
  client.on('error', onError);
  return client;
}

export type StoreClient<S extends RedisScripts> = ReturnType<typeof createStoreClient<S>>;

export interface StoreConnectionOptions {
  url: string;
  /** How long `open` waits for the first connection before giving up (StoreUnavailableError). */
  openTimeoutMs?: number;
  /** Watchdog period. */
  probeEveryMs?: number;
  /** Probes missed in a row before the client is replaced. */
  maxMissedProbes?: number;
  onError?: (error: unknown) => void;
  /** The connection is ready again after it was lost or replaced (not for the first connection). */
  onRestored?: () => void;
}

/** Health of the store connection, for /readyz and logs. */
export interface ConnectionHealth {
  /** Connected, and the last probe answered in time. */
  ready: boolean;
  missedProbes: number;
  /** Redis clock minus ours, ms (null until measured). */
  clockOffsetMs: number | null;
  /** How many times the watchdog replaced the client. */
  replaced: number;
}

/**
 * The store's connection: one fail-fast client, replaced by the watchdog
 * when it stops answering, with a deadline on every call.
 */
export class StoreConnection<S extends RedisScripts> {
  #client: StoreClient<S>;
  #closed = false;
  #closing: Promise<void> | null = null;
  #inFlight = 0;
  #timer: NodeJS.Timeout | null = null;
  #probeInFlight = false;
  #missed = 0;
  #notReadyTicks = 0;
  #offset: number | null = null;
  #replaced = 0;
  /** Whether a client of this connection was ever ready: any later 'ready' is a recovery. */
  #wasReady = false;
  readonly #onError: (error: unknown) => void;

  private constructor(
    private readonly scripts: S,
    private readonly options: StoreConnectionOptions,
  ) {
    this.#onError = options.onError ?? (() => {});
    this.#client = this.#newClient();
  }

  /** Connects (waiting up to `openTimeoutMs` for Redis), measures the clock and starts the watchdog. */
  static async open<S extends RedisScripts>(scripts: S, options: StoreConnectionOptions): Promise<StoreConnection<S>> {
    const connection = new StoreConnection(scripts, options);
    const client = connection.#client;
    const connected = client.connect();
    connected.catch(() => {});
    try {
      await withDeadline(connected, options.openTimeoutMs ?? 10_000);
      await connection.#probe();
    } catch (error) {
      client.destroy();
      throw toStoreError(error);
    }
    connection.#startWatchdog();
    return connection;
  }

  /** The current client (the watchdog may replace it; do not keep it). */
  get client(): StoreClient<S> {
    return this.#client;
  }

  /** One round trip (or a few pipelined) with the deadline; failures to reach Redis become StoreUnavailableError. */
  async run<T>(fn: (client: StoreClient<S>) => Promise<T>): Promise<T> {
    this.#inFlight++;
    try {
      return await withDeadline(fn(this.#client), CALL_DEADLINE_MS);
    } catch (error) {
      throw toStoreError(error);
    } finally {
      this.#inFlight--;
    }
  }

  /** The latest Redis time (ms) a write sent now may still run at; '0' (no limit) until the clock is measured. */
  notAfter(): string {
    if (this.#offset === null) return '0';
    return String(Math.floor(Date.now() + this.#offset + CALL_DEADLINE_MS - LATE_MARGIN_MS));
  }

  isReady(): boolean {
    return !this.#closed && this.#client.isReady && this.#missed === 0;
  }

  health(): ConnectionHealth {
    return { ready: this.isReady(), missedProbes: this.#missed, clockOffsetMs: this.#offset, replaced: this.#replaced };
  }

  /** Whether Redis answers a PING now; false (never a hang) within about a second when it does not. */
  async ping(): Promise<boolean> {
    // Not ready, or the watchdog's last probe is overdue: no need to wait for another answer.
    if (!this.isReady()) return false;
    try {
      await withDeadline(this.#client.ping(), 1000);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Closes the connection: first lets the calls in flight, and those they lead
   * to (a page that left is closed, then its invitation moved), finish until
   * none has run for a moment (at most a second), then closes the client,
   * dropping what has not answered a second later. Never hangs on a Redis that is away.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const giveUpAt = Date.now() + 1000;
    let quietSince = Date.now();
    while (Date.now() < giveUpAt) {
      if (this.#inFlight > 0) quietSince = Date.now();
      else if (Date.now() - quietSince >= 20) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    const client = this.#client;
    if (client.isReady) {
      try {
        await withDeadline(client.close(), 1000);
        return;
      } catch {
        // Redis went away meanwhile: drop the connection instead.
      }
    }
    client.destroy();
  }

  #newClient(): StoreClient<S> {
    const client = createStoreClient(this.options.url, this.scripts, this.#onError);
    // A reconnect, or a client the watchdog put in place of one that stopped answering: whatever was
    // said through Redis meanwhile (page commands through the adapter) may be lost; the owner resyncs.
    client.on('ready', () => {
      if (this.#wasReady && !this.#closed) this.options.onRestored?.();
      this.#wasReady = true;
    });
    return client;
  }

  #startWatchdog(): void {
    this.#timer = setInterval(() => this.#tick(), this.options.probeEveryMs ?? 1000);
    this.#timer.unref();
  }

  #tick(): void {
    if (this.#closed) return;
    const client = this.#client;
    if (!client.isOpen || !client.isReady) {
      // node-redis is reconnecting on its own; a handshake that never finishes
      // (a frozen or unreachable host accepted the TCP connect) is restarted.
      this.#probeInFlight = false;
      this.#missed = 0;
      if (++this.#notReadyTicks >= 10) this.#replace();
      return;
    }
    this.#notReadyTicks = 0;
    if (this.#probeInFlight) {
      if (++this.#missed >= (this.options.maxMissedProbes ?? 3)) this.#replace();
      return;
    }
    this.#probe().catch(() => {});
  }

  /** TIME: proves the connection answers, and gives the Redis clock. */
  async #probe(): Promise<void> {
    const client = this.#client;
    this.#probeInFlight = true;
    const sentAt = Date.now();
    try {
      const [seconds, micros] = (await withDeadline(client.time(), 5000)) as unknown as [string, string];
      const receivedAt = Date.now();
      if (client !== this.#client) return;
      const redisMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      // A slow answer says little about the clock: keep the last good measure.
      if (receivedAt - sentAt < 100 || this.#offset === null)
        this.#offset = Math.round(redisMs - (sentAt + receivedAt) / 2);
      this.#missed = 0;
    } finally {
      if (client === this.#client) this.#probeInFlight = false;
    }
  }

  /** Drops the current client (its calls in flight fail) and connects a new one in the background. */
  #replace(): void {
    const old = this.#client;
    this.#client = this.#newClient();
    this.#replaced++;
    this.#probeInFlight = false;
    this.#missed = 0;
    this.#notReadyTicks = 0;
    old.destroy();
    this.#client.connect().catch(() => {});
  }
}

/** What `durabilityWarnings` needs of a client (any node-redis client has it). */
export interface ConfigReader {
  configGet(parameter: string): Promise<Record<string, string>>;
  info(section?: string): Promise<string>;
}

/**
 * What about this Redis could lose Beckon's data, as sentences to log at
 * start; empty when it is set up as recommended (AOF with `appendfsync
 * always`, `maxmemory-policy noeviction`). Reads CONFIG, or INFO where CONFIG
 * is refused (managed services such as ElastiCache).
 */
export async function durabilityWarnings(client: ConfigReader): Promise<string[]> {
  const warnings: string[] = [];
  let config: Record<string, string> | null;
  try {
    config = {};
    for (const parameter of ['appendonly', 'appendfsync', 'save', 'maxmemory-policy']) {
      Object.assign(config, await client.configGet(parameter));
    }
  } catch {
    config = null;
  }

  if (config !== null) {
    const aof = config.appendonly === 'yes';
    const save = (config.save ?? '').trim();
    if (!aof && save === '') {
      warnings.push(
        'Redis keeps neither an AOF (appendonly no) nor RDB snapshots (save ""): every visit, invitation, event and undelivered webhook vanishes when Redis restarts. Set appendonly yes with appendfsync always.',
      );
    } else if (!aof) {
      warnings.push(
        `Redis keeps only RDB snapshots (save "${save}"), no AOF: a restart loses everything written since the last snapshot, typically minutes of engagements and events. Set appendonly yes with appendfsync always.`,
      );
    } else if (config.appendfsync === 'everysec') {
      warnings.push(
        'Redis has appendfsync everysec: if its machine loses power or its OS crashes, about the last second (up to 2 s) of acknowledged changes (engages, answers, webhook progress) can be lost; a crash of the Redis process alone loses nothing. Set appendfsync always to fsync before every reply.',
      );
    } else if (config.appendfsync === 'no') {
      warnings.push(
        'Redis has appendfsync no: the operating system decides when the AOF reaches the disk, so if its machine loses power or its OS crashes, some 30 s of acknowledged changes can be lost. Set appendfsync always to fsync before every reply.',
      );
    }
    const policy = config['maxmemory-policy'];
    if (policy !== undefined && policy !== 'noeviction') {
      warnings.push(
        `Redis has maxmemory-policy ${policy}: under memory pressure it may evict Beckon's keys (attempts, the event log, the webhook outbox) and silently break them. Set maxmemory-policy noeviction.`,
      );
    }
    return warnings;
  }

  // CONFIG refused: INFO tells whether AOF is on, and the eviction policy, but not appendfsync nor the RDB schedule.
  let persistence: string;
  let memory: string;
  try {
    persistence = await client.info('persistence');
    memory = await client.info('memory');
  } catch {
    return [
      'Redis refuses both CONFIG GET and INFO: cannot check that it persists what Beckon writes. Make sure it runs with appendonly yes, appendfsync always and maxmemory-policy noeviction.',
    ];
  }
  const field = (text: string, name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(text)?.[1]?.trim();
  if (field(persistence, 'aof_enabled') === '1') {
    warnings.push(
      'Redis refuses CONFIG GET: AOF is on (INFO), but appendfsync cannot be checked; unless it is always, a power loss or OS crash of its machine can lose the last second or more of acknowledged changes.',
    );
  } else {
    warnings.push(
      'Redis refuses CONFIG GET and has no AOF (INFO aof_enabled:0); whether RDB snapshots are on cannot be told, so a restart may lose everything since the last snapshot, or everything. Turn on appendonly yes with appendfsync always.',
    );
  }
  const policy = field(memory, 'maxmemory_policy');
  if (policy !== undefined && policy !== 'noeviction') {
    warnings.push(
      `Redis has maxmemory-policy ${policy}: under memory pressure it may evict Beckon's keys (attempts, the event log, the webhook outbox) and silently break them. Set maxmemory-policy noeviction.`,
    );
  }
  return warnings;
}
