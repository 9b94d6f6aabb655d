/**
 * Stand-in for socket.io-parser's index.js in the widget build (see jsonParser
 * in ../size-tricks.ts): the same packets as text, for a protocol that is JSON
 * only. It encodes exactly as the original does for packets without binary
 * data, and decodes with the original's checks, so that what a broken or
 * hostile server sends is refused the same way: `add` throws, and the
 * Manager, which calls it inside a try, closes the connection ("parse
 * error") and reconnects. Binary packets (types 5 and 6) are refused too:
 * nothing in the protocol carries binary data.
 */
import { Emitter } from '@socket.io/component-emitter';

export const protocol = 5;

export const PacketType = {};
['CONNECT', 'DISCONNECT', 'EVENT', 'ACK', 'CONNECT_ERROR', 'BINARY_EVENT', 'BINARY_ACK'].forEach(
  (name, type) => (PacketType[(PacketType[name] = type)] = name),
);

/** Event names socket.io keeps for itself: a packet that carries one is invalid. */
const RESERVED = ['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener'];

const isObject = (value) => Object.prototype.toString.call(value) === '[object Object]';

/** The original's check of a packet's data by type (the binary types are not accepted here). */
function validData(type, data, connectMayBeEmpty) {
  switch (type) {
    case 0:
      return (connectMayBeEmpty && data === undefined) || isObject(data);
    case 1:
      return data === undefined;
    case 2:
      return (
        Array.isArray(data) &&
        (typeof data[0] === 'number' || (typeof data[0] === 'string' && !RESERVED.includes(data[0])))
      );
    case 3:
      return Array.isArray(data);
    case 4:
      return typeof data === 'string' || isObject(data);
  }
  return false;
}

export class Encoder {
  constructor(replacer) {
    this.replacer = replacer;
  }

  encode(packet) {
    return [
      packet.type +
        (packet.nsp && packet.nsp !== '/' ? packet.nsp + ',' : '') +
        (packet.id != null ? packet.id : '') +
        (packet.data != null ? JSON.stringify(packet.data, this.replacer) : ''),
    ];
  }
}

/**
 * After the type: `/namespace,` if not the main one, the ack id, the JSON payload. The id takes
 * what the original's loop takes (characters c with `Number(c) == c`: digits and white space).
 */
const AFTER_TYPE = /^(?:(\/[^,]*),?)?([\d\s]*)([\s\S]*)$/;

export class Decoder extends Emitter {
  constructor(opts) {
    super();
    this.reviver = typeof opts === 'function' ? opts : opts?.reviver;
  }

  add(data) {
    if (typeof data !== 'string') throw new Error('got binary data; this client is JSON only');
    super.emitReserved('decoded', this.decodeString(data));
  }

  decodeString(text) {
    // Number('') and Number(' ') are 0, as in the original: an empty packet is a CONNECT.
    const type = Number(text.charAt(0));
    if (!(type >= 0 && type <= 4)) throw new Error('unknown packet type ' + text.charAt(0));
    const [, nsp, id, payload] = AFTER_TYPE.exec(text.slice(1));
    const packet = { type, nsp: nsp ?? '/' };
    if (id) packet.id = Number(id);
    if (payload) {
      let data;
      try {
        data = JSON.parse(payload, this.reviver);
      } catch {
        data = false;
      }
      if (!validData(packet.type, data, false)) throw new Error('invalid payload');
      packet.data = data;
    }
    return packet;
  }

  destroy() {}
}

export function isPacketValid(packet) {
  return (
    typeof packet.nsp === 'string' &&
    (packet.id === undefined || Number.isInteger(packet.id)) &&
    validData(packet.type, packet.data, true)
  );
}
