// sparkplane portal: live refresh of the run list (no framework, no inline script).
// An element with data-poll="URL" is replaced by the HTML fragment at URL every 5 s while the
// tab is visible. A 401 means the session ended: reload (the server then shows the login).
(function () {
  'use strict';
  var PERIOD_MS = 5000;
  function poll(el) {
    var url = el.getAttribute('data-poll');
    if (!url) return;
    var busy = false;
    setInterval(function () {
      if (busy || document.hidden) return;
      busy = true;
      fetch(url, { headers: { 'x-portal-poll': '1' }, credentials: 'same-origin' })
        .then(function (res) {
          if (res.status === 401) { window.location.reload(); return null; }
          return res.ok ? res.text() : null;
        })
        .then(function (html) {
          if (html !== null && html !== el.getAttribute('data-last')) {
            el.innerHTML = html;
            el.setAttribute('data-last', html);
          }
        })
        .catch(function () {})
        .then(function () { busy = false; });
    }, PERIOD_MS);
  }
  document.addEventListener('DOMContentLoaded', function () {
    document.querySelectorAll('[data-poll]').forEach(poll);
  });
})();
