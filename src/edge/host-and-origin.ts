/**
 * The operator's browser is not a trusted caller (docs/security.md). Every
 * website it visits can make it send requests to Beckon, with whatever
 * credentials it holds; two rules keep such requests away from visitors'
 * data:
 *
 * - Host. A page on a DNS-rebinding domain (`rebound.example`, made to
 *   resolve to 127.0.0.1 after the page loaded) is same-origin with itself,
 *   so the browser lets it read Beckon's answers. Only the Host header, which
 *   still names `rebound.example`, tells it apart: a request must name a host
 *   Beckon answers to.
 * - Origin. A browser marks a request another site makes (a form that posts
 *   itself, a fetch) with `Origin` and `Sec-Fetch-Site`. The REST API refuses
 *   any such mark that is not Beckon's own origin, before looking at
 *   credentials, because a browser attaches cached credentials to those
 *   requests too. Strategies and scripts send neither header.
 *
 * The decisions are pure functions of header values, so the HTTP hook and
 * socket.io's handshake check decide alike.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';
import type { FastifyRequest } from 'fastify';

/** A host as Host, X-Forwarded-Host or an origin names it: lowercase, no trailing dot. */
export interface Authority {
  /** A DNS name, a dotted IPv4 address, or an IPv6 address in brackets. */
  hostname: string;
  /** null when the header leaves it out (the scheme's default port). */
  port: number | null;
}

/** Which host names a request may name (beyond the IP literals and `localhost`, always answered). */
export interface HostRule {
  /** `BECKON_ALLOWED_HOSTS=*`: the Host check is off. */
  any: boolean;
  /** Exact names. */
  names: ReadonlySet<string>;
  /** From `.example.com` entries (kept without the dot): that name and every name under it. */
  suffixes: readonly string[];
}

const AUTHORITY = /^(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(?::(\d{1,5}))?$/;
const DNS_NAME = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/;

/**
 * Reads `host[:port]` strictly: a DNS name, an IPv4 address or a bracketed
 * IPv6 address, and an optional port. Anything else (user info, a path,
 * spaces, an empty port) is null, which every check treats as a stranger.
 */
export function parseAuthority(value: string): Authority | null {
  const match = AUTHORITY.exec(value.trim().toLowerCase());
  if (!match) return null;
  let hostname = match[1]!;
  const port = match[2] === undefined ? null : Number(match[2]);
  if (port !== null && port > 65_535) return null;
  if (hostname.startsWith('[')) {
    if (!isIPv6(hostname.slice(1, -1))) return null;
  } else {
    // `localhost.` is the fully qualified `localhost`: the same name.
    if (hostname.endsWith('.')) hostname = hostname.slice(0, -1);
    if (!DNS_NAME.test(hostname)) return null;
  }
  return { hostname, port };
}

/** An IP address written as such: a page addressed by one cannot have been rebound by DNS. */
export function isIpLiteral(hostname: string): boolean {
  return isIPv4(hostname) || (hostname.startsWith('[') && isIPv6(hostname.slice(1, -1)));
}

/**
 * One entry of `BECKON_ALLOWED_HOSTS`, normalised: `*`, a name
 * (`beckon.example.com`), or `.example.com` for that name and its
 * subdomains. null when it is none of these (a scheme or a port included).
 */
export function parseAllowedHost(entry: string): string | null {
  const text = entry.trim().toLowerCase();
  if (text === '*') return '*';
  const subdomains = text.startsWith('.');
  const authority = parseAuthority(subdomains ? text.slice(1) : text);
  if (authority === null || authority.port !== null || authority.hostname === '') return null;
  if (subdomains && isIpLiteral(authority.hostname)) return null;
  return subdomains ? `.${authority.hostname}` : authority.hostname;
}

/**
 * The rule from the configuration: the listen address `HOST` when it is a
 * name (`0.0.0.0` and other addresses are not names; every IP literal is
 * answered anyway), plus the `BECKON_ALLOWED_HOSTS` entries.
 */
export function hostRule(listenHost: string, allowedHosts: readonly string[]): HostRule {
  const names = new Set<string>();
  const suffixes: string[] = [];
  const listen = parseAuthority(listenHost);
  if (listen !== null && !isIpLiteral(listen.hostname)) names.add(listen.hostname);
  for (const entry of allowedHosts) {
    if (entry.startsWith('.')) suffixes.push(entry.slice(1));
    else if (entry !== '*') names.add(entry);
  }
  return { any: allowedHosts.includes('*'), names, suffixes };
}

/** Whether Beckon answers to this host name (from parseAuthority). */
export function isHostAllowed(hostname: string, rule: HostRule): boolean {
  if (rule.any || hostname === 'localhost' || isIpLiteral(hostname) || rule.names.has(hostname)) return true;
  return rule.suffixes.some((suffix) => hostname === suffix || hostname.endsWith(`.${suffix}`));
}

/** The entries of a header a proxy may append to (`a, b`), in order, empty ones dropped. */
function listHeader(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value.join(',') : value)
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
}

