/**
 * Hostile input (docs/security.md): bad input of any kind gets a clear FAULT
 * and changes nothing; the process never crashes on input. fast-check throws
 * generated malformed requests at a real server (port 0, real fetch) and
 * malformed events at it over real socket.io connections, then proves that
 * every answer was a FAULT of the right status, that the store is byte for
 * byte what it was, that no prototype was polluted, and that the server
 * still serves.
 *
 * Requests also carry random browser marks: a Host Beckon does not answer to
 * (a DNS-rebinding page), an Origin or Sec-Fetch-Site of another site. Those
 * must be refused before anything else (421, 403), and a handshake with them
 * never opens a visit, even with a valid page description.
 *
 * Every generated request is malformed by construction: engage always names
 * a visit that is not live and carries at least one field out of range (a
 * well-formed engage for a dead visit is refused, and the funnel report
 * counts that refusal: it is not bad input), and noengage always carries an
 * invalid interactionId (any valid one would record a cancellation).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULTS, faultBodySchema } from '../src/protocol/index.js';
import { storeSnapshot } from './store-snapshot.js';
import { startServer, TestPage, type TestServer } from './support.js';
// Raw HTTP, because fetch always writes its own Host.
import { rawRequest } from './raw-request.js';

let server: TestServer;
let page: TestPage;

beforeAll(async () => {
  // No throttling here: the point is to reach the parsers, not the limiter.
  server = await startServer({ rateLimitPerMinute: 1_000_000, socketConnectionsPerMinute: 1_000_000, strict: false });
  page = await TestPage.open(server.url);
});
afterAll(async () => {
  page.close();
  await server.close();
});

// ─── generators ─────────────────────────────────────────────────────────────

const UNICODE_EDGES = [
  '\u0000',
  '\uFEFF', // byte-order mark
  '\u202E', // right-to-left override
  '\u2028',
  '\uD800', // lone surrogates
  '\uDFFF',
  '\u{1F600}',
  'e\u0301',
  '\u{10FFFF}',
  '%00',
  '%E0%A4%A',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '${7*7}',
];

const hostileText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.string({ unit: 'binary-ascii', maxLength: 64 }),
  fc.constantFrom(...UNICODE_EDGES),
  fc.array(fc.constantFrom(...UNICODE_EDGES), { minLength: 1, maxLength: 8 }).map((parts) => parts.join('')),
);

const hugeText = fc.integer({ min: 2_000, max: 60_000 }).map((n) => 'é'.repeat(n));

const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({ maxDepth: 3, maxKeys: 5, withNullPrototype: true, withBigInt: false }),
  hostileText,
  fc.double(),
  fc.integer(),
  fc.constantFrom(null, true, false, [], {}, -1, 0, 1e308, Number.MAX_SAFE_INTEGER + 2),
);

/** A value that can never be a valid interactionId. */
const invalidId = fc.oneof(
  fc.constantFrom('', null, true, 0, [], {}, ['a']),
  fc.integer(),
  fc.double(),
  fc.string({ minLength: 129, maxLength: 400 }),
  fc
    .tuple(fc.string({ maxLength: 20 }), fc.integer({ min: 0, max: 31 }), fc.string({ maxLength: 20 }))
    .map(([a, control, b]) => `${a}${String.fromCharCode(control)}${b}`),
);

/** A visitId that is never a live visit (random text, or not text at all). */
const deadVisit = fc.oneof(
  hostileText.map((text) => `dead-${text}`),
  anyValue,
);

const PROFILE_KEYS = [
  'interactionId',
  'interactionID',
  'ixnId',
  'visitId',
  'visitID',
  'pageId',
  'pageID',
  'channels',
  'invitation',
  'timeoutSeconds',
  'expirationSeconds',
  'userData',
];

/** An ixnProfile with random values under known and unknown keys; its visit is never live. */
const profile = fc
  .tuple(
    fc.dictionary(fc.oneof(fc.constantFrom(...PROFILE_KEYS), hostileText), anyValue, { maxKeys: 8 }),
    deadVisit,
    fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), invalidId),
    fc.record(
      {
        invitation: fc.record({ title: fc.oneof(hugeText, hostileText), message: anyValue }, { requiredKeys: [] }),
        timeoutSeconds: fc.oneof(
          fc.integer({ min: -1000, max: 4 }),
          fc.integer({ min: 601, max: 10 ** 9 }),
          fc.constant('30s'),
        ),
        channels: fc.oneof(fc.array(hostileText), fc.constant([]), anyValue),
        userData: anyValue,
      },
      { requiredKeys: [] },
    ),
  )
  .chain((parts) =>
    fc
      .constantFrom<Record<string, unknown>>(
        { timeoutSeconds: 4 },
        { timeoutSeconds: 601 },
        { expirationSeconds: 9 },
        { channels: ['Not A Channel'] },
        { userData: { nested: { deeper: 1 } } },
        { invitation: { title: 'x'.repeat(121) } },
      )
      .map((outOfRange) => [...parts, outOfRange] as const),
  )
  .map(([random, visitId, interactionId, fields, outOfRange]) => {
    const out: Record<string, unknown> = { ...random, ...fields, ...outOfRange, interactionId, visitId };
    // Aliases of visitId with other values would be refused anyway; drop them so the dead visit is what counts.
    delete out.visitID;
    return out;
  });

