/** The store contract on SQLite: a fresh file in the temp folder per test. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { storeContract } from '../contract.js';
import { openSqliteStore } from './store.js';

storeContract('sqlite', {
  async open() {
    const db = join(mkdtempSync(join(tmpdir(), 'beckon-store-')), 'beckon.db');
    return { store: openSqliteStore(db), config: { db, redisUrl: null, redisPrefix: 'beckon:' } };
  },
  async dispose({ config }) {
    rmSync(dirname(config.db), { recursive: true, force: true });
  },
});
