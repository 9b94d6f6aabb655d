/**
 * One contender in the store contract's races between processes (race.ts
 * starts it): opens the store under test through `openStore` (the same way
 * Beckon does), says it is ready, waits for the start time, then tries the
 * same operations as its rivals in the same time slots, and prints what it
 * won as one JSON line.
 *
 * Usage: node --import tsx test/store-contract/race-worker.ts <store config JSON> <mode> <ids…>
 *   then one line on stdin: the start time (epoch ms), sent once every contender is ready.
 *   mode: accepted | declined | cancelled | timed_out   (race one transition per id)
 *         engage:<visitId>                              (race creating each id)
 *         engage-capped:<perDay>:<visitId>              (each process creates its own attempts, `<id>@<pid>`, in the
 *                                                        same slots as its rivals, under a per-day frequency cap)
 *         engage-paced:<visitId>                        (likewise, asking for chat, paced as the store's settings of
 *                                                        it say, read at each engage as the core reads them)
 *         deadlines                                     (fire due deadlines with the core's clock rules until every id settled)
 *         reap:<NodeRef JSON>                           (forget that expired boot, then close each page id it held,
 *                                                        guarded by it: what a reaper does, and a second reaper
 *                                                        resuming the same sweep; ids are page ids)
 */
import { Lifecycle } from '../../src/core/lifecycle.js';
import { Channels } from '../../src/core/channels.js';
import { isTerminal, ixnProfileSchema } from '../../src/protocol/index.js';
import { openStore, type StoreConfig } from '../../src/store/open.js';
import type { BeckonStore, NodeRef } from '../../src/core/store.js';
import { READY } from './race.js';

/** Says this process is ready, then waits for the start time on stdin. */
async function startTime(): Promise<number> {
  process.stdout.write(`${READY}\n`);
  let input = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) {
    input += chunk as string;
    if (input.includes('\n')) break;
  }
  if (!input.includes('\n')) throw new Error('stdin closed before the start time came: the race was called off');
  return Number(input.slice(0, input.indexOf('\n')));
}

const [configJson, mode, ...ids] = process.argv.slice(2) as [string, string, ...string[]];
const store = await openStore(JSON.parse(configJson) as StoreConfig);
const wins: string[] = [];
let forgot: boolean | undefined;

const channels = new Channels(store);
if (mode.startsWith('engage-capped:') || mode.startsWith('engage-paced:')) {
  // Warm up the engage path (Redis: the script loaded, the connection busy) on a visit that does not
  // exist, which creates nothing (it only counts a refusal in the report): otherwise the first process
  // ready takes every seat before the others start.
  const warmUp = ixnProfileSchema.parse({ interactionId: `warm-up@${process.pid}`, visitId: 'no-such-visit' });
  const now = Date.now();
  await store.createAttempt(warmUp, {
    exclusive: false,
    now,
    place: false,
    caps: { perDay: 1, afterDeclineMs: null },
    pacing: (await channels.paced(warmUp.channels, now)).paced,
  });
}
const startAt = await startTime();
while (Date.now() < startAt - 20) await new Promise((r) => setTimeout(r, 1));

if (mode === 'deadlines') {
  // The real core fires the deadlines; every transition it wins is counted here.
  const counted: BeckonStore = Object.create(store, {
    transition: {
      value: async (request: Parameters<BeckonStore['transition']>[0]) => {
        const changed = await store.transition(request);
        if (changed) wins.push(changed.interactionId);
        return changed;
      },
    },
  });
  const lifecycle = new Lifecycle(counted, { strict: false, visitIdleMs: 3_600_000 });
  const giveUpAt = Date.now() + 25_000;
  for (;;) {
    await lifecycle.settleDue();
    const states = await Promise.all(ids.map(async (id) => (await store.getEngagement(id))?.state));
    if (states.every((state) => state !== undefined && isTerminal(state)) || Date.now() > giveUpAt) break;
    await new Promise((r) => setTimeout(r, 5));
  }
} else if (mode.startsWith('reap:')) {
  const node = JSON.parse(mode.slice('reap:'.length)) as NodeRef;
  while (Date.now() < startAt); // spin: both forget in the same instant
  forgot = await store.forgetNode(node, Date.now());
  // Both close the pages the boot held (the sweep is idempotent), id i in the same 3 ms slot.
  for (const [i, pageId] of ids.entries()) {
    const slot = startAt + 200 + i * 3;
    while (Date.now() < slot);
    if (await store.closePage(pageId, Date.now(), node)) wins.push(pageId);
  }
} else {
  // Every contender tries id i in the same 3 ms slot, so each id is really fought over.
  for (const [i, interactionId] of ids.entries()) {
    const slot = startAt + i * 3;
    while (Date.now() < slot); // spin: timers are too coarse for a 3 ms slot
    if (mode.startsWith('engage-capped:')) {
      const [, perDay, visitId] = mode.split(':') as [string, string, string];
      const profile = ixnProfileSchema.parse({ interactionId: `${interactionId}@${process.pid}`, visitId });
      const caps = { perDay: Number(perDay), afterDeclineMs: null };
      const result = await store.createAttempt(profile, { exclusive: false, now: Date.now(), place: false, caps });
      if (result.kind === 'created') wins.push(profile.interactionId);
    } else if (mode.startsWith('engage-paced:')) {
      const visitId = mode.slice('engage-paced:'.length);
      const profile = ixnProfileSchema.parse({ interactionId: `${interactionId}@${process.pid}`, visitId });
      const now = Date.now();
      const { paced } = await channels.paced(profile.channels, now);
      const result = await store.createAttempt(profile, { exclusive: false, now, place: false, pacing: paced });
      if (result.kind === 'created') wins.push(profile.interactionId);
    } else if (mode.startsWith('engage:')) {
      const profile = ixnProfileSchema.parse({ interactionId, visitId: mode.slice('engage:'.length) });
      const result = await store.createAttempt(profile, { exclusive: false, now: Date.now(), place: false });
      if (result.kind === 'created') wins.push(interactionId);
    } else {
      const settled = await store.transition({
        interactionId,
        from: mode === 'timed_out' ? ['delivered'] : ['pending', 'delivered'],
        to: mode as 'accepted' | 'declined' | 'cancelled' | 'timed_out',
        at: Date.now(),
        ...(mode === 'accepted' ? { channel: 'chat' } : {}),
      });
      if (settled) wins.push(interactionId);
    }
  }
}
await store.close();
process.stdout.write(`${JSON.stringify({ mode, wins, ...(forgot === undefined ? {} : { forgot }) })}\n`);