interface Case {
  label: string;
  method: string;
  path: string;
  contentType?: string;
  body?: string;
  /** The statuses this case may answer; always a FAULT. */
  statuses: number[];
}

const ENGAGE_PATHS = ['/backend/data/gateway/engage', '/server/data/gateway/engage'];
const NOENGAGE_PATHS = ['/backend/data/gateway/noengage', '/server/data/gateway/noengage'];
const bodyStatus = (body: string) => (Buffer.byteLength(body) > 64 * 1024 ? [413] : [400]);

const engageCases: fc.Arbitrary<Case> = fc
  .tuple(profile, fc.constantFrom(...ENGAGE_PATHS), fc.constantFrom('object', 'json-text', 'form'))
  .map(([p, path, encoding]) => {
    const body =
      encoding === 'form'
        ? new URLSearchParams({ ixnProfile: JSON.stringify(p) }).toString()
        : JSON.stringify({ ixnProfile: encoding === 'object' ? p : JSON.stringify(p) });
    const contentType = encoding === 'form' ? 'application/x-www-form-urlencoded' : 'application/json';
    return { label: `engage/${encoding}`, method: 'POST', path, contentType, body, statuses: bodyStatus(body) };
  });

const noengageCases: fc.Arbitrary<Case> = fc
  .tuple(
    invalidId,
    fc.dictionary(fc.constantFrom('visitId', 'reason', 'visitID', 'extra'), anyValue, { maxKeys: 3 }),
    fc.constantFrom(...NOENGAGE_PATHS),
    fc.boolean(),
  )
  .map(([interactionId, rest, path, asForm]) => {
    const cancel = { ...rest, interactionId };
    delete (cancel as Record<string, unknown>).interactionID;
    const body = asForm
      ? new URLSearchParams({ cancelData: JSON.stringify(cancel) }).toString()
      : JSON.stringify({ cancelData: cancel });
    return {
      label: `noengage/${asForm ? 'form' : 'json'}`,
      method: 'POST',
      path,
      contentType: asForm ? 'application/x-www-form-urlencoded' : 'application/json',
      body,
      statuses: bodyStatus(body),
    };
  });

/** Text that is not JSON: truncated, garbage, or JSON with trailing junk. */
const badJsonCases: fc.Arbitrary<Case> = fc
  .tuple(
    fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }).filter((text) => {
        try {
          JSON.parse(text);
          return false;
        } catch {
          return true;
        }
      }),
      profile
        .map((p) => JSON.stringify({ ixnProfile: p }))
        .chain((text) => fc.integer({ min: 1, max: Math.max(1, text.length - 1) }).map((cut) => text.slice(0, cut))),
      fc.constantFrom(
        '{"ixnProfile":{}}}',
        "{'ixnProfile':1}",
        '{"ixnProfile":NaN}',
        '\uFEFF{"a":1',
        '{"a":1}x',
        '[',
        'nul',
      ),
    ),
    fc.constantFrom(...ENGAGE_PATHS, ...NOENGAGE_PATHS),
  )
  .filter(([text]) => text.trim() !== '')
  .map(([body, path]) => ({
    label: 'bad-json',
    method: 'POST',
    path,
    contentType: 'application/json',
    body,
    statuses: bodyStatus(body),
  }));

/** Deeply nested arrays or objects, inside the parameter or beside it. */
const deepCases: fc.Arbitrary<Case> = fc
  .tuple(
    fc.integer({ min: 9, max: 4000 }),
    fc.boolean(),
    fc.boolean(),
    fc.constantFrom(...ENGAGE_PATHS, ...NOENGAGE_PATHS),
  )
  .map(([depth, arrays, inside, path]) => {
    const nested = arrays
      ? `${'['.repeat(depth)}${']'.repeat(depth)}`
      : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const name = path.endsWith('/noengage') ? 'cancelData' : 'ixnProfile';
    const body = inside
      ? `{"${name}":{"interactionId":"deep","visitId":"dead","x":${nested}}}`
      : `{"${name}":${nested}}`;
    return { label: 'deep', method: 'POST', path, contentType: 'application/json', body, statuses: bodyStatus(body) };
  });

/** `__proto__`, `constructor` and `prototype` keys anywhere, as JSON or as JSON text in a form. */
const prototypeCases: fc.Arbitrary<Case> = fc
  .tuple(
    fc.constantFrom('__proto__', 'constructor', 'prototype'),
    fc.integer({ min: 0, max: 3 }),
    fc.constantFrom(...ENGAGE_PATHS, ...NOENGAGE_PATHS),
    fc.boolean(),
  )
  .map(([key, depth, path, asForm]) => {
    const name = path.endsWith('/noengage') ? 'cancelData' : 'ixnProfile';
    let inner = `{"${key}":{"polluted":true,"toString":"x"}}`;
    for (let i = 0; i < depth; i++) inner = `{"nest${i}":${inner}}`;
    // The key sits beside real-looking fields so that only the key can be the reason for refusal.
    const value = `{"interactionId":"proto-${depth}","visitId":"dead","x":${inner},"${key}":{"polluted":true}}`;
    const body = asForm ? `${name}=${encodeURIComponent(value)}` : `{"${name}":${value}}`;
    return {
      label: `prototype/${key}`,
      method: 'POST',
      path,
      contentType: asForm ? 'application/x-www-form-urlencoded' : 'application/json',
      body,
      statuses: [400],
    };
  });

