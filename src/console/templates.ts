/**
 * Lit templates the views share. Titles, urls and fault texts come from
 * other people and may hold markup; Lit puts every value into the page as
 * text or as an attribute value, never as HTML.
 */
import { html, nothing, type TemplateResult } from 'lit/html.js';
import { Fault } from './api.js';
import { clock, stateLabel } from './format.js';

/** A moment as a time of day, with the full date and time on hover; a dash when it is not a time. */
export function time(iso: string | null | undefined): TemplateResult | string {
  const date = new Date(iso ?? '');
  if (!iso || Number.isNaN(date.getTime())) return '—';
  return html`<time datetime=${iso} title=${date.toLocaleString()}>${clock.format(date)}</time>`;
}

/** A fault's code, message and details, for a role="alert" box; nothing when there is none. */
export function fault(error: unknown): TemplateResult | typeof nothing {
  if (error === null || error === undefined) return nothing;
  const f =
    error instanceof Fault
      ? error
      : { code: 'ERROR', message: String((error as { message?: unknown }).message ?? error), details: [] };
  const code = f.code ? html`<strong>${f.code}</strong>: ` : nothing;
  const settled = f instanceof Fault && f.settledState ? ` (state: ${stateLabel(f.settledState)})` : nothing;
  const details = f.details.map((d) => html`<li><code>${d.path}</code> ${d.message}</li>`);
  return html`<p>${code}${f.message}${settled}</p>
    ${
      details.length
        ? html`<ul>
            ${details}
          </ul>`
        : nothing
    }`;
}

/** A plain sentence for a role="alert" box, e.g. why a form cannot be sent. */
export const problem = (text: string): TemplateResult => html`<p>${text}</p>`;
