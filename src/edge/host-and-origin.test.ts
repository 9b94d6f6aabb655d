import { describe, expect, it } from 'vitest';
import {
  browserRefusal,
  hostRule,
  isCrossSite,
  isDataRequest,
  isHostAllowed,
  isOwnOrigin,
  judgeHost,
  parseAllowedHost,
  parseAuthority,
  requestedHost,
} from './host-and-origin.js';

describe('parseAuthority', () => {
  it('reads a name, an IPv4 or a bracketed IPv6 address, with or without a port, lowercase', () => {
    expect(parseAuthority('localhost:9081')).toEqual({ hostname: 'localhost', port: 9081 });
    expect(parseAuthority('Beckon.Example.COM')).toEqual({ hostname: 'beckon.example.com', port: null });
    expect(parseAuthority('127.0.0.1:80')).toEqual({ hostname: '127.0.0.1', port: 80 });
    expect(parseAuthority('[::1]:9081')).toEqual({ hostname: '[::1]', port: 9081 });
    expect(parseAuthority('[2001:DB8::1]')).toEqual({ hostname: '[2001:db8::1]', port: null });
  });

  it('drops the trailing dot of a fully qualified name', () => {
    expect(parseAuthority('localhost.:9081')).toEqual({ hostname: 'localhost', port: 9081 });
    expect(parseAuthority('beckon.example.com.')).toEqual({ hostname: 'beckon.example.com', port: null });
    expect(parseAuthority('localhost..')).toBeNull();
  });

  it('refuses anything that is not host[:port]', () => {
    for (const bad of [
      '',
      ':9081',
      'localhost:',
      'localhost:65536',
      'localhost:9081:1',
      'evil.example@localhost',
      'localhost/x',
      'local host',
      '[::1',
      '[not-ipv6]:80',
      '[fe80::1%25eth0]',
      'ex\u00e4mple.com',
      '.',
    ]) {
      expect(parseAuthority(bad), JSON.stringify(bad)).toBeNull();
    }
  });
});

describe('parseAllowedHost', () => {
  it('keeps names, .subdomain entries and *, normalised', () => {
    expect(parseAllowedHost(' Beckon.Example.com ')).toBe('beckon.example.com');
    expect(parseAllowedHost('.example.com')).toBe('.example.com');
    expect(parseAllowedHost('beckon.example.com.')).toBe('beckon.example.com');
    expect(parseAllowedHost('*')).toBe('*');
    expect(parseAllowedHost('10.0.0.5')).toBe('10.0.0.5');
  });

  it('refuses a scheme, a port, a path, a wildcard other than * and a subdomain entry of an address', () => {
    for (const bad of [
      'https://beckon.example.com',
      'beckon.example.com:443',
      'beckon.example.com/x',
      '*.example.com',
      '.',
      '.10.0.0.5',
      '',
    ]) {
      expect(parseAllowedHost(bad), bad).toBeNull();
    }
  });
});

