/**
 * What a visitor socket must pass before the handshake even starts
 * (docs/protocol.md): a Host Beckon answers to (so that a page on a
 * DNS-rebinding domain cannot open a socket, whose own origin it would
 * otherwise be), an allowed origin, and a per-address budget of new
 * connections, so that one host cannot exhaust the server by connecting in a
 * loop. Message size is capped by socket.io itself (`maxHttpBufferSize`, see
 * app.ts).
 */
import type { IncomingMessage } from 'node:http';
import { clientAddress } from '../edge/client-address.js';
import { judgeHost, type HostRule } from '../edge/host-and-origin.js';
import { isOriginAllowed } from './origins.js';

/** A fixed one-minute window per address; old windows are forgotten as the map grows. */
export class ConnectionLimiter {
  private readonly windows = new Map<string, { startedAt: number; count: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one connection from `address`; false when it is over its budget for this minute. */
  allow(address: string): boolean {
    const at = this.now();
    let window = this.windows.get(address);
    if (!window || at - window.startedAt >= 60_000) {
      if (this.windows.size >= 10_000) this.forgetExpired(at);
      window = { startedAt: at, count: 0 };
      this.windows.set(address, window);
    }
    window.count++;
    return window.count <= this.perMinute;
  }

  private forgetExpired(at: number): void {
    for (const [address, window] of this.windows) if (at - window.startedAt >= 60_000) this.windows.delete(address);
  }
}

export type HandshakeRefusal = 'host' | 'origin' | 'rate_limited';

export interface HandshakeRules {
  /** The same Host rule as the REST API's data routes. */
  hosts: HostRule;
  allowedOrigins: readonly string[] | null;
  limiter: ConnectionLimiter;
  trustProxy: number;
  onRefused?: (reason: HandshakeRefusal) => void;
}

/** socket.io's `allowRequest`: runs once per new connection, before any Beckon code. */
export function admitHandshake(rules: HandshakeRules) {
  return (request: IncomingMessage, callback: (err: string | null | undefined, success: boolean) => void): void => {
    // Host and origin first: refused handshakes do not spend the address's budget.
    if (!judgeHost(request.headers, rules.hosts, rules.trustProxy).allowed) {
      rules.onRefused?.('host');
      return callback('HOST_NOT_ALLOWED', false);
    }
    if (!isOriginAllowed(request, rules.allowedOrigins)) {
      rules.onRefused?.('origin');
      return callback('ORIGIN_NOT_ALLOWED', false);
    }
    if (!rules.limiter.allow(clientAddress(request, rules.trustProxy))) {
      rules.onRefused?.('rate_limited');
      return callback('RATE_LIMITED', false);
    }
    callback(null, true);
  };
}

/**
 * The per-page budget of business events and identity messages
 * (docs/decisions.md, "Visitor context"): a sliding window of the times of
 * the last `max` messages each page had stored. It lives in this node's
 * memory, keyed by pageId (so a reconnect of the page to this node keeps its
 * window); pages silent for a whole window are forgotten as the map grows,
 * in one sweep a window at most.
 */
export class PageEventLimiter {
  private readonly pages = new Map<string, number[]>();
  private sweptAt = -Infinity;

  constructor(
    private readonly rate: { readonly max: number; readonly windowMs: number },
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one message of `pageId` from its budget; false (nothing taken) when the window is full. */
  take(pageId: string): boolean {
    const at = this.now();
    let times = this.pages.get(pageId);
    if (!times) {
      // At most one sweep a window: with more pages busy than the threshold, each new page must not scan them all.
      if (this.pages.size >= 10_000 && at - this.sweptAt >= this.rate.windowMs) this.forgetQuiet(at);
      times = [];
      this.pages.set(pageId, times);
    }
    while (times.length > 0 && at - times[0]! >= this.rate.windowMs) times.shift();
    if (times.length >= this.rate.max) return false;
    times.push(at);
    return true;
  }

  /** Gives back the place `take` took last for `pageId`: that message was not stored after all. */
  giveBack(pageId: string): void {
    this.pages.get(pageId)?.pop();
  }

  private forgetQuiet(at: number): void {
    this.sweptAt = at;
    for (const [pageId, times] of this.pages) {
      if (times.length === 0 || at - times[times.length - 1]! >= this.rate.windowMs) this.pages.delete(pageId);
    }
  }
}
