/** autocannon against an engage route, each request to the next visit of a list (round robin). */
import autocannon from 'autocannon';
import { ENGAGE_PATH, engageBody } from './engage.js';

export interface LoadResult {
  requestsPerSecond: number;
  total: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  latency: { p50: number; p99: number; max: number };
  /** FAULT codes of refused calls, counted. */
  faults: Record<string, number>;
}

export interface LoadOptions {
  url: string;
  visitIds: readonly string[];
  /** interactionIds are `${prefix}-${n}`: unique within a run. */
  prefix: string;
  seconds: number;
  connections: number;
}

export async function engageLoad(options: LoadOptions): Promise<LoadResult> {
  let n = 0;
  const faults: Record<string, number> = {};
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    pipelining: 1,
    duration: options.seconds,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        path: ENGAGE_PATH,
        headers: { 'content-type': 'application/json' },
        setupRequest: (request) => {
          const i = n++;
          return {
            ...request,
            body: engageBody(`${options.prefix}-${i}`, options.visitIds[i % options.visitIds.length]!),
          };
        },
        onResponse: (status, body) => {
          if (status === 200) return;
          let code = `HTTP ${status}`;
          try {
            code = (JSON.parse(body) as { code?: string }).code ?? code;
          } catch {
            // not JSON
          }
          faults[code] = (faults[code] ?? 0) + 1;
        },
      },
    ],
  });
  return {
    requestsPerSecond: result.requests.average,
    total: result.requests.total,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    latency: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    faults,
  };
}
