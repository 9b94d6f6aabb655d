/**
 * The socket.io server and socket as the frontend uses them, typed by the
 * protocol's event maps, so that every emit and handler is checked against
 * the wire protocol.
 */
import type { Server, Socket } from 'socket.io';
import type { ClientToServerEvents, InterServerEvents, ServerToClientEvents, SocketData } from '../protocol/index.js';

export type BeckonIo = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type PageSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
