/**
 * Debian's Firefox ESR, driven over WebDriver BiDi. Playwright drives only
 * its own patched Firefox builds (which cannot be downloaded here), and its
 * BiDi channel asks for commands newer than this ESR has, so the few
 * commands a test needs are sent directly: open a page, run a script in it.
 * The browser runs headless on a fresh profile in a temp folder, and is
 * ended by its PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';

export const FIREFOX = process.env.BECKON_FIREFOX ?? '/usr/bin/firefox-esr';

export const firefoxInstalled = () => existsSync(FIREFOX);

interface BidiResponse {
  id?: number;
  type: 'success' | 'error' | 'event';
  result?: unknown;
  error?: string;
  message?: string;
  method?: string;
  params?: Record<string, unknown>;
}

/** What `script.evaluate` answers for a value (serialised by BiDi's rules). */
interface RemoteValue {
  type: string;
  value?: unknown;
}

export class Firefox {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();
  /** Messages the pages wrote to their console. */
  readonly console: { level: string; text: string }[] = [];

  private constructor(
    private readonly child: ChildProcess,
    private readonly socket: WebSocket,
    private readonly profile: string,
  ) {
    socket.on('message', (raw) => {
      const message = JSON.parse(String(raw)) as BidiResponse;
      if (message.type === 'event') {
        if (message.method === 'log.entryAdded') {
          const { level, text } = message.params as { level: string; text: string };
          this.console.push({ level, text });
        }
        return;
      }
      const pending = message.id === undefined ? undefined : this.waiting.get(message.id);
      if (!pending) return;
      this.waiting.delete(message.id!);
      if (message.type === 'success') pending.resolve(message.result);
      else pending.reject(new Error(`${message.error}: ${message.message}`));
    });
  }

  static async launch(): Promise<Firefox> {
    const profile = mkdtempSync(join(tmpdir(), 'beckon-firefox-'));
    const child = spawn(FIREFOX, ['-headless', '-no-remote', '-profile', profile, '--remote-debugging-port', '0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      let said = '';
      const timer = setTimeout(() => reject(new Error(`Firefox did not start: ${said.slice(-500)}`)), 30_000);
      child.stderr!.on('data', (chunk: Buffer) => {
        said += chunk.toString();
        const found = /WebDriver BiDi listening on (ws:\/\/\S+)/.exec(said);
        if (found) {
          clearTimeout(timer);
          resolve(found[1]!);
        }
      });
      child.once('exit', (code) => reject(new Error(`Firefox exited (${code}): ${said.slice(-500)}`)));
    });
    const socket = new WebSocket(`${url}/session`);
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    const firefox = new Firefox(child, socket, profile);
    await firefox.send('session.new', { capabilities: {} });
    await firefox.send('session.subscribe', { events: ['log.entryAdded'] });
    return firefox;
  }

  send(method: string, params: Record<string, unknown>): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Opens `url` in a new tab and waits for its load event; returns the tab. */
  async open(url: string): Promise<string> {
    const { context } = (await this.send('browsingContext.create', { type: 'tab' })) as { context: string };
    await this.send('browsingContext.navigate', { context, url, wait: 'complete' });
    return context;
  }

  /** Runs `expression` in the tab (awaiting a promise) and answers its value, as JSON text when it is a string. */
  async evaluate(context: string, expression: string): Promise<unknown> {
    const answer = (await this.send('script.evaluate', {
      expression,
      target: { context },
      awaitPromise: true,
    })) as { type: 'success' | 'exception'; result?: RemoteValue; exceptionDetails?: { text: string } };
    if (answer.type === 'exception') throw new Error(`in Firefox: ${answer.exceptionDetails?.text}`);
    return answer.result?.value;
  }

  /** Evaluates `expression` until it is true, or fails after `timeoutMs`. */
  async waitFor(context: string, expression: string, timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!(await this.evaluate(context, `Boolean(${expression})`))) {
      if (Date.now() > until) throw new Error(`in Firefox, still false after ${timeoutMs} ms: ${expression}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async close(): Promise<void> {
    await this.send('browser.close', {}).catch(() => undefined);
    this.socket.close();
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.profile, { recursive: true, force: true });
  }
}
