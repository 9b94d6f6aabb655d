// Shows this visitor's Beckon ids in the footer, so that a person trying the
// demo can copy their visitId into the strategy console.
//
// The widget script is async, so it may become ready before or after this
// deferred script runs: listen for `beckon:ready` AND ask `window.Beckon` if it
// is already there. Both paths render the same thing, so running twice is fine.
(() => {
  'use strict';

  const status = document.getElementById('beckon-status');
  const list = document.getElementById('beckon-id-list');
  const copy = document.getElementById('copy-visit-id');
  if (!status || !list) return;

  const fields = {
    visitId: document.getElementById('visit-id'),
    pageId: document.getElementById('page-id'),
    globalVisitId: document.getElementById('global-visit-id'),
  };
  let ready = false;

  function show(ids) {
    if (!ids || typeof ids.visitId !== 'string') return;
    ready = true;
    for (const [key, el] of Object.entries(fields)) {
      if (el) el.textContent = typeof ids[key] === 'string' ? ids[key] : '';
    }
    status.textContent = 'Connected to Beckon. Your ids for this visit:';
    list.hidden = false;
    // The clipboard API exists only in secure contexts (https, localhost).
    if (copy && navigator.clipboard) copy.hidden = false;
  }

  window.addEventListener('beckon:ready', (event) => show(event.detail));
  if (window.Beckon && typeof window.Beckon.getIDs === 'function') {
    window.Beckon.getIDs().then(show, () => {});
  }

  // The shop must work without Beckon (server down, script blocked): say so
  // rather than promise a connection forever. A late `beckon:ready` still wins.
  setTimeout(() => {
    if (!ready) status.textContent = 'Beckon is not connected; the shop works without it.';
  }, 8000);

  if (copy) {
    let resetTimer;
    copy.addEventListener('click', () => {
      navigator.clipboard.writeText(fields.visitId.textContent).then(
        () => {
          copy.textContent = 'Copied';
          clearTimeout(resetTimer);
          resetTimer = setTimeout(() => (copy.textContent = 'Copy visit ID'), 2000);
        },
        () => {
          copy.textContent = 'Copy failed';
        },
      );
    });
  }
})();
