import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('needs no variables: every default is sensible', () => {
    const dir = mkdtempSync(join(tmpdir(), 'beckon-config-'));
    const config = loadConfig({ BECKON_DB: join(dir, 'beckon.db') });
    expect(config).toMatchObject({
      port: 9081,
      host: '0.0.0.0',
      apiToken: null,
      allowedOrigins: null,
      strict: true,
      visitIdleMs: 30 * 60_000,
      role: 'all',
      logLevel: 'info',
    });
    expect(loadConfig({ BECKON_SECRET: 'x' }).db).toBe(join(process.cwd(), 'data', 'beckon.db'));
  });

  it('generates the signing secret once and keeps it beside the database', () => {
    const dir = mkdtempSync(join(tmpdir(), 'beckon-config-'));
    const first = loadConfig({ BECKON_DB: join(dir, 'beckon.db') });
    const second = loadConfig({ BECKON_DB: join(dir, 'beckon.db') });
    expect(first.secret).toMatch(/^[0-9a-f]{64}$/);
    expect(second.secret).toBe(first.secret);
    expect(readFileSync(join(dir, 'secret'), 'utf8')).toBe(first.secret);
    expect(statSync(join(dir, 'secret')).mode & 0o077).toBe(0); // readable by the owner only
    expect(loadConfig({ BECKON_DB: join(dir, 'beckon.db'), BECKON_SECRET: 'given' }).secret).toBe('given');
  });

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      BECKON_DB: ':memory:',
      BECKON_API_TOKEN: 'token',
      BECKON_ALLOWED_ORIGINS: 'https://shop.example, https://www.shop.example/',
      BECKON_STRICT: 'false',
      BECKON_VISIT_IDLE_MINUTES: '0.5',
      LOG_LEVEL: 'silent',
    });
    expect(config).toMatchObject({
      port: 0,
      host: '127.0.0.1',
      db: ':memory:',
      apiToken: 'token',
      allowedOrigins: ['https://shop.example', 'https://www.shop.example'],
      strict: false,
      visitIdleMs: 30_000,
      logLevel: 'silent',
    });
  });

  it('refuses bad values with a message naming them', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ BECKON_STRICT: 'maybe' })).toThrow(/BECKON_STRICT/);
    expect(() => loadConfig({ BECKON_ALLOWED_ORIGINS: 'not an origin' })).toThrow(/not an origin/);
    expect(() => loadConfig({ BECKON_VISIT_IDLE_MINUTES: '0' })).toThrow(/BECKON_VISIT_IDLE_MINUTES/);
  });
});
