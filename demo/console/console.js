// Beckon strategy console: watch live visits, start and cancel invitations,
// and follow each attempt to its outcome. Plain ES module, no build step.
//
// Live updates come from the event stream (GET /backend/data/events, SSE),
// read with fetch because EventSource cannot send the Bearer token. Nothing
// polls: an initial load over REST, then each event says what to redraw.
//
// Titles, messages, urls and fault texts come from other people and may hold
// markup, so everything reaches the page through text nodes and DOM APIs,
// never as HTML.

import { fill, h } from './dom.js';
import { createInsights } from './insights.js';

const API = '/backend/data';
const TOKEN_KEY = 'beckon.token';
const ATTEMPTS_KEY = 'beckon.console.attempts';
/** The server sends a heartbeat every 15 s; this long without a byte means the stream is dead. */
const STALL_MS = 45_000;
const RECONNECT_MIN_MS = 1000;
const RECONNECT_MAX_MS = 15_000;
const MAX_ATTEMPTS = 50; // sessionStorage is small; the oldest attempts drop off
const STATES = ['pending', 'delivered', 'accepted', 'declined', 'timed_out', 'cancelled', 'expired'];
const TERMINAL = new Set(STATES.slice(2));
/** pending < delivered < any outcome: a late answer about an earlier state never rolls an attempt back. */
const rank = (state) => (TERMINAL.has(state) ? 2 : state === 'delivered' ? 1 : 0);
const CHANNELS = [
  ['chat', 'Chat'],
  ['callback', 'Callback'],
  ['voice', 'Voice'],
];

const $ = (id) => document.getElementById(id);
const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
let seq = 0; // makes element ids unique across repeated forms

function timeEl(iso) {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return '—';
  return h('time', { datetime: iso, title: date.toLocaleString() }, clock.format(date));
}

const short = (id) => (String(id).length > 10 ? `${String(id).slice(0, 8)}…` : String(id));
const stateLabel = (state) => String(state).replace(/_/g, ' ');

function storageGet(key) {
  try {
    return sessionStorage.getItem(key);
  } catch {
    return null; // storage can be disabled; the console still works for this page's life
  }
}

function storageSet(key, value) {
  try {
    sessionStorage.setItem(key, value);
  } catch {
    /* as above */
  }
}

/** Adds a message to the polite live region; old ones are trimmed (removals are not read out). */
function announce(text) {
  const region = $('announcer');
  region.append(h('p', {}, text));
  while (region.childElementCount > 5) region.firstElementChild.remove();
}

// ---------------------------------------------------------------- the API

/** A non-200 answer (or no answer: status 0), read from the FAULT body. */
class Fault extends Error {
  constructor(status, body, retryAfter) {
    const known = body !== null && typeof body === 'object' && body.status === 'FAULT';
    super(
      status === 0
        ? 'Could not reach the Beckon server.'
        : known && typeof body.message === 'string'
          ? body.message
          : `The server answered HTTP ${status} without a FAULT body.`,
    );
    this.status = status;
    this.code = status === 0 ? '' : known ? String(body.code) : `HTTP_${status}`;
    this.details = known && Array.isArray(body.details) ? body.details : [];
    this.settledState = known && typeof body.state === 'string' ? body.state : null;
    this.retryAfter = Number(retryAfter) || 0;
  }
}

// Kept in memory as well, so that a browser with storage disabled still works.
let token = storageGet(TOKEN_KEY);
let tokenRequest = null;

/**
 * Resolves once a token other than `refused` is stored. Every call that gets a
 * 401 lands here, and they all share one form, so the person is asked once.
 */
function askForToken(refused) {
  if (token !== refused) return Promise.resolve(); // another call already got a new one
  tokenRequest ??= new Promise((resolve) => {
    const section = $('auth');
    const input = $('auth-token');
    const hint = $('auth-hint');
    if (refused) {
      hint.textContent = 'The server refused that token. Enter the API token (BECKON_API_TOKEN) again.';
      hint.classList.add('error');
    }
    $('connection').textContent = 'Waiting for the API token.';
    $('connection').classList.remove('online');
    section.hidden = false;
    input.focus();
    $('auth-form').addEventListener(
      'submit',
      (event) => {
        event.preventDefault();
        token = input.value.trim();
        storageSet(TOKEN_KEY, token);
        input.value = '';
        section.hidden = true;
        $('visits-title').focus(); // the focused input just hid itself
        tokenRequest = null;
        resolve();
      },
      { once: true },
    );
  });
  return tokenRequest;
}

