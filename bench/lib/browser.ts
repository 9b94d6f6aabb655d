/** Debian's Chromium through Playwright, launched the way the e2e tests launch it. */
import { chromium, type Browser } from '@playwright/test';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/lib/chromium/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * tsx (esbuild, keepNames) wraps functions passed to `page.evaluate` in
 * `__name(…)`; define it in every page so those functions run there.
 */
export const KEEP_NAMES_SHIM = { content: 'globalThis.__name = (target) => target;' };
