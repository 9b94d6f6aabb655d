/**
 * Stand-in for engine.io-client's transports/websocket.js in the widget
 * build (see websocketTransport in ../size-tricks.ts): the browser's
 * WebSocket as engine.io's only transport, with the base Transport's part
 * of it folded in and engine.io's text packets read and written here (the
 * packet types checked at build time against engine.io-parser's). It emits
 * what the Socket listens to (`packet`, `drain`, `error`, `close`) as the
 * original does; Node's options (agents, certificates) and long-polling's
 * query options have no meaning in a page and are not read.
 */
import { Emitter } from '@socket.io/component-emitter';
import { installTimerFunctions } from '../util.js';
import { nextTick } from '../globals.node.js';

/** engine.io's packet types, by their digit. */
const TYPES = ['open', 'close', 'ping', 'pong', 'message', 'upgrade', 'noop'];

/** As engine.io-parser decodes: binary is a message as it is, a text's first digit its type, anything else an error. */
function packetOf(data) {
  if (typeof data !== 'string') return { type: 'message', data };
  const type = TYPES[data.charAt(0)];
  if (!type) return { type: 'error', data: 'parser error' };
  return data.length > 1 ? { type, data: data.substring(1) } : { type };
}

export class WS extends Emitter {
  constructor(opts) {
    super();
    this.writable = false;
    installTimerFunctions(this, opts);
    this.opts = opts;
    this.query = opts.query;
    this.socket = opts.socket;
  }

  get name() {
    return 'websocket';
  }

  open() {
    const { secure, hostname, port, path, protocols } = this.opts;
    this.readyState = 'opening';
    const uri =
      (secure ? 'wss://' : 'ws://') +
      (hostname.includes(':') ? '[' + hostname + ']' : hostname) +
      (port && Number(port) !== (secure ? 443 : 80) ? ':' + port : '') +
      path +
      '?' +
      new URLSearchParams(this.query);
    let ws;
    try {
      ws = this.ws = protocols ? new WebSocket(uri, protocols) : new WebSocket(uri);
    } catch (error) {
      return this.emitReserved('error', error);
    }
    ws.binaryType = this.socket.binaryType;
    ws.onopen = () => {
      this.readyState = 'open';
      this.writable = true;
      this.emitReserved('open');
    };
    ws.onclose = (event) => this.onClose({ description: 'websocket connection closed', context: event });
    ws.onmessage = ({ data }) => this.emitReserved('packet', packetOf(data));
    const error = Object.assign(new Error('websocket error'), { type: 'TransportError' });
    ws.onerror = (event) => this.emitReserved('error', Object.assign(error, { description: event }));
    return this;
  }

  close() {
    if (this.readyState === 'opening' || this.readyState === 'open') {
      if (this.ws) {
        this.ws.onerror = () => {};
        this.ws.close();
        this.ws = null;
      }
      this.onClose();
    }
    return this;
  }

  send(packets) {
    if (this.readyState !== 'open') return;
    this.writable = false;
    for (const { type, data } of packets) {
      try {
        this.ws.send(TYPES.indexOf(type) + (data || ''));
      } catch {
        // As the original: a socket that cannot send is about to report its close.
      }
    }
    nextTick(() => {
      this.writable = true;
      this.emitReserved('drain');
    }, this.setTimeoutFn);
  }

  onClose(details) {
    this.readyState = 'closed';
    this.emitReserved('close', details);
  }
}

export { WS as BaseWS };
