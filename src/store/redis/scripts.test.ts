/**
 * The store's real scripts: each header lists every KEYS and ARGV it names,
 * in order; every `.lua` file beside them is a script or an include one of
 * them uses; Redis compiles each of them; and the time-to-answer histogram
 * in Lua puts every value in the bucket that core/reports.ts does.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../../../test/redis-server.js';
import { luaFiles } from '../../../scripts/server-build/copy-lua.js';
import { ANSWER_BOUNDS, answerBucket } from '../../core/reports.js';
import { createFanoutClient } from './connection.js';
import { readFromFolder, resolveIncludes } from './script-loader.js';
import { ALL_SCRIPTS, SCRIPTS_FOLDER, scriptLayout, scriptSource } from './scripts.js';
import { ANSWER_BOUNDS_ARG } from './reports.js';

const own = (name: string) => readFileSync(join(SCRIPTS_FOLDER, `${name}.lua`), 'utf8');

describe('the Redis scripts', () => {
  it.each(ALL_SCRIPTS)('%s starts with a header that says what each of its KEYS and ARGV is, in order', (name) => {
    const text = own(name);
    expect(text.startsWith('--[[')).toBe(true);
    const header = text.slice(0, text.indexOf(']]'));
    const listed = (table: 'KEYS' | 'ARGV') =>
      [...header.matchAll(new RegExp(`^\\s+${table}\\[(\\d+)\\]\\s+(\\w+)\\s+\\S`, 'gm'))].map((m) => [
        Number(m[1]),
        m[2],
      ]);
    const layout = scriptLayout(name as never);
    expect(listed('KEYS')).toEqual(layout.keys.map((key, i) => [i + 1, key]));
    expect(listed('ARGV')).toEqual(layout.args.map((arg, i) => [i + 1, arg]));
    // The locals come right after the header, before any include or code.
    const body = text.slice(text.indexOf(']]') + 2).trimStart();
    const first = layout.keys[0] ?? layout.args[0];
    if (first !== undefined) expect(body.split('\n')[0]).toMatch(new RegExp(`^local ${first} = (KEYS|ARGV)\\[1\\]$`));
  });

  it('has a notAfter first in every store script', () => {
    for (const name of ALL_SCRIPTS.filter((n) => n !== 'backfillRetention')) {
      expect([name, scriptLayout(name as never).args[0]]).toEqual([name, 'notAfter']);
    }
  });

  it('keeps no .lua file that is neither a script nor an include a script uses', () => {
    const used = new Set<string>();
    for (const name of ALL_SCRIPTS) {
      used.add(`${name}.lua`);
      resolveIncludes(name, (path) => {
        used.add(path);
        return readFromFolder(SCRIPTS_FOLDER)(path);
      });
    }
    expect(luaFiles(SCRIPTS_FOLDER).filter((file) => !used.has(file))).toEqual([]);
  });

  describe('on Redis', () => {
    let server: RedisServer;
    let client: ReturnType<typeof createFanoutClient>;
    beforeAll(async () => {
      server = await startRedisServer();
      client = createFanoutClient(server.url);
      await client.connect();
    });
    afterAll(async () => {
      client?.destroy();
      await server?.dispose();
    });

    it.each(ALL_SCRIPTS)('compiles %s', async (name) => {
      expect(await client.scriptLoad(scriptSource(name as never))).toMatch(/^[0-9a-f]{40}$/);
    });

    it('counts a time to answer in the bucket answerBucket gives it, at and around every bound', async () => {
      // reportAnswer of includes/reports.lua, run alone on a scratch hash.
      const probe = resolveIncludes('probe', (path) =>
        path === 'probe.lua'
          ? [
              '--- @include "includes/reports"',
              'local report = {hourKey = KEYS[1], answerBounds = ARGV[1]}',
              'local out = {}',
              'for i = 2, #ARGV do',
              "  redis.call('DEL', KEYS[1])",
              '  reportAnswer(report, tonumber(ARGV[i]))',
              "  local fields = redis.call('HKEYS', KEYS[1])",
              '  out[#out + 1] = fields[1]',
              'end',
              'return out',
            ].join('\n')
          : readFromFolder(SCRIPTS_FOLDER)(path),
      );
      const values = [
        ...new Set([
          -5,
          0,
          ...ANSWER_BOUNDS.flatMap((bound) => [bound - 1, bound, bound + 1]),
          ANSWER_BOUNDS[ANSWER_BOUNDS.length - 1]! * 10,
        ]),
      ].filter((ms) => ms >= 0 || ms === -5);
      const buckets = (await client.eval(probe, {
        keys: ['scratch:tta'],
        arguments: [ANSWER_BOUNDS_ARG, ...values.map(String)],
      })) as string[];
      expect(buckets).toEqual(values.map((ms) => `tta:${answerBucket(ms)}`));
    });
  });
});
