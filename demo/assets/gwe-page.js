/*
 * The instrumentation a page written for Genesys Web Engagement already has:
 * it queues commands on window._gt before any engagement script has loaded,
 * and keeps pushing them as the visitor acts. Nothing in it knows Beckon.
 * (A GWE site usually has it inline; this shop's Content-Security-Policy
 * allows scripts from its own origin only, so it is a file here.)
 */
var _gt = (window._gt = window._gt || []);

// Queued at once: the engagement script replays them when it starts.
_gt.push(['event', 'PageView', { data: { section: 'gear', template: 'product' } }]);
_gt.push(['event', { eventName: 'ProductViewed', productName: 'Ember Camp Lantern', productPrice: '49' }]);
// A GWE setting Beckon has no use for: one warning in the console, nothing else.
_gt.push(['config', { dslResource: '/server/data/dsl/domain-model.xml' }]);
_gt.push([
  'getIDs',
  function (ids) {
    document.getElementById('gwe-visit-id').textContent = ids.visitID;
    document.getElementById('gwe-page-id').textContent = ids.pageID;
    document.getElementById('gwe-global-visit-id').textContent = ids.globalVisitID;
    document.getElementById('gwe-ids').hidden = false;
  },
]);

function said(text) {
  var item = document.createElement('li');
  item.textContent = text;
  document.getElementById('gwe-log').append(item);
}

document.addEventListener('DOMContentLoaded', function () {
  document.getElementById('gwe-add-to-cart').addEventListener('click', function () {
    var quantity = Number(document.getElementById('gwe-quantity').value) || 1;
    _gt.push([
      'event',
      'AddToCart',
      { data: { productName: 'Ember Camp Lantern', quantity: quantity, cartTotal: 49 * quantity } },
    ]);
    said('AddToCart, cart total ' + 49 * quantity);
  });
  document.getElementById('gwe-sign-in').addEventListener('click', function () {
    _gt.push(['sendSignIn', { userId: 'ada@example.com', firstName: 'Ada', tier: 'gold' }]);
    said('SignIn as ada@example.com');
  });
  document.getElementById('gwe-sign-out').addEventListener('click', function () {
    _gt.push(['event', 'SignOut']);
    said('SignOut');
  });
  // A message a strategy sent to this visitor (the Notification API).
  window.addEventListener('beckon:notification', function (event) {
    said('Notification on ' + event.detail.channel + ': ' + JSON.stringify(event.detail.data));
  });
});
