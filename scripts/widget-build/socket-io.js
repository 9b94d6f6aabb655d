// Entry of the widget build's `connection` environment (see on-first-use.ts): only what the widget calls.
export { io } from 'socket.io-client';
