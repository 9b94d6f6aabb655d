/**
 * "Why not offered": the engages the report counts as refused, per FAULT
 * code, and those narrowed to fewer channels than asked (docs/api.md, the
 * funnel report; docs/pacing.md#at-engage), in the words an operator uses.
 * Pure functions, tested without a page.
 */
import type { FaultCode } from '../../protocol/faults.js';
import type { Figures } from './report.js';

export interface NotOfferedLine {
  /** What it is called in the view. */
  label: string;
  /** The FAULT code the report counts it under; null for narrowed, which is no refusal. */
  code: string | null;
  /** Every colour has at least 4.5:1 against the white card, as the outcomes' do. */
  colour: string;
}

/** The refusals, most telling first: pacing and caps are what an operator can change. */
export const REFUSALS = [
  { code: 'NO_CAPACITY', label: 'No capacity', colour: '#c2410c' },
  { code: 'VISITOR_CAPPED', label: 'Capped', colour: '#7e22ce' },
  { code: 'ENGAGEMENT_IN_PROGRESS', label: 'In progress', colour: '#1d4ed8' },
  { code: 'VISITOR_OPTED_OUT', label: 'Opted out', colour: '#6b7280' },
  { code: 'UNKNOWN_VISIT', label: 'Unknown visit', colour: '#be185d' },
] as const satisfies readonly (NotOfferedLine & { code: FaultCode })[];

/** A code the report holds that this console has no words for is shown by its code, in this colour. */
const OTHER_COLOUR = '#374151';

export const NARROWED: NotOfferedLine = { label: 'Narrowed to fewer channels', code: null, colour: '#2f5d50' };

/**
 * The lines to show for a range: every known refusal (zeros included, so the
 * chart keeps its shape), any other code found in the figures, then narrowed.
 */
export function notOfferedLines(figures: readonly Pick<Figures, 'refused'>[]): NotOfferedLine[] {
  const known = new Set<string>(REFUSALS.map((r) => r.code));
  const others = new Set<string>();
  for (const f of figures) for (const code of Object.keys(f.refused)) if (!known.has(code)) others.add(code);
  return [...REFUSALS, ...[...others].sort().map((code) => ({ label: code, code, colour: OTHER_COLOUR })), NARROWED];
}

/** How many of `figures` a line counts. */
export const countOf = (line: NotOfferedLine, figures: Pick<Figures, 'refused' | 'narrowed'>): number =>
  line.code === null ? figures.narrowed : (figures.refused[line.code] ?? 0);

/** One sentence: `3 engages refused (2 no capacity, 1 capped) and 1 narrowed to fewer channels.` */
export function notOfferedSummary(totals: Pick<Figures, 'refused' | 'narrowed'>): string {
  const lines = notOfferedLines([totals]).filter((line) => line.code !== null);
  const refused = lines.map((line) => ({ line, n: countOf(line, totals) })).filter(({ n }) => n > 0);
  const total = refused.reduce((sum, { n }) => sum + n, 0);
  const narrowed = totals.narrowed;
  if (total === 0 && narrowed === 0) return 'Every engage in this range was offered as asked.';
  const refusedText =
    total === 0
      ? 'No engage refused'
      : `${total} ${total === 1 ? 'engage' : 'engages'} refused (${refused
          .map(({ line, n }) => `${n} ${line.code === line.label ? line.label : line.label.toLowerCase()}`)
          .join(', ')})`;
  return `${refusedText} and ${narrowed} narrowed to fewer channels.`;
}
