/**
 * Registers `<beckon-invite>` with its card at hand (the ES module for
 * bundlers). Safe to import more than once, and safe when another copy of
 * the widget (script tag plus bundle) has registered it first.
 */
import { BeckonInvite, TAG_NAME, provideCard } from './beckon-invite.js';
import { attachCard } from './card.js';

provideCard({ attach: attachCard });
if (!customElements.get(TAG_NAME)) customElements.define(TAG_NAME, BeckonInvite);
