/**
 * Stand-in for engine.io-client's socket.js in the widget build (see
 * singleTransport in ../size-tricks.ts). The original opens the first
 * transport and then probes the server's upgrades; with one transport
 * (the widget's `transports: ['websocket']`) there is nothing to upgrade to,
 * so this is that Socket without the probing, without long-polling's payload
 * splitting, the cookie jar and the `beforeunload` close, with the URL read
 * by the platform's parser. What socket.io-client's Manager and Socket use
 * of it (the members and events checked at build time) behaves as in the
 * original: the handshake, heartbeat and its expiry, the write buffer and
 * its drain, the close on `offline`, errors and close reasons.
 */
import { transports as TRANSPORTS } from './transports/index.js';
import { installTimerFunctions } from './util.js';
import { Emitter } from '@socket.io/component-emitter';
import { defaultBinaryType, nextTick } from './globals.node.js';

/** engine.io's protocol version (checked at build time against engine.io-parser's). */
const protocol = 4;

export class Socket extends Emitter {
  constructor(uri, opts = {}) {
    super();
    this.binaryType = defaultBinaryType;
    this.writeBuffer = [];
    this._prevBufferLen = 0;
    this._pingTimeoutTime = Infinity;
    if (uri && typeof uri === 'object') {
      opts = uri;
      uri = null;
    }
    if (uri) {
      const parsed = new URL(uri);
      opts.hostname = parsed.hostname.replace(/^\[|\]$/g, '');
      opts.secure = parsed.protocol === 'https:' || parsed.protocol === 'wss:';
      opts.port = parsed.port;
      if (parsed.search) opts.query = parsed.search.slice(1);
    }
    installTimerFunctions(this, opts);
    this.secure = opts.secure != null ? opts.secure : typeof location !== 'undefined' && location.protocol === 'https:';
    this.hostname = opts.hostname || (typeof location !== 'undefined' ? location.hostname : 'localhost');
    this.port =
      opts.port || (typeof location !== 'undefined' && location.port ? location.port : this.secure ? '443' : '80');
    this.transports = opts.transports ? [...opts.transports] : ['websocket'];
    this.opts = Object.assign(
      {
        path: '/engine.io',
        timestampParam: 't',
        addTrailingSlash: true,
        perMessageDeflate: { threshold: 1024 },
        transportOptions: {},
      },
      opts,
    );
    this.opts.path = this.opts.path.replace(/\/$/, '') + (this.opts.addTrailingSlash ? '/' : '');
    if (typeof this.opts.query === 'string') this.opts.query = Object.fromEntries(new URLSearchParams(this.opts.query));
    if (typeof addEventListener === 'function' && this.hostname !== 'localhost') {
      this._offlineEventListener = () => this._onClose('transport close', { description: 'network connection lost' });
      addEventListener('offline', this._offlineEventListener, false);
    }
    this._open();
  }

  createTransport(name) {
    const query = Object.assign({}, this.opts.query, { EIO: protocol, transport: name });
    if (this.id) query.sid = this.id;
    const opts = Object.assign(
      {},
      this.opts,
      { query, socket: this, hostname: this.hostname, secure: this.secure, port: this.port },
      this.opts.transportOptions[name],
    );
    return new TRANSPORTS[name](opts);
  }

  _open() {
    const name = this.transports[0];
    if (!TRANSPORTS[name]) {
      // As the original with no transport: an error the Manager hears, on the next tick.
      this.setTimeoutFn(() => this.emitReserved('error', 'No transports available'), 0);
      return;
    }
    this.readyState = 'opening';
    const transport = (this.transport = this.createTransport(name));
    transport.open();
    transport
      .on('drain', this._onDrain.bind(this))
      .on('packet', this._onPacket.bind(this))
      .on('error', this._onError.bind(this))
      .on('close', (reason) => this._onClose('transport close', reason));
  }

