/**
 * The widget's built-in words, one table per language. Words a caller sets in
 * the profile (`invitation.title`, `acceptLabels`, `declineLabel`) always win;
 * these only fill the gaps. Only English so far: a language is added by adding
 * one entry, and `stringsFor` finds it without any other change.
 */

/** Every built-in string the card can show. */
export interface WidgetStrings {
  title: string;
  decline: string;
  /** Accessible name of the × button. */
  close: string;
  /** Accept label per well-known channel; any other channel shows its own name. */
  accept: Readonly<Partial<Record<string, string>>>;
}

const en: WidgetStrings = {
  title: 'Can we help?',
  decline: 'No thanks',
  close: 'Close',
  accept: { chat: 'Chat now', callback: 'Call me back', voice: 'Call me' },
};

const STRINGS: Readonly<Partial<Record<string, WidgetStrings>>> = { en };

/**
 * The table of the first locale (BCP 47 tag, most specific first) whose
 * language we have words for; English when none matches.
 */
export function stringsFor(...locales: (string | null | undefined)[]): WidgetStrings {
  for (const tag of locales) {
    const table = tag ? STRINGS[tag.toLowerCase().split(/[-_]/)[0] ?? ''] : undefined;
    if (table) return table;
  }
  return en;
}

/** The label of the accept button for `channel`: the profile's, else ours, else the channel's name. */
export function acceptLabel(strings: WidgetStrings, channel: string, labels?: Partial<Record<string, string>>): string {
  return labels?.[channel] || strings.accept[channel] || channel;
}
