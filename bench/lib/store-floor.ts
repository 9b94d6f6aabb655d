/**
 * The store's share of an engage: Beckon's own SQLite store (the built one,
 * on a file in the temp folder) doing exactly the writes of one invitation's
 * life as the throughput benchmark drives it (create the attempt placed on
 * its page, `delivered`, `declined`: three writes), with no HTTP and no
 * sockets. Measured twice: one invitation at a time (every write its own
 * commit), and with `inFlight` invitations going at once, as the throughput
 * benchmark's connections keep them, so that the group commit shares each
 * commit among them. This is a ceiling for engage throughput on this
 * machine's disk, whatever the rest of the server does. With `paced`, the
 * same with the engaged channel paced: what pacing adds to the store's part.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './server.js';
import { now } from './stats.js';

type StoreModule = typeof import('../../src/store/open.js');
type ProtocolModule = typeof import('../../src/protocol/index.js');
type PacedChannel = import('../../src/core/store.js').PacedChannel;

export interface StoreFloorRun {
  inFlight: number;
  cyclesPerSecond: number;
  /** Wall time per write: commits are shared when more than one is in flight. */
  microsecondsPerWrite: number;
  cycles: number;
}

export interface StoreFloor {
  alone: StoreFloorRun;
  shared: StoreFloorRun;
}

/** Writes per invitation, as above. */
const WRITES = 3;

/** Where the floor runs: SQLite in a temp folder (default), or Redis at `redisUrl` under a fresh prefix. */
export interface FloorStore {
  redisUrl: string | null;
  /** Frequency caps every create runs under (bench/caps.ts); none by default. */
  caps?: { perDay: number | null; afterDeclineMs: number | null };
  /**
   * Every create asks for a paced channel (progressive, default settings,
   * with capacity reported large enough never to refuse), as engage hands
   * it to the store: the decision on the channel's counts in the create, and
   * the counts kept by each transition. None by default.
   */
  paced?: boolean;
}

export async function storeFloor(
  seconds: number,
  inFlight: number,
  where: FloorStore = { redisUrl: null },
): Promise<StoreFloor> {
  return { alone: await run(seconds / 2, 1, where), shared: await run(seconds / 2, inFlight, where) };
}

async function run(seconds: number, inFlight: number, where: FloorStore): Promise<StoreFloorRun> {
  const dist = process.env.BENCH_SERVER_DIST ? resolve(process.env.BENCH_SERVER_DIST) : join(ROOT, 'dist', 'server');
  const { openStore } = (await import(pathToFileURL(join(dist, 'store/open.js')).href)) as StoreModule;
  const { ixnProfileSchema, channelSettingsSchema } = (await import(
    pathToFileURL(join(dist, 'protocol/index.js')).href
  )) as ProtocolModule;
  const dir = mkdtempSync(join(tmpdir(), 'beckon-store-floor-'));
  const store = await openStore({
    db: join(dir, 'beckon.db'),
    redisUrl: where.redisUrl,
    redisPrefix: `floor${Date.now().toString(36)}:`,
  });
  try {
    const visits = 2000;
    const at = Date.now();
    // The setup in batches of 50: 2,000 writes at once could outlast the Redis store's 1.5 s call deadline when
    // every one waits for its fsync on a busy disk.
    for (let first = 0; first < visits; first += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, visits - first) }, async (_, i) => {
          const v = first + i;
          await store.startVisit({ visitId: `visit-${v}`, globalVisitId: `browser-${v}` }, at);
          await store.openPage(
            {
              pageId: `page-${v}`,
              visitId: `visit-${v}`,
              info: { url: 'http://shop.test/', title: 'Shop', visible: true, focused: true },
            },
            at,
          );
        }),
      );
    }
    let paced: { pacing: PacedChannel[]; channelsVersion: number } | undefined;
    if (where.paced) {
      // An hour before it is stale: the run is seconds long.
      const settings = channelSettingsSchema.parse({ pacing: { mode: 'progressive', capacityStaleSeconds: 3600 } });
      await store.putChannel('chat', settings);
      await store.reportCapacity('chat', 1_000_000, at);
      // As engage hands them over: the settings it keeps in memory, and their version for the store to check.
      const { version } = await store.channelConfig();
      paced = { pacing: [{ channel: 'chat', pacing: settings.pacing, hoursOpen: true }], channelsVersion: version };
    }
    let next = 0;
    const started = now();
    // Each lane drives one invitation at a time, like one benchmark connection.
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (now() - started < seconds * 1000) {
          const n = next++;
          const visitId = `visit-${n % visits}`;
          const pageId = `page-${n % visits}`;
          const interactionId = `floor-${n}`;
          const profile = ixnProfileSchema.parse({ interactionId, visitId, invitation: { title: interactionId } });
          const t = Date.now();
          const created = await store.createAttempt(profile, {
            exclusive: true,
            now: t,
            place: true,
            ...(where.caps ? { caps: where.caps } : {}),
            ...paced,
          });
          if (created.kind !== 'created' || created.engagement.shownPageId !== pageId)
            throw new Error(`store floor: ${created.kind}`);
          await store.transition({
            interactionId,
            visitId,
            from: ['pending'],
            to: 'delivered',
            at: t,
            pageId,
            timeoutAt: t + 30_000,
          });
          await store.transition({
            interactionId,
            visitId,
            from: ['pending', 'delivered'],
            to: 'declined',
            at: t,
            pageId,
          });
        }
      }),
    );
    const elapsed = (now() - started) / 1000;
    return {
      inFlight,
      cyclesPerSecond: next / elapsed,
      microsecondsPerWrite: (elapsed * 1e6) / (next * WRITES),
      cycles: next,
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
