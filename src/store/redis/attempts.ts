/**
 * Engagement attempts and their deadlines on Redis (AttemptStore in
 * core/store.ts, but for browserBudgets, in caps.ts). Each change is one
 * script: createAttempt.lua, createTombstone.lua, transition.lua,
 * placeOn.lua, pruneAttempts.lua.
 */
import { randomUUID } from 'node:crypto';
import type { ClosedReason, Engagement } from '../../protocol/index.js';
import type { AttemptStore, CreateResult, DueDeadline } from '../../core/store.js';
import type { CapName } from '../../core/caps.js';
import { parsedEvenUnconfirmed, type Confirmation, type StoreContext } from './context.js';
import { createCapArguments, transitionCapArguments } from './caps.js';
import { createPacingArguments, settlePacingArguments } from './channels.js';
import { int, isEmpty, iso, lexPrefix, lexRange, nullable, pairs, toEngagement, type Fields } from './records.js';
import { reportArguments, reportExpireAt } from './reports.js';
import { ATTEMPT_INDEX_TAG } from './keys.js';
import { hourOf } from '../../core/reports.js';

/** Attempts read at most (one visit's in progress), deadlines read per batch. */
const MAX_ACTIVE = 10_000;
const DUE_BATCH = 500;
/** Reads of candidates per pruneAttempts call (each past the records that were gone or in progress). */
const PRUNE_ROUNDS = 10;

/**
 * Writes made for a caller, confirmed by replicas when asked for: a new
 * attempt or tombstone (the write), the same one found again on a retry (an
 * earlier write, maybe not confirmed yet); a refusal needs nothing.
 */
const createConfirmation: Confirmation = (reply) =>
  reply[0] === 'created' ? 'wrote' : reply[0] === 'exists' ? 'found' : 'nothing';
/** A cancel or a page's answer is made for a caller; the deadlines' transitions and a show are not. */
const CALLER_TRANSITIONS: ReadonlySet<string> = new Set(['cancelled', 'accepted', 'declined']);
const transitionConfirmation: Confirmation = (reply) => (reply[0] === 'ok' ? 'wrote' : 'nothing');

