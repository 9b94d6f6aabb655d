/**
 * socket.io's own parser, with a decoder that costs a connected page less.
 * socket.io makes one decoder per connection and listens to it once
 * (`decoded`); the stock decoder keeps that one listener in an emitter table
 * grown for many (an object, and an array sized for 17), and its options in
 * an object of its own. This one keeps the listener in an array of one and
 * shares one frozen options object: about 0.2 KB less per page, decoding
 * exactly as before (docs/architecture.md, "What a frontend holds per page").
 */
import { createRequire } from 'node:module';

/** What of socket.io-parser's decoder this subclass touches; the rest is inherited as it is. */
interface StockDecoder {
  opts: object;
  _callbacks?: Record<string, ((...args: unknown[]) => void)[]>;
  on(event: string, listener: (...args: unknown[]) => void): this;
}
interface StockParser {
  protocol: number;
  Encoder: new () => object;
  Decoder: new (opts?: object) => StockDecoder;
}

// The very module socket.io decodes with (resolved from socket.io's own place), so packets are read by the same code.
const stock = createRequire(createRequire(import.meta.url).resolve('socket.io'))('socket.io-parser') as StockParser;

/** The stock decoder's defaults: no reviver, at most 10 attachments (Beckon sends and accepts no binary). */
const SHARED_OPTIONS = Object.freeze({ reviver: undefined, maxAttachments: 10 });

class PageDecoder extends stock.Decoder {
  constructor() {
    super(SHARED_OPTIONS);
    this.opts = SHARED_OPTIONS;
  }

  override on(event: string, listener: (...args: unknown[]) => void): this {
    // The first listener of a fresh decoder (socket.io's only one): a table just big enough for it.
    if (event === 'decoded' && this._callbacks === undefined) {
      this._callbacks = { $decoded: [listener] };
      return this;
    }
    return super.on(event, listener);
  }
}

/** The `parser` option of a socket.io server: socket.io's encoder, the lighter decoder. */
export const pageParser = { protocol: stock.protocol, Encoder: stock.Encoder, Decoder: PageDecoder };
