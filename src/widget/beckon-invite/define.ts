/**
 * Registers `<beckon-invite>`. Safe to import more than once, and safe when
 * another copy of the widget (script tag plus bundle) has registered it first.
 */
import { BeckonInvite, TAG_NAME } from './beckon-invite.js';

if (!customElements.get(TAG_NAME)) customElements.define(TAG_NAME, BeckonInvite);
