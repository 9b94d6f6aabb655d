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
