/**
 * The redis store's visitor context (docs/visitor-context.md): business
 * events, identity, history and erasure. Each change is one script:
 * recordBusinessEvent.lua, changeIdentity.lua; an erasure is several bounded
 * ones (eraseVisits.lua, eraseEvents.lua, finishErasure.lua), the browser's
 * records first, so that nothing new can be recorded for its visits while
 * the log is read for their events.
 *
 * A visit keeps its identity in `vi:<visitId>` and its latest business events
 * in `ve:<visitId>`; `visits:g`, `pages:v` and `attempts:ix` (by browser and visit) index a browser's
 * visits, a visit's pages and a browser's attempts by visit (keys.ts,
 * includes/history.lua).
 */
import { randomUUID } from 'node:crypto';
import type {
  BusinessEventRecord,
  IdentityRecord,
  PageRecord,
  VisitHistoryRecord,
  VisitorStore,
} from '../../core/store.js';
import { KEPT_BUSINESS_EVENTS, type ContextData, type ErasureCounts } from '../../protocol/visitor.js';
import type { StoreContext } from './context.js';
import { settlePacingArguments } from './channels.js';
import {
  int,
  isEmpty,
  lexPrefix,
  lexRange,
  nullable,
  pairs,
  toEngagement,
  toPage,
  toVisit,
  type Fields,
} from './records.js';
import { ATTEMPT_INDEX_TAG } from './keys.js';

/** The tags of the families of attempts:ix an erasure and a visit's history read. */
const { active: ACTIVE, activeByBrowser: ACTIVE_BY_BROWSER, history: HISTORY } = ATTEMPT_INDEX_TAG;

/** Visits erased per step; index entries read per visit at most (a visit has far fewer). */
const ERASE_BATCH = 50;
const MAX_READ = 10_000;
/** Log entries read per step of an erasure (each step a script of about a millisecond per thousand). */
const LOG_STEP = 1000;
/** Times an erasure step reads again because the browser's records moved meanwhile. */
const ERASE_RETRIES = 20;

/** The text of a member after its first `bytes` bytes (lex members count bytes, not UTF-16 units). */
const afterBytes = (member: string, bytes: number) => Buffer.from(member).subarray(bytes).toString('utf8');
const byteLength = (text: string) => Buffer.byteLength(text);
const pad15 = (ms: number) => String(Math.round(ms)).padStart(15, '0');

/** The id at the end of a member by browser and visit: after its tag and the browser's prefix, the visit's, and 37 bytes. */
function attemptOfMember(member: string, browserPrefixBytes: number): { visitId: string; interactionId: string } {
  const bytes = Buffer.from(member);
  const colon = bytes.indexOf(0x3a, browserPrefixBytes);
  const length = Number(bytes.toString('latin1', browserPrefixBytes, colon));
  return {
    visitId: bytes.toString('utf8', colon + 1, colon + 1 + length),
    interactionId: bytes.toString('utf8', colon + 1 + length + 1 + 37),
  };
}

/** A visit's identity hash (keys.ts) as the record it holds; null when it has none. */
function toIdentity(h: Fields): IdentityRecord | null {
  if (isEmpty(h)) return null;
  const members = Object.entries(h)
    .filter(([field]) => field.startsWith('t:'))
    .map(([, member]) => member);
  return {
    userId: h.userId === undefined ? null : (JSON.parse(h.userId) as string),
    verified: h.verified === '1',
    traits: JSON.parse(`{${members.join(',')}}`) as ContextData,
    at: Number(h.at),
  };
}

const toBusinessEvent = (text: string): BusinessEventRecord => JSON.parse(text) as BusinessEventRecord;

