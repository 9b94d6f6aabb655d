/**
 * Stand-in for socket.io-client's index.js in the widget build (see
 * platformLookup in ../size-tricks.ts): the same `io()`, with its Manager
 * cache and namespaces, reading the server's address with the platform's
 * URL parser instead of url.js and engine.io's regular expression. As the
 * original: no address is the page's origin, `//host` takes the page's
 * scheme, `/path` the page's host, and a bare `host:port` a scheme.
 */
import { Manager } from './manager.js';
import { Socket } from './socket.js';

const cache = {};

function lookup(uri, opts) {
  if (typeof uri === 'object') {
    opts = uri;
    uri = undefined;
  }
  opts = opts || {};
  if (uri == null) uri = location.protocol + '//' + location.host;
  if (/^\/[^/]/.test(uri)) uri = location.host + uri;
  if (!/^(https?|wss?):\/\//.test(uri)) uri = location.protocol + (/^\/\//.test(uri) ? '' : '//') + uri;
  const parsed = new URL(uri);
  const id =
    parsed.protocol +
    '//' +
    parsed.hostname +
    ':' +
    (parsed.port || (/s:$/.test(parsed.protocol) ? 443 : 80)) +
    (opts.path || '/socket.io');
  const path = parsed.pathname;
  const sameNamespace = cache[id] && path in cache[id].nsps;
  let io;
  if (opts.forceNew || opts['force new connection'] || opts.multiplex === false || sameNamespace) {
    io = new Manager(uri, opts);
  } else {
    io = cache[id] = cache[id] || new Manager(uri, opts);
  }
  if (parsed.search && !opts.query) opts.query = Object.fromEntries(parsed.searchParams);
  return io.socket(path, opts);
}

Object.assign(lookup, { Manager, Socket, io: lookup, connect: lookup });

export { protocol } from 'socket.io-parser';
export { Manager, Socket, lookup as io, lookup as connect, lookup as default };
export { Fetch, NodeXHR, XHR, NodeWebSocket, WebSocket, WebTransport } from 'engine.io-client';
