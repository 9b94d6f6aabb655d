/**
 * The console's per-tab memory (sessionStorage). Storage can be disabled or
 * full; the console then still works for the life of the page.
 */

export function storageGet(key: string): string | null {
  try {
    return sessionStorage.getItem(key);
  } catch {
    return null;
  }
}

export function storageSet(key: string, value: string): void {
  try {
    sessionStorage.setItem(key, value);
  } catch {
    // As above: kept in memory only.
  }
}
