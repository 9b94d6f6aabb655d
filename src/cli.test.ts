/**
 * The `beckon` command: its arguments, its help (every variable of
 * docs/configuration.md with the default the configuration really uses), and
 * what a person sees when starting it: readable logs on a terminal, JSON lines
 * elsewhere, and one sentence when the port is taken. The process tests run
 * the built command (`npm run build`, which `npm test` does first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { helpText, parseArguments } from './cli.js';
import { ENVIRONMENT_VARIABLES, schemaDefaults } from './config.js';
import { markdownTable, plainText } from '../test/markdown.js';

/** The variables an operator reads about in docs/configuration.md, in its order. */
const DOCUMENTED_VARIABLES = markdownTable('docs/configuration.md', ['variable', 'default', 'meaning']).map((row) =>
  plainText(row.variable!),
);

describe('beckon arguments', () => {
  it('start with none or "start", help and version by their usual names', () => {
    expect(parseArguments([])).toEqual({ run: 'start' });
    expect(parseArguments(['start'])).toEqual({ run: 'start' });
    for (const help of ['--help', '-h', 'help']) expect(parseArguments([help])).toEqual({ run: 'help' });
    for (const version of ['--version', '-v']) expect(parseArguments([version])).toEqual({ run: 'version' });
  });

  it('refuse anything else, pointing at environment variables', () => {
    for (const args of [['--port', '9090'], ['-p'], ['serve'], ['start', '--port=1'], ['--help', 'extra'], ['']]) {
      const command = parseArguments(args);
      expect(command.run, args.join(' ')).toBe('usage');
      expect(command.run === 'usage' && command.message).toMatch(/^beckon: .*environment variables.*beckon --help\.$/);
    }
  });
});

describe('beckon --help', () => {
  const help = helpText();

  it('lists every variable of docs/configuration.md with a default', () => {
    expect(DOCUMENTED_VARIABLES.length).toBeGreaterThan(0);
    for (const name of DOCUMENTED_VARIABLES)
      expect(help, name).toMatch(new RegExp(`^  ${name} .*\\n +default: \\S`, 'm'));
  });

  it('lists every variable the configuration reads, with the default it really uses', () => {
    const listed = new Map(ENVIRONMENT_VARIABLES.map((v) => [v.name, v.default]));
    for (const [name, value] of Object.entries(schemaDefaults())) {
      expect(listed.has(name), `${name} is read by config.ts but missing from ENVIRONMENT_VARIABLES`).toBe(true);
      if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') {
        expect(listed.get(name), `default of ${name}`).toBe(String(value));
      }
    }
    expect(new Set(listed.keys()).size).toBe(ENVIRONMENT_VARIABLES.length);
  });
});

const built = existsSync('dist/server/beckon.js');
const children: ChildProcess[] = [];
const folders: string[] = [];
afterAll(() => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGTERM');
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

/** Runs the built command (through `script` for a terminal) and collects its output until `until` matches or it exits. */
function start(options: {
  terminal: boolean;
  env: Record<string, string>;
  until: RegExp;
  args?: string[];
}): Promise<{ output: string; code: number | null; child: ChildProcess }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'beckon-cli-'));
  folders.push(dataDir);
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    BECKON_DB: join(dataDir, 'beckon.db'),
    HOST: '127.0.0.1',
    ...options.env,
  };
  const command = join(process.cwd(), 'dist/server/beckon.js');
  // `script` gives the command a pseudo-terminal, as a person's shell would.
  const child = options.terminal
    ? spawn('script', ['-qec', `${process.execPath} ${command}`, '/dev/null'], {
        env,
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe'],
      })
    : spawn(process.execPath, [command, ...(options.args ?? [])], {
        env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
  children.push(child);
  return new Promise((resolve) => {
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (options.until.test(output)) resolve({ output, code: null, child });
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    child.once('exit', (code) => resolve({ output, code, child }));
  });
}

describe.runIf(built)('starting beckon', () => {
  it('on a terminal prints readable lines, and the banner says where the shop, console, docs and data are', async () => {
    const { output } = await start({ terminal: true, env: { PORT: '0', TERM: 'dumb' }, until: /data\s+\S+beckon\.db/ });
    // Strips the terminal's colour codes (ESC [ … m).
    // eslint-disable-next-line no-control-regex
    const text = output.replace(/\x1b\[[0-9;]*m/g, '');
    expect(text).not.toMatch(/^\{"level"/m);
    expect(text).toMatch(
      /INFO.*Beckon is listening on http:\/\/127\.0\.0\.1:(\d+)\r?\n +shop +http:\/\/127\.0\.0\.1:\d+\/\r?\n +console +http:\/\/127\.0\.0\.1:\d+\/console\r?\n +docs +http:\/\/127\.0\.0\.1:\d+\/docs\/\r?\n +data +\S+beckon\.db/,
    );
  });

  it('elsewhere prints one JSON object per line', async () => {
    const { output } = await start({ terminal: false, env: { PORT: '0' }, until: /Beckon is listening/ });
    const lines = output.trim().split('\n');
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    const banner = lines.map((line) => JSON.parse(line)).find((entry) => typeof entry.url === 'string');
    expect(banner.msg).toMatch(/^Beckon is listening on http:\/\/127\.0\.0\.1:\d+\n {2}shop/);
  });

  it('says in one sentence that the port is taken, names PORT, and exits 1', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const { output, code } = await start({
        terminal: false,
        env: { PORT: String(port), LOG_LEVEL: 'silent' },
        until: /(?!)/,
      });
      expect(code).toBe(1);
      expect(output).toBe(
        `Beckon cannot start: port ${port} on 127.0.0.1 is already in use; set PORT to another port (for example PORT=9090).\n`,
      );
    } finally {
      taken.close();
    }
  });

  it('exits 2 on a bad option, before starting anything', async () => {
    const { output, code } = await start({
      terminal: false,
      env: { PORT: '0' },
      until: /(?!)/,
      args: ['--port', '9090'],
    });
    expect(code).toBe(2);
    expect(output).toBe(
      'beckon: unknown option "--port". Settings are environment variables (PORT=9090 beckon); see beckon --help.\n',
    );
  });

  it('refuses to keep its data inside node_modules (exit 2)', async () => {
    const inside = join(mkdtempSync(join(tmpdir(), 'beckon-cli-')), 'node_modules', 'beckon', 'data', 'beckon.db');
    folders.push(inside.split('/node_modules/')[0]!);
    const { output, code } = await start({ terminal: false, env: { PORT: '0', BECKON_DB: inside }, until: /(?!)/ });
    expect(code).toBe(2);
    expect(output).toMatch(/^Beckon will not keep its data inside node_modules .*BECKON_DB/);
    expect(existsSync(inside)).toBe(false);
  });
});
