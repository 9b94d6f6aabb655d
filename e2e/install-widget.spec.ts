/**
 * The widget as a site owner installs it: `npm run pack:widget`'s tarball
 * installed into a fresh Vite + TypeScript project outside this checkout
 * (Vite and TypeScript from the registry, nothing from this checkout's
 * node_modules). The project type-checks against the package's declarations
 * (and a misuse fails), builds, pulls in no server code, and its page, served
 * from its own origin, shows an invitation from a real Beckon in Chromium and
 * hears `beckon:accepted`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join } from 'node:path';
import { expect, newInteractionId, test } from './fixtures.js';
import { installFolder, npmInstall, repository, run, succeeded } from './installs.js';

const VITE = '8.3.8';
const TYPESCRIPT = '6.0.3';

/** The site's entry: the one import docs/widget.md tells bundler users to write. */
const MAIN = `
import 'beckon-widget';
import type { BeckonInvite } from 'beckon-widget';

const invite: BeckonInvite = document.createElement('beckon-invite');
invite.setAttribute('server', new URLSearchParams(location.search).get('server') ?? location.origin);
document.body.append(invite);

window.addEventListener('beckon:accepted', (event) => {
  const channel: string = event.detail.channel;
  const interaction: string = event.detail.interactionId;
  document.querySelector('output')!.textContent = \`accepted \${channel} for \${interaction}\`;
});
`;

/** A misuse the declarations must refuse: a detail field that does not exist, a channel that is not text. */
const MISUSE = `
import 'beckon-widget';
window.addEventListener('beckon:accepted', (event) => event.detail.nope);
void document.createElement('beckon-invite').accept(42);
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'ESNext',
    moduleResolution: 'bundler',
    lib: ['ES2022', 'DOM', 'DOM.Iterable'],
    types: [],
    strict: true,
    noEmit: true,
    // The package's own declarations are checked too: they must not need anything that is not installed.
    skipLibCheck: false,
  },
  include: ['src'],
};

/** Serves a built site from its own origin (a loopback port of its own, as a dev server would). */
function serveStatic(root: string): Promise<{ url: string; server: Server }> {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    const file = join(root, path === '/' ? 'index.html' : path);
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      response.writeHead(404).end();
      return;
    }
    response
      .writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' })
      .end(readFileSync(file));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as { port: number };
      resolve({ url: `http://127.0.0.1:${address.port}`, server });
    }),
  );
}

/** Bytes of the files under `dir`, as installed. */
function installedBytes(dir: string): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .reduce((sum, entry) => sum + statSync(join(entry.parentPath, entry.name)).size, 0);
}

test('beckon-widget installs into a Vite project, type-checks, builds and shows an invitation', async ({
  page,
  beckon,
  caller,
}) => {
  test.setTimeout(6 * 60_000);
  expect(existsSync(join(repository, 'dist/widget/types/widget/index.d.ts')), 'run npm run build first').toBe(true);
  const folder = installFolder('widget-site');
  let site: Server | null = null;
  try {
    // npm run pack:widget, without the rebuild that npm test has just done.
    const packed = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/widget-package/pack.ts'], {
      cwd: repository,
      encoding: 'utf8',
    });
    const tarball = join(repository, /^(beckon-widget-\S+\.tgz)/m.exec(packed)![1]!);

    writeFileSync(join(folder.dir, 'package.json'), JSON.stringify({ name: 'a-shop', private: true, type: 'module' }));
    writeFileSync(join(folder.dir, 'tsconfig.json'), JSON.stringify(TSCONFIG));
    writeFileSync(
      join(folder.dir, 'index.html'),
      '<!doctype html><html lang="en"><head><title>A shop</title></head><body><main><h1>A shop</h1><output></output></main><script type="module" src="/src/main.ts"></script></body></html>',
    );
    execFileSync('mkdir', ['-p', join(folder.dir, 'src')]);
    writeFileSync(join(folder.dir, 'src', 'main.ts'), MAIN);
    const installMs = await npmInstall(folder.dir, [`vite@${VITE}`, `typescript@${TYPESCRIPT}`, tarball], 4 * 60_000);

    // One install, no server code: nothing of Beckon's server side came along.
    const modules = join(folder.dir, 'node_modules');
    for (const server of ['fastify', 'better-sqlite3', 'socket.io', 'redis', 'zod', 'lit']) {
      expect(existsSync(join(modules, server)), `${server} installed with beckon-widget`).toBe(false);
    }
    const manifest = JSON.parse(readFileSync(join(modules, 'beckon-widget', 'package.json'), 'utf8'));
    expect(manifest.dependencies ?? {}).toEqual({});
    test.info().annotations.push(
      { type: 'install', description: `npm install: ${(installMs / 1000).toFixed(0)} s` },
      {
        type: 'size',
        description: `beckon-widget installed: ${(installedBytes(join(modules, 'beckon-widget')) / 1024).toFixed(1)} KB`,
      },
    );

    succeeded(await run('npx', ['tsc', '-p', '.', '--pretty', 'false'], folder.dir), 'tsc');
    writeFileSync(join(folder.dir, 'src', 'misuse.ts'), MISUSE);
    const refused = await run('npx', ['tsc', '-p', '.', '--pretty', 'false'], folder.dir);
    expect(refused.code).not.toBe(0);
    expect(refused.stdout).toMatch(/misuse\.ts\(3,\d+\): error TS2339: Property 'nope' does not exist/);
    expect(refused.stdout).toMatch(/misuse\.ts\(4,\d+\): error TS2345/);
    expect(refused.stdout.match(/error TS/g)).toHaveLength(2);
    execFileSync('rm', [join(folder.dir, 'src', 'misuse.ts')]);

    succeeded(await run('npx', ['vite', 'build'], folder.dir, { timeoutMs: 120_000 }), 'vite build');
    const served = await serveStatic(join(folder.dir, 'dist'));
    site = served.server;

    // The site's own origin (another loopback port) is allowed by Beckon's default origin rule.
    await page.goto(`${served.url}/?server=${encodeURIComponent(beckon.url)}`);
    await expect(page.getByRole('heading', { name: 'A shop' })).toBeVisible();
    const { visitId } = await page.evaluate(() => document.querySelector('beckon-invite')!.getIDs());
    const interactionId = newInteractionId('package');
    const engaged = await caller.engage({
      interactionId,
      visitId,
      channels: ['chat'],
      invitation: { title: 'Hello from the package', message: 'Installed with npm.' },
    });
    expect(engaged.status).toBe(200);
    const dialog = page.getByRole('dialog', { name: 'Hello from the package' });
    await expect(dialog).toBeVisible();
    await dialog.getByRole('button', { name: 'Chat now' }).click();
    await expect(page.locator('output')).toHaveText(`accepted chat for ${interactionId}`);
    await expect.poll(async () => (await caller.status(interactionId)).body.state).toBe('accepted');
  } finally {
    site?.close();
    folder.remove();
  }
});
