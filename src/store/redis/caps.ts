/**
 * Frequency caps on Redis (core/caps.ts): what each browser's budget holds
 * (`browserBudgets`), and the cap arguments of the createAttempt and
 * transition scripts, which check and count them (includes/caps.lua).
 */
import type { AttemptStore } from '../../core/store.js';
import {
  CAP_KEEP_MS,
  CAP_WINDOW_MS,
  MAX_QUIET_MS,
  capsOn,
  type BrowserBudget,
  type CapSettings,
} from '../../core/caps.js';
import type { StoreContext } from './context.js';
import { int, lexPrefix } from './records.js';

/** Budget entries read per browser at most. */
const MAX_BUDGET = 10_000;

/** The cap arguments of createAttempt: '' for a cap that is off (both off: nothing is checked or counted). */
export function createCapArguments(caps: CapSettings | undefined) {
  const on = capsOn(caps);
  return {
    capPerDay: on && caps.perDay !== null ? `=${caps.perDay}` : '',
    capAfterDeclineMs: on && caps.afterDeclineMs !== null ? `=${int(caps.afterDeclineMs)}` : '',
    capWindowMs: String(CAP_WINDOW_MS),
    capKeepMs: String(CAP_KEEP_MS),
  };
}

/** The cap argument of transition: how long a browser's last decline is kept. */
export const transitionCapArguments = () => ({ maxQuietMs: String(MAX_QUIET_MS) });

export function capStore({ conn, keys: k }: StoreContext): Pick<AttemptStore, 'browserBudgets'> {
  return {
    async browserBudgets(globalVisitIds, now) {
      const floor = String(Math.round(now - CAP_WINDOW_MS + 1)).padStart(15, '0');
      const read = await conn.run((c) =>
        Promise.all(
          globalVisitIds.map((id) => {
            const prefix = lexPrefix(id);
            return Promise.all([
              c.zRangeByLex(k.capBudget, `[${prefix}${floor}`, `(${prefix};`, {
                LIMIT: { offset: 0, count: MAX_BUDGET },
              }),
              c.zScore(k.capDeclined, id),
            ]);
          }),
        ),
      );
      return new Map(
        globalVisitIds.map((id, i): [string, BrowserBudget] => {
          const [members, declined] = read[i]!;
          const prefix = Buffer.byteLength(lexPrefix(id));
          const counted = members
            .map((member) => {
              const rest = Buffer.from(member).toString('latin1', prefix);
              return { at: Number(rest.slice(0, 15)), shown: rest[16] === 's' };
            })
            .reverse();
          return [id, { counted, shown: counted.filter((e) => e.shown).length, lastDeclinedAt: declined ?? null }];
        }),
      );
    },
  };
}
