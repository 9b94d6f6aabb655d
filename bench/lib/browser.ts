/** Debian's Chromium through Playwright, launched the way the e2e tests launch it. */
import { chromium, type Browser } from '@playwright/test';
import { chromiumLaunchOptions } from '../../test/chromium.js';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ ...chromiumLaunchOptions(), headless: true });
}

/**
 * tsx (esbuild, keepNames) wraps functions passed to `page.evaluate` in
 * `__name(…)`; define it in every page so those functions run there.
 */
export const KEEP_NAMES_SHIM = { content: 'globalThis.__name = (target) => target;' };
