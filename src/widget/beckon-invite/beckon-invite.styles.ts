/** The text as written: a tag, so that editors highlight it as CSS and the build can squeeze it. */
const css = (text: TemplateStringsArray): string => text.raw.join('');

/**
 * Styles of `<beckon-invite>`'s card. The card adopts them as a constructed
 * stylesheet, so they work under a Content-Security-Policy without `unsafe-inline`.
 * Every colour default passes WCAG AA on the default background: text
 * #1f2937 is 14.7:1, accent #1d4ed8 is 6.7:1 (and white on it the same),
 * the decline button's border #6b7280 is 4.8:1.
 *
 * Every themeable value is read through a `--beckon-*` custom property with
 * its default inline, so a site can restyle the card from outside the shadow
 * root without any selector of ours.
 */
export const styles = css`
  /* The host takes no space, so mounting the widget never shifts the page's layout. */
  :host {
    display: contents;
  }

  /* In the page's flow: the site placed the element where the card belongs (and reserves its room). */
  :host([position='inline']) {
    display: block;
  }

  .card {
    position: fixed;
    right: var(--beckon-offset, 16px);
    bottom: var(--beckon-offset, 16px);
    z-index: var(--beckon-z-index, 2147483000);
    box-sizing: border-box;
    width: min(var(--beckon-width, 22rem), calc(100vw - 2 * var(--beckon-offset, 16px)));
    max-height: calc(100vh - 2 * var(--beckon-offset, 16px));
    overflow: auto;
    padding: var(--beckon-spacing, 16px);
    background: var(--beckon-background, #fff);
    color: var(--beckon-text-color, #1f2937);
    border: 1px solid var(--beckon-border-color, #d1d5db);
    border-radius: var(--beckon-radius, 12px);
    box-shadow: var(--beckon-shadow, 0 8px 24px rgb(0 0 0 / 0.18));
    font: var(--beckon-font, 15px/1.4 system-ui, sans-serif);
    text-align: start;
    overflow-wrap: anywhere;
  }

  :host([position^='top']) .card {
    bottom: auto;
    top: var(--beckon-offset, 16px);
  }

  :host([position$='left']) .card {
    right: auto;
    left: var(--beckon-offset, 16px);
  }

  :host([position='inline']) .card {
    position: relative;
    inset: auto;
    z-index: auto;
    width: auto;
    max-height: none;
  }

  .head {
    display: flex;
    align-items: center;
    gap: calc(var(--beckon-spacing, 16px) / 2);
  }

  .image {
    flex: none;
    width: 48px;
    height: 48px;
    border-radius: 50%;
    object-fit: cover;
  }

  .title {
    flex: 1;
    margin: 0;
    font-size: 1.1em;
    font-weight: 600;
  }

  .message {
    margin: calc(var(--beckon-spacing, 16px) / 2) 0 0;
    /* Callers write plain text; keep their line breaks. */
    white-space: pre-line;
  }

  .actions {
    display: flex;
    flex-wrap: wrap;
    gap: calc(var(--beckon-spacing, 16px) / 2);
    margin-top: var(--beckon-spacing, 16px);
  }

  button {
    box-sizing: border-box;
    min-width: 24px;
    min-height: 36px;
    padding: 6px 14px;
    border: 1px solid transparent;
    border-radius: var(--beckon-button-radius, 8px);
    background: transparent;
    color: inherit;
    font: inherit;
    cursor: pointer;
  }

  button:focus-visible {
    outline: 2px solid var(--beckon-focus-color, var(--beckon-accent-color, #1d4ed8));
    outline-offset: 2px;
  }

  .accept {
    background: var(--beckon-accent-color, #1d4ed8);
    color: var(--beckon-accent-text-color, #fff);
    font-weight: 600;
  }

  .accept:hover {
    filter: brightness(0.9);
  }

  .decline {
    border-color: var(--beckon-secondary-color, #6b7280);
  }

  .decline:hover,
  .close:hover {
    background: rgb(0 0 0 / 0.06);
  }

  .close {
    flex: none;
    align-self: flex-start;
    width: 32px;
    height: 32px;
    min-height: 0;
    margin: -6px -6px 0 0;
    padding: 0;
    border-radius: 50%;
    font-size: 1.5em;
    line-height: 1;
  }

  @media (prefers-reduced-motion: no-preference) {
    .card {
      animation: beckon-in 180ms ease-out;
    }

    @keyframes beckon-in {
      from {
        opacity: 0;
        transform: translateY(8px);
      }
    }
  }

  @media print {
    .card {
      display: none;
    }
  }
`;