  _onPacket(packet) {
    if (this.readyState !== 'opening' && this.readyState !== 'open' && this.readyState !== 'closing') return;
    switch (packet.type) {
      case 'open': {
        let handshake;
        try {
          handshake = JSON.parse(packet.data);
        } catch (error) {
          // A broken handshake is a transport error here, not an exception thrown into the page.
          return this._onError(error);
        }
        this.onHandshake(handshake);
        break;
      }
      case 'ping':
        this._sendPacket('pong');
        this.emitReserved('ping');
        this._resetPingTimeout();
        break;
      case 'error': {
        const error = new Error('server error');
        error.code = packet.data;
        this._onError(error);
        break;
      }
      case 'message':
        this.emitReserved('data', packet.data);
        break;
    }
  }

  onHandshake(data) {
    this.id = data.sid;
    this.transport.query.sid = data.sid;
    this._pingInterval = data.pingInterval;
    this._pingTimeout = data.pingTimeout;
    this.readyState = 'open';
    this.emitReserved('open');
    this.flush();
    // The open handler may have closed the socket.
    if (this.readyState === 'closed') return;
    this._resetPingTimeout();
  }

  _resetPingTimeout() {
    this.clearTimeoutFn(this._pingTimeoutTimer);
    const delay = this._pingInterval + this._pingTimeout;
    this._pingTimeoutTime = Date.now() + delay;
    this._pingTimeoutTimer = this.setTimeoutFn(() => this._onClose('ping timeout'), delay);
  }

  _onDrain() {
    this.writeBuffer.splice(0, this._prevBufferLen);
    this._prevBufferLen = 0;
    if (this.writeBuffer.length === 0) this.emitReserved('drain');
    else this.flush();
  }

  flush() {
    if (this.readyState !== 'closed' && this.transport.writable && this.writeBuffer.length) {
      this.transport.send(this.writeBuffer);
      this._prevBufferLen = this.writeBuffer.length;
      this.emitReserved('flush');
    }
  }

  /** Whether the heartbeat is overdue (timers of a suspended laptop or a locked phone fire late); closes if so. */
  _hasPingExpired() {
    if (!this._pingTimeoutTime) return true;
    const expired = Date.now() > this._pingTimeoutTime;
    if (expired) {
      this._pingTimeoutTime = 0;
      nextTick(() => this._onClose('ping timeout'), this.setTimeoutFn);
    }
    return expired;
  }

  write(msg, options, fn) {
    this._sendPacket('message', msg, options, fn);
    return this;
  }

  _sendPacket(type, data, options, fn) {
    if (typeof data === 'function') {
      fn = data;
      data = undefined;
    }
    if (typeof options === 'function') {
      fn = options;
      options = null;
    }
    if (this.readyState === 'closing' || this.readyState === 'closed') return;
    options = options || {};
    options.compress = options.compress !== false;
    this.writeBuffer.push({ type, data, options });
    if (fn) this.once('flush', fn);
    this.flush();
  }

  close() {
    const close = () => {
      this._onClose('forced close');
      this.transport.close();
    };
    if (this.readyState === 'opening' || this.readyState === 'open') {
      this.readyState = 'closing';
      if (this.writeBuffer.length) this.once('drain', close);
      else close();
    }
    return this;
  }

  _onError(error) {
    this.emitReserved('error', error);
    this._onClose('transport error', error);
  }

  _onClose(reason, description) {
    if (this.readyState !== 'opening' && this.readyState !== 'open' && this.readyState !== 'closing') return;
    this.clearTimeoutFn(this._pingTimeoutTimer);
    this.transport.removeAllListeners('close');
    this.transport.close();
    this.transport.removeAllListeners();
    if (this._offlineEventListener) removeEventListener('offline', this._offlineEventListener, false);
    this.readyState = 'closed';
    this.id = null;
    this.emitReserved('close', reason, description);
    this.writeBuffer = [];
    this._prevBufferLen = 0;
  }
}

Socket.protocol = protocol;