const contentTypeCases: fc.Arbitrary<Case> = fc
  .tuple(
    fc.oneof(
      fc.constantFrom(
        'text/plain',
        'text/html',
        'application/xml',
        'multipart/form-data; boundary=xyz',
        'application/octet-stream',
        'application/javascript',
        'application/jsonx',
        'json',
        'image/png',
        ';;;',
        'application/',
      ),
      fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 40 }).filter((t) => !/json|urlencoded/i.test(t)),
    ),
    fc.oneof(
      profile.map((p) => JSON.stringify({ ixnProfile: p })),
      fc.string({ maxLength: 100 }),
    ),
    fc.constantFrom(...ENGAGE_PATHS, ...NOENGAGE_PATHS),
  )
  .map(([contentType, body, path]) => ({
    label: 'content-type',
    method: 'POST',
    path,
    contentType,
    body,
    // An empty body never reaches the parser, so it is refused for the missing parameter instead.
    statuses: body === '' ? [400, 415] : [415, 400],
  }));

/** A parameter given twice: in a form (refused outright), or as a duplicate JSON key. */
const duplicateCases: fc.Arbitrary<Case> = fc
  .tuple(profile, profile, fc.constantFrom(...ENGAGE_PATHS), fc.boolean())
  .map(([a, b, path, asForm]) => {
    const body = asForm
      ? `ixnProfile=${encodeURIComponent(JSON.stringify(a))}&ixnProfile=${encodeURIComponent(JSON.stringify(b))}`
      : `{"ixnProfile":${JSON.stringify(a)},"ixnProfile":${JSON.stringify(b)}}`;
    return {
      label: `duplicate/${asForm ? 'form' : 'json'}`,
      method: 'POST',
      path,
      contentType: asForm ? 'application/x-www-form-urlencoded' : 'application/json',
      body,
      statuses: bodyStatus(body),
    };
  });

const API_PREFIXES = ['/backend/data', '/server/data'];
/** A channel name as a path segment: a real one, or hostile text percent-encoded (never a channel with settings). */
const channelSegment = fc.oneof(
  fc.constantFrom('chat', 'voice', 'x'.repeat(33), 'Chat', '-chat'),
  hostileText
    .filter((t) => t !== '')
    .map((t) => [...Buffer.from(t)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')),
);
/** A field that no channel settings can hold: whatever else the body says, it is refused. */
const badChannelField = fc.constantFrom<Record<string, unknown>>(
  { pacing: { mode: 'aggressive' } },
  { pacing: { mode: 'fixed' } },
  { pacing: { proactiveShare: 2 } },
  { pacing: { capacityStaleSeconds: 1 } },
  { hours: { timeZone: '+01:00', weekly: {} } },
  { hours: { timeZone: 'UTC', weekly: { mon: [['18:00', '09:00']] } } },
  { hours: { timeZone: 'UTC', weekly: { monday: [] } } },
  { hours: { timeZone: 'UTC', weekly: {}, closed: ['2026-02-30'] } },
  { color: 'red' },
);

/** Channel settings and capacity reports that can never be stored, and reads of channels that do not exist. */
const channelCases: fc.Arbitrary<Case> = fc.oneof(
  fc
    .tuple(
      fc.dictionary(fc.oneof(fc.constantFrom('hours', 'pacing'), hostileText), anyValue, { maxKeys: 4 }),
      badChannelField,
      channelSegment,
      fc.constantFrom(...API_PREFIXES),
    )
    .map(([random, poison, channel, prefix]) => {
      const body = JSON.stringify({ ...random, ...poison });
      return {
        label: 'channel/settings',
        method: 'PUT',
        path: `${prefix}/channels/${channel}`,
        contentType: 'application/json',
        body,
        statuses: Buffer.byteLength(body) > 64 * 1024 ? [413] : [400, 404],
      };
    }),
  fc.tuple(anyValue, channelSegment, fc.constantFrom(...API_PREFIXES)).map(([report, channel, prefix]) => {
    const body = JSON.stringify(report) ?? 'null';
    return {
      label: 'channel/capacity',
      method: 'PUT',
      path: `${prefix}/channels/${channel}/capacity`,
      contentType: 'application/json',
      body,
      // Refused for its body, or for a channel without settings (none has any here).
      statuses: Buffer.byteLength(body) > 64 * 1024 ? [413] : [400, 404],
    };
  }),
  fc
    .tuple(fc.constantFrom('GET', 'DELETE'), channelSegment, fc.constantFrom(...API_PREFIXES))
    .map(([method, channel, prefix]) => ({
      label: 'channel/read',
      method,
      path: `${prefix}/channels/${channel}`,
      statuses: [400, 404],
    })),
);

/** Reads of unknown attempts, odd paths and wrong methods. */
const pathCases: fc.Arbitrary<Case> = fc.oneof(
  fc
    .tuple(
      hostileText.filter((t) => t !== ''),
      fc.constantFrom('/backend/data', '/server/data'),
    )
    .map(([id, prefix]) => ({
      label: 'status',
      method: 'GET',
      // Every byte percent-encoded (lone surrogates become U+FFFD in UTF-8), with a duplicated query parameter.
      path: `${prefix}/gateway/engagements/${[...Buffer.from(id)].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('')}?x=1&x=2`,
      statuses: [404],
    })),
  fc.constantFrom('%E0%A4%A', '%', '%zz', '..%2f..%2f', '%00').map((raw) => ({
    label: 'bad-url',
    method: 'GET',
    path: `/backend/data/gateway/engagements/${raw}`,
    statuses: [400, 404],
  })),
  fc
    .tuple(fc.constantFrom('PUT', 'DELETE', 'PATCH'), fc.constantFrom(...ENGAGE_PATHS, ...NOENGAGE_PATHS))
    .map(([method, path]) => ({
      label: 'method',
      method,
      path,
      contentType: 'application/json',
      body: '{}',
      statuses: [404],
    })),
);

/** Text that can never be an id Beckon mints (22 letters, digits, - or _), percent-encoded as a path segment. */
const badIdSegment = fc
  .oneof(
    hostileText,
    fc.constantFrom('', 'short', 'x'.repeat(23), 'A'.repeat(21), '..', '%', 'AAAAAAAAAAAAAAAAAAAAA.'),
    fc.string({ minLength: 23, maxLength: 300 }),
  )
  .filter((text) => text !== '' && !/^[A-Za-z0-9_-]{22}$/.test(text))
  .map((text) => [...Buffer.from(text)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''));

/** A visit's history, a browser's visits and the erasure of a browser, each with an id or a query no caller can mean. */
const visitorCases: fc.Arbitrary<Case> = fc.oneof(
  fc.tuple(badIdSegment, fc.constantFrom(...API_PREFIXES)).map(([id, prefix]) => ({
    label: 'visitor/history',
    method: 'GET',
    path: `${prefix}/visits/${id}`,
    statuses: [400],
  })),
  fc
    .tuple(
      fc.oneof(badIdSegment, fc.constant('BBBBBBBBBBBBBBBBBBBBBB')),
      fc.oneof(
        fc.constantFrom('0', '101', '-1', '1.5', 'ten', '', '1e3'),
        // Whatever reads as a whole number from 1 to 100 (" 5", "1e1", "0x10") is a valid limit.
        hostileText.filter((t) => {
          const n = Number(t);
          return !(Number.isInteger(n) && n >= 1 && n <= 100);
        }),
      ),
      hostileText,
      fc.boolean(),
      fc.constantFrom(...API_PREFIXES),
    )
    .map(([id, limit, cursor, badLimit, prefix]) => ({
      label: 'visitor/visits',
      method: 'GET',
      // A real browser id with a query that cannot be read, or an id that cannot be one.
      path: `${prefix}/visitors/${id}/visits?${new URLSearchParams(badLimit ? { limit } : { cursor: `~${cursor}` })}`,
      statuses: [400],
    })),
  fc.tuple(badIdSegment, fc.constantFrom(...API_PREFIXES)).map(([id, prefix]) => ({
    label: 'visitor/erase',
    method: 'DELETE',
    path: `${prefix}/visitors/${id}`,
    statuses: [400],
  })),
);

/** A message field no notification can hold: whatever else the body says, it is refused. */
const badMessage = fc.oneof(
  fc.constantFrom<Record<string, unknown>>(
    {},
    { channel: '' },
    { channel: '1st' },
    { channel: 'x'.repeat(65) },
    { channel: 'x', page: '' },
    { channel: 'x', page: 7 },
    { channel: 'x', data: [1] },
    { channel: 'x', data: 'text' },
    { channel: 'x', data: null },
    { channel: 'x', data: { big: 'é'.repeat(5000) } },
    { channel: 'x', extra: true },
  ),
  anyValue.filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)),
);

