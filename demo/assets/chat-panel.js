// A stand-in for a site's own chat or callback form, opened by Beckon's
// `beckon:accepted` event: the detail says which channel the visitor chose,
// which attempt it was, and the caller's userData (here shown to the visitor
// so the demo makes the hand-over visible). A real site would start its chat
// client here and pass interactionId along so the agent sees the context.
(() => {
  'use strict';

  let panel;

  function element(tag, attributes, text) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) el.setAttribute(name, value);
    if (text) el.textContent = text;
    return el;
  }

  function open(detail) {
    if (panel) panel.remove();
    const channel = String(detail.channel);
    const callback = channel === 'callback' || channel === 'voice';
    const titleText = callback ? 'We will call you back' : 'Chat with Beckon Outfitters';
    panel = element('section', { class: 'chat-panel', 'aria-labelledby': 'chat-panel-title' });
    const head = element('div', { class: 'chat-panel-head' });
    head.append(element('h2', { id: 'chat-panel-title' }, titleText));
    const close = element('button', { type: 'button', class: 'chat-panel-close', 'aria-label': 'Close chat' }, '×');
    close.addEventListener('click', () => {
      panel.remove();
      panel = undefined;
    });
    head.append(close);
    panel.append(head);

    const log = element('ol', { class: 'chat-log', 'aria-live': 'polite' });
    const say = (who, text) => {
      const line = element('li', { class: who });
      line.textContent = text;
      log.append(line);
    };
    say(
      'agent',
      callback
        ? 'Leave your number and an outfitter will call you within minutes.'
        : 'Hello! An outfitter will be with you in a moment.',
    );
    const context = Object.entries(detail.userData || {});
    if (context.length) say('system', 'Passed along: ' + context.map(([k, v]) => k + ' = ' + v).join(', '));
    say('system', 'Attempt ' + detail.interactionId + ' via ' + channel);
    panel.append(log);

    const form = element('form', { class: 'chat-form' });
    const label = element('label', { for: 'chat-input' }, callback ? 'Phone number' : 'Message');
    const input = element('input', {
      id: 'chat-input',
      name: 'text',
      autocomplete: callback ? 'tel' : 'off',
      type: callback ? 'tel' : 'text',
    });
    form.append(label, input, element('button', { type: 'submit', class: 'button' }, callback ? 'Call me' : 'Send'));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (!input.value.trim()) return;
      say('visitor', input.value);
      input.value = '';
    });
    panel.append(form);
    document.body.append(panel);
  }

  window.addEventListener('beckon:accepted', (event) => open(event.detail));
})();
