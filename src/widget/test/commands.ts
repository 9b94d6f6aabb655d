/**
 * Browser commands for the widget's component tests: they run in Node, so a
 * test in the browser can call Beckon's REST API as a strategy would (the
 * API sends no CORS headers, and callers are not pages).
 */
import type { BrowserCommand } from 'vitest/node';
import type { NotificationDetail } from '../../protocol/visitor.js';
import type { TestServer } from '../../../test/support.js';

export interface CallerReply {
  status: number;
  body: any;
}

async function call(url: string, init?: RequestInit): Promise<CallerReply> {
  const response = await fetch(url, init);
  return { status: response.status, body: await response.json() };
}

const post = (url: string, body: unknown) =>
  call(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

export const engage: BrowserCommand<[server: string, profile: Record<string, unknown>]> = (_context, server, profile) =>
  post(`${server}/backend/data/gateway/engage`, { ixnProfile: profile });

export const noengage: BrowserCommand<[server: string, cancel: Record<string, unknown>]> = (_context, server, cancel) =>
  post(`${server}/backend/data/gateway/noengage`, { cancelData: cancel });

export const engagement: BrowserCommand<[server: string, interactionId: string]> = (_context, server, id) =>
  call(`${server}/backend/data/gateway/engagements/${encodeURIComponent(id)}`);

/**
 * A caller's notification to a visit's pages (or one page), as the Notification API sends it: through
 * the server's own notifyPages, so that this test does not depend on the REST route. Resolves with the
 * number of pages that got it.
 */
export const notify: BrowserCommand<[visitId: string, pageId: string | null, detail: NotificationDetail]> = async (
  _context,
  visitId,
  pageId,
  detail,
) => {
  const server = (globalThis as { [key: symbol]: TestServer | undefined })[Symbol.for('beckon.widget-test-server')];
  if (!server) throw new Error("the widget tests' Beckon is not running in this process");
  return server.beckon.pages.notify({ visitId, pageId, detail });
};

declare module 'vitest/browser' {
  interface BrowserCommands {
    notify(visitId: string, pageId: string | null, detail: NotificationDetail): Promise<number>;
    engage(server: string, profile: Record<string, unknown>): Promise<CallerReply>;
    noengage(server: string, cancel: Record<string, unknown>): Promise<CallerReply>;
    engagement(server: string, interactionId: string): Promise<CallerReply>;
  }
}
