/**
 * Global setup of the widget's browser tests: one real Beckon (port 0, its
 * own SQLite file) for the whole run. Its URL reaches the tests through
 * `inject('beckonUrl')`; the browser connects to it over a real WebSocket
 * (the test page is on a loopback origin, which Beckon allows by default).
 */
import type { TestProject } from 'vitest/node';
import { startServer, type TestServer } from '../../../test/support.js';

/** Where the browser commands (which run in this same Node process) find the server. */
export const WIDGET_TEST_SERVER = Symbol.for('beckon.widget-test-server');

declare module 'vitest' {
  export interface ProvidedContext {
    beckonUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startServer();
  (globalThis as { [WIDGET_TEST_SERVER]?: TestServer })[WIDGET_TEST_SERVER] = server;
  project.provide('beckonUrl', server.url);
  return () => server.close();
}
