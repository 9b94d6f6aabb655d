/**
 * Global setup of the widget's browser tests: one real Beckon (port 0, its
 * own SQLite file) for the whole run. Its URL reaches the tests through
 * `inject('beckonUrl')`; the browser connects to it over a real WebSocket
 * (the test page is on a loopback origin, which Beckon allows by default).
 */
import type { TestProject } from 'vitest/node';
import { startServer } from '../../../test/support.js';

declare module 'vitest' {
  export interface ProvidedContext {
    beckonUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startServer();
  project.provide('beckonUrl', server.url);
  return () => server.close();
}
