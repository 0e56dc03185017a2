// Popup mode (mode=popup) without an OAuth2 challenge: tell the window that
// opened us how the login ended, then close. Only the allowed return_to
// origin the server put on the page receives the message; without one,
// nothing is posted. No secret is in the message.
(function () {
  var el = document.getElementById('popup-result');
  if (!el) return;
  var origin = el.getAttribute('data-target-origin');
  if (window.opener && origin) {
    window.opener.postMessage({ type: 'oneauth:login', status: el.getAttribute('data-status') }, origin);
    window.close();
  }
})();
