/** What `beckon:invite` events the pages of a browser context received, for tests that follow an invitation between tabs. */
import type { BrowserContext, Page } from '@playwright/test';

/** Records every `beckon:invite` a page of the context receives, with the time left it was given. */
export async function recordInvites(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const w = window as unknown as { __invites: unknown[] };
    w.__invites = [];
    window.addEventListener('beckon:invite', (event) => {
      const detail = (event as CustomEvent).detail;
      w.__invites.push({ interactionId: detail.interactionId, remainingMs: detail.remainingMs });
    });
  });
}

/** The invitations `page` has received so far. */
export async function invitesOn(page: Page): Promise<{ interactionId: string; remainingMs: number }[]> {
  return page.evaluate(() => (window as unknown as { __invites: never[] }).__invites);
}
