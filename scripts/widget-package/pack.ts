/**
 * `npm run pack:widget`: writes beckon-widget-<version>.tgz at the repository
 * root from the widget build (`npm run build:widget` runs first). The package
 * (packages/widget) holds the bundles (the ES module, the script-tag build
 * and the UI chunk it loads from beside itself) and the standalone type
 * declarations, nothing of the server; its version follows the root
 * package's, so a site's widget and its Beckon server are released together.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = process.cwd();
const packageDir = join(root, 'packages', 'widget');
const built = join(root, 'dist', 'widget');
const staged = join(packageDir, 'dist');

function fail(message: string): never {
  process.stderr.write(`pack:widget: ${message}\n`);
  process.exit(1);
}

const version = (dir: string) =>
  (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
if (version(packageDir) !== version(root)) {
  fail(
    `packages/widget/package.json is at ${version(packageDir)}, the server at ${version(root)}: set both to the same version`,
  );
}
for (const file of ['beckon.js', 'beckon-ui.js', 'beckon.mjs', 'types/widget/index.d.ts']) {
  if (!existsSync(join(built, file))) fail(`dist/widget/${file} is missing: run npm run build:widget`);
}

rmSync(staged, { recursive: true, force: true });
mkdirSync(staged, { recursive: true });
cpSync(join(built, 'beckon.js'), join(staged, 'beckon.js'));
cpSync(join(built, 'beckon-ui.js'), join(staged, 'beckon-ui.js'));
cpSync(join(built, 'beckon.mjs'), join(staged, 'beckon.mjs'));
cpSync(join(built, 'types'), join(staged, 'types'), { recursive: true });

const output = execFileSync('npm', ['pack', '--json', '--pack-destination', root], {
  cwd: packageDir,
  encoding: 'utf8',
});
const [packed] = JSON.parse(output) as {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}[];
if (!packed) fail('npm pack reported nothing');
// Only the bundles, their declarations and the package's own files: a site's build must pull no server code.
const stray = packed.files
  .map((f) => f.path)
  .filter((path) => !/^(dist\/(beckon\.m?js|beckon-ui\.js|types\/.+\.d\.ts)|package\.json|README\.md)$/.test(path));
if (stray.length > 0) fail(`unexpected files in the package: ${stray.join(', ')}`);
process.stdout.write(
  `${packed.filename}: ${packed.files.length} files, ${(packed.size / 1024).toFixed(1)} KB packed, ${(packed.unpackedSize / 1024).toFixed(1)} KB installed\n`,
);
