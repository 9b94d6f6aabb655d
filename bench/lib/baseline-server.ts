/**
 * The floors Beckon is compared with, on the same machine in the same run:
 *
 * - `fastify`: a bare Fastify route at Beckon's engage path that parses the
 *   JSON body and answers as Beckon does, nothing else;
 * - `socketio`: the same route, plus a bare socket.io room emit to the page of
 *   the visit, which acknowledges `invitation:shown` and answers, with the
 *   same events and acks as a Beckon page (no validation, no store, no identity).
 */
import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import { Server } from 'socket.io';

const kind = process.argv[2] === 'socketio' ? 'socketio' : 'fastify';
const app = Fastify({ logger: false });
let io: Server | null = null;

interface Body {
  ixnProfile?: { interactionId?: string; visitId?: string; invitation?: { title?: string } };
}

app.post<{ Body: Body }>('/backend/data/gateway/engage', async (request, reply) => {
  const profile = request.body?.ixnProfile;
  if (!profile || typeof profile.interactionId !== 'string' || typeof profile.visitId !== 'string') {
    return reply.status(400).send({ status: 'FAULT', code: 'INVALID_PARAMETER' });
  }
  io?.to(`visit:${profile.visitId}`).emit('invitation:start', {
    interactionId: profile.interactionId,
    channels: ['chat'],
    invitation: profile.invitation ?? {},
    timeoutSeconds: 30,
    remainingMs: 30_000,
    userData: {},
  });
  return { status: 'OK', interactionId: profile.interactionId, state: 'pending' };
});

if (kind === 'socketio') {
  io = new Server(app.server, { serveClient: false });
  io.on('connection', (socket) => {
    const visitId = randomBytes(16).toString('base64url');
    const pageId = randomBytes(16).toString('base64url');
    void socket.join(`visit:${visitId}`);
    socket.emit('session', { visitId, pageId, globalVisitId: visitId, invitation: null, optedOut: false });
    socket.on('invitation:shown', (_payload: unknown, ack?: (r: unknown) => void) =>
      ack?.({ ok: true, state: 'delivered' }),
    );
    socket.on('invitation:answer', (_payload: unknown, ack?: (r: unknown) => void) =>
      ack?.({ ok: true, state: 'declined' }),
    );
  });
}

await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
const port = typeof address === 'object' && address ? address.port : 0;
process.on('message', (message: { cmd: string }) => {
  if (message.cmd === 'exit') process.exit(0);
});
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'listening', url: `http://127.0.0.1:${port}` });
