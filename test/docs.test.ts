/**
 * The docs cannot drift from the code: the FAULT table of docs/api.md is the
 * table of src/protocol/faults.ts, the variables of docs/configuration.md are
 * ENVIRONMENT_VARIABLES of src/config.ts, the README stays a front page, and
 * every relative link of the README and docs/ reaches a file (and a heading)
 * that exists. The way Fastify tests its error docs against its error table.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ENVIRONMENT_VARIABLES } from '../src/config.js';
import { FAULTS } from '../src/protocol/faults.js';
import { headingAnchors, linkTargets, markdownTable, plainText } from './markdown.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DOCS = join(ROOT, 'docs');
const README = join(ROOT, 'README.md');
const pages = [
  README,
  ...readdirSync(DOCS)
    .filter((name) => name.endsWith('.md'))
    .map((name) => join(DOCS, name)),
];

describe('docs/api.md, the FAULT table', () => {
  const rows = markdownTable(join(DOCS, 'api.md'), ['code', 'status', 'when']);
  const documented = new Map(rows.map((row) => [plainText(row.code!), plainText(row.status!)]));

  it('documents every FAULT code with the HTTP status it is sent with', () => {
    for (const [code, { status }] of Object.entries(FAULTS)) {
      expect(documented.has(code), `${code} is in src/protocol/faults.ts but not in docs/api.md`).toBe(true);
      expect(documented.get(code), `HTTP status of ${code} in docs/api.md`).toBe(String(status));
    }
  });

  it('documents no code that does not exist, each once, with when it is sent', () => {
    for (const code of documented.keys()) {
      expect(Object.hasOwn(FAULTS, code), `${code} is in docs/api.md but not in src/protocol/faults.ts`).toBe(true);
    }
    expect(documented.size, 'a code documented twice').toBe(rows.length);
    for (const row of rows) expect(plainText(row.when!), `when ${row.code} is sent`).not.toBe('');
  });
});

describe('docs/configuration.md, the variables table', () => {
  const rows = markdownTable(join(DOCS, 'configuration.md'), ['variable', 'default', 'meaning']);
  // A reader sees `secret` and "secret" alike; the help prints the quotes.
  const normal = (text: string) => plainText(text).replace(/"/g, '').replace(/\s+/g, ' ');
  const documented = new Map(rows.map((row) => [plainText(row.variable!), normal(row.default!)]));

  it('documents every variable of ENVIRONMENT_VARIABLES with the same default', () => {
    for (const variable of ENVIRONMENT_VARIABLES) {
      expect(documented.has(variable.name), `${variable.name} is missing from docs/configuration.md`).toBe(true);
      expect(documented.get(variable.name), `default of ${variable.name}`).toBe(normal(variable.default));
    }
  });

  it('documents no variable Beckon does not read, each once, with its meaning', () => {
    const known = new Set(ENVIRONMENT_VARIABLES.map((v) => v.name));
    for (const name of documented.keys()) {
      expect(known.has(name), `${name} is in docs/configuration.md but not in ENVIRONMENT_VARIABLES`).toBe(true);
    }
    expect(documented.size, 'a variable documented twice').toBe(rows.length);
    for (const row of rows) expect(plainText(row.meaning!), `meaning of ${row.variable}`).not.toBe('');
  });
});

describe('README.md and docs/', () => {
  it('the README is a front page of at most 500 lines', () => {
    const lines = readFileSync(README, 'utf8').split('\n').length;
    expect(lines).toBeLessThanOrEqual(500);
  });

  it('every relative link points at a file that exists, and at a heading of it when it names one', () => {
    const anchorsOf = new Map<string, Set<string>>();
    const missing: string[] = [];
    const badAnchors: string[] = [];
    for (const page of pages) {
      const from = relative(ROOT, page);
      for (const target of linkTargets(readFileSync(page, 'utf8'))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:: not ours to check
        const [path = '', anchor] = target.split('#');
        const file = path === '' ? page : resolve(dirname(page), decodeURI(path));
        if (!existsSync(file)) {
          missing.push(`${from} → ${target} (${relative(ROOT, file)})`);
          continue;
        }
        if (anchor !== undefined && file.endsWith('.md') && statSync(file).isFile()) {
          if (!anchorsOf.has(file)) anchorsOf.set(file, headingAnchors(readFileSync(file, 'utf8')));
          if (!anchorsOf.get(file)!.has(anchor)) badAnchors.push(`${from} → ${target}`);
        }
      }
    }
    const files = [...new Set(missing.map((link) => /\(([^)]*)\)$/.exec(link)![1]))];
    expect(missing, `links to files that do not exist (${files.join(', ')}):\n${missing.join('\n')}`).toEqual([]);
    expect(badAnchors, `links to headings that do not exist:\n${badAnchors.join('\n')}`).toEqual([]);
  });

  it('speak of the product, not of how it was built', () => {
    const found: string[] = [];
    for (const page of pages) {
      readFileSync(page, 'utf8')
        .split('\n')
        .forEach((line, index) => {
          if (/\bsessions? \d|\bround \d|(?<![\w-]\/[\w.-]+)#\d+\b|\blanded\b/i.test(line) || /\bSPEC\b/.test(line)) {
            found.push(`${relative(ROOT, page)}:${index + 1}: ${line.trim()}`);
          }
        });
    }
    expect(found, found.join('\n')).toEqual([]);
  });
});
