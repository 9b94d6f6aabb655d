// A site drawing its own invitation: cancel `beckon:invite` so the built-in
// card is never drawn, show our own banner, answer through window.Beckon.
// The banner is fixed to the viewport like Beckon's card, so it never shifts
// the page's layout. Everything from the invitation is set as text.
(() => {
  'use strict';

  let banner;

  const labels = { chat: 'Chat with an outfitter', callback: 'Have us call you', voice: 'Call us now' };

  function remove() {
    if (banner) banner.remove();
    banner = undefined;
  }

  function answer(promise) {
    remove();
    // The attempt may have settled meanwhile (cancelled, moved, timed out): nothing to do then.
    promise.catch(() => {});
  }

  function show(offer) {
    remove();
    const text = offer.invitation || {};
    banner = document.createElement('section');
    banner.className = 'own-invitation';
    banner.setAttribute('aria-labelledby', 'own-invitation-title');
    const title = document.createElement('h2');
    title.id = 'own-invitation-title';
    title.textContent = text.title || 'Planning a trip?';
    banner.append(title);
    if (text.message) {
      const message = document.createElement('p');
      message.textContent = text.message;
      banner.append(message);
    }
    const actions = document.createElement('div');
    actions.className = 'own-invitation-actions';
    for (const channel of offer.channels) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'button';
      button.textContent = (text.acceptLabels && text.acceptLabels[channel]) || labels[channel] || channel;
      button.addEventListener('click', () => answer(window.Beckon.accept(channel)));
      actions.append(button);
    }
    const no = document.createElement('button');
    no.type = 'button';
    no.className = 'button secondary';
    no.textContent = text.declineLabel || 'Maybe later';
    no.addEventListener('click', () => answer(window.Beckon.decline()));
    actions.append(no);
    banner.append(actions);
    document.body.append(banner);
  }

  window.addEventListener('beckon:invite', (event) => {
    event.preventDefault();
    show(event.detail);
  });
  // Taken back by the server, or its time ran out: the banner goes.
  window.addEventListener('beckon:withdrawn', remove);
  window.addEventListener('beckon:timeout', remove);

  // "Don't invite me again", kept by Beckon for this browser. The status line
  // and the button keep their size whatever they say, so nothing shifts.
  const status = document.getElementById('opt-status');
  const toggle = document.getElementById('opt-toggle');
  let optedOut = false;
  function render() {
    status.textContent = optedOut
      ? 'You chose not to receive invitations in this browser.'
      : 'We may invite you to chat while you browse.';
    toggle.textContent = optedOut ? 'Invite me again' : 'Don’t invite me again';
    // Enabled, never unhidden, once the choice is known: nothing on the page moves.
    toggle.disabled = false;
  }
  toggle.addEventListener('click', () => {
    toggle.disabled = true;
    (optedOut ? window.Beckon.optIn() : window.Beckon.optOut())
      .then(
        () => {
          optedOut = !optedOut;
          render();
        },
        () => {
          status.textContent = 'Beckon is not connected; try again in a moment.';
        },
      )
      .finally(() => (toggle.disabled = false));
  });
  function ask() {
    if (window.Beckon)
      window.Beckon.isOptedOut().then((value) => {
        optedOut = value;
        render();
      });
  }
  // The widget is async: it may be ready before or after this script runs.
  if (window.Beckon) ask();
  else window.addEventListener('beckon:ready', ask, { once: true });
})();
