/**
 * A page simulator: one child process holding many visitor pages, each a
 * real socket.io-client connection speaking Beckon's page protocol. Driven
 * over IPC by `pages.ts`.
 *
 * - `idle` pages connect, receive their session and hold the connection.
 * - `responder` pages also answer every invitation the way the widget does:
 *   `invitation:shown` (the server acknowledges → `delivered`), then
 *   `invitation:answer` declined, which frees the visit for the next engage
 *   in strict mode. Every acknowledgement is counted, so a lost invitation
 *   shows up as a difference, not as a statistic.
 */
import { io, type Socket } from 'socket.io-client';

interface ConnectCommand {
  cmd: 'connect';
  /** One server, or a cluster's frontends: page n connects to urls[n % urls.length]. */
  urls: string[];
  count: number;
  concurrency: number;
  mode: 'idle' | 'responder';
  wantVisitIds: boolean;
}
type Command = ConnectCommand | { cmd: 'stats' } | { cmd: 'reset' } | { cmd: 'close' };

const sockets: Socket[] = [];
const counters = { received: 0, delivered: 0, declined: 0, failures: 0, disconnects: 0 };
const failureSamples: string[] = [];

function fail(what: string): void {
  counters.failures++;
  if (failureSamples.length < 5) failureSamples.push(what);
}

function respond(socket: Socket): void {
  socket.on('invitation:start', (offer: { interactionId: string }) => {
    counters.received++;
    const interactionId = offer.interactionId;
    socket.timeout(30_000).emit('invitation:shown', { interactionId }, (error: Error | null, ack: any) => {
      if (error || !ack?.ok || ack.state !== 'delivered')
        return fail(`shown: ${error?.message ?? JSON.stringify(ack)}`);
      counters.delivered++;
      socket
        .timeout(30_000)
        .emit('invitation:answer', { interactionId, outcome: 'declined' }, (error2: Error | null, ack2: any) => {
          if (error2 || !ack2?.ok) return fail(`answer: ${error2?.message ?? JSON.stringify(ack2)}`);
          counters.declined++;
        });
    });
  });
}

let opened = 0;

function openOne(command: ConnectCommand): Promise<string | null> {
  const url = command.urls[opened++ % command.urls.length]!;
  return new Promise((resolve) => {
    const socket = io(url, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      timeout: 30_000,
      auth: {
        page: { url: 'http://shop.test/bench', title: 'Bench page', visible: true, focused: true, locale: 'en' },
      },
    });
    const timer = setTimeout(() => {
      socket.disconnect();
      resolve(null);
    }, 60_000);
    socket.once('session', (session: { visitId: string }) => {
      clearTimeout(timer);
      sockets.push(socket);
      socket.on('disconnect', () => counters.disconnects++);
      resolve(session.visitId);
    });
    socket.once('connect_error', (error) => {
      clearTimeout(timer);
      if (failureSamples.length < 5) failureSamples.push(`connect: ${error.message}`);
      socket.disconnect();
      resolve(null);
    });
    if (command.mode === 'responder') respond(socket);
  });
}

async function connect(command: ConnectCommand): Promise<void> {
  const visitIds: string[] = [];
  let failed = 0;
  let next = 0;
  const worker = async () => {
    while (next < command.count) {
      next++;
      const visitId = await openOne(command);
      if (visitId === null) failed++;
      else visitIds.push(visitId);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, command.concurrency) }, worker));
  process.send!({
    type: 'connected',
    connected: visitIds.length,
    failed,
    visitIds: command.wantVisitIds ? visitIds : [],
    failureSamples,
  });
}

process.on('message', (command: Command) => {
  switch (command.cmd) {
    case 'connect':
      void connect(command);
      break;
    case 'stats':
      process.send!({ type: 'stats', open: sockets.filter((s) => s.connected).length, ...counters, failureSamples });
      break;
    case 'reset':
      Object.assign(counters, { received: 0, delivered: 0, declined: 0, failures: 0 });
      break;
    case 'close':
      for (const socket of sockets) socket.disconnect();
      process.exit(0);
  }
});
// Never outlive the benchmark that started us.
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready' });
