/**
 * The console's calls to the backend's REST API (docs/api.md), with the
 * operator's API token as a Bearer header. Any answer that is not a success
 * becomes a Fault, read from the FAULT body when there is one.
 */
import type { FaultBody } from '../protocol/faults.js';

/** Where the backend answers; the console is served by the same origin. */
export const API_PREFIX = '/backend/data';

/** One problem with one field of a request, as the console shows it. */
export interface FaultDetailText {
  path: string;
  message: string;
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object';
const field = (value: unknown, name: string): unknown => (isObject(value) ? value[name] : undefined);

/** A non-2xx answer (or no answer at all: status 0), read from its FAULT body. */
export class Fault extends Error {
  readonly status: number;
  /** The FAULT code; `HTTP_<status>` when the body was not a FAULT, empty when nothing answered. */
  readonly code: string;
  readonly details: FaultDetailText[];
  /** On ALREADY_SETTLED: the state the attempt settled in. */
  readonly settledState: string | null;
  /** Seconds from the Retry-After header, 0 when none. */
  readonly retryAfter: number;

  constructor(status: number, body: unknown, retryAfter: string | null = null) {
    const fault =
      isObject(body) && body.status === 'FAULT' ? (body as Partial<Record<keyof FaultBody, unknown>>) : null;
    super(
      status === 0
        ? 'Could not reach the Beckon server.'
        : fault && typeof fault.message === 'string'
          ? fault.message
          : `The server answered HTTP ${status} without a FAULT body.`,
    );
    this.name = 'Fault';
    this.status = status;
    this.code = status === 0 ? '' : fault ? String(fault.code) : `HTTP_${status}`;
    this.details =
      fault && Array.isArray(fault.details)
        ? fault.details.map((detail: unknown) => ({
            path: String(field(detail, 'path') ?? ''),
            message: String(field(detail, 'message') ?? ''),
          }))
        : [];
    this.settledState = fault && typeof fault.state === 'string' ? fault.state : null;
    this.retryAfter = Number(retryAfter) || 0;
  }
}

/** Where the token comes from: the one in hand, and a way to get another when the server refuses it. */
export interface TokenSource {
  current(): string | null;
  /** Resolves once a token other than `refused` is in hand. */
  replace(refused: string | null): Promise<void>;
}

export interface SendOptions {
  body?: unknown;
  accept?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export class ConsoleApi {
  /** @param origin - where the backend is: empty for the page's own origin, as the console is served */
  constructor(
    private readonly tokens: TokenSource,
    private readonly origin = '',
  ) {}

  /**
   * Sends a request with the token in hand; on 401 asks for a token and sends
   * it again. Resolves with any other answer, as it came; rejects with a
   * Fault of status 0 when nothing answered.
   */
  async send(method: string, path: string, options: SendOptions = {}): Promise<Response> {
    const { body, accept = 'application/json', signal } = options;
    for (;;) {
      const sent = this.tokens.current();
      const headers: Record<string, string> = { Accept: accept, ...options.headers };
      if (sent) headers.Authorization = `Bearer ${sent}`;
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      let response: Response;
      try {
        response = await fetch(this.origin + API_PREFIX + path, {
          method,
          headers,
          body: body === undefined ? null : JSON.stringify(body),
          cache: 'no-store',
          signal: signal ?? null,
        });
      } catch {
        throw new Fault(0, null);
      }
      if (response.status !== 401) return response;
      await this.tokens.replace(sent);
    }
  }

  /** Calls the backend for JSON; any answer but a 2xx with a body is a Fault. */
  async json(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await this.send(method, path, body === undefined ? {} : { body });
    return ConsoleApi.read(response);
  }

  /** A response's JSON body, or its Fault. */
  static async read(response: Response): Promise<unknown> {
    const data: unknown = await response.json().catch(() => null);
    if (response.ok && data !== null) return data;
    throw new Fault(response.status, data, response.headers.get('Retry-After'));
  }
}
