// Page behaviour for Commonplace. Loaded with `defer`; the CSP forbids inline
// script, so everything the markup needs from JavaScript lives here.
(function () {
  "use strict";

  // Unsafe requests made with the session cookie must carry the CSRF token.
  // Read at request time, not once: logging in renders a new token.
  // htmx 2 sends only same-origin requests (selfRequestsOnly), so the token
  // never leaves the site.
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) event.detail.headers["X-CSRF-Token"] = meta.content;
  });

  // Capture phase, so a declined submit is stopped before htmx's own submit
  // listener on the form sees it (htmx ignores defaultPrevented there).
  document.addEventListener("submit", function (event) {
    var source = event.submitter && event.submitter.hasAttribute("data-confirm")
      ? event.submitter : event.target;
    var message = source.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);
})();