/**
 * Sends a request with the stored token; on 401 asks for a token and sends it
 * again. Resolves with any other answer, as it came.
 */
async function send(method, path, { body, accept = 'application/json' } = {}) {
  for (;;) {
    const sent = token;
    const headers = { Accept: accept };
    if (sent) headers.Authorization = `Bearer ${sent}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(API + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
      });
    } catch {
      throw new Fault(0, null);
    }
    if (res.status !== 401) return res;
    await askForToken(sent);
  }
}

/** Calls the backend for JSON; any answer but a 2xx with a body is a Fault. */
async function api(method, path, body) {
  const res = await send(method, path, { body });
  const data = await res.json().catch(() => null);
  if (res.ok && data !== null) return data;
  throw new Fault(res.status, data, res.headers.get('Retry-After'));
}

/** Puts a fault's code, message and details into `box` (a role="alert" element). */
function showFault(box, err) {
  const fault = err instanceof Fault ? err : { code: 'ERROR', message: String(err?.message ?? err), details: [] };
  fill(
    box,
    h(
      'p',
      {},
      fault.code ? [h('strong', {}, fault.code), ': '] : null,
      fault.message,
      fault.settledState ? ` (state: ${stateLabel(fault.settledState)})` : null,
    ),
    fault.details.length
      ? h(
          'ul',
          {},
          fault.details.map((d) => h('li', {}, h('code', {}, String(d?.path ?? '')), ' ', String(d?.message ?? ''))),
        )
      : null,
  );
}

let online = null;

function setConnection(ok, err) {
  const el = $('connection');
  el.classList.toggle('online', ok);
  el.classList.toggle('offline', !ok);
  if (ok) el.textContent = `Live · following events since ${clock.format(new Date())}`;
  else if (err?.status === 429) el.textContent = 'Rate limited by the server; reconnecting more slowly.';
  else if (err?.status === 0) el.textContent = 'Lost the event stream; reconnecting…';
  else el.textContent = err?.code ? `${err.code}: ${err.message}` : 'The event stream failed; reconnecting…';
  // Only the flips are worth interrupting someone for, not the ticking clock.
  if (online !== null && online !== ok) announce(ok ? 'Connection to the server is back.' : el.textContent);
  online = ok;
}

// ---------------------------------------------------------------- attempts

/** Attempts started from this console, newest first; kept per tab so a reload keeps following them. */
let attempts = loadAttempts();
const attemptViews = new Map();

function loadAttempts() {
  try {
    const list = JSON.parse(storageGet(ATTEMPTS_KEY) ?? '[]');
    return Array.isArray(list) ? list.filter((a) => a && typeof a.interactionId === 'string') : [];
  } catch {
    return [];
  }
}

const saveAttempts = () => storageSet(ATTEMPTS_KEY, JSON.stringify(attempts));
/** Nothing more will happen to it: the attempt settled, or the server no longer knows it. */
const isSettled = (attempt) => TERMINAL.has(attempt.state) || Boolean(attempt.gone);
const attemptName = (a) => `Invitation “${a.title || 'default title'}” to visit ${short(a.visitId)}`;

function addAttempt(attempt) {
  attempts = [attempt, ...attempts].slice(0, MAX_ATTEMPTS);
  saveAttempts();
  renderAttempts();
}

/** Keeps the list's DOM in the order of `attempts`, creating and dropping views as needed. */
function renderAttempts() {
  const list = $('attempts');
  const ids = new Set(attempts.map((a) => a.interactionId));
  for (const [id, view] of attemptViews) {
    if (!ids.has(id)) {
      view.root.remove();
      attemptViews.delete(id);
    }
  }
  attempts.forEach((attempt, index) => {
    let view = attemptViews.get(attempt.interactionId);
    if (!view) {
      view = createAttemptView(attempt);
      attemptViews.set(attempt.interactionId, view);
      renderAttempt(attempt);
    }
    const at = list.children[index];
    if (at !== view.root) list.insertBefore(view.root, at ?? null);
  });
  $('attempts-empty').hidden = attempts.length > 0;
  $('clear-finished').hidden = !attempts.some(isSettled);
}

function createAttemptView(attempt) {
  const id = `a${++seq}`;
  const view = {
    heading: h('h3', { id: `${id}-title`, tabindex: -1 }),
    badge: h('span', { class: 'state' }),
    message: h('p', { class: 'message' }),
    facts: h('dl', { class: 'facts' }),
    timeline: h('ol', { class: 'timeline', 'aria-label': 'Timeline' }),
    fault: h('div', { class: 'fault', role: 'alert' }),
  };
  view.cancel = h(
    'button',
    { type: 'button', class: 'cancel', onclick: () => cancelAttempt(attempt, view) },
    'Cancel invitation',
  );
  view.root = h(
    'li',
    {},
    h(
      'article',
      { class: 'attempt', 'aria-labelledby': `${id}-title` },
      h('div', { class: 'attempt-head' }, view.heading, view.badge),
      view.message,
      view.facts,
      view.timeline,
      view.fault,
      view.cancel,
    ),
  );
  return view;
}

function fact(term, value) {
  return [h('dt', {}, term), h('dd', {}, value ?? '—')];
}

/** Redraws one attempt from its latest record (or from what we sent, before its record is read). */
function renderAttempt(attempt) {
  const view = attemptViews.get(attempt.interactionId);
  if (!view) return;
  const r = attempt.record ?? {};
  const state = attempt.gone ? 'unknown' : attempt.state;
  view.root.firstElementChild.dataset.state = state;
  view.heading.textContent = attempt.title || 'Invitation (default title)';
  view.badge.className = `state state-${state}`;
  view.badge.textContent = stateLabel(state);
  view.message.textContent = r.invitation?.message ?? '';
  view.message.hidden = !view.message.textContent;

  const deadline =
    attempt.state === 'delivered' && r.timeoutAt
      ? fact('Times out at', timeEl(r.timeoutAt))
      : attempt.state === 'pending' && r.expiresAt
        ? fact('Expires at', timeEl(r.expiresAt))
        : null;
  fill(
    view.facts,
    fact('Interaction', h('code', {}, attempt.interactionId)),
    fact('Visit', h('code', {}, attempt.visitId)),
    fact('Shown on page', r.shownPageId ? h('code', {}, r.shownPageId) : null),
    fact('Channels', Array.isArray(r.channels) ? r.channels.join(', ') : null),
    fact('Chosen', r.channel ? h('strong', {}, r.channel) : null),
    fact('Reason', r.reason),
    deadline,
  );

  // Transitions in the order they happened, each with its delay since the attempt began.
  const start = Date.parse(r.transitions?.pending ?? r.createdAt ?? attempt.startedAt);
  const steps = Object.entries(r.transitions ?? {})
    .filter(([, at]) => !Number.isNaN(Date.parse(at)))
    .sort(([s1, t1], [s2, t2]) => Date.parse(t1) - Date.parse(t2) || STATES.indexOf(s1) - STATES.indexOf(s2));
  fill(
    view.timeline,
    steps.map(([step, at]) => {
      const after = Date.parse(at) - start;
      const delay = after < 1000 ? `+${after} ms` : `+${(after / 1000).toFixed(1)} s`;
      // What the event of this step said: the page it was shown on, the channel, the reason.
      const seen = attempt.steps?.[step];
      // An event that came before the attempt was listed is known only from the record.
      const shownOn = seen?.pageId ?? (step === 'delivered' ? r.shownPageId : null);
      const notes = [
        seen?.channel ? `channel ${seen.channel}` : null,
        seen?.reason ? `reason ${seen.reason}` : null,
        step === 'delivered' && shownOn ? `on page ${short(shownOn)}` : null,
      ].filter(Boolean);
      return h(
        'li',
        { class: `step-${step}` },
        h('span', { class: 'step' }, stateLabel(step)),
        ' ',
        timeEl(at),
        after > 0 ? h('span', { class: 'after' }, ` ${delay}`) : null,
        notes.length ? h('span', { class: 'note' }, ` · ${notes.join(' · ')}`) : null,
      );
    }),
  );
  view.timeline.hidden = steps.length === 0;

  if (attempt.gone) showFault(view.fault, new Fault(404, attempt.gone));
  const settled = isSettled(attempt);
  // A settled attempt has nothing to cancel; keep keyboard focus nearby instead of losing it.
  if (settled && document.activeElement === view.cancel) view.heading.focus();
  view.cancel.hidden = settled;
}

/** Stores a fresh record; redraws and announces only what changed. */
function applyRecord(attempt, record) {
  if (!record || typeof record.state !== 'string') return;
  if (JSON.stringify(record) === JSON.stringify(attempt.record)) return;
  // Two reads can cross on the wire; the older answer must not undo what an event already showed.
  if (rank(record.state) < rank(attempt.state)) return;
  const before = attempt.state;
  attempt.record = record;
  attempt.state = record.state;
  saveAttempts();
  renderAttempt(attempt);
  $('clear-finished').hidden = !attempts.some(isSettled);
  if (before !== record.state) {
    announce(
      `${attemptName(attempt)}: ${stateLabel(record.state)}${record.channel ? `, channel ${record.channel}` : ''}.`,
    );
  }
}

async function refreshAttempt(attempt) {
  try {
    applyRecord(attempt, await api('GET', `/gateway/engagements/${encodeURIComponent(attempt.interactionId)}`));
  } catch (err) {
    if (!(err instanceof Fault) || err.status !== 404) throw err;
    // E.g. the server was restarted with an empty store: stop asking.
    attempt.gone = { status: 'FAULT', code: err.code, message: err.message };
    saveAttempts();
    renderAttempt(attempt);
    announce(`${attemptName(attempt)}: no longer known to the server.`);
  }
}

/**
 * An engagement event about an attempt this console follows: the state and
 * the step's details show at once; the full record (deadlines) is read after.
 */
function applyEngagementEvent(attempt, event) {
  const state = event.type.slice('engagement.'.length);
  if (!STATES.includes(state)) return;
  attempt.steps = {
    ...attempt.steps,
    [state]: {
      at: event.at,
      pageId: event.pageId ?? null,
      channel: event.channel ?? null,
      reason: event.reason ?? null,
    },
  };
  if (rank(state) > rank(attempt.state) || !attempt.record) {
    const r = attempt.record ?? {};
    applyRecord(attempt, {
      ...r,
      state,
      channel: event.channel ?? r.channel ?? null,
      reason: event.reason ?? r.reason ?? null,
      shownPageId: event.pageId ?? r.shownPageId ?? null,
      transitions: { ...r.transitions, [state]: event.at },
    });
  } else {
    saveAttempts();
    renderAttempt(attempt);
  }
  refreshAttempt(attempt).catch(() => {});
}

async function cancelAttempt(attempt, view) {
  view.fault.replaceChildren();
  try {
    await api('POST', '/gateway/noengage', { cancelData: { interactionId: attempt.interactionId, reason: 'console' } });
  } catch (err) {
    showFault(view.fault, err);
  }
  // Either way the record tells the truth now (e.g. ALREADY_SETTLED: it settled first).
  await refreshAttempt(attempt).catch(() => {});
}

// ---------------------------------------------------------------- the event stream

let lastEventId = null;

/** Reads the visit list again, at most one read at a time and one more queued behind it. */
let visitsLoad = null;
let visitsAgain = false;
function refreshVisits() {
  if (visitsLoad) {
    visitsAgain = true;
    return visitsLoad;
  }
  visitsLoad = (async () => {
    try {
      do {
        visitsAgain = false;
        const data = await api('GET', '/visits');
        renderVisits(Array.isArray(data?.visits) ? data.visits : []);
      } while (visitsAgain);
    } finally {
      visitsLoad = null;
    }
  })();
  return visitsLoad;
}

/** One event from the stream: redraw what it is about. */
function applyEvent(event) {
  if (!event || typeof event.type !== 'string') return;
  insights.eventArrived(event);
  if (event.type.startsWith('engagement.')) {
    const attempt = attempts.find((a) => a.interactionId === event.interactionId);
    if (attempt) applyEngagementEvent(attempt, event);
  }
  // Visits and pages changed, or which attempt a visit has in progress and where it shows.
  refreshVisits().catch(() => {});
}

/** Parses SSE frames from the response body until it ends, fails or stalls. */
async function readEvents(body, controller) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let stall = setTimeout(() => controller.abort(), STALL_MS);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      clearTimeout(stall);
      stall = setTimeout(() => controller.abort(), STALL_MS);
      buffer += value.replace(/\r\n?/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let id = null;
        const data = [];
        for (const line of frame.split('\n')) {
          if (line.startsWith('id:')) id = line.slice(3).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        if (id !== null) lastEventId = id;
        if (data.length === 0) continue; // a comment: the heartbeat
        try {
          applyEvent(JSON.parse(data.join('\n')));
        } catch {
          /* not an event this console understands */
        }
      }
    }
  } catch {
    /* aborted (stalled) or the connection dropped: reconnect */
  } finally {
    clearTimeout(stall);
  }
}

/**
 * Keeps one event stream open for the life of the page. On every (re)connect
 * it reloads visits and unsettled attempts, then applies events; a reconnect
 * sends Last-Event-ID so the server replays what was missed.
 */
async function followEvents() {
  let delay = RECONNECT_MIN_MS;
  for (;;) {
    const sent = token;
    const headers = { Accept: 'text/event-stream' };
    if (sent) headers.Authorization = `Bearer ${sent}`;
    if (lastEventId !== null) headers['Last-Event-ID'] = lastEventId;
    const controller = new AbortController();
    let res = null;
    try {
      res = await fetch(`${API}/events`, { headers, cache: 'no-store', signal: controller.signal });
    } catch {
      /* unreachable: handled below */
    }
    if (res?.status === 401) {
      await askForToken(sent);
      continue;
    }
    if (res?.ok && res.body) {
      setConnection(true);
      insights.streamOpened();
      delay = RECONNECT_MIN_MS;
      // Events from now on arrive on the stream, so this load cannot miss any change.
      const loads = [refreshVisits(), ...attempts.filter((a) => !isSettled(a)).map(refreshAttempt)];
      Promise.allSettled(loads).then((results) => {
        const failed = results.find((r) => r.status === 'rejected');
        if (failed) setConnection(false, failed.reason);
      });
      await readEvents(res.body, controller);
      setConnection(false, new Fault(0, null));
    } else {
      const body = res ? await res.json().catch(() => null) : null;
      const fault = res ? new Fault(res.status, body, res.headers.get('Retry-After')) : new Fault(0, null);
      setConnection(false, fault);
      if (fault.status === 429) delay = Math.max(delay, fault.retryAfter * 1000 || 5000);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, RECONNECT_MAX_MS);
  }
}

// ---------------------------------------------------------------- visits

const visitViews = new Map();

/** Which page shows this visit's active attempt, if this console started it. */
function shownPageOf(visit) {
  const attempt = attempts.find((a) => a.interactionId === visit.activeInteractionId);
  return attempt && !isSettled(attempt) ? (attempt.record?.shownPageId ?? null) : null;
}

function renderVisits(visits) {
  const list = $('visits');
  const sorted = [...visits].sort((a, b) => String(b.startedAt).localeCompare(String(a.startedAt)));
  const ids = new Set(sorted.map((v) => v.visitId));
  for (const [id, view] of visitViews) {
    if (!ids.has(id)) {
      view.root.remove();
      visitViews.delete(id);
    }
  }
  sorted.forEach((visit, index) => {
    let view = visitViews.get(visit.visitId);
    if (!view) {
      view = createVisitView(visit.visitId);
      visitViews.set(visit.visitId, view);
    }
    updateVisitView(view, visit);
    // Move a card only when the order changed: moving a node drops the focus inside it.
    const at = list.children[index];
    if (at !== view.root) list.insertBefore(view.root, at ?? null);
  });
  $('visits-empty').hidden = sorted.length > 0;
  $('visit-count').textContent = `(${sorted.length})`;
}

function createVisitView(visitId) {
  const n = ++seq;
  const id = (name) => `v${n}-${name}`;
  const view = {
    visitId,
    meta: h('p', { class: 'meta' }),
    pages: h('ul', { class: 'pages', 'aria-label': 'Open pages' }),
    select: h('select', { id: id('page'), name: 'pageId' }),
    fault: h('div', { class: 'fault', role: 'alert' }),
    sent: h('output', { class: 'sent' }),
    sig: '',
    optionsSig: '',
  };
  const field = (name, label, control) =>
    h('div', { class: `field field-${name}` }, h('label', { for: id(name) }, label), control);
  const form = h(
    'form',
    { class: 'invite' },
    field(
      'title',
      'Title',
      h('input', { id: id('title'), name: 'title', maxlength: 120, placeholder: 'Can we help?' }),
    ),
    field('message', 'Message', h('textarea', { id: id('message'), name: 'message', maxlength: 1000, rows: 2 })),
    h(
      'fieldset',
      { class: 'channels' },
      h('legend', {}, 'Channels'),
      CHANNELS.map(([value, label]) =>
        h(
          'label',
          {},
          h('input', { type: 'checkbox', name: 'channels', value, checked: value === 'chat' }),
          ` ${label}`,
        ),
      ),
    ),
    h(
      'div',
      { class: 'row' },
      field(
        'timeout',
        'Timeout (seconds)',
        h('input', {
          id: id('timeout'),
          name: 'timeoutSeconds',
          type: 'number',
          min: 5,
          max: 600,
          step: 1,
          value: 30,
          required: true,
        }),
      ),
      field('page', 'Target page', view.select),
    ),
    view.fault,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Send invitation'), view.sent),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    startInvitation(form, view);
  });
  view.root = h(
    'li',
    {},
    h(
      'article',
      { class: 'visit', 'aria-labelledby': id('heading') },
      h('h3', { id: id('heading') }, 'Visit ', h('code', {}, visitId)),
      view.meta,
      view.pages,
      h('details', { class: 'invite-box' }, h('summary', {}, 'Invite this visitor'), form),
    ),
  );
  return view;
}

function pageItem(page, shownPageId) {
  return h(
    'li',
    { class: 'page' },
    h('span', { class: 'page-title' }, page.title || '(untitled page)'),
    h(
      'span',
      { class: 'flags' },
      page.pageId === shownPageId ? h('span', { class: 'flag flag-shown' }, 'showing invitation') : null,
      h('span', { class: page.visible ? 'flag flag-on' : 'flag' }, page.visible ? 'visible' : 'hidden'),
      page.focused ? h('span', { class: 'flag flag-on' }, 'focused') : null,
      page.locale ? h('span', { class: 'flag' }, page.locale) : null,
    ),
    h('span', { class: 'url' }, page.url),
    h('span', { class: 'since' }, 'since ', timeEl(page.connectedSince), ' · ', h('code', {}, page.pageId)),
  );
}

const CAP_NAMES = { 'per-day': 'daily cap', 'after-decline': 'quiet time after a decline' };

/**
 * The browser's frequency caps beside the visit (null when none is set):
 * "capped until 14:05" while an engage would be refused, else "2/3 shown in 24 h".
 */
function capBadge(caps) {
  if (!caps || typeof caps !== 'object') return null;
  if (caps.capped && caps.retryAfter) {
    return [
      ' · ',
      h(
        'span',
        {
          class: 'flag flag-capped',
          title: `Engage answers VISITOR_CAPPED (${CAP_NAMES[caps.capped] ?? caps.capped})`,
        },
        `capped (${CAP_NAMES[caps.capped] ?? caps.capped}) until `,
        timeEl(caps.retryAfter),
      ),
    ];
  }
  if (typeof caps.perDay !== 'number') return null;
  return [' · ', h('span', { class: 'flag' }, `${caps.shownLast24Hours}/${caps.perDay} shown in 24 h`)];
}

function updateVisitView(view, visit) {
  const pages = Array.isArray(visit.pages) ? visit.pages : [];
  const shown = shownPageOf(visit);
  // Redraw only on change: reloads follow events and must not disturb a reader.
  const sig = JSON.stringify([visit, shown]);
  if (sig === view.sig) return;
  view.sig = sig;

  fill(
    view.meta,
    'Started ',
    timeEl(visit.startedAt),
    ' · global visit ',
    h('code', {}, visit.globalVisitId),
    visit.activeInteractionId ? [' · attempt in progress: ', h('code', {}, short(visit.activeInteractionId))] : null,
    capBadge(visit.caps),
  );
  fill(view.pages, ...pages.map((page) => pageItem(page, shown)));

  // Rebuilding an open <select> closes it, so only do it when its choices changed.
  const optionsSig = JSON.stringify(pages.map((p) => [p.pageId, p.title, p.url]));
  if (optionsSig !== view.optionsSig) {
    view.optionsSig = optionsSig;
    const chosen = view.select.value;
    fill(
      view.select,
      h('option', { value: '' }, 'Most recently active'),
      ...pages.map((p) => h('option', { value: p.pageId }, `${p.title || p.url} (${short(p.pageId)})`)),
    );
    view.select.value = pages.some((p) => p.pageId === chosen) ? chosen : '';
  }
}

// crypto.randomUUID exists only in secure contexts; a console opened over
// plain http on a LAN address still needs good random ids.
function newInteractionId() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

async function startInvitation(form, view) {
  if (form.dataset.busy) return; // not `disabled`: disabling the focused button would drop focus
  const data = new FormData(form);
  const channels = data.getAll('channels');
  view.sent.textContent = '';
  if (channels.length === 0) {
    fill(view.fault, h('p', {}, 'Choose at least one channel.'));
    form.querySelector('input[name="channels"]').focus();
    return;
  }
  const title = String(data.get('title')).trim();
  const message = String(data.get('message')).trim();
  const pageId = String(data.get('pageId') ?? '');
  const invitation = {};
  if (title) invitation.title = title;
  if (message) invitation.message = message;
  const profile = { interactionId: newInteractionId(), visitId: view.visitId };
  if (pageId) profile.pageId = pageId;
  profile.channels = channels;
  if (title || message) profile.invitation = invitation;
  profile.timeoutSeconds = Number(data.get('timeoutSeconds'));

  form.dataset.busy = 'true';
  view.fault.replaceChildren();
  try {
    const answer = await api('POST', '/gateway/engage', { ixnProfile: profile });
    addAttempt({
      interactionId: profile.interactionId,
      visitId: view.visitId,
      title,
      startedAt: new Date().toISOString(),
      state: typeof answer.state === 'string' ? answer.state : 'pending',
      record: null,
    });
    view.sent.textContent = `Sent at ${clock.format(new Date())}; follow it under “Invitations from this console”.`;
    // Events that came before it was in the list were not applied; the record has them.
    const added = attempts.find((a) => a.interactionId === profile.interactionId);
    if (added) refreshAttempt(added).catch(() => {});
  } catch (err) {
    showFault(view.fault, err);
  } finally {
    delete form.dataset.busy;
  }
}

// ---------------------------------------------------------------- start

$('clear-finished').addEventListener('click', () => {
  attempts = attempts.filter((a) => !isSettled(a));
  saveAttempts();
  renderAttempts();
  announce('Finished invitations cleared.');
  $('attempts-title').focus(); // the button just hid itself; keep focus in the list
});

// ---------------------------------------------------------------- views

const insights = createInsights({ api, send, showFault, Fault });

/** Live (visits and invitations) or Insights, chosen by the address's #fragment so a reload keeps it. */
function showView({ focus = false } = {}) {
  const onInsights = location.hash === '#insights';
  $('live').hidden = onInsights;
  $('insights').hidden = !onInsights;
  for (const [link, current] of [
    [$('nav-live'), !onInsights],
    [$('nav-insights'), onInsights],
  ]) {
    if (current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  insights.setVisible(onInsights);
  if (focus) $(onInsights ? 'insights-title' : 'visits-title').focus();
}
window.addEventListener('hashchange', () => showView({ focus: true }));

showView();
renderAttempts();
followEvents();
