/**
 * The last step of `npm run build:server`: tsc compiles src/ into
 * dist/server/ but leaves other files behind, so this copies every `.lua`
 * file of src/ (the Redis store's scripts and their includes) to the same
 * place under dist/server/, beside the module that loads them
 * (src/store/redis/scripts.ts reads them from its own folder). Scripts
 * removed from src/ are removed from dist/server/ too, so that the package
 * ships exactly the scripts the source has.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Every `.lua` file under `folder`, as paths relative to it. */
export function luaFiles(folder: string): string[] {
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.lua'))
    .map((entry) => relative(folder, join(entry.parentPath, entry.name)))
    .sort();
}

export function copyLua(from: string, to: string): string[] {
  if (existsSync(to)) for (const stale of luaFiles(to)) rmSync(join(to, stale));
  const files = luaFiles(from);
  for (const file of files) {
    mkdirSync(dirname(join(to, file)), { recursive: true });
    copyFileSync(join(from, file), join(to, file));
  }
  return files;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const copied = copyLua('src', join('dist', 'server'));
  process.stdout.write(`copied ${copied.length} Lua scripts into dist/server\n`);
}
