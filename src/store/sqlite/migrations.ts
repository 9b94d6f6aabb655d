/**
 * SQLite schema, as an ordered list of migrations applied in code at open.
 * `PRAGMA user_version` records how many have run; never edit a shipped one,
 * append a new one.
 */
import type Database from 'better-sqlite3';

export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE visits (
    visit_id        TEXT PRIMARY KEY,
    global_visit_id TEXT NOT NULL,
    started_at      INTEGER NOT NULL,
    idle_since      INTEGER,
    ended_at        INTEGER
  );
  CREATE INDEX visits_idle ON visits(idle_since) WHERE ended_at IS NULL AND idle_since IS NOT NULL;

  CREATE TABLE pages (
    page_id      TEXT PRIMARY KEY,
    visit_id     TEXT NOT NULL REFERENCES visits(visit_id),
    url          TEXT NOT NULL,
    title        TEXT NOT NULL,
    visible      INTEGER NOT NULL,
    focused      INTEGER NOT NULL,
    locale       TEXT,
    connected_at INTEGER NOT NULL,
    active_at    INTEGER NOT NULL,
    closed_at    INTEGER
  );
  CREATE INDEX pages_open ON pages(visit_id) WHERE closed_at IS NULL;

  CREATE TABLE engagements (
    interaction_id     TEXT PRIMARY KEY,
    visit_id           TEXT,
    page_id            TEXT,
    shown_page_id      TEXT,
    state              TEXT NOT NULL,
    channels           TEXT NOT NULL,
    channel            TEXT,
    reason             TEXT,
    invitation         TEXT NOT NULL,
    timeout_seconds    INTEGER NOT NULL,
    expiration_seconds INTEGER NOT NULL,
    user_data          TEXT NOT NULL,
    extras             TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL,
    timeout_at         INTEGER,
    transitions        TEXT NOT NULL
  );
  CREATE INDEX engagements_visit ON engagements(visit_id, state);
  CREATE INDEX engagements_expiry ON engagements(expires_at) WHERE state = 'pending';
  CREATE INDEX engagements_timeout ON engagements(timeout_at) WHERE state = 'delivered';

  -- The outbox: every state change writes its event in the same transaction.
  CREATE TABLE events (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT NOT NULL UNIQUE,
    type           TEXT NOT NULL,
    at             INTEGER NOT NULL,
    visit_id       TEXT,
    interaction_id TEXT,
    page_id        TEXT,
    body           TEXT NOT NULL
  );
  CREATE INDEX events_visit ON events(visit_id, seq);
  `,
  `
  -- A browser (globalVisitId) that chose "don't show invitations again".
  CREATE TABLE browsers (
    global_visit_id TEXT PRIMARY KEY,
    opted_out       INTEGER NOT NULL,
    changed_at      INTEGER NOT NULL
  );
  `,
  `
  -- The webhook outbox: one row per event still to be delivered, in order per
  -- visit (lane). next_at is when it is due, pushed forward as a lease while
  -- an attempt is in flight, so a crashed sender's claim simply runs out.
  CREATE TABLE webhook_deliveries (
    seq        INTEGER PRIMARY KEY REFERENCES events(seq),
    lane       TEXT NOT NULL,
    state      TEXT NOT NULL DEFAULT 'waiting',
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    INTEGER NOT NULL,
    last_error TEXT
  );
  CREATE INDEX webhook_waiting ON webhook_deliveries(lane, seq) WHERE state = 'waiting';
  CREATE INDEX webhook_due ON webhook_deliveries(next_at) WHERE state = 'waiting';

  -- How far the events table has been moved into the outbox (one row).
  CREATE TABLE webhook_cursor (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
  );
  `,
  `
  -- Presence across nodes: which node (and boot of it) holds each page's socket.
  -- Pages opened before this migration have none (NULL): no node lists them.
  ALTER TABLE pages ADD COLUMN node_id TEXT;
  ALTER TABLE pages ADD COLUMN boot_id TEXT;
  CREATE INDEX pages_held ON pages(node_id, boot_id, page_id) WHERE closed_at IS NULL AND node_id IS NOT NULL;

  -- Registered boots of nodes (heartbeat). A boot forgotten as dead keeps its
  -- row with reaped_at set, so that its next heartbeat answers 'reaped'; such
  -- rows are pruned a day after (forgetNode).
  CREATE TABLE nodes (
    node_id    TEXT NOT NULL,
    boot_id    TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    reaped_at  INTEGER,
    PRIMARY KEY (node_id, boot_id)
  );
  CREATE INDEX nodes_expiry ON nodes(expires_at) WHERE reaped_at IS NULL;
  CREATE INDEX nodes_reaped ON nodes(reaped_at) WHERE reaped_at IS NOT NULL;
  `,
  `
  -- Reports (core/reports.ts): counters per UTC hour (start, epoch ms), written
  -- in the transaction of each transition, pruned by the retention loop.
  -- Ordinary rowid tables, as test/store-snapshot.ts orders every table by rowid.
  CREATE TABLE report_counts (
    hour INTEGER NOT NULL,
    name TEXT NOT NULL,
    n    INTEGER NOT NULL,
    PRIMARY KEY (hour, name)
  );
  -- What an attempt in progress needs at its answer: when it was first shown
  -- (time to answer) and on which page path. Deleted when the attempt settles.
  CREATE TABLE report_attempts (
    interaction_id TEXT PRIMARY KEY,
    delivered_at   INTEGER NOT NULL,
    path           TEXT NOT NULL
  );
  -- The export lists attempts by creation time, oldest first, paged by (created_at, interaction_id).
  CREATE INDEX engagements_created ON engagements(created_at, interaction_id);
  `,
  `
  -- Frequency caps (core/caps.ts, sqlite/caps.ts), kept only for attempts created while a cap
  -- is configured: each browser's budget, one row per attempt that counts (at: created, then
  -- first shown; shown: 0 while only reserved), pruned two days after; and each browser's last
  -- decline, pruned after the longest quiet time (30 days).
  CREATE TABLE cap_budget (
    interaction_id  TEXT PRIMARY KEY,
    global_visit_id TEXT NOT NULL,
    at              INTEGER NOT NULL,
    shown           INTEGER NOT NULL
  );
  CREATE INDEX cap_budget_browser ON cap_budget(global_visit_id, at);
  CREATE INDEX cap_budget_age ON cap_budget(at);
  CREATE TABLE cap_declines (
    global_visit_id TEXT PRIMARY KEY,
    declined_at     INTEGER NOT NULL
  );
  CREATE INDEX cap_declines_age ON cap_declines(declined_at);
  `,
  `
  -- Retention of presence records (pruneVisits): closed pages and ended visits by age, and
  -- a visit's pages whether open or closed (is any left; also what deleting a visit checks
  -- for its foreign key, which would otherwise scan every page).
  CREATE INDEX pages_closed ON pages(closed_at) WHERE closed_at IS NOT NULL;
  CREATE INDEX pages_visit ON pages(visit_id);
  CREATE INDEX visits_ended ON visits(ended_at) WHERE ended_at IS NOT NULL;
  `,
  `
  -- Retention of attempts (pruneAttempts): when each settled (its terminal transition; a
  -- tombstone's creation), NULL while in progress. Attempts settled before this migration get
  -- the time their transitions record for their state (ISO text 'YYYY-MM-DDTHH:MM:SS.mmmZ').
  ALTER TABLE engagements ADD COLUMN settled_at INTEGER;
  UPDATE engagements SET settled_at =
      CAST(strftime('%s', json_extract(transitions, '$.' || state)) AS INTEGER) * 1000
      + CAST(substr(json_extract(transitions, '$.' || state), 21, 3) AS INTEGER)
    WHERE state NOT IN ('pending', 'delivered');
  CREATE INDEX engagements_settled ON engagements(settled_at) WHERE settled_at IS NOT NULL;
  `,
  `
  -- Channels as data (docs/pacing.md): each channel's settings (JSON as the API stores them),
  -- its last capacity report and the counts pacing reads, and the outcomes of its latest
  -- answered invitations (1 accepted with the channel, 0 not), newest with the highest seq.
  CREATE TABLE channels (
    channel TEXT PRIMARY KEY,
    settings TEXT NOT NULL
  );
  -- The version of all settings together: it moves with every change, so that a process that keeps
  -- them in memory learns, inside the create's transaction, that they changed.
  CREATE TABLE channels_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
  );
  INSERT INTO channels_version (id, version) VALUES (1, 0);
  CREATE TABLE channel_load (
    channel TEXT PRIMARY KEY,
    in_progress INTEGER NOT NULL DEFAULT 0,
    free_slots INTEGER,
    reported_at INTEGER,
    accepted_since_report INTEGER NOT NULL DEFAULT 0,
    -- The acceptance window's sums, kept with its rows so that a create reads one row, not the window.
    answered INTEGER NOT NULL DEFAULT 0,
    accepted INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE channel_outcomes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    accepted INTEGER NOT NULL
  );
  CREATE INDEX channel_outcomes_latest ON channel_outcomes(channel, seq);
  -- The paced channels an attempt counts as in progress on (JSON list; NULL: none), so that
  -- settling it takes it off exactly those, whatever the settings have become since.
  ALTER TABLE engagements ADD COLUMN paced_channels TEXT;
  `,
  `
  -- Visitor context (docs/visitor-context.md). A visit's identity, on the visit (identified_at
  -- NULL: none); it goes with the visit, by retention or erasure.
  ALTER TABLE visits ADD COLUMN user_id TEXT;
  ALTER TABLE visits ADD COLUMN verified INTEGER;
  ALTER TABLE visits ADD COLUMN traits TEXT;
  ALTER TABLE visits ADD COLUMN identified_at INTEGER;
  -- A browser's visits, newest first and paged by (started_at, visit_id); what an erasure finds.
  CREATE INDEX visits_browser ON visits(global_visit_id, started_at, visit_id);
  -- The business events each visit keeps (its latest, sqlite/visitor.ts), newest with the highest seq.
  CREATE TABLE business_events (
    seq      INTEGER PRIMARY KEY,
    visit_id TEXT NOT NULL,
    page_id  TEXT NOT NULL,
    name     TEXT NOT NULL,
    data     TEXT NOT NULL,
    at       INTEGER NOT NULL
  );
  CREATE INDEX business_events_visit ON business_events(visit_id, seq);
  -- The browser of each attempt, kept after retention prunes its visit (an attempt outlives it),
  -- so that erasing the browser still finds the attempt and the events of its visit.
  ALTER TABLE engagements ADD COLUMN global_visit_id TEXT;
  UPDATE engagements SET global_visit_id =
    (SELECT global_visit_id FROM visits WHERE visits.visit_id = engagements.visit_id);
  CREATE INDEX engagements_browser ON engagements(global_visit_id) WHERE global_visit_id IS NOT NULL;
  -- Erased browsers, by a keyed hash of their id (core/erasure.ts), never the id, until the marker runs out.
  CREATE TABLE erasures (
    marker    TEXT PRIMARY KEY,
    erased_at INTEGER NOT NULL,
    until     INTEGER NOT NULL
  );
  CREATE INDEX erasures_until ON erasures(until);
  `,
];

/** Brings the file's schema up to date, in one IMMEDIATE transaction (so two processes opening it do not both migrate). */
export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  db.transaction(() => {
    for (let version = current; version < MIGRATIONS.length; version++) {
      db.exec(MIGRATIONS[version]!);
    }
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}