describe('the Host rule', () => {
  const none = hostRule('0.0.0.0', []);

  it('answers to localhost and to any IP literal, whatever the configuration', () => {
    for (const name of ['localhost', '127.0.0.1', '[::1]', '10.1.2.3', '[2001:db8::1]'])
      expect(isHostAllowed(name, none), name).toBe(true);
    for (const name of [
      'rebound.example',
      'localhost.rebound.example',
      '127.0.0.1.rebound.example',
      '2130706433',
      '0x7f.1',
      'sub.localhost',
    ]) {
      expect(isHostAllowed(name, none), name).toBe(false);
    }
  });

  it('adds HOST when it is a name, never 0.0.0.0 or :: as names', () => {
    expect(isHostAllowed('beckon.internal', hostRule('Beckon.Internal', []))).toBe(true);
    expect([...hostRule('0.0.0.0', []).names]).toEqual([]);
    expect([...hostRule('::', []).names]).toEqual([]);
  });

  it('adds exact names and .suffix entries (the name itself and every subdomain)', () => {
    const rule = hostRule('0.0.0.0', ['beckon.example.com', '.corp.example']);
    expect(isHostAllowed('beckon.example.com', rule)).toBe(true);
    expect(isHostAllowed('www.beckon.example.com', rule)).toBe(false);
    expect(isHostAllowed('corp.example', rule)).toBe(true);
    expect(isHostAllowed('a.b.corp.example', rule)).toBe(true);
    expect(isHostAllowed('evilcorp.example', rule)).toBe(false);
    expect(isHostAllowed('corp.example.evil', rule)).toBe(false);
  });

  it('lets * answer every name', () => {
    expect(isHostAllowed('rebound.example', hostRule('0.0.0.0', ['*']))).toBe(true);
    expect(judgeHost({ host: 'not a host' }, hostRule('0.0.0.0', ['*']), 0)).toEqual({ allowed: true });
  });

  it('judges the Host header by its name, whatever the port, and names the stranger', () => {
    expect(judgeHost({ host: 'localhost:1234' }, none, 0)).toEqual({ allowed: true });
    expect(judgeHost({ host: 'LOCALHOST.:9081' }, none, 0)).toEqual({ allowed: true });
    expect(judgeHost({ host: '[::1]:9081' }, none, 0)).toEqual({ allowed: true });
    expect(judgeHost({ host: 'rebound.example:9081' }, none, 0)).toEqual({
      allowed: false,
      hostname: 'rebound.example',
    });
    expect(judgeHost({ host: 'evil@localhost' }, none, 0)).toEqual({ allowed: false, hostname: null });
  });

  it('lets a request with no Host through (HTTP/1.0; no browser sends one)', () => {
    expect(judgeHost({}, none, 0)).toEqual({ allowed: true });
  });

  it('ignores X-Forwarded-Host without trusted proxies, and judges every entry of it with them', () => {
    expect(judgeHost({ host: 'localhost', 'x-forwarded-host': 'rebound.example' }, none, 0)).toEqual({ allowed: true });
    const rule = hostRule('0.0.0.0', ['beckon.example.com']);
    expect(judgeHost({ host: '127.0.0.1:9081', 'x-forwarded-host': 'beckon.example.com' }, rule, 1)).toEqual({
      allowed: true,
    });
    expect(judgeHost({ host: '127.0.0.1:9081', 'x-forwarded-host': 'rebound.example' }, rule, 1)).toMatchObject({
      allowed: false,
    });
    expect(
      judgeHost({ host: '127.0.0.1', 'x-forwarded-host': 'rebound.example, beckon.example.com' }, rule, 1),
    ).toMatchObject({
      allowed: false,
    });
    // A forwarded name cannot widen what Host allows: a proxy may pass the client's own header on.
    expect(judgeHost({ host: 'rebound.example', 'x-forwarded-host': 'localhost' }, rule, 1)).toMatchObject({
      allowed: false,
    });
  });
});

describe('requestedHost', () => {
  it('is Host, or the last X-Forwarded-Host entry behind trusted proxies', () => {
    expect(requestedHost({ host: 'a:1', 'x-forwarded-host': 'b, c' }, 0)).toBe('a:1');
    expect(requestedHost({ host: 'a:1', 'x-forwarded-host': 'b, c' }, 1)).toBe('c');
    expect(requestedHost({ host: 'a:1', 'x-forwarded-host': '' }, 1)).toBe('a:1');
    expect(requestedHost({}, 1)).toBeUndefined();
  });
});

describe('isOwnOrigin', () => {
  it('is the same host and port as the request was sent to, the scheme aside', () => {
    expect(isOwnOrigin('http://127.0.0.1:9081', '127.0.0.1:9081')).toBe(true);
    expect(isOwnOrigin('http://LOCALHOST:9081', 'localhost:9081')).toBe(true);
    expect(isOwnOrigin('http://[::1]:9081', '[::1]:9081')).toBe(true);
    expect(isOwnOrigin('https://beckon.example.com', 'beckon.example.com')).toBe(true);
    // A proxy may write the default port that browsers leave out.
    expect(isOwnOrigin('https://beckon.example.com', 'beckon.example.com:443')).toBe(true);
    expect(isOwnOrigin('http://beckon.example.com', 'beckon.example.com:80')).toBe(true);
    expect(isOwnOrigin('http://localhost.:9081', 'localhost:9081')).toBe(true);
  });

  it('is not another host, another port of the same host, an opaque origin or no host at all', () => {
    expect(isOwnOrigin('http://evil.example', '127.0.0.1:9081')).toBe(false);
    expect(isOwnOrigin('http://localhost:9081', '127.0.0.1:9081')).toBe(false);
    expect(isOwnOrigin('http://127.0.0.1:5173', '127.0.0.1:9081')).toBe(false);
    expect(isOwnOrigin('http://127.0.0.1', '127.0.0.1:9081')).toBe(false);
    expect(isOwnOrigin('https://beckon.example.com:8443', 'beckon.example.com')).toBe(false);
    expect(isOwnOrigin('null', '127.0.0.1:9081')).toBe(false);
    expect(isOwnOrigin('file://', 'localhost')).toBe(false);
    expect(isOwnOrigin('chrome-extension://abc', 'abc')).toBe(false);
    expect(isOwnOrigin('not a url', '127.0.0.1:9081')).toBe(false);
    expect(isOwnOrigin('http://127.0.0.1:9081', undefined)).toBe(false);
    expect(isOwnOrigin('http://127.0.0.1:9081', 'garbage host')).toBe(false);
  });
});