export function visitorStore(context: StoreContext): VisitorStore {
  const { conn, keys: k, exec, recorded } = context;

  /** The histories of visits (those that exist), in the order asked: three round trips for all of them. */
  async function histories(visitIds: readonly string[]): Promise<(VisitHistoryRecord | null)[]> {
    if (visitIds.length === 0) return [];
    const first = await conn.run((c) =>
      Promise.all(
        visitIds.map((visitId) =>
          Promise.all([
            c.hGetAll(k.visit(visitId)),
            c.hGetAll(k.visitIdentity(visitId)),
            c.lRange(k.visitEvents(visitId), 0, KEPT_BUSINESS_EVENTS - 1),
            c.zRangeByLex(k.pagesByVisit, ...lexRange(lexPrefix(visitId)), { LIMIT: { offset: 0, count: MAX_READ } }),
            c.hKeys(k.visitPages(visitId)),
          ]),
        ),
      ),
    );
    // The attempts are indexed by browser, then visit: the visit names its browser.
    const attemptMembers = await conn.run((c) =>
      Promise.all(
        visitIds.map((visitId, i) => {
          const browser = (first[i]![0] as Fields).globalVisitId;
          if (browser === undefined) return Promise.resolve([] as string[]);
          return c.zRangeByLex(k.attemptIndex, ...lexRange(HISTORY + lexPrefix(browser) + lexPrefix(visitId)), {
            LIMIT: { offset: 0, count: MAX_READ },
          });
        }),
      ),
    );
    const wanted = visitIds.map((visitId, i) => {
      const [visit, , , pageMembers, openPages] = first[i]!;
      const prefix = byteLength(lexPrefix(visitId));
      // Pages in the order they entered (the index), then any open page it lacks.
      const pageIds = pageMembers.map((member) => afterBytes(member, prefix + 16));
      for (const pageId of openPages) if (!pageIds.includes(pageId)) pageIds.push(pageId);
      const browser = (visit as Fields).globalVisitId ?? '';
      const attemptIds = attemptMembers[i]!.map(
        (member) => attemptOfMember(member, byteLength(HISTORY + lexPrefix(browser))).interactionId,
      );
      return { pageIds, attemptIds };
    });
    const second = await conn.run((c) =>
      Promise.all(
        wanted.map(({ pageIds, attemptIds }) =>
          Promise.all([
            Promise.all(pageIds.map((pageId) => c.hGetAll(k.page(pageId)))),
            Promise.all(attemptIds.map((id) => c.hGetAll(k.attempt(id)))),
          ]),
        ),
      ),
    );
    return visitIds.map((visitId, i) => {
      const [visit, identity, events] = first[i]!;
      if (isEmpty(visit as Fields)) return null;
      const [pageHashes, attemptHashes] = second[i]!;
      const pages: PageRecord[] = [];
      wanted[i]!.pageIds.forEach((pageId, j) => {
        const h = pageHashes[j] as Fields;
        if (!isEmpty(h) && h.visitId === visitId) pages.push(toPage(pageId, h));
      });
      return {
        visit: toVisit(visitId, visit as Fields),
        identity: toIdentity(identity as Fields),
        pages,
        events: events.map(toBusinessEvent),
        attempts: attemptHashes.filter((h) => !isEmpty(h as Fields)).map((h) => toEngagement(h as Fields)),
      };
    });
  }

  /** One step of an erasure's records: up to ERASE_BATCH of the browser's visits; null when it must read again. */
  async function eraseSomeVisits(
    globalVisitId: string,
    marker: { key: string; until: number },
    now: number,
  ): Promise<{ visits: number; pages: number; events: number; attempts: number; left: boolean } | null> {
    const browser = lexPrefix(globalVisitId);
    const visitMembers = await conn.run((c) =>
      c.zRangeByLex(k.visitsByBrowser, ...lexRange(browser), { LIMIT: { offset: 0, count: ERASE_BATCH } }),
    );
    const visitIds = visitMembers.map((member) => afterBytes(member, byteLength(browser) + 16));
    const read = await conn.run((c) =>
      Promise.all([
        Promise.all(
          visitIds.map((visitId) => {
            const range = lexRange(lexPrefix(visitId));
            const limit = { LIMIT: { offset: 0, count: MAX_READ } };
            return Promise.all([
              c.zRangeByLex(k.pagesByVisit, ...range, limit),
              c.hKeys(k.visitPages(visitId)),
              c.zRangeByLex(k.attemptIndex, ...lexRange(ACTIVE + lexPrefix(visitId)), limit),
            ]);
          }),
        ),
        c.zRangeByLex(k.attemptIndex, ...lexRange(ACTIVE_BY_BROWSER + browser), {
          LIMIT: { offset: 0, count: MAX_READ },
        }),
        c.zRangeByLex(k.attemptIndex, ...lexRange(HISTORY + browser), { LIMIT: { offset: 0, count: MAX_READ } }),
      ]),
    );
    const pageIds = new Set<string>();
    const attemptIds = new Set<string>();
    visitIds.forEach((visitId, i) => {
      const [pageMembers, openPages, active] = read[0][i]!;
      const prefix = byteLength(lexPrefix(visitId));
      for (const member of pageMembers) pageIds.add(afterBytes(member, prefix + 16));
      for (const pageId of openPages) pageIds.add(pageId);
      for (const member of active) attemptIds.add(afterBytes(member, ACTIVE.length + prefix + 37));
    });
    for (const member of read[1])
      attemptIds.add(afterBytes(member, ACTIVE_BY_BROWSER.length + byteLength(browser) + 21));
    for (const member of read[2]) {
      attemptIds.add(attemptOfMember(member, HISTORY.length + byteLength(browser)).interactionId);
    }
    const pages = [...pageIds];
    const attempts = [...attemptIds];
    const reply = await exec(
      'eraseVisits',
      {
        optOutKey: k.optOut,
        capBudgetKey: k.capBudget,
        capBudgetByAgeKey: k.capBudgetByAge,
        capDeclinedKey: k.capDeclined,
        visitsByBrowserKey: k.visitsByBrowser,
        pagesByVisitKey: k.pagesByVisit,
        attemptIndexKey: k.attemptIndex,
        liveKey: k.live,
        idleKey: k.idle,
        endedKey: k.ended,
        openKey: k.open,
        openLiveKey: k.openLive,
        closedKey: k.closed,
        heldKey: k.held,
        deadlinesKey: k.deadlines,
        settledKey: k.settled,
        channelLoadKey: k.channelLoad,
        erasedKey: k.erased,
        erasedUntilKey: k.erasedUntil,
        erasingKey: k.erasing(marker.key),
      },
      {
        globalVisitId,
        markerKey: marker.key,
        markerUntil: int(marker.until),
        now: int(now),
        ...settlePacingArguments(),
        visitCount: String(visitIds.length),
        pageCount: String(pages.length),
        attemptCount: String(attempts.length),
      },
      {
        keys: [
          ...visitIds.map(k.visit),
          ...visitIds.map(k.visitPages),
          ...visitIds.map(k.visitIdentity),
          ...visitIds.map(k.visitEvents),
          ...pages.map(k.page),
          ...attempts.map(k.attempt),
        ],
        args: [...visitIds, ...pages, ...attempts],
      },
    );
    if (reply[0] === 'retry') return null;
    return {
      visits: Number(reply[1]),
      pages: Number(reply[2]),
      events: Number(reply[3]),
      attempts: Number(reply[4]),
      // Another step while it erased visits, or a full read of the browser's attempts (more may wait).
      left: visitIds.length > 0 || read[2].length >= MAX_READ,
    };
  }

  /** Reads the log for the events of the erasure's visits, in bounded steps; returns how many went. */
  async function eraseLoggedEvents(erasingKey: string): Promise<number> {
    const [oldest] = await conn.run((c) => c.zRangeWithScores(erasingKey, 0, 0));
    if (oldest === undefined) return 0;
    // No event of a visit comes before its visit.started; 0: not known (a visit from before 'ss').
    let after = String(Math.max(0, oldest.score - 1));
    let gone = 0;
    for (;;) {
      const reply = await exec(
        'eraseEvents',
        {
          logKey: k.log,
          erasingKey,
          queueKey: k.whQueue,
          readyKey: k.whReady,
          waitingKey: k.whWaiting,
          failedKey: k.whFailed,
        },
        { after, count: String(LOG_STEP) },
      );
      gone += Number(reply[3]);
      if (Number(reply[2]) < LOG_STEP) return gone;
      after = String(reply[1]);
    }
  }

  return {
    async recordBusinessEvent(event, now) {
      const reply = await exec(
        'recordBusinessEvent',
        {
          seqKey: k.seq,
          logKey: k.log,
          pageKey: k.page(event.pageId),
          visitKey: k.visit(event.visitId),
          eventsKey: k.visitEvents(event.visitId),
        },
        {
          eventId: randomUUID(),
          visitId: event.visitId,
          pageId: event.pageId,
          name: event.name,
          data: JSON.stringify(event.data),
          record: JSON.stringify({ name: event.name, data: event.data, at: now, pageId: event.pageId }),
          now: int(now),
          kept: String(KEPT_BUSINESS_EVENTS),
        },
      );
      if (reply[1] !== 1) return 'no-page';
      recorded();
      return 'stored';
    },

    async changeIdentity(visitId, pageId, change, now) {
      const traits = change.kind === 'sign-out' ? [] : Object.entries(change.traits);
      const reply = await exec(
        'changeIdentity',
        { seqKey: k.seq, logKey: k.log, visitKey: k.visit(visitId), identityKey: k.visitIdentity(visitId) },
        {
          eventId: randomUUID(),
          visitId,
          pageId: nullable(pageId),
          kind: change.kind,
          userId: change.kind === 'sign-in' ? JSON.stringify(change.userId) : '',
          verified: change.kind === 'sign-in' ? (change.verified ? '1' : '0') : '',
          now: int(now),
          count: String(traits.length),
        },
        { args: traits.flatMap(([name, value]) => [`t:${name}`, `${JSON.stringify(name)}:${JSON.stringify(value)}`]) },
      );
      if (reply[0] === 'no-visit') return 'no-visit';
      if (reply[0] === 'ok-unchanged') return { identity: null };
      recorded();
      return { identity: toIdentity(pairs(reply[1])) };
    },

    async visitContexts(visitIds, recent) {
      const read = await conn.run((c) =>
        Promise.all(
          visitIds.map((visitId) =>
            Promise.all([
              c.hGetAll(k.visitIdentity(visitId)),
              recent > 0 ? c.lRange(k.visitEvents(visitId), 0, recent - 1) : Promise.resolve([] as string[]),
            ]),
          ),
        ),
      );
      const out = new Map<string, { identity: IdentityRecord | null; events: BusinessEventRecord[] }>();
      visitIds.forEach((visitId, i) => {
        const [identity, events] = read[i]!;
        const record = { identity: toIdentity(identity as Fields), events: events.map(toBusinessEvent) };
        if (record.identity !== null || record.events.length > 0) out.set(visitId, record);
      });
      return out;
    },

    async visitHistory(visitId) {
      const [history] = await histories([visitId]);
      return history ?? null;
    },

    async visitorVisits(globalVisitId, { after, limit }) {
      const browser = lexPrefix(globalVisitId);
      const max = after === null ? `(${browser};` : `(${browser}${pad15(after.startedAt)}:${after.visitId}`;
      const members = await conn.run((c) =>
        c.zRange(k.visitsByBrowser, max, `[${browser}`, {
          BY: 'LEX',
          REV: true,
          LIMIT: { offset: 0, count: limit + 1 },
        }),
      );
      const visitIds = members.slice(0, limit).map((member) => afterBytes(member, byteLength(browser) + 16));
      const visits = (await histories(visitIds)).filter((h): h is VisitHistoryRecord => h !== null);
      return { visits, more: members.length > limit };
    },

    async eraseVisitor(globalVisitId, marker, now) {
      const counts: ErasureCounts = { visits: 0, pages: 0, events: 0, attempts: 0 };
      let retries = 0;
      for (;;) {
        const step = await eraseSomeVisits(globalVisitId, marker, now);
        if (step === null) {
          if (++retries > ERASE_RETRIES)
            throw new Error('Erasing kept racing new records of the same browser; try again.');
          continue;
        }
        counts.visits += step.visits;
        counts.pages += step.pages;
        counts.events += step.events;
        counts.attempts += step.attempts;
        if (!step.left) break;
      }
      const erasingKey = k.erasing(marker.key);
      // The log's events of those visits: not counted (the counts are of what the browser's records held).
      const logged = await eraseLoggedEvents(erasingKey);
      const anything = counts.visits + counts.pages + counts.events + counts.attempts + logged > 0;
      const reply = await exec(
        'finishErasure',
        { seqKey: k.seq, logKey: k.log, erasingKey },
        { eventId: randomUUID(), now: int(now), counts: JSON.stringify(counts), anything: anything ? '1' : '0' },
      );
      if (reply[1] === 1) recorded();
      return counts;
    },

    async erasedAt(markerKey, now) {
      const marked = await conn.run((c) => c.hGet(k.erased, markerKey));
      if (marked === null || marked === undefined) return null;
      const [at, until] = marked.split(':').map(Number) as [number, number];
      return now < until ? at : null;
    },
  };
}
