/**
 * The server as an operator installs it: `npm pack` of this checkout,
 * installed into an empty folder elsewhere (its dependencies from the
 * registry, better-sqlite3 compiled there), then `npx beckon --help` and
 * `npx beckon` on a free port. The shop, its widget, the console and the docs
 * come from inside the installed package; the data goes into the folder
 * Beckon was started in, never into node_modules.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test, expect } from '@playwright/test';
import { markdownTable, plainText } from '../test/markdown.js';
import { installFolder, npmInstall, repository, run, startInGroup, stopGroup, succeeded } from './installs.js';

/** Every variable of docs/configuration.md: the help must list each. */
const DOCUMENTED_VARIABLES = markdownTable(join(repository, 'docs/configuration.md'), [
  'variable',
  'default',
  'meaning',
]).map((row) => plainText(row.variable!));

test('npm pack of the server installs in an empty folder and starts with npx beckon', async ({ page }) => {
  // Compiling better-sqlite3 takes a minute or two on this machine.
  test.setTimeout(10 * 60_000);
  expect(existsSync(join(repository, 'dist/server/beckon.js')), 'run npm run build first').toBe(true);
  const folder = installFolder('server-install');
  try {
    const packed = succeeded(
      await run('npm', ['pack', '--json', '--pack-destination', folder.dir], repository),
      'npm pack',
    );
    const { filename } = (JSON.parse(packed.stdout) as { filename: string }[])[0]!;
    // An operator's own folder: it approves better-sqlite3's build script, as npm 11 asks.
    writeFileSync(
      join(folder.dir, 'package.json'),
      JSON.stringify({ name: 'shop-ops', private: true, allowScripts: { 'better-sqlite3': true } }),
    );
    const installMs = await npmInstall(folder.dir, [`./${filename}`], 9 * 60_000);
    test.info().annotations.push({
      type: 'install',
      description: `npm install of ${filename}: ${(installMs / 1000).toFixed(0)} s`,
    });

    const help = succeeded(await run('npx', ['beckon', '--help'], folder.dir), 'npx beckon --help');
    for (const name of DOCUMENTED_VARIABLES)
      expect(help.stdout, `--help lists ${name}`).toMatch(new RegExp(`^ {2}${name} .*\\n +default: \\S`, 'm'));
    expect(help.stdout).toMatch(/^ {2}PORT .*\n +default: 9081$/m);
    const version = succeeded(await run('npx', ['beckon', '--version'], folder.dir), 'npx beckon --version');
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(repository, 'package.json'), 'utf8')).version);
    const bad = await run('npx', ['beckon', '--port', '9090'], folder.dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown option "--port"');

    const beckon = startInGroup('npx', ['beckon'], folder.dir, { PORT: '0', HOST: '127.0.0.1' });
    try {
      let stderr = '';
      beckon.stderr!.on('data', (chunk) => (stderr += chunk));
      // Not a terminal: one JSON line per entry; the start line carries the URL.
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`npx beckon did not start: ${stderr}`)), 60_000);
        createInterface({ input: beckon.stdout! }).on('line', (line) => {
          const entry = JSON.parse(line) as { url?: string; msg: string };
          if (typeof entry.url === 'string') {
            clearTimeout(timer);
            expect(entry.msg).toMatch(
              /shop +http:\/\/127\.0\.0\.1:\d+\/\n.*console.*\n.*docs.*\n.*data +\S+beckon\.db/,
            );
            resolve(entry.url);
          }
        });
        beckon.once('exit', (code) => reject(new Error(`npx beckon exited with ${code}: ${stderr}`)));
      });
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      await page.goto(url);
      await expect(page.getByRole('heading', { name: 'Gear for long days outside' })).toBeVisible();
      // The widget script is served from the package and connects: the page gets its visit.
      const ids = await page.evaluate(async () => {
        while (!('Beckon' in window)) await new Promise((resolve) => setTimeout(resolve, 50));
        return (window as any).Beckon.getIDs();
      });
      expect(ids.visitId).toMatch(/\S/);
      expect((await fetch(`${url}/console`, { redirect: 'follow' })).status).toBe(200);
      expect((await fetch(`${url}/docs/`)).status).toBe(200);
      // The data went where Beckon was started, not into the installed package.
      expect(existsSync(join(folder.dir, 'data', 'beckon.db'))).toBe(true);
      expect(existsSync(join(folder.dir, 'node_modules', 'beckon', 'data'))).toBe(false);
    } finally {
      await stopGroup(beckon);
    }
  } finally {
    folder.remove();
  }
});
