/**
 * HTTP requests with headers `fetch` will not send as given: undici always
 * writes its own `Host`, and a browser-riding attack is all about `Host`,
 * `Origin` and `Sec-Fetch-Site`. One fresh connection per request.
 */
import { request, type IncomingHttpHeaders } from 'node:http';

export interface RawReply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The parsed JSON body, or the text when it is not JSON. */
  body: any;
}

export interface RawInit {
  method?: string;
  /** Sent as given; a `host` here replaces the one Node would write. */
  headers?: Record<string, string>;
  body?: string;
  /** Resolve once the status and headers are in, then drop the connection (for event streams). */
  headersOnly?: boolean;
}

/** Sends one request to `base` (http://127.0.0.1:port) for `path`. */
export function rawRequest(base: string, path: string, init: RawInit = {}): Promise<RawReply> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: hostname,
        port: Number(port),
        path,
        method: init.method ?? 'GET',
        // Node writes no Content-Length for a DELETE body by itself, which would send it as the next request.
        headers: {
          ...(init.body !== undefined ? { 'content-length': String(Buffer.byteLength(init.body)) } : {}),
          ...init.headers,
        },
        agent: false,
      },
      (response) => {
        const reply = { status: response.statusCode ?? 0, headers: response.headers };
        if (init.headersOnly) {
          response.destroy();
          return resolve({ ...reply, text: '', body: null });
        }
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON: the test will say so
          }
          resolve({ ...reply, text, body });
        });
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}
