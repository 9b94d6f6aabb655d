/**
 * Socket counters for /metrics: connections, messages by event, and answers
 * for attempts not shown to the page's own visit. It observes the frontend
 * server from outside (a connection listener and a packet middleware) so the
 * server's handlers stay about visitors, not about counting.
 */
import { SOCKET_EVENTS, type PageAck } from '../protocol/index.js';
import type { BeckonIo } from './io.js';

/** Only the protocol's own names become labels: a page could send any name, which must not grow the label set. */
const KNOWN_EVENTS = new Set<string>(Object.values(SOCKET_EVENTS));
const ANSWERING_EVENTS = new Set<string>([SOCKET_EVENTS.shown, SOCKET_EVENTS.answer]);

/**
 * The counters this module feeds. The frontend declares what it needs and the
 * metrics registry (served by both roles) provides it, so the frontend does
 * not depend on the backend's code.
 */
export interface SocketMetrics {
  /** Read at scrape time: sockets connected to this process. */
  connectedSockets: () => number;
  socketConnections: { inc(): void };
  socketEvents: { inc(labels: { event: string }): void };
  foreignAnswers: { inc(): void };
}

export function instrumentSockets(io: BeckonIo, metrics: SocketMetrics): void {
  metrics.connectedSockets = () => io.engine.clientsCount;
  // One middleware for every socket: it reads nothing of the socket, so a page costs no function of its own.
  const observe = (packet: unknown[], next: (error?: Error) => void): void => {
    const event = String(packet[0]);
    metrics.socketEvents.inc({ event: KNOWN_EVENTS.has(event) ? event : 'other' });
    if (ANSWERING_EVENTS.has(event)) {
      // The handler answers UNKNOWN_ENGAGEMENT for an id of another visit (or none) and changes nothing;
      // watch that answer, and give the handler one to call when the page sent no callback.
      const last = packet.length - 1;
      const pageAck = typeof packet[last] === 'function' ? (packet[last] as (r: PageAck) => void) : null;
      const observeAck = (result: PageAck) => {
        if (!result.ok && result.code === 'UNKNOWN_ENGAGEMENT') metrics.foreignAnswers.inc();
        pageAck?.(result);
      };
      if (pageAck) packet[last] = observeAck;
      else packet.push(observeAck);
    }
    next();
  };
  io.on('connection', (socket) => {
    metrics.socketConnections.inc();
    socket.use(observe);
  });
}
