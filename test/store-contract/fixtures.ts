/** What several contract files share: the times, a page, a profile, and how an event must read in the log. */
import { expect } from 'vitest';
import { ixnProfileSchema, type PageInfo } from '../../src/protocol/index.js';
import { toBeckonEvent, type EventDraft } from '../../src/core/events.js';
import type { BeckonStore } from '../../src/core/store.js';

export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
export const ALL = { types: null, visitId: null } as const;

export const pageInfo = (overrides: Partial<PageInfo> = {}): PageInfo => ({
  url: 'https://shop.test/',
  title: 'Shop',
  visible: true,
  focused: true,
  locale: 'en',
  ...overrides,
});

export const profile = (input: Record<string, unknown> & { interactionId: string; visitId: string }) =>
  ixnProfileSchema.parse(input);

/** The event as the log must hand it out, whatever the store: what core/events.ts built. */
export function expectLogged(event: unknown, draft: EventDraft): void {
  const { id: _id, seq: _seq, ...expected } = toBeckonEvent({ ...draft, id: 'x', seq: 1 });
  expect(event).toMatchObject(expected);
}

/** A live visit with one open page. */
export async function visitWithPage(store: BeckonStore, visitId = 'visit-1', pageId = 'page-1', at = T0) {
  await store.startVisit({ visitId, globalVisitId: `browser-of-${visitId}` }, at);
  await store.openPage({ pageId, visitId, info: pageInfo() }, at);
}

/** Every event in the log, oldest first. */
export const events = (store: BeckonStore) => store.eventsAfter(0, ALL, 10_000);
