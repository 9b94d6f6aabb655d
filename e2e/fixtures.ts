/**
 * Playwright fixtures: a real Beckon process per worker (the built server,
 * `node dist/server/main.js`, on port 0 with its own SQLite file) and a
 * small caller for its REST API.
 */
import { test as base, expect, type Page } from '@playwright/test';
import { startBeckonProcess, type BeckonProcess } from '../test/process.js';

export { startBeckonProcess, type BeckonProcess };

export interface Caller {
  engage(profile: Record<string, unknown>): Promise<{ status: number; body: any }>;
  noengage(cancel: Record<string, unknown>): Promise<{ status: number; body: any }>;
  status(interactionId: string): Promise<{ status: number; body: any }>;
  /** The pages Beckon holds open for a visit now, with what each last reported (GET /backend/data/visits). */
  pages(visitId: string): Promise<OpenPage[]>;
  /** The ids of those pages. */
  openPages(visitId: string): Promise<string[]>;
  post(path: string, body: string, contentType: string): Promise<{ status: number; body: any; type: string }>;
}

export interface OpenPage {
  pageId: string;
  visible: boolean;
  focused: boolean;
}

export function callerFor(url: string): Caller {
  const send = async (path: string, body: string, contentType: string) => {
    const response = await fetch(url + path, { method: 'POST', headers: { 'content-type': contentType }, body });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // left as text so that the test shows it
    }
    return { status: response.status, body: parsed as any, type: response.headers.get('content-type') ?? '' };
  };
  return {
    engage: (profile) =>
      send('/backend/data/gateway/engage', JSON.stringify({ ixnProfile: profile }), 'application/json'),
    noengage: (cancel) =>
      send('/backend/data/gateway/noengage', JSON.stringify({ cancelData: cancel }), 'application/json'),
    async status(id) {
      const response = await fetch(`${url}/backend/data/gateway/engagements/${encodeURIComponent(id)}`);
      return { status: response.status, body: await response.json() };
    },
    async pages(visitId) {
      const response = await fetch(`${url}/backend/data/visits`);
      const { visits } = (await response.json()) as { visits: { visitId: string; pages: OpenPage[] }[] };
      return visits.find((visit) => visit.visitId === visitId)?.pages ?? [];
    },
    async openPages(visitId) {
      return (await this.pages(visitId)).map((page) => page.pageId);
    },
    post: send,
  };
}

/**
 * Makes a tab report what a real background tab reports (hidden, not focused; headless Chromium
 * says every tab is in front), and waits until the store knows it: the report travels on the
 * tab's own socket, and an engage sent before it lands would place by the old attention.
 */
export async function reportBackground(page: Page, caller: Caller): Promise<void> {
  const { visitId, pageId } = await visitorIds(page);
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    document.hasFocus = () => false;
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await expect
    .poll(async () => (await caller.pages(visitId)).find((open) => open.pageId === pageId)?.visible)
    .toBe(false);
}

/** The ids of the visitor on `page`, from the page API. */
export async function visitorIds(page: Page): Promise<{ globalVisitId: string; visitId: string; pageId: string }> {
  await page.waitForFunction(() => 'Beckon' in window);
  return page.evaluate(() => (window as any).Beckon.getIDs());
}

export const test = base.extend<{ caller: Caller }, { beckon: BeckonProcess }>({
  beckon: [
    async ({}, use) => {
      const server = await startBeckonProcess();
      await use(server);
      await server.stop('SIGTERM');
    },
    { scope: 'worker' },
  ],
  baseURL: async ({ beckon }, use) => use(beckon.url),
  caller: async ({ beckon }, use) => use(callerFor(beckon.url)),
});

export { expect };

let counter = 0;
/** A fresh interactionId per call. */
export const newInteractionId = (label: string) => `e2e-${label}-${process.pid}-${++counter}-${Date.now()}`;
