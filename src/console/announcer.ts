import { byId } from './dom.js';

/** How many announcements the polite live region keeps; removals are not read out. */
const KEPT = 5;

/** Tells screen-reader users, politely, what changed out of their sight (an attempt settled, the connection flipped). */
export function announce(text: string): void {
  const region = byId('announcer', HTMLDivElement);
  const line = document.createElement('p');
  line.textContent = text;
  region.append(line);
  while (region.childElementCount > KEPT) region.firstElementChild?.remove();
}