describe('isCrossSite', () => {
  const host = '127.0.0.1:9081';

  it('passes callers that send no browser marks (strategies, scripts) and Beckon’s own pages', () => {
    expect(isCrossSite({ host }, 0)).toBe(false);
    expect(isCrossSite({ host, origin: 'http://127.0.0.1:9081', 'sec-fetch-site': 'same-origin' }, 0)).toBe(false);
    expect(isCrossSite({ host, 'sec-fetch-site': 'same-origin' }, 0)).toBe(false);
    // Typed in the address bar, or a bookmark.
    expect(isCrossSite({ host, 'sec-fetch-site': 'none' }, 0)).toBe(false);
  });

  it('refuses another origin, an opaque one, and every Sec-Fetch-Site but same-origin and none', () => {
    expect(isCrossSite({ host, origin: 'http://evil.example' }, 0)).toBe(true);
    expect(isCrossSite({ host, origin: 'null' }, 0)).toBe(true);
    expect(isCrossSite({ host, 'sec-fetch-site': 'cross-site' }, 0)).toBe(true);
    // Another port of the same host is the same site but another origin.
    expect(isCrossSite({ host, 'sec-fetch-site': 'same-site' }, 0)).toBe(true);
    expect(isCrossSite({ host, origin: 'http://127.0.0.1:5173', 'sec-fetch-site': 'same-site' }, 0)).toBe(true);
    expect(isCrossSite({ host, 'sec-fetch-site': 'same-origin, cross-site' }, 0)).toBe(true);
    expect(isCrossSite({ origin: 'http://127.0.0.1:9081' }, 0)).toBe(true);
  });

  it('behind trusted proxies, compares with the forwarded host', () => {
    const headers = {
      host: '127.0.0.1:9081',
      'x-forwarded-host': 'beckon.example.com',
      origin: 'https://beckon.example.com',
    };
    expect(isCrossSite(headers, 1)).toBe(false);
    expect(isCrossSite(headers, 0)).toBe(true);
    expect(isCrossSite({ ...headers, origin: 'https://127.0.0.1:9081' }, 1)).toBe(true);
  });
});

describe('browserRefusal', () => {
  const hosts = hostRule('0.0.0.0', []);

  it('judges the Host first, naming a plausible stranger, then the marks of another site', () => {
    expect(browserRefusal({ host: 'rebound.example:9081', origin: 'http://evil.example' }, hosts, 0)).toEqual({
      code: 'HOST_NOT_ALLOWED',
      message:
        'This server does not answer to the host name "rebound.example"; an operator can add it to BECKON_ALLOWED_HOSTS.',
    });
    expect(browserRefusal({ host: 'evil@localhost' }, hosts, 0)).toEqual({ code: 'HOST_NOT_ALLOWED' });
    expect(browserRefusal({ host: `${'a'.repeat(300)}.example` }, hosts, 0)).toEqual({ code: 'HOST_NOT_ALLOWED' });
    expect(browserRefusal({ host: 'localhost:9081', origin: 'http://evil.example' }, hosts, 0)).toEqual({
      code: 'CROSS_SITE_REQUEST',
    });
    expect(browserRefusal({ host: 'localhost:9081', origin: 'http://localhost:9081' }, hosts, 0)).toBeNull();
  });
});

describe('isDataRequest', () => {
  const paths = ['/backend/data', '/server/data', '/metrics'];
  const request = (url: string, route?: string) =>
    ({ url, routeOptions: { url: route } }) as Parameters<typeof isDataRequest>[0];

  it('covers each data path and everything under it, by raw path or by route pattern', () => {
    expect(isDataRequest(request('/backend/data/visits?x=1', '/backend/data/visits'), paths)).toBe(true);
    expect(isDataRequest(request('/server/data'), paths)).toBe(true);
    expect(isDataRequest(request('/metrics'), paths)).toBe(true);
    expect(isDataRequest(request('/backend/data/no-such-route'), paths)).toBe(true);
    // Spellings the router resolves to a data route while the raw path does not start with its prefix.
    expect(isDataRequest(request('/%62ackend/data/visits', '/backend/data/visits'), paths)).toBe(true);
    expect(isDataRequest(request('http://h/backend/data/visits', '/backend/data/visits'), paths)).toBe(true);
  });

  it('leaves the pages, the widget, the health checks and look-alike paths alone', () => {
    for (const url of [
      '/',
      '/console/',
      '/widget/beckon.js',
      '/healthz',
      '/readyz',
      '/openapi.json',
      '/metricsx',
      '/backend/database',
    ]) {
      expect(isDataRequest(request(url, url), paths), url).toBe(false);
    }
  });
});
