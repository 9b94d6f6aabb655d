/**
 * The store's share of an engage: Beckon's own SQLite store (the built one,
 * on a file in the temp folder) doing exactly the writes of one invitation's
 * life as the throughput benchmark drives it (create the attempt, place it
 * on the page, `delivered`, `declined`: four commits), one after the other
 * with no HTTP and no sockets. This is a ceiling for engage throughput on
 * this machine's disk, whatever the rest of the server does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './server.js';
import { now } from './stats.js';

type SqliteModule = typeof import('../../src/backend/store/sqlite.js');
type ProtocolModule = typeof import('../../src/protocol/index.js');

export interface StoreFloor {
  cyclesPerSecond: number;
  microsecondsPerCommit: number;
  cycles: number;
}

export async function storeFloor(seconds: number): Promise<StoreFloor> {
  const dist = process.env.BENCH_SERVER_DIST ? resolve(process.env.BENCH_SERVER_DIST) : join(ROOT, 'dist', 'server');
  const { openSqliteStore } = (await import(pathToFileURL(join(dist, 'backend/store/sqlite.js')).href)) as SqliteModule;
  const { ixnProfileSchema } = (await import(pathToFileURL(join(dist, 'protocol/index.js')).href)) as ProtocolModule;
  const dir = mkdtempSync(join(tmpdir(), 'beckon-store-floor-'));
  const store = openSqliteStore(join(dir, 'beckon.db'));
  try {
    const visits = 2000;
    const at = Date.now();
    for (let v = 0; v < visits; v++) {
      await store.startVisit({ visitId: `visit-${v}`, globalVisitId: `browser-${v}` }, at);
      await store.openPage({ pageId: `page-${v}`, visitId: `visit-${v}`, info: { url: 'http://shop.test/', title: 'Shop', visible: true, focused: true } }, at);
    }
    const started = now();
    let cycles = 0;
    while (now() - started < seconds * 1000) {
      const visitId = `visit-${cycles % visits}`;
      const pageId = `page-${cycles % visits}`;
      const interactionId = `floor-${cycles}`;
      const profile = ixnProfileSchema.parse({ interactionId, visitId, invitation: { title: interactionId } });
      const t = Date.now();
      const created = await store.createAttempt(profile, { exclusive: true, now: t });
      if (created.kind !== 'created') throw new Error(`store floor: ${created.kind}`);
      await store.placeOn(interactionId, null, pageId);
      await store.transition({ interactionId, visitId, from: ['pending'], to: 'delivered', at: t, pageId, timeoutAt: t + 30_000 });
      await store.transition({ interactionId, visitId, from: ['pending', 'delivered'], to: 'declined', at: t, pageId });
      cycles++;
    }
    const elapsed = (now() - started) / 1000;
    return { cyclesPerSecond: cycles / elapsed, microsecondsPerCommit: (elapsed * 1e6) / (cycles * 4), cycles };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
