/**
 * The widget's built-in words, one table per language. Words a caller sets in
 * the profile (`invitation.title`, `acceptLabels`, `declineLabel`) always win;
 * these only fill the gaps. A language is added by adding one entry: `stringsFor`
 * finds it by its language subtag without any other change.
 */

/** Every built-in string the card can show or announce. */
export interface WidgetStrings {
  title: string;
  decline: string;
  /** Accessible name of the × button. */
  close: string;
  /** Said by the polite live region before the invitation's own words, so a screen reader user knows what arrived. */
  announce: string;
  /** Accept label per well-known channel; any other channel shows its own name. */
  accept: Readonly<Partial<Record<string, string>>>;
}

const en: WidgetStrings = {
  title: 'Can we help?',
  decline: 'No thanks',
  close: 'Close',
  announce: 'Invitation',
  accept: { chat: 'Chat now', callback: 'Call me back', voice: 'Call me' },
};

/** Keyed by lowercase language subtag. */
const STRINGS: Readonly<Partial<Record<string, WidgetStrings>>> = {
  en,
  fr: {
    title: 'Pouvons-nous vous aider ?',
    decline: 'Non merci',
    close: 'Fermer',
    announce: 'Invitation',
    accept: { chat: 'Discuter', callback: 'Être rappelé', voice: 'Appeler' },
  },
  de: {
    title: 'Können wir helfen?',
    decline: 'Nein danke',
    close: 'Schließen',
    announce: 'Einladung',
    accept: { chat: 'Jetzt chatten', callback: 'Rückruf', voice: 'Anrufen' },
  },
  es: {
    title: '¿Podemos ayudarle?',
    decline: 'No, gracias',
    close: 'Cerrar',
    announce: 'Invitación',
    accept: { chat: 'Chatear ahora', callback: 'Llámenme', voice: 'Llamar' },
  },
};

/** The languages with built-in words. */
export const LANGUAGES = Object.keys(STRINGS);

/**
 * The table of the first locale (BCP 47 tag, most specific first) whose
 * language we have words for; English when none matches. `fr-CA` finds `fr`.
 */
export function stringsFor(...locales: (string | null | undefined)[]): WidgetStrings {
  for (const tag of locales) {
    const language = tag?.toLowerCase().split(/[-_]/)[0];
    // Own keys only: a `lang` of "constructor" must not find Object's.
    if (language && Object.hasOwn(STRINGS, language)) return STRINGS[language]!;
  }
  return en;
}

/** The label of the accept button for `channel`: the profile's, else ours, else the channel's name. */
export function acceptLabel(strings: WidgetStrings, channel: string, labels?: Partial<Record<string, string>>): string {
  return labels?.[channel] || strings.accept[channel] || channel;
}
