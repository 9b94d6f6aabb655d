/**
 * Entry of the invitation's UI chunk (`/widget/beckon-ui.js`), an ES module
 * the script-tag build imports from its own origin when the page is idle or
 * the first invitation arrives (see loader.ts): Lit and the card of
 * `<beckon-invite>`. It registers nothing and runs nothing when imported.
 */
export { attachCard } from './beckon-invite/card.js';
