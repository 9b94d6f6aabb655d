import type { OutcomeKey } from './report.js';

export interface OutcomeLine {
  key: OutcomeKey;
  label: string;
  colour: string;
}

/**
 * Outcomes in the order they stack. Every colour has at least 4.5:1 against
 * the white card (WCAG 1.4.11 asks 3:1 of graphics), and segments of a stack
 * are parted by a white border rather than relying on their contrast with
 * each other; the legend names them and the table beside the chart has every
 * number, so colour is never the only cue.
 */
export const OUTCOMES: readonly OutcomeLine[] = [
  { key: 'accepted', label: 'Accepted', colour: '#2f5d50' },
  { key: 'declined', label: 'Declined', colour: '#c2410c' },
  { key: 'timedOut', label: 'Timed out', colour: '#1d4ed8' },
  { key: 'cancelled', label: 'Cancelled', colour: '#6b7280' },
  { key: 'expired', label: 'Expired', colour: '#7e22ce' },
];

/** The funnel's steps, each a count of the totals. */
export const FUNNEL = [
  { key: 'created', label: 'Created' },
  { key: 'delivered', label: 'Delivered (shown)' },
  { key: 'accepted', label: 'Accepted' },
] as const;
