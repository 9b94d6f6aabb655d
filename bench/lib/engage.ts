/** The caller's side of Beckon's REST API, as the benchmarks use it. */

export const ENGAGE_PATH = '/backend/data/gateway/engage';

/** The body of one engage call: a title that names the attempt, so a page can tell invitations apart. */
export function engageBody(interactionId: string, visitId: string): string {
  return JSON.stringify({ ixnProfile: { interactionId, visitId, invitation: { title: interactionId } } });
}

export async function engage(
  url: string,
  interactionId: string,
  visitId: string,
): Promise<{ status: number; body: any }> {
  const response = await fetch(url + ENGAGE_PATH, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: engageBody(interactionId, visitId),
  });
  return { status: response.status, body: await response.json() };
}

/** Server-side engage → delivered (ms, whole milliseconds: the store keeps ISO times). */
export async function deliveredAfter(url: string, interactionId: string): Promise<number | null> {
  const response = await fetch(`${url}/backend/data/gateway/engagements/${encodeURIComponent(interactionId)}`);
  if (!response.ok) return null;
  const record = (await response.json()) as { transitions?: Record<string, string> };
  const pending = record.transitions?.pending;
  const delivered = record.transitions?.delivered;
  return pending && delivered ? Date.parse(delivered) - Date.parse(pending) : null;
}

/** The channel every benchmark engage asks for (the engage's default). */
export const ENGAGED_CHANNEL = 'chat';

/**
 * Paces the engaged channel (progressive, default settings) and reports
 * capacity large enough that pacing never refuses, so that every engage
 * runs the whole decision in the store and every answer updates the
 * channel's counts; `false` takes the settings away again (unpaced, as
 * before them). Throws when the server refuses (a store without channels).
 */
export async function paceEngagedChannel(url: string, paced: boolean): Promise<void> {
  const channelUrl = `${url}/backend/data/channels/${ENGAGED_CHANNEL}`;
  const call = async (method: string, path: string, body?: object) => {
    const response = await fetch(path, {
      method,
      ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  };
  if (!paced) return call('DELETE', channelUrl);
  // Stale after an hour, not a minute: a long BENCH_SECONDS must not close the channel halfway.
  await call('PUT', channelUrl, { pacing: { mode: 'progressive', capacityStaleSeconds: 3600 } });
  await call('PUT', `${channelUrl}/capacity`, { freeSlots: 1_000_000 });
}
