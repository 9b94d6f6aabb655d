/** Waiting for a local topology to reach a state, with the reason when it does not. */

/** Polls `check` until it returns true; its last answer otherwise says why it is not yet. */
export async function until(
  what: string,
  timeoutMs: number,
  check: () => Promise<true | string>,
  everyMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string;
  for (;;) {
    try {
      const answer = await check();
      if (answer === true) return;
      last = answer;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms (${last})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
