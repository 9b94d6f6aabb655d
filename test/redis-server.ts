/**
 * A real redis-server for tests: its own free port on 127.0.0.1, its own
 * temporary folder, AOF on, started and stopped by PID. It lives beside the
 * other local Redis topologies in scripts/cluster/, which `npm run cluster`
 * uses too.
 */
export * from '../scripts/cluster/redis-server.js';
