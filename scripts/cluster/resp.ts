/**
 * A small RESP2 client for watching local Redis topologies: one socket, one
 * command at a time or a subscription, no reconnection, no retry. The
 * launchers ask nodes and sentinels about roles and links, and must see a
 * dead node as dead (a refused connection, an error), which a client that
 * reconnects and re-sends by itself would hide.
 */
import { Socket } from 'node:net';

export type RespValue = string | number | null | RespValue[];

/** An error reply (`-ERR …`, `-NOAUTH …`), as opposed to a broken connection. */
export class RespError extends Error {}

/** Where a Redis process (data node, sentinel) listens. */
export interface Address {
  host: string;
  port: number;
}

export interface RespAddress {
  host?: string;
  port: number;
  username?: string;
  password?: string;
}

/** Parses one RESP2 value at `offset`; undefined while the buffer holds only part of it. */
function parse(buffer: Buffer, offset: number): { value: RespValue | RespError; next: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buffer[offset]!);
  const line = buffer.toString('utf8', offset + 1, lineEnd);
  const after = lineEnd + 2;
  switch (type) {
    case '+':
      return { value: line, next: after };
    case '-':
      return { value: new RespError(line), next: after };
    case ':':
      return { value: Number(line), next: after };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, next: after };
      if (buffer.length < after + length + 2) return undefined;
      return { value: buffer.toString('utf8', after, after + length), next: after + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, next: after };
      const items: RespValue[] = [];
      let next = after;
      for (let i = 0; i < count; i++) {
        const item = parse(buffer, next);
        if (!item) return undefined;
        // An error nested in an array (EXEC's replies) is kept as its text.
        items.push(item.value instanceof RespError ? `ERR:${item.value.message}` : item.value);
        next = item.next;
      }
      return { value: items, next };
    }
    default:
      throw new Error(`not RESP: ${JSON.stringify(buffer.toString('utf8', offset, Math.min(lineEnd, offset + 40)))}`);
  }
}

function encode(args: readonly (string | number)[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join('')}`;
}

export class RespConnection {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly pending: { resolve(v: RespValue): void; reject(e: Error): void }[] = [];
  private readonly listeners = new Map<string, (message: string) => void>();
  private closedWith: Error | null = null;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk) => this.receive(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  /** Connects (and authenticates when the address has a password); rejects after `timeoutMs`. */
  static async open(address: RespAddress, timeoutMs = 2000): Promise<RespConnection> {
    const socket = new Socket();
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no connection to ${address.host ?? '127.0.0.1'}:${address.port} in ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.connect(address.port, address.host ?? '127.0.0.1', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve();
      });
    });
    const connection = new RespConnection(socket);
    if (address.password !== undefined) {
      const auth = address.username ? ['AUTH', address.username, address.password] : ['AUTH', address.password];
      await connection.call(auth, timeoutMs).catch((error: unknown) => {
        connection.close();
        throw error;
      });
    }
    return connection;
  }

  /** Sends one command; rejects on an error reply, a broken connection or after `timeoutMs`. */
  async call(args: readonly (string | number)[], timeoutMs = 2000): Promise<RespValue> {
    if (this.closedWith) throw this.closedWith;
    return new Promise<RespValue>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new Error(`${String(args[0])} got no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.push({
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.socket.write(encode(args));
    });
  }

  /** Subscribes to `channel`; `listener` gets each message's payload. */
  async subscribe(channel: string, listener: (message: string) => void): Promise<void> {
    this.listeners.set(channel, listener);
    await this.call(['SUBSCRIBE', channel]);
  }

  /** Called with the error once the connection is gone (closed, refused, timed out). */
  onClose(handler: (error: Error) => void): void {
    this.socket.once('close', () => handler(this.closedWith ?? new Error('connection closed')));
  }

  close(): void {
    this.fail(new Error('connection closed'));
  }

  private receive(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    let offset = 0;
    for (;;) {
      let parsed: ReturnType<typeof parse>;
      try {
        parsed = parse(this.buffer, offset);
      } catch (error) {
        this.fail(error as Error);
        return;
      }
      if (!parsed) break;
      offset = parsed.next;
      const { value } = parsed;
      if (Array.isArray(value) && value[0] === 'message' && this.listeners.size > 0) {
        this.listeners.get(String(value[1]))?.(String(value[2]));
        continue;
      }
      const waiting = this.pending.shift();
      if (value instanceof RespError) waiting?.reject(value);
      else waiting?.resolve(value);
    }
    this.buffer = this.buffer.subarray(offset);
  }

  private fail(error: Error): void {
    if (!this.closedWith) this.closedWith = error;
    for (const waiting of this.pending.splice(0)) waiting.reject(error);
    this.socket.destroy();
  }
}

/** One command on a connection of its own, closed afterwards. */
export async function respCall(
  address: RespAddress,
  args: readonly (string | number)[],
  timeoutMs = 2000,
): Promise<RespValue> {
  const connection = await RespConnection.open(address, timeoutMs);
  try {
    return await connection.call(args, timeoutMs);
  } finally {
    connection.close();
  }
}

/** `INFO` text as a map (`role` → `slave`, `master_link_status` → `up`, …). */
export function infoFields(text: RespValue): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of String(text).split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/** A flat `[key, value, key, value, …]` reply (SENTINEL MASTER, SENTINEL REPLICAS entries) as a map. */
export function pairs(reply: RespValue): Map<string, RespValue> {
  const map = new Map<string, RespValue>();
  if (!Array.isArray(reply)) return map;
  for (let i = 0; i + 1 < reply.length; i += 2) map.set(String(reply[i]), reply[i + 1]!);
  return map;
}