export function attemptStore(context: StoreContext): Omit<AttemptStore, 'browserBudgets'> {
  const { conn, keys: k, exec, recorded } = context;

  async function getEngagement(interactionId: string): Promise<Engagement | null> {
    const h = (await conn.run((c) => c.hGetAll(k.attempt(interactionId)))) as Fields;
    return isEmpty(h) ? null : toEngagement(h);
  }

  return {
    async createAttempt(profile, options): Promise<CreateResult> {
      const { interactionId, visitId } = profile;
      const pacing = createPacingArguments(profile.channels, options.pacing);
      const created = exec(
        'createAttempt',
        {
          seqKey: k.seq,
          logKey: k.log,
          attemptKey: k.attempt(interactionId),
          visitKey: k.visit(visitId),
          optOutKey: k.optOut,
          attemptIndexKey: k.attemptIndex,
          visitPagesKey: k.visitPages(visitId),
          deadlinesKey: k.deadlines,
          capBudgetKey: k.capBudget,
          capBudgetByAgeKey: k.capBudgetByAge,
          capDeclinedKey: k.capDeclined,
          reportHourKey: k.reportHour(hourOf(options.now)),
          channelLoadKey: k.channelLoad,
          channelsVersionKey: k.channelsVersion,
        },
        {
          eventId: randomUUID(),
          interactionId,
          visitId,
          pageId: nullable(profile.pageId),
          channels: JSON.stringify(profile.channels),
          invitation: JSON.stringify(profile.invitation),
          timeoutSeconds: String(profile.timeoutSeconds),
          expirationSeconds: String(profile.expirationSeconds),
          userData: JSON.stringify(profile.userData),
          extras: JSON.stringify(profile.extras),
          now: int(options.now),
          nowIso: iso(options.now),
          expiresAt: int(options.now + profile.expirationSeconds * 1000),
          exclusive: options.exclusive ? '1' : '0',
          place: options.place ? '1' : '0',
          ...createCapArguments(options.caps),
          reportExpireAt: reportExpireAt(context, options.now),
          ...pacing.args,
          channelsVersion: options.channelsVersion === undefined ? '' : String(options.channelsVersion),
        },
        { args: pacing.more, confirm: createConfirmation },
      );
      return parsedEvenUnconfirmed(created, async (reply): Promise<CreateResult> => {
        switch (reply[0]) {
          case 'created':
            recorded();
            return { kind: 'created', engagement: toEngagement(pairs(reply[1])) };
          case 'exists':
            return { kind: 'exists', engagement: toEngagement(pairs(reply[1])) };
          case 'no-visit':
            return { kind: 'no-visit' };
          case 'channels-changed':
            return { kind: 'channels-changed' };
          case 'opted-out':
            return { kind: 'opted-out' };
          case 'capped':
            return { kind: 'capped', cap: reply[1] as CapName, retryAfter: Number(reply[2]) };
          case 'no-capacity': {
            const closed = [];
            for (let i = 1; i + 1 < reply.length; i += 2) {
              closed.push({ channel: String(reply[i]), reason: reply[i + 1] as ClosedReason });
            }
            return { kind: 'no-capacity', closed };
          }
          case 'visit-busy': {
            // Only settled attempts are pruned: the one in the way (in progress) is there to read.
            const active = await getEngagement(String(reply[1]));
            if (active) return { kind: 'visit-busy', active };
            throw new Error(`createAttempt: attempt ${String(reply[1])} is indexed but missing`);
          }
          default:
            throw new Error(`createAttempt: unexpected reply ${JSON.stringify(reply[0])}`);
        }
      });
    },

    async createTombstone(cancel, now) {
      const created = exec(
        'createTombstone',
        {
          seqKey: k.seq,
          logKey: k.log,
          attemptKey: k.attempt(cancel.interactionId),
          attemptIndexKey: k.attemptIndex,
          settledKey: k.settled,
          visitKey: k.visit(cancel.visitId ?? ''),
        },
        {
          eventId: randomUUID(),
          interactionId: cancel.interactionId,
          visitId: nullable(cancel.visitId),
          reason: nullable(cancel.reason),
          now: int(now),
          nowIso: iso(now),
        },
        { confirm: createConfirmation },
      );
      return parsedEvenUnconfirmed(created, (reply) => {
        const engagement = toEngagement(pairs(reply[1]));
        if (reply[0] === 'created') {
          recorded();
          return { kind: 'created' as const, engagement };
        }
        return { kind: 'exists' as const, engagement };
      });
    },

    getEngagement,

    async activeEngagements(visitId) {
      const prefix = ATTEMPT_INDEX_TAG.active + lexPrefix(visitId);
      const hashes = await conn.run(async (c) => {
        const members = await c.zRangeByLex(k.attemptIndex, ...lexRange(prefix), {
          LIMIT: { offset: 0, count: MAX_ACTIVE },
        });
        // '<tag><visit prefix><createdAt, 15 digits>:<seq, 20 digits>:<id>'
        return Promise.all(members.map((member) => c.hGetAll(k.attempt(member.slice(prefix.length + 37)))));
      });
      // Read after the index: one that settled in between is left out, as a snapshot would have.
      return (hashes as Fields[])
        .filter((h) => !isEmpty(h) && (h.state === 'pending' || h.state === 'delivered'))
        .map(toEngagement);
    },

    async transition(request) {
      // A first show counts on the path of the page it is shown on (kept on the page's hash): the page
      // the call names (the core always does), else where the attempt was placed, read first.
      let shownPage = request.pageId ?? null;
      if (request.to === 'delivered' && shownPage === null) {
        shownPage = (await conn.run((c) => c.hGet(k.attempt(request.interactionId), 'shownPageId'))) ?? null;
      }
      const report = reportArguments(context, request.at, request.to === 'accepted' || request.to === 'declined');
      const changed = exec(
        'transition',
        {
          seqKey: k.seq,
          logKey: k.log,
          attemptKey: k.attempt(request.interactionId),
          attemptIndexKey: k.attemptIndex,
          deadlinesKey: k.deadlines,
          capBudgetKey: k.capBudget,
          capBudgetByAgeKey: k.capBudgetByAge,
          capDeclinedKey: k.capDeclined,
          settledKey: k.settled,
          ...report.key,
          shownPageKey: k.page(shownPage ?? ''),
          channelLoadKey: k.channelLoad,
        },
        {
          eventId: randomUUID(),
          interactionId: request.interactionId,
          from: `,${request.from.join(',')},`,
          to: request.to,
          at: int(request.at),
          atIso: iso(request.at),
          visitId: nullable(request.visitId),
          channel: nullable(request.channel),
          reason: nullable(request.reason),
          timeoutAt:
            request.timeoutAt !== undefined ? `=${int(request.timeoutAt)}` : request.timeoutFromAttempt ? '+' : '',
          pageId: nullable(request.pageId),
          ...transitionCapArguments(),
          ...report.args,
          ...report.names,
          ...settlePacingArguments(),
        },
        CALLER_TRANSITIONS.has(request.to) ? { confirm: transitionConfirmation } : {},
      );
      return parsedEvenUnconfirmed(changed, (reply) => {
        if (reply[0] !== 'ok') return null;
        recorded();
        return toEngagement(pairs(reply[1]));
      });
    },

    async placeOn(interactionId, expected, pageId) {
      const reply = await exec(
        'placeOn',
        { attemptKey: k.attempt(interactionId) },
        { expected: nullable(expected), pageId: nullable(pageId) },
      );
      return reply[1] === 1;
    },

    async nextDeadline(visitIdleMs) {
      const [deadline, idle] = await conn.run((c) =>
        Promise.all([c.zRangeWithScores(k.deadlines, 0, 0), c.zRangeWithScores(k.idle, 0, 0)]),
      );
      // A shown attempt's expiry is parked at +inf beside its timeout (includes/transition.lua): never next.
      const times = [deadline[0]?.score, idle[0] === undefined ? undefined : idle[0].score + visitIdleMs].filter(
        (t): t is number => typeof t === 'number' && Number.isFinite(t),
      );
      return times.length ? Math.min(...times) : null;
    },

    async dueDeadlines(now, visitIdleMs): Promise<DueDeadline[]> {
      const [deadlines, idle] = await conn.run((c) =>
        Promise.all([
          c.zRangeByScore(k.deadlines, '-inf', now, { LIMIT: { offset: 0, count: DUE_BATCH } }),
          c.zRangeByScore(k.idle, '-inf', now - visitIdleMs, { LIMIT: { offset: 0, count: DUE_BATCH } }),
        ]),
      );
      const due: DueDeadline[] = [];
      for (const member of deadlines) {
        if (member.startsWith('expire:')) due.push({ kind: 'expire', interactionId: member.slice('expire:'.length) });
        else if (member.startsWith('timeout:'))
          due.push({ kind: 'timeout', interactionId: member.slice('timeout:'.length) });
      }
      for (const visitId of idle) due.push({ kind: 'end-visit', visitId });
      return due;
    },

    async pruneAttempts(before, limit) {
      if (limit <= 0) return 0;
      // Read the candidates (oldest settled first), then one script checks each again and deletes
      // (KEYS must be known up front). An index entry whose attempt is gone is dropped uncounted, so
      // a further round (a few at most) reads past such entries rather than stopping short.
      let dropped = 0;
      for (let round = 0; round < PRUNE_ROUNDS && dropped < limit; round++) {
        const left = limit - dropped;
        const ids = await conn.run((c) =>
          c.zRangeByScore(k.settled, '-inf', `(${int(before)}`, { LIMIT: { offset: 0, count: left } }),
        );
        if (ids.length === 0) break;
        const reply = await exec(
          'pruneAttempts',
          {
            settledKey: k.settled,
            attemptIndexKey: k.attemptIndex,
            deadlinesKey: k.deadlines,
            capBudgetKey: k.capBudget,
            capBudgetByAgeKey: k.capBudgetByAge,
          },
          { before: int(before), count: String(ids.length) },
          { keys: ids.map(k.attempt), args: ids },
        );
        dropped += Number(reply[1]);
        if (ids.length < left) break; // every candidate was looked at
      }
      return dropped;
    },
  };
}
