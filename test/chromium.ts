/**
 * How every test and benchmark launches Debian's Chromium (Playwright cannot
 * download its own browser here). One place, so a flag added for one runner
 * reaches all of them.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/lib/chromium/chromium';

/** No sandbox as root; no background networking, which this machine's closed network refuses. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launch options for Playwright's `chromium.launch` (and Vitest's Playwright provider). */
export function chromiumLaunchOptions(extraArgs: readonly string[] = []) {
  return { executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, ...extraArgs] };
}
