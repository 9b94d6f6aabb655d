/**
 * Browser commands for the widget's component tests: they run in Node, so a
 * test in the browser can call Beckon's REST API as a strategy would (the
 * API sends no CORS headers, and callers are not pages).
 */
import type { BrowserCommand } from 'vitest/node';

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

declare module 'vitest/browser' {
  interface BrowserCommands {
    engage(server: string, profile: Record<string, unknown>): Promise<CallerReply>;
    noengage(server: string, cancel: Record<string, unknown>): Promise<CallerReply>;
    engagement(server: string, interactionId: string): Promise<CallerReply>;
  }
}
