/**
 * One contender in the cross-process race tests: opens the shared SQLite
 * file, waits for the start time, then tries the same operations as its
 * rivals in the same time slots and prints what it won as one JSON line.
 * Usage: node --import tsx test/race-worker.ts <db> <mode> <startAt> <ids…>
 *   mode: accepted | declined | cancelled | timed_out | engage:<visitId>
 *   (timed_out moves only from delivered, as the deadline clock does)
 */
import { openSqliteStore } from '../src/backend/store/sqlite.js';
import { ixnProfileSchema } from '../src/protocol/index.js';

const [db, mode, startAt, ...ids] = process.argv.slice(2) as [string, string, string, ...string[]];
const store = openSqliteStore(db);
const wins: string[] = [];

while (Date.now() < Number(startAt) - 20) await new Promise((r) => setTimeout(r, 1));
// Every contender tries id i in the same 3 ms slot, so each id is really fought over.
for (const [i, interactionId] of ids.entries()) {
  const slot = Number(startAt) + i * 3;
  while (Date.now() < slot); // spin: timers are too coarse for a 3 ms slot
  if (mode.startsWith('engage:')) {
    const profile = ixnProfileSchema.parse({ interactionId, visitId: mode.slice('engage:'.length) });
    const result = await store.createAttempt(profile, { exclusive: false, now: Date.now() });
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
await store.close();
process.stdout.write(`${JSON.stringify({ mode, wins })}\n`);
