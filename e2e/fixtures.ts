/**
 * Playwright fixtures: a real Beckon process per worker (the built server,
 * `node dist/server/main.js`, on port 0 with its own SQLite file) and a
 * small caller for its REST API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test as base, expect, type Page } from '@playwright/test';

export interface BeckonProcess {
  url: string;
  child: ChildProcess;
}

export interface Caller {
  engage(profile: Record<string, unknown>): Promise<{ status: number; body: any }>;
  noengage(cancel: Record<string, unknown>): Promise<{ status: number; body: any }>;
  status(interactionId: string): Promise<{ status: number; body: any }>;
  post(path: string, body: string, contentType: string): Promise<{ status: number; body: any; type: string }>;
}

/** Starts the built server and resolves once it logs the URL it listens on. */
export async function startBeckonProcess(env: Record<string, string> = {}): Promise<BeckonProcess & { stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'beckon-e2e-'));
  const child = spawn(process.execPath, ['dist/server/main.js'], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', BECKON_DB: join(dir, 'beckon.db'), LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Beckon did not start: ${stderr}`)), 15_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line);
        if (entry.url) {
          clearTimeout(timer);
          resolve(entry.url);
        }
      } catch {
        // not a log line
      }
    });
    child.on('exit', (code) => reject(new Error(`Beckon exited with ${code}: ${stderr}`)));
  });
  return {
    url,
    child,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
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
    engage: (profile) => send('/backend/data/gateway/engage', JSON.stringify({ ixnProfile: profile }), 'application/json'),
    noengage: (cancel) => send('/backend/data/gateway/noengage', JSON.stringify({ cancelData: cancel }), 'application/json'),
    async status(id) {
      const response = await fetch(`${url}/backend/data/gateway/engagements/${encodeURIComponent(id)}`);
      return { status: response.status, body: await response.json() };
    },
    post: send,
  };
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
      await server.stop();
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
