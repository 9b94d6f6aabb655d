/** Vitest global setup of the `node-redis` project: one real redis-server (AOF on) for the run, stopped by PID after it. */
import type { TestProject } from 'vitest/node';
import { startRedisServer } from './redis-server.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await startRedisServer();
  project.provide('redisUrl', redis.url);
  return () => redis.dispose();
}
