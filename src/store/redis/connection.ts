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
import { createClient, ErrorReply, type RedisClientOptions, type RedisScripts } from 'redis';
import { NotReplicatedError, StoreUnavailableError } from '../../core/store.js';

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
  // A Redis Cluster moved the slot to another primary: the store follows it (cluster.ts).
  'MOVED',
  'ASK',
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

/**
 * Where a client connects: a URL, or an address with credentials (a primary
 * found through Sentinel).
 */
export type ClientAddress =
  { url: string } | { host: string; port: number; tls: boolean; username: string | null; password: string | null };

function baseOptions(where: ClientAddress | string): RedisClientOptions {
  const address = typeof where === 'string' ? { url: where } : where;
  const socket = { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy: reconnectDelay };
  if ('url' in address) return { url: address.url, socket };
  return {
    socket: address.tls
      ? { ...socket, host: address.host, port: address.port, tls: true }
      : { ...socket, host: address.host, port: address.port },
    ...(address.username !== null ? { username: address.username } : {}),
    ...(address.password !== null ? { password: address.password } : {}),
  };
}

/** A fail-fast client for store calls (see the header); not connected yet. */
export function createStoreClient<S extends RedisScripts>(
  address: ClientAddress | string,
  scripts: S,
  onError: (error: unknown) => void = () => {},
) {
  const client = createClient({
    ...baseOptions(address),
    scripts,
    disableOfflineQueue: true,
    // No command timeout (node-redis 6.3 sets 5 s unless told 0): `run`'s deadline bounds every call already,
    // and it costs an AbortSignal.timeout per command (about 5 % of the server's CPU in a profile of
    // engage on Redis, as it was of the store ceiling).
    commandOptions: { timeout: 0 },
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
export function createFanoutClient(address: ClientAddress | string, onError: (error: unknown) => void = () => {}) {
  const client = createClient(baseOptions(address));
  client.on('error', onError);
  return client;
}

export type StoreClient<S extends RedisScripts> = ReturnType<typeof createStoreClient<S>>;

/**
 * Where the store's clients connect. The address is asked for each new
 * client: a primary found through Sentinel may have moved since the last.
 */
export interface ClientTarget {
  address(): ClientAddress;
  /**
   * Check `ROLE` on every connection before using it, and ask `relocate` when
   * it is not the primary (Sentinel or Cluster: the address may name a
   * demoted primary); `unreachable` is told when a connection fails.
   */
  primaryOnly?: { relocate(): Promise<void>; unreachable?(reachable: () => boolean): void };
}

/** Replication asked of writes made for a caller (BECKON_REDIS_MIN_REPLICAS). */
export interface ReplicationOptions {
  minReplicas: number;
  timeoutMs: number;
  /** A key a confirmation may write to when the answer rests on an earlier write (keys.ts). */
  markKey: string;
}

/** Writes waiting for one WAIT on the confirming connection. */
interface WaitBatch<S extends RedisScripts> {
  client: StoreClient<S>;
  /** Some write of the batch wrote nothing itself: mark before the WAIT. */
  mark: boolean;
  answer: Promise<{ acknowledged: number; connection: number | undefined }>;
}

export interface StoreConnectionOptions {
  target: ClientTarget;
  replication?: ReplicationOptions;
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
  /** The client for writes made for a caller, each followed by WAIT (null when no replica is asked for). */
  #confirmClient: StoreClient<S> | null;
  /** The WAIT the writes answered in this turn of the event loop will share (runConfirmed). */
  #waitBatch: WaitBatch<S> | null = null;
  /** Clients whose current connection was checked: it reaches the primary. */
  readonly #checked = new WeakSet<StoreClient<S>>();
  /** How many times each client became ready: a WAIT proves something only on the connection of its write. */
  readonly #readyCount = new WeakMap<StoreClient<S>, number>();
  #closed = false;
  #closing: Promise<void> | null = null;
  #inFlight = 0;
  #timer: NodeJS.Timeout | null = null;
  #relocating: NodeJS.Timeout | null = null;
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
    this.#client = this.#newClient(true);
    this.#confirmClient = this.#wantsConfirmation() ? this.#newClient(false) : null;
  }

  /** Connects (waiting up to `openTimeoutMs` for Redis), measures the clock and starts the watchdog. */
  static async open<S extends RedisScripts>(scripts: S, options: StoreConnectionOptions): Promise<StoreConnection<S>> {
    const connection = new StoreConnection(scripts, options);
    const giveUpAt = Date.now() + (options.openTimeoutMs ?? 10_000);
    try {
      await withDeadline(connection.#connectAll(), options.openTimeoutMs ?? 10_000);
      // Sentinel: the address may be a replica for a moment; the check replaces such a client.
      while (!connection.#clients().every((client) => connection.#usable(client))) {
        if (Date.now() >= giveUpAt) throw new StoreUnavailableError('Redis answered, but not as the primary.');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await connection.#probe();
    } catch (error) {
      connection.#closed = true;
      for (const client of connection.#clients()) client.destroy();
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
    return this.#runOn(this.#client, fn);
  }

  /**
   * A write made for a caller: when replicas are asked for, it runs on its
   * own connection followed there by `WAIT`, and answers only once that many
   * replicas have it. When they do not confirm in time (or the connection
   * changed between the write and the WAIT, which then proves nothing), the
   * write stands on the primary and NotReplicatedError carries its reply.
   * `confirm` says what the reply needs: 'wrote' (WAIT for it), 'found'
   * (nothing written now, but the answer rests on an earlier write, maybe made
   * on another connection: one small write first, so that the WAIT covers
   * everything before it in the primary's replication stream) or 'nothing'
   * (a refusal: nothing to confirm).
   */
  async runConfirmed<T>(
    fn: (client: StoreClient<S>) => Promise<T>,
    confirm: (value: T) => 'wrote' | 'found' | 'nothing',
  ): Promise<T> {
    const client = this.#confirmClient;
    const replication = this.options.replication;
    if (client === null || replication === undefined) return this.run(fn);
    const connection = this.#readyCount.get(client);
    const value = await this.#runOn(client, fn);
    const needs = confirm(value);
    if (needs === 'nothing') return value;
    let acknowledged = 0;
    try {
      if (client === this.#confirmClient) {
        const batch = this.#joinWait(client, replication, needs === 'found');
        const answer = await withDeadline(batch.answer, replication.timeoutMs + CALL_DEADLINE_MS);
        // A WAIT sent after a reconnect proves nothing about a write made before it.
        if (answer.connection === connection) acknowledged = answer.acknowledged;
      }
    } catch (error) {
      this.#onError(error);
    }
    if (acknowledged < replication.minReplicas) {
      throw new NotReplicatedError(
        value,
        `The change is stored on the Redis primary, but ${acknowledged} of ${replication.minReplicas} replicas confirmed it within ${replication.timeoutMs} ms.`,
      );
    }
    return value;
  }

  /**
   * Group confirmation: every write whose reply arrives before the next turn
   * of the event loop shares one WAIT (and, if any of them needs it, one
   * mark), sent then on the same connection, after all of their writes. A
   * WAIT blocks its connection until the replicas answer; one per batch
   * instead of one per write keeps the writes behind it from queueing.
   */
  #joinWait(
    client: StoreClient<S>,
    replication: ReplicationOptions,
    mark: boolean,
  ): { answer: Promise<{ acknowledged: number; connection: number | undefined }> } {
    let batch = this.#waitBatch;
    if (batch === null || batch.client !== client) {
      const next: WaitBatch<S> = { client, mark: false, answer: Promise.resolve({ acknowledged: 0, connection: 0 }) };
      next.answer = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
        if (this.#waitBatch === next) this.#waitBatch = null;
        const connection = this.#readyCount.get(client);
        const marked = next.mark ? client.incr(replication.markKey) : null;
        marked?.catch(() => {});
        const acknowledged = Number(
          await client.sendCommand(['WAIT', String(replication.minReplicas), String(replication.timeoutMs)]),
        );
        return { acknowledged, connection };
      });
      next.answer.catch(() => {});
      this.#waitBatch = batch = next;
    }
    if (mark) batch.mark = true;
    return batch;
  }

  /** The latest Redis time (ms) a write sent now may still run at; '0' (no limit) until the clock is measured. */
  notAfter(): string {
    if (this.#offset === null) return '0';
    return String(Math.floor(Date.now() + this.#offset + CALL_DEADLINE_MS - LATE_MARGIN_MS));
  }

  isReady(): boolean {
    return !this.#closed && this.#clients().every((client) => this.#usable(client)) && this.#missed === 0;
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
   * The primary moved (Sentinel announced it): every client is replaced at
   * once by one to the new address. Calls in flight on the old ones fail
   * (unavailable: nothing is sent again), and the owner resynchronises.
   */
  primaryMoved(): void {
    if (!this.#closed) this.#replace();
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
    if (this.#relocating) clearTimeout(this.#relocating);
    this.#timer = null;
    await Promise.all(
      this.#clients().map(async (client) => {
        if (client.isReady) {
          try {
            await withDeadline(client.close(), 1000);
            return;
          } catch {
            // Redis went away meanwhile: drop the connection instead.
          }
        }
        client.destroy();
      }),
    );
  }

  async #runOn<T>(client: StoreClient<S>, fn: (client: StoreClient<S>) => Promise<T>): Promise<T> {
    // A connection not yet checked may reach a replica (or a primary Sentinel has replaced): refuse at once.
    if (client.isReady && !this.#checked.has(client)) {
      throw new StoreUnavailableError('The store (Redis) is reconnecting to its primary; nothing was changed.');
    }
    this.#inFlight++;
    try {
      return await withDeadline(fn(client), CALL_DEADLINE_MS);
    } catch (error) {
      // A write reached a replica (a demoted primary), or the cluster moved the slot: look for the primary.
      if (error instanceof ErrorReply && /^(READONLY|MOVED)/.test(error.message))
        this.options.target.primaryOnly?.relocate().catch(() => {});
      throw toStoreError(error);
    } finally {
      this.#inFlight--;
    }
  }

  #clients(): StoreClient<S>[] {
    return this.#confirmClient === null ? [this.#client] : [this.#client, this.#confirmClient];
  }

  #usable(client: StoreClient<S>): boolean {
    return client.isReady && this.#checked.has(client);
  }

  #wantsConfirmation(): boolean {
    return (this.options.replication?.minReplicas ?? 0) > 0;
  }

  async #connectAll(): Promise<void> {
    await Promise.all(this.#clients().map((client) => client.connect()));
  }

  #newClient(main: boolean): StoreClient<S> {
    const client = createStoreClient(this.options.target.address(), this.scripts, this.#onError);
    const { primaryOnly } = this.options.target;
    if (primaryOnly?.unreachable) {
      // Every failed connect or reconnect: the primary may have moved (a cluster has no announcement).
      client.on('error', () => {
        if (!this.#closed) primaryOnly.unreachable!(() => this.isReady());
      });
    }
    client.on('ready', () => {
      this.#readyCount.set(client, (this.#readyCount.get(client) ?? 0) + 1);
      this.#checked.delete(client);
      this.#check(client)
        .then((primary) => {
          if (!primary || this.#closed) return;
          this.#checked.add(client);
          // A reconnect, or a client put in place of one that stopped answering or that reached the old
          // primary: whatever was said through Redis meanwhile (page commands through the adapter) may be
          // lost; the owner resyncs.
          if (main && client === this.#client) {
            if (this.#wasReady) this.options.onRestored?.();
            this.#wasReady = true;
          }
        })
        .catch((error: unknown) => this.#onError(error));
    });
    return client;
  }

  /** Whether the client's new connection reaches the primary; when it does not, looks for it and starts again. */
  async #check(client: StoreClient<S>): Promise<boolean> {
    const primaryOnly = this.options.target.primaryOnly;
    if (primaryOnly === undefined) return true;
    let role: unknown;
    try {
      role = ((await withDeadline(client.sendCommand(['ROLE']), CALL_DEADLINE_MS)) as unknown[])[0];
    } catch {
      // The connection failed already: its next 'ready' checks again.
      return false;
    }
    if (role === 'master') return true;
    if (client === this.#client || client === this.#confirmClient) this.#relocate(primaryOnly);
    return false;
  }

  /** Asks where the primary is, then replaces the clients (not more than five times a second). */
  #relocate(primaryOnly: { relocate(): Promise<void> }): void {
    if (this.#relocating !== null) return;
    this.#relocating = setTimeout(() => {
      primaryOnly
        .relocate()
        .catch((error: unknown) => this.#onError(error))
        .finally(() => {
          this.#relocating = null;
          if (!this.#closed) this.#replace();
        });
    }, 200);
    this.#relocating.unref();
  }

  #startWatchdog(): void {
    this.#timer = setInterval(() => this.#tick(), this.options.probeEveryMs ?? 1000);
    this.#timer.unref();
  }

  #tick(): void {
    if (this.#closed) return;
    const client = this.#client;
    if (!this.#clients().every((each) => each.isOpen && each.isReady)) {
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
    this.#probe(client).catch(() => {});
  }

  /** TIME: proves the connection answers, and gives the Redis clock. */
  async #probe(client: StoreClient<S> = this.#client): Promise<void> {
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

  /** Drops the current clients (their calls in flight fail) and connects new ones in the background. */
  #replace(): void {
    const old = this.#clients();
    this.#client = this.#newClient(true);
    this.#confirmClient = this.#wantsConfirmation() ? this.#newClient(false) : null;
    this.#replaced++;
    this.#probeInFlight = false;
    this.#missed = 0;
    this.#notReadyTicks = 0;
    for (const client of old) client.destroy();
    for (const client of this.#clients()) client.connect().catch(() => {});
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
