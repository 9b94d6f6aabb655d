/**
 * What a page tells about its visitor, through `<beckon-invite>` in a real
 * Chromium connected to a real Beckon (src/widget/test/beckon-server.setup.ts):
 * the page API's promises, GWE's `_gt` queue, and a caller's notification
 * arriving as `beckon:notification`.
 */
import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { commands } from 'vitest/browser';
import type { BeckonEventDetails, BeckonIDs } from '../../protocol/page-api.js';
import './define.js';
import type { BeckonInvite } from './beckon-invite.js';

const server = inject('beckonUrl');
let element: BeckonInvite | undefined;

function place(): BeckonInvite {
  const el = document.createElement('beckon-invite');
  el.server = server;
  document.body.append(el);
  element = el;
  return el;
}

const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: Error & { code?: string }) => ({ error: error instanceof Error, code: error.code, message: error.message }),
  );

beforeEach(() => {
  localStorage.clear();
  delete (window as { _gt?: unknown })._gt;
});
afterEach(() => {
  element?.remove();
  element = undefined;
  vi.restoreAllMocks();
});

describe('the visitor API of the element', () => {
  it('resolves once stored, even when called before the connection is up', async () => {
    const el = place();
    // Called in the same task as the element was placed: the socket is not open yet.
    const early = el.track('Landed', { campaign: 'spring', step: 1, returning: false });
    await expect(early).resolves.toBeUndefined();
    await expect(el.signIn('ada@example.com', { tier: 'gold' })).resolves.toBeUndefined();
    await expect(el.setUserInfo({ plan: 'pro' })).resolves.toBeUndefined();
    await expect(el.signOut()).resolves.toBeUndefined();
    // window.Beckon forwards to the element.
    await expect(window.Beckon!.track('ViaWindow')).resolves.toBeUndefined();
  });

  it('rejects bad input in the page with INVALID_PARAMETER, naming the field', async () => {
    const el = place();
    expect(await rejection(el.track('9lives'))).toMatchObject({
      error: true,
      code: 'INVALID_PARAMETER',
      message: /name/,
    });
    expect(await rejection(el.track('Ok', { deep: { x: 1 } } as never))).toMatchObject({
      code: 'INVALID_PARAMETER',
      message: /data/,
    });
    expect(await rejection(el.track('Ok', { big: 'x'.repeat(2100) }))).toMatchObject({ message: /2048 bytes/ });
    expect(await rejection(el.signIn(''))).toMatchObject({ code: 'INVALID_PARAMETER', message: /userId/ });
    expect(await rejection(el.signIn('u', {}, { token: 'f'.repeat(200) }))).toMatchObject({ message: /token/ });
    expect(await rejection(el.setUserInfo(null as never))).toMatchObject({ message: /traits/ });
  });

  it('rejects with RATE_LIMITED past 20 messages in 10 s', async () => {
    const el = place();
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => rejection(el.track('Flood', { i }))));
    expect(results.filter((r) => r === null)).toHaveLength(20);
    expect(results.filter((r) => r?.code === 'RATE_LIMITED')).toHaveLength(4);
  });
});

describe("GWE's _gt queue", () => {
  it('replays what was queued, keeps push working, answers getIDs with GWE spellings and warns once of the rest', async () => {
    const warn = vi.spyOn(console, 'warn');
    const queue: unknown[] = [];
    (window as { _gt?: unknown })._gt = queue;
    const gweIds = new Promise<Record<string, string>>((resolve) => queue.push(['getIDs', resolve]));
    queue.push(
      ['event', 'PageView', { data: { section: 'gear' } }],
      ['config', { dsl: 'x' }],
      ['config', { dsl: 'y' }],
    );
    const ready = new Promise<CustomEvent<BeckonIDs>>((resolve) =>
      window.addEventListener('beckon:ready', (e) => resolve(e as CustomEvent<BeckonIDs>), { once: true }),
    );
    place();
    const ids = (await ready).detail;
    expect(await gweIds).toEqual({ visitID: ids.visitId, pageID: ids.pageId, globalVisitID: ids.globalVisitId });
    // The same array, now running what is pushed.
    expect((window as { _gt?: unknown })._gt).toBe(queue);
    expect(() => queue.push(['event', { eventName: 'AddToCart', price: 49 }], 'nonsense', null)).not.toThrow();
    await vi.waitFor(() =>
      expect(warn.mock.calls.map(([text]) => String(text))).toEqual(
        expect.arrayContaining([expect.stringMatching(/"config"/)]),
      ),
    );
    expect(warn.mock.calls.filter(([text]) => String(text).includes('"config"'))).toHaveLength(1);
  });
});

describe('notifications', () => {
  it('arrive as beckon:notification on window, and the caller is told how many pages got them', async () => {
    const ready = new Promise<CustomEvent<BeckonIDs>>((resolve) =>
      window.addEventListener('beckon:ready', (e) => resolve(e as CustomEvent<BeckonIDs>), { once: true }),
    );
    place();
    const ids = (await ready).detail;
    const arrived = new Promise<BeckonEventDetails['beckon:notification']>((resolve) =>
      window.addEventListener('beckon:notification', (e) => resolve(e.detail), { once: true }),
    );
    const detail = { channel: 'offer', data: { code: 'SPRING', percent: 10, nested: { ok: true } } };
    expect(await commands.notify(ids.visitId, ids.pageId, detail)).toBe(1);
    expect(await arrived).toEqual(detail);
  });
});
