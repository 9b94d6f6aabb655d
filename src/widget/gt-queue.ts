/**
 * GWE's page API, the `_gt` command queue (docs/gwe-migration.md): a page
 * instrumented for GWE pushes commands onto `window._gt` before any script
 * has loaded. When the widget starts it replays what is queued and keeps
 * `_gt.push` working afterwards, mapping each command onto the page API.
 * Nothing a page pushes may throw: an unknown command is one console
 * warning, a refused one a warning naming why.
 */
import type { BeckonApi, FlatData } from '../protocol/page-api.js';
import type { GweIDs } from '../protocol/visitor.js';

/** What one `_gt` command means for Beckon. */
export type GtAction =
  | { kind: 'track'; name: string; data: FlatData }
  | { kind: 'signIn'; userId: string; traits: FlatData; token?: string }
  | { kind: 'signOut' }
  | { kind: 'userInfo'; traits: FlatData }
  | { kind: 'getIDs'; callback: (ids: GweIDs) => void }
  /** Not a command Beckon knows, or not in a form it understands: `why` is said once in the console. */
  | { kind: 'unsupported'; command: string; why: string };

/** GWE spelt the user's id several ways across versions and sites. */
const USER_ID_KEYS = ['userId', 'userID', 'userid'] as const;

/** A command's name for a warning; a page may push anything, even objects that cannot become text. */
const label = (value: unknown): string => (typeof value === 'string' ? value : typeof value);

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `{data: {…}}` (GWE 8.5) or the fields themselves (GWE 8.1). */
function fieldsOf(options: unknown): Record<string, unknown> {
  if (!isObject(options)) return {};
  const keys = Object.keys(options);
  return keys.length === 1 && keys[0] === 'data' && isObject(options.data) ? { ...options.data } : { ...options };
}

/** A sign-in from GWE's fields: the userId (any of its spellings) and token out, the rest are traits. */
function signInOf(command: string, options: unknown): GtAction {
  const fields = fieldsOf(options);
  const key = USER_ID_KEYS.find((k) => typeof fields[k] === 'string');
  if (!key) return { kind: 'unsupported', command, why: 'needs a userId' };
  const userId = fields[key] as string;
  const token = fields.token;
  for (const k of [...USER_ID_KEYS, 'token']) delete fields[k];
  return {
    kind: 'signIn',
    userId,
    traits: fields as FlatData,
    ...(typeof token === 'string' ? { token } : {}),
  };
}

/** The identity events GWE sends as `['event', 'SignIn' | 'SignOut' | 'UserInfo', …]`. */
function eventAction(command: string, name: unknown, options: unknown): GtAction {
  switch (name) {
    case 'SignIn':
      return signInOf(command, options);
    case 'SignOut':
      return { kind: 'signOut' };
    case 'UserInfo':
      return { kind: 'userInfo', traits: fieldsOf(options) as FlatData };
  }
  if (typeof name !== 'string') return { kind: 'unsupported', command, why: 'needs an event name' };
  return { kind: 'track', name, data: fieldsOf(options) as FlatData };
}

/** What a `_gt` command means; never throws, whatever the page pushed. */
export function gtAction(command: unknown): GtAction {
  if (!Array.isArray(command) || typeof command[0] !== 'string') {
    return {
      kind: 'unsupported',
      command: label(Array.isArray(command) ? command[0] : command),
      why: 'is not a command',
    };
  }
  const [name, first, second] = command as [string, unknown, unknown];
  switch (name) {
    case 'event':
      if (isObject(first)) {
        // GWE 8.1: ['event', {eventName, …fields}]
        const { eventName, ...rest } = first;
        return eventAction(name, eventName, rest);
      }
      // GWE 8.5: ['event', name, {data}]
      return eventAction(name, first, second);
    case 'sendSignIn':
      return signInOf(name, first);
    case 'sendSignOut':
      return { kind: 'signOut' };
    case 'sendUserInfo':
      return { kind: 'userInfo', traits: fieldsOf(first) as FlatData };
    case 'getIDs':
      return typeof first === 'function'
        ? { kind: 'getIDs', callback: first as (ids: GweIDs) => void }
        : { kind: 'unsupported', command: name, why: 'needs a callback' };
  }
  return { kind: 'unsupported', command: name, why: 'is not supported by Beckon' };
}

/** Marks a queue that already runs commands, so a second copy of the widget does not replay it again. */
const INSTALLED = Symbol.for('beckon.gt');

type GtQueue = unknown[] & { [INSTALLED]?: true };

/**
 * Replays `window._gt` and makes its `push` run each command from now on.
 * The array stays the same object: a page that kept a reference to it
 * (`var _gt = _gt || []`) keeps pushing to Beckon.
 */
export function installGtQueue(api: BeckonApi, scope: { _gt?: unknown } = window as { _gt?: unknown }): void {
  const existing = scope._gt;
  const queue: GtQueue = Array.isArray(existing) ? existing : [];
  if (queue[INSTALLED]) return;
  Object.defineProperty(queue, INSTALLED, { value: true });
  const warned = new Set<string>();
  const warn = (command: string, why: string) => {
    const text = `Beckon: _gt command "${command.slice(0, 64)}" ${why}; ignored.`;
    if (warned.has(text)) return;
    warned.add(text);
    console.warn(text);
  };
  const run = (command: unknown) => {
    try {
      perform(api, gtAction(command), warn);
    } catch {
      warn(label(Array.isArray(command) ? command[0] : command), 'failed');
    }
  };
  const pending = queue.splice(0, queue.length);
  Object.defineProperty(queue, 'push', {
    configurable: true,
    value: (...commands: unknown[]) => {
      commands.forEach(run);
      return queue.length;
    },
  });
  if (existing !== queue) scope._gt = queue;
  pending.forEach(run);
}

function perform(api: BeckonApi, action: GtAction, warn: (command: string, why: string) => void): void {
  const refused = (command: string) => (error: unknown) =>
    warn(command, `was not recorded (${error instanceof Error ? error.message : 'refused'})`);
  switch (action.kind) {
    case 'track':
      void api.track(action.name, action.data).catch(refused(`event ${action.name}`));
      return;
    case 'signIn':
      void api
        .signIn(action.userId, action.traits, action.token === undefined ? {} : { token: action.token })
        .catch(refused('SignIn'));
      return;
    case 'signOut':
      void api.signOut().catch(refused('SignOut'));
      return;
    case 'userInfo':
      void api.setUserInfo(action.traits).catch(refused('UserInfo'));
      return;
    case 'getIDs': {
      const { callback } = action;
      void api.getIDs().then((ids) => {
        try {
          callback({ visitID: ids.visitId, pageID: ids.pageId, globalVisitID: ids.globalVisitId });
        } catch {
          warn('getIDs', 'callback threw');
        }
      });
      return;
    }
    case 'unsupported':
      warn(action.command, action.why);
  }
}