/** Notification API requests to a live visit (or to an id that cannot be one) whose body is never valid. */
function notifyCases(liveVisitId: () => string): fc.Arbitrary<Case> {
  const path = fc
    .tuple(fc.constantFrom(...API_PREFIXES, '/frontend/data'), fc.oneof(fc.constant(null), badIdSegment))
    .map(([prefix, id]) => `${prefix}/notification/notify/${id ?? liveVisitId()}`);
  const body = fc.oneof(
    // Valid-looking messages around one that is not.
    fc
      .tuple(
        fc.array(fc.record({ channel: fc.constantFrom('offer', 'agent') }), { maxLength: 4 }),
        badMessage,
        fc.array(fc.record({ channel: fc.constant('later'), data: fc.dictionary(hostileText, anyValue) })),
      )
      .map(([before, bad, after]) => JSON.stringify([...before, bad, ...after])),
    // Not an array of 1–10 messages.
    fc
      .oneof(
        anyValue.filter((v) => !Array.isArray(v)),
        fc.constant([]),
      )
      .map((v) => JSON.stringify(v) ?? 'null'),
    fc.integer({ min: 11, max: 40 }).map((n) => JSON.stringify(Array.from({ length: n }, () => ({ channel: 'x' })))),
    // Prototype keys and data nested past its limit.
    fc
      .constantFrom('__proto__', 'constructor', 'prototype')
      .map((key) => `[{"channel":"x","data":{"a":{"${key}":{"polluted":true}}}}]`),
    fc
      .integer({ min: 9, max: 3000 })
      .map((depth) => `[{"channel":"x","data":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}]`),
    // At least 12,000 bytes of data, past its 8 KB.
    hugeText.map((text) => JSON.stringify([{ channel: 'x', data: { text: text.repeat(3) } }])),
  );
  return fc.tuple(path, body).map(([target, text]) => ({
    label: 'notify',
    method: 'POST',
    path: target,
    contentType: 'application/json',
    body: text,
    // This route takes bodies up to 96 KB (ten messages of 8 KB).
    statuses: Buffer.byteLength(text) > 96 * 1024 ? [413] : [400],
  }));
}