/**
 * The host the client asked for: behind trusted proxies the last
 * X-Forwarded-Host entry (the nearest proxy's, as Fastify reads it), else
 * Host. undefined when the request names none (HTTP/1.0).
 */
export function requestedHost(headers: IncomingHttpHeaders, trustProxy: number): string | undefined {
  const forwarded = trustProxy > 0 ? listHeader(headers['x-forwarded-host']) : [];
  return forwarded.at(-1) ?? headers.host;
}

export type HostVerdict = { allowed: true } | { allowed: false; hostname: string | null };

/**
 * Judges every host a request names: Host always, and X-Forwarded-Host behind
 * trusted proxies (a client can send that header itself, through a proxy that
 * passes it on, so it can only narrow what Host allows, never widen it).
 * A request naming no host at all is not from a browser, so not a rebound page.
 */
export function judgeHost(headers: IncomingHttpHeaders, rule: HostRule, trustProxy: number): HostVerdict {
  if (rule.any) return { allowed: true };
  const named = headers.host === undefined ? [] : [headers.host];
  if (trustProxy > 0) named.push(...listHeader(headers['x-forwarded-host']));
  for (const value of named) {
    const authority = parseAuthority(value);
    if (authority === null) return { allowed: false, hostname: null };
    if (!isHostAllowed(authority.hostname, rule)) return { allowed: false, hostname: authority.hostname };
  }
  return { allowed: true };
}

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };

/**
 * Whether `origin` (an Origin header) is Beckon's own origin: the same host
 * and port as the host the request was sent to (see requestedHost). The
 * scheme is not compared: behind a proxy that ends TLS Beckon cannot know
 * its own, and one host and port never serve both. `null` (an opaque origin:
 * a sandboxed frame, a redirect from elsewhere) is never Beckon's own.
 */
export function isOwnOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  const url = URL.parse(origin);
  if (url === null || !Object.hasOwn(DEFAULT_PORTS, url.protocol)) return false;
  const from = parseAuthority(url.host);
  const own = parseAuthority(host);
  if (from === null || own === null) return false;
  // Browsers leave the scheme's default port out of both headers; a proxy may write it in.
  const defaultPort = DEFAULT_PORTS[url.protocol]!;
  return from.hostname === own.hostname && (from.port ?? defaultPort) === (own.port ?? defaultPort);
}

/** Sec-Fetch-Site values of requests Beckon's own pages make (`same-origin`) or a person types (`none`). */
const OWN_FETCH_SITES = new Set(['same-origin', 'none']);

/**
 * Whether a browser marked this request as made by another site. Only
 * `same-origin` and `none` pass: `same-site` includes another port of the same
 * host (another local server), which is another origin. No marks at all (a
 * strategy, a script, curl) pass.
 */
export function isCrossSite(headers: IncomingHttpHeaders, trustProxy: number): boolean {
  const site = headers['sec-fetch-site'];
  if (site !== undefined && !OWN_FETCH_SITES.has(site)) return true;
  const origin = headers.origin;
  return origin !== undefined && !isOwnOrigin(origin, requestedHost(headers, trustProxy));
}

const under = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`);

/**
 * Whether a request is for a data path (`paths`: the API prefixes and
 * `/metrics`, each with everything under it). The route's pattern counts as
 * well as the raw path, so that no spelling of a URL (percent-encoded,
 * absolute-form) reaches a data route unguarded.
 */
export function isDataRequest(
  request: Pick<FastifyRequest, 'url' | 'routeOptions'>,
  paths: readonly string[],
): boolean {
  const path = request.url.split('?', 1)[0]!;
  const route = request.routeOptions.url;
  return paths.some((prefix) => under(path, prefix) || (route !== undefined && under(route, prefix)));
}

export interface BrowserRefusal {
  code: 'HOST_NOT_ALLOWED' | 'CROSS_SITE_REQUEST';
  /** Set when it says more than the FAULT table's sentence. */
  message?: string;
}

/**
 * Why a data request is refused before anything else, or null: a Host Beckon
 * does not answer to first (HOST_NOT_ALLOWED), then a mark of another site
 * (CROSS_SITE_REQUEST).
 */
export function browserRefusal(
  headers: IncomingHttpHeaders,
  hosts: HostRule,
  trustProxy: number,
): BrowserRefusal | null {
  const host = judgeHost(headers, hosts, trustProxy);
  if (!host.allowed) {
    // The name is shown only when it is a plausible one; it came from the caller.
    if (host.hostname === null || host.hostname.length > 253) return { code: 'HOST_NOT_ALLOWED' };
    return {
      code: 'HOST_NOT_ALLOWED',
      message: `This server does not answer to the host name "${host.hostname}"; an operator can add it to BECKON_ALLOWED_HOSTS.`,
    };
  }
  return isCrossSite(headers, trustProxy) ? { code: 'CROSS_SITE_REQUEST' } : null;
}
