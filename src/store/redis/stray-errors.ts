/**
 * Errors of a Redis client that reach no caller. node-redis's cluster
 * client was seen, during a failover, to reject a command's timeout where
 * no promise listened, and socket.io's adapter publishes without handling a
 * failed publish: either is an unhandled rejection, which ends a Node
 * process. A failure to reach Redis that no caller hears about changes
 * nothing (the calls that matter answered 503 already), so it is logged and
 * the process goes on; anything else still ends it, as a bug should.
 */
import { isUnavailable } from './connection.js';

export interface StrayErrorLog {
  warn(details: { err: unknown }, message: string): void;
}

/** True when `error` was a failure to reach Redis and has been logged; false for anything else. */
export function forgiveStrayRedisFailure(error: unknown, log: StrayErrorLog): boolean {
  if (!isUnavailable(error)) return false;
  log.warn({ err: error }, 'a Redis call failed where no caller was waiting (a failover or an outage); going on');
  return true;
}

/** Installs the rule above for the whole process: unhandled rejections and uncaught exceptions. */
export function keepRunningThroughStrayRedisFailures(log: StrayErrorLog): void {
  process.on('unhandledRejection', (reason) => {
    if (!forgiveStrayRedisFailure(reason, log)) throw reason;
  });
  process.on('uncaughtException', (error) => {
    if (forgiveStrayRedisFailure(error, log)) return;
    process.stderr.write(`Beckon stopped on an error it cannot recover from: ${error.stack ?? String(error)}\n`);
    process.exit(1);
  });
}