const hostileRequest: fc.Arbitrary<Case> = fc.oneof(
  { arbitrary: engageCases, weight: 4 },
  { arbitrary: noengageCases, weight: 2 },
  { arbitrary: badJsonCases, weight: 2 },
  { arbitrary: deepCases, weight: 1 },
  { arbitrary: prototypeCases, weight: 1 },
  { arbitrary: contentTypeCases, weight: 2 },
  { arbitrary: duplicateCases, weight: 1 },
  { arbitrary: pathCases, weight: 1 },
  { arbitrary: channelCases, weight: 2 },
  { arbitrary: visitorCases, weight: 2 },
  { arbitrary: notifyCases(() => page.session.visitId), weight: 2 },
);

/** Host, Origin and Sec-Fetch-Site a browser riding the operator's session may send, and what each must get. */
interface BrowserMarks {
  headers: Record<string, string>;
  /** 421 for a Host Beckon does not answer to, else 403 for a mark of another site, else null (reaches the route). */
  refusal: 421 | 403 | null;
}

/**
 * Beckon's own names carry its port, so the marks are built per server. A
 * stranger is so by construction: a DNS name (never localhost), or text no
 * host name can be; an origin that does not even hold Beckon's port.
 */
function browserMarks(port: number): fc.Arbitrary<BrowserMarks> {
  const ownHost = fc.constantFrom(
    `127.0.0.1:${port}`,
    `localhost:${port}`,
    `LOCALHOST.:${port}`,
    `[::1]:${port}`,
    'localhost',
  );
  const strangerHost = fc.oneof(
    fc
      .tuple(fc.domain(), fc.option(fc.integer({ min: 1, max: 65_535 })))
      .map(([name, p]) => (p === null ? name : `${name}:${p}`)),
    fc.constantFrom(
      'evil@localhost',
      `localhost:${port}:1`,
      'localhost:99999',
      '127.0.0.1.rebound.example',
      `[::1:${port}`,
      'localhost/x',
      '0x7f.1',
    ),
    fc
      .string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 40 })
      .filter((t) => t.trim() !== '' && /[^a-z0-9._:[\]-]/i.test(t.trim())),
  );
  const strangerOrigin = fc.oneof(
    fc.constantFrom(
      'null',
      '',
      'http://evil.example',
      `http://localhost:${port + 1}`,
      'http://127.0.0.1',
      'file://',
      'chrome-extension://abc',
    ),
    fc.domain().map((name) => `https://${name}`),
    fc.string({ unit: 'grapheme-ascii', maxLength: 60 }).filter((t) => !t.includes(String(port))),
  );
  const strangerSite = fc.oneof(
    fc.constantFrom('same-site', 'cross-site', ''),
    fc.string({ unit: 'grapheme-ascii', maxLength: 20 }).filter((t) => !['same-origin', 'none'].includes(t.trim())),
  );
  type Part = { value: string | undefined; stranger: boolean };
  const part = (own: fc.Arbitrary<string | undefined>, stranger: fc.Arbitrary<string>): fc.Arbitrary<Part> =>
    fc.oneof(
      { weight: 3, arbitrary: fc.constant({ value: undefined, stranger: false }) },
      { weight: 1, arbitrary: own.map((value) => ({ value, stranger: false })) },
      { weight: 2, arbitrary: stranger.map((value) => ({ value, stranger: true })) },
    );
  return fc
    .tuple(
      part(ownHost, strangerHost),
      // 'own' is filled in below from the Host actually sent.
      part(fc.constant('own'), strangerOrigin),
      part(fc.constantFrom('same-origin', 'none'), strangerSite),
    )
    .map(([host, origin, site]) => {
      const headers: Record<string, string> = {};
      if (host.value !== undefined) headers.host = host.value;
      if (origin.value !== undefined)
        headers.origin = origin.stranger ? origin.value : `http://${host.value ?? `127.0.0.1:${port}`}`;
      if (site.value !== undefined) headers['sec-fetch-site'] = site.value;
      const refusal = host.stranger ? 421 : origin.stranger || site.stranger ? 403 : null;
      return { headers, refusal };
    });
}

/** Words that would betray internals in a message meant for callers. */
const INTERNALS =
  /\n\s*at \S|\bat \S+ \(|\bat (?:file:\/\/|\/)\S+:\d+|node_modules|FST_|SQLITE|sqlite|better-sqlite|TypeError|ReferenceError|Cannot read|undefined is not/;

// ─── the suite ──────────────────────────────────────────────────────────────

describe('hostile input', () => {
  it('answers at least 1,000 generated malformed REST requests with FAULTs and changes nothing', async () => {
    const before = await storeSnapshot(server.store);
    const seen = new Map<string, number>();
    const refusals = new Map<number | null, number>();
    let sent = 0;

    await fc.assert(
      fc.asyncProperty(hostileRequest, browserMarks(Number(new URL(server.url).port)), async (c, marks) => {
        sent++;
        seen.set(c.label.split('/')[0]!, (seen.get(c.label.split('/')[0]!) ?? 0) + 1);
        refusals.set(marks.refusal, (refusals.get(marks.refusal) ?? 0) + 1);
        const headers: Record<string, string> = { ...marks.headers };
        if (c.contentType !== undefined) headers['content-type'] = c.contentType;
        // Raw HTTP, because fetch always writes its own Host.
        const response = await rawRequest(server.url, c.path, {
          method: c.method,
          headers,
          ...(c.body !== undefined ? { body: c.body } : {}),
        });
        const text = response.text;
        const where = `${c.label} ${c.method} ${c.path.slice(0, 80)} ${JSON.stringify(marks.headers)} ${c.body?.slice(0, 300)} → ${response.status} ${text.slice(0, 200)}`;
        // Marks are judged before the body is read; only a URL that cannot be decoded is refused before that.
        const statuses =
          marks.refusal === null
            ? c.statuses
            : c.label === 'bad-url'
              ? [marks.refusal, ...c.statuses]
              : [marks.refusal];
        expect(response.status, where).toBeLessThan(500);
        expect(statuses, where).toContain(response.status);
        expect(response.headers['content-type'], where).toMatch(/^application\/json/);
        const fault = faultBodySchema.parse(JSON.parse(text));
        expect(FAULTS[fault.code].status, where).toBe(response.status);
        // A refused host name is echoed for the operator; it is the caller's own text, not an internal.
        expect(text.replace(/host name \\"[^"\\]*\\"/, 'host name'), where).not.toMatch(INTERNALS);
      }),
      { numRuns: 1200 },
    );

    expect(sent).toBeGreaterThanOrEqual(1000);
    // Requests without marks reached the parsers; stranger Hosts and cross-site marks were refused, many times each.
    for (const refusal of [null, 421, 403]) expect(refusals.get(refusal) ?? 0, String(refusal)).toBeGreaterThan(100);
    // Every class of hostile input was exercised.
    expect([...seen.keys()].sort()).toEqual(
      [
        'bad-json',
        'bad-url',
        'channel',
        'content-type',
        'deep',
        'duplicate',
        'engage',
        'method',
        'noengage',
        'prototype',
        'status',
        'visitor',
        'notify',
      ].sort(),
    );
    expect(await storeSnapshot(server.store)).toEqual(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
    expect((await server.get('/healthz')).status).toBe(200);
  }, 120_000);

  it('answers malformed socket events with FAULT acks, ignores the rest, and changes nothing', async () => {
    const before = await storeSnapshot(server.store);
    const socket = page.socket as unknown as {
      emit(event: string, ...args: unknown[]): void;
      timeout(ms: number): { emitWithAck(event: string, ...args: unknown[]): Promise<any> };
      connected: boolean;
    };
    /** A page update that can never validate: not an object, or one known field of the wrong type. */
    const badUpdate = fc.oneof(
      anyValue.filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)),
      fc
        .tuple(fc.constantFrom('url', 'title', 'visible', 'focused', 'locale'), anyValue)
        .filter(([key, value]) =>
          key === 'visible' || key === 'focused'
            ? typeof value !== 'boolean'
            : typeof value !== 'string' || value.length > 2048,
        )
        .map(([key, value]) => ({ [key]: value })),
      fc.dictionary(
        hostileText.filter((k) => !['url', 'title', 'visible', 'focused', 'locale'].includes(k)),
        anyValue,
        {
          minKeys: 1,
          maxKeys: 4,
        },
      ),
    );
    const event = fc.oneof(
      // Ids of attempts that do not exist, or no valid payload at all: a FAULT ack.
      fc.record({
        name: fc.constantFrom('invitation:shown', 'invitation:answer'),
        payload: fc.oneof(anyValue, fc.record({ interactionId: fc.oneof(hostileText, invalidId), outcome: anyValue })),
        ack: fc.constant(true),
      }),
      fc.record({
        name: fc.constant('visitor:opt'),
        payload: anyValue.filter(
          (v) => !(typeof v === 'object' && v !== null && typeof (v as any).optedOut === 'boolean'),
        ),
        ack: fc.constant(true),
      }),
      fc.record({ name: fc.constant('page:update'), payload: badUpdate, ack: fc.constant(false) }),
      // Names the server does not know, including socket.io's reserved ones.
      fc.record({
        name: fc.oneof(
          hostileText,
          fc.constantFrom('session', 'invitation:start', 'invitation:withdraw', 'constructor', '__proto__'),
        ),
        payload: anyValue,
        ack: fc.constant(false),
      }),
    );

    let acked = 0;
    await fc.assert(
      fc.asyncProperty(event, async ({ name, payload, ack }) => {
        if (!ack) {
          socket.emit(name, payload);
          return;
        }
        const result = await socket.timeout(5000).emitWithAck(name, payload);
        acked++;
        expect(result, `${name} ${JSON.stringify(payload)?.slice(0, 100)}`).toMatchObject({ ok: false });
        expect(['INVALID_PARAMETER', 'UNKNOWN_ENGAGEMENT']).toContain(result.code);
      }),
      { numRuns: 400 },
    );
    expect(acked).toBeGreaterThan(50);
    // An acknowledged round trip after everything else: the page is still connected and served.
    const last = await socket.timeout(5000).emitWithAck('invitation:shown', { interactionId: 'never-engaged' });
    expect(last).toMatchObject({ ok: false, code: 'UNKNOWN_ENGAGEMENT' });
    expect(socket.connected).toBe(true);
    expect(await storeSnapshot(server.store)).toEqual(before);
    expect((await server.get('/healthz')).status).toBe(200);
  }, 60_000);

  it('answers malformed visitor context messages with INVALID_PARAMETER, stores nothing, and limits a flood', async () => {
    const before = await storeSnapshot(server.store);
    const socket = page.socket as unknown as {
      emit(event: string, ...args: unknown[]): void;
      timeout(ms: number): { emitWithAck(event: string, ...args: unknown[]): Promise<any> };
      connected: boolean;
    };
    /** What JSON carries of a value: socket.io sends JSON, so `{a: undefined}` arrives as `{}`. */
    const sent = (value: unknown) => JSON.stringify(value);
    const notObject = anyValue.filter(
      (v) => v !== undefined && sent(v) !== undefined && !(typeof v === 'object' && v !== null && !Array.isArray(v)),
    );
    const poisonKey = fc.constantFrom('__proto__', 'constructor', 'prototype');
    /** Flat data that can never validate: nested, null, arrays, too big, a bad key, or not an object. */
    const badData = fc.oneof(
      notObject,
      fc
        .tuple(
          fc.string({ minLength: 1, maxLength: 20 }).filter((k) => !['__proto__'].includes(k)),
          fc.oneof(
            fc.constant(null),
            fc.array(fc.integer(), { maxLength: 3 }),
            fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
          ),
        )
        .map(([key, value]) => ({ [key]: value })),
      // Nested deeper than any schema looks.
      fc.integer({ min: 2, max: 60 }).map((depth) => {
        let value: unknown = 'leaf';
        for (let i = 0; i < depth; i++) value = { inner: value };
        return value;
      }),
      // Too big as JSON, yet under the socket's message cap.
      fc.integer({ min: 2_050, max: 12_000 }).map((n) => ({ big: 'x'.repeat(n) })),
      fc
        .integer({ min: 250, max: 1_000 })
        .map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]))),
      poisonKey.map((key) => JSON.parse(`{"${key}":{"polluted":1}}`) as unknown),
      poisonKey.map((key) => JSON.parse(`{"${key}":"x"}`) as unknown),
      fc.oneof(fc.constant(''), fc.string({ minLength: 129, maxLength: 200 })).map((key) => ({ [key]: 1 })),
    );
    const badName = fc.oneof(
      notObject.filter((v) => typeof v !== 'string'),
      hostileText.filter((t) => !/^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/.test(t)),
      fc.string({ minLength: 65, maxLength: 300 }).map((t) => `A${t}`),
    );
    const badUserId = fc.oneof(
      notObject.filter((v) => typeof v !== 'string'),
      fc.constant(''),
      fc.string({ minLength: 129, maxLength: 400 }),
    );
    const message = fc.oneof(
      fc.record({
        name: fc.constant('visit:track'),
        payload: fc.oneof(notObject, fc.record({ name: badName, data: anyValue }, { requiredKeys: ['name'] })),
      }),
      fc.record({
        name: fc.constant('visit:track'),
        payload: fc.record({ name: fc.constant('Valid'), data: badData }),
      }),
      fc.record({
        name: fc.constant('visit:track'),
        payload: fc
          .record({ name: fc.constant('Valid'), [fc.sample(poisonKey, 1)[0]!]: anyValue })
          .map((p) => ({ ...p, extra: 1 })),
      }),
      fc.record({
        name: fc.constant('visit:sign-in'),
        payload: fc.oneof(
          notObject,
          fc.record({ userId: badUserId, traits: anyValue, token: anyValue }, { requiredKeys: ['userId'] }),
          fc.record({ userId: fc.constant('u-1'), traits: badData }),
          fc.record({
            userId: fc.constant('u-1'),
            token: fc.oneof(
              notObject.filter((v) => typeof v !== 'string'),
              fc.string({ minLength: 129, maxLength: 300 }),
            ),
          }),
          fc.record({ userId: fc.constant('u-1'), verified: fc.boolean() }),
        ),
      }),
      fc.record({
        name: fc.constant('visit:user-info'),
        payload: fc.oneof(
          notObject,
          fc.constant({}),
          fc.record({ traits: badData }),
          fc.record({ traits: fc.constant({}), userId: notObject }),
        ),
      }),
      fc.record({
        name: fc.constant('visit:sign-out'),
        payload: fc.oneof(
          notObject,
          fc
            .dictionary(hostileText, fc.oneof(hostileText, fc.integer()), { minKeys: 1, maxKeys: 4 })
            .filter((v) => sent(v) !== '{}'),
        ),
      }),
    );

    let acked = 0;
    await fc.assert(
      fc.asyncProperty(message, fc.boolean(), async ({ name, payload }, withAck) => {
        if (!withAck) {
          // No ack at all: nothing to answer, nothing may break.
          socket.emit(name, payload);
          return;
        }
        const result = await socket.timeout(5000).emitWithAck(name, payload);
        acked++;
        expect(result, `${name} ${sent(payload)?.slice(0, 100)}`).toMatchObject({
          ok: false,
          code: 'INVALID_PARAMETER',
        });
        expect(typeof result.message).toBe('string');
        expect(result.message.length).toBeLessThan(400);
      }),
      { numRuns: 400 },
    );
    expect(acked).toBeGreaterThan(100);
    expect(socket.connected).toBe(true);
    expect(await storeSnapshot(server.store)).toEqual(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    // A flood of valid events: the first 20 are stored, the rest refused, and the page stays served.
    const flood = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        socket.timeout(5000).emitWithAck('visit:track', { name: 'Flood', data: { i } }),
      ),
    );
    expect(flood.filter((a) => a.ok)).toHaveLength(20);
    expect(new Set(flood.filter((a) => !a.ok).map((a) => a.code))).toEqual(new Set(['RATE_LIMITED']));
    const history = await server.beckon.store.visitHistory(page.session.visitId);
    expect(history?.events.filter((e) => e.name === 'Flood')).toHaveLength(20);
    expect(socket.connected).toBe(true);
    expect((await server.get('/healthz')).status).toBe(200);
  }, 60_000);

  // Malformed handshakes, and well-formed ones carrying a stranger's Host or origin (browser marks).
  it('refuses malformed handshakes and transport requests without a 5xx', async () => {
    const before = await storeSnapshot(server.store);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          // socket.io handshakes whose auth is not a valid page description.
          fc.record({
            kind: fc.constant('auth' as const),
            auth: fc.oneof(
              anyValue,
              fc.record({ page: anyValue, visitToken: fc.oneof(hostileText, anyValue) }, { requiredKeys: [] }),
            ),
          }),
          // A valid page description, but a stranger Host or an origin that is not allowed:
          // refused before any visit exists.
          fc
            .record({
              kind: fc.constant('marks' as const),
              host: fc.option(
                fc.oneof(
                  fc.domain(),
                  fc.constantFrom('evil@localhost', '127.0.0.1.rebound.example', 'localhost:99999'),
                ),
                { nil: undefined },
              ),
              origin: fc.option(
                fc.oneof(
                  fc.domain().map((name) => `https://${name}`),
                  fc.constant('null'),
                ),
                { nil: undefined },
              ),
            })
            .filter((marks) => marks.host !== undefined || marks.origin !== undefined),
          // Raw engine.io requests with odd queries and bodies.
          fc.record({
            kind: fc.constant('raw' as const),
            query: fc.record({
              EIO: fc.oneof(fc.constantFrom('4', '3', '5', ''), hostileText),
              transport: fc.oneof(fc.constantFrom('polling', 'websocket', 'flashsocket'), hostileText),
              sid: fc.oneof(fc.constant(undefined), hostileText),
            }),
            body: fc.oneof(fc.constant(undefined), fc.string({ unit: 'binary', maxLength: 300 })),
          }),
        ),
        async (attempt) => {
          if (attempt.kind === 'raw') {
            const params = new URLSearchParams();
            for (const [k, v] of Object.entries(attempt.query)) if (v !== undefined) params.set(k, v);
            // A body only with a (random, unknown) sid: a polling handshake is a GET.
            if (attempt.body !== undefined && !params.has('sid')) params.set('sid', 'no-such-session');
            const response = await fetch(`${server.url}/socket.io/?${params}`, {
              method: attempt.body === undefined ? 'GET' : 'POST',
              ...(attempt.body !== undefined ? { body: attempt.body, headers: { 'content-type': 'text/plain' } } : {}),
            });
            await response.arrayBuffer();
            expect(response.status).toBeLessThan(500);
            return;
          }
          const { io } = await import('socket.io-client');
          if (attempt.kind === 'marks') {
            const extraHeaders: Record<string, string> = {};
            if (attempt.host !== undefined) extraHeaders.host = attempt.host;
            if (attempt.origin !== undefined) extraHeaders.origin = attempt.origin;
            const client = io(server.url, {
              transports: ['websocket'],
              forceNew: true,
              reconnection: false,
              extraHeaders,
              auth: { page: { url: 'https://rebound.example/', title: 'Rebound', visible: true, focused: true } },
            });
            try {
              const outcome = await new Promise<string>((resolve) => {
                client.once('connect_error', () => resolve('refused'));
                client.once('connect', () => resolve('connected'));
              });
              expect(outcome, JSON.stringify(extraHeaders)).toBe('refused');
            } finally {
              client.close();
            }
            return;
          }
          const auth = attempt.auth;
          // A valid page description would be a real visit; everything generated here is not one.
          const candidate = auth as {
            page?: { url?: unknown; title?: unknown; visible?: unknown; focused?: unknown };
          } | null;
          const page = typeof candidate === 'object' && candidate !== null ? candidate.page : undefined;
          fc.pre(
            !(
              page &&
              typeof page === 'object' &&
              typeof page.url === 'string' &&
              typeof page.title === 'string' &&
              typeof page.visible === 'boolean' &&
              typeof page.focused === 'boolean'
            ),
          );
          const client = io(server.url, {
            transports: ['websocket'],
            forceNew: true,
            reconnection: false,
            auth: auth as Record<string, unknown>,
          });
          try {
            const outcome = await new Promise<string>((resolve) => {
              client.once('connect_error', () => resolve('refused'));
              // A CONNECT payload socket.io cannot decode (e.g. an array) makes the server close the transport.
              client.io.once('close', () => resolve('refused'));
              client.once('connect', () => resolve('connected'));
            });
            expect(outcome).toBe('refused');
          } finally {
            client.close();
          }
        },
      ),
      { numRuns: 150 },
    );
    expect(await storeSnapshot(server.store)).toEqual(before);
    expect((await server.get('/healthz')).status).toBe(200);
  }, 60_000);
});
