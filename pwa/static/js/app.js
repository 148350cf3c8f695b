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

  // Progress on every navigation (issue 10): on a slow link a tap used to show nothing for a second or
  // more. htmx requests (boosted links and forms, live search) are counted, so the bar stays until the
  // last one settles; a full navigation keeps it until the next page replaces this one.
  var root = document.documentElement;
  var inFlight = 0;

  function loading(on) {
    root.classList.toggle("is-loading", on);
    var main = document.getElementById("main");
    if (main) {
      if (on) main.setAttribute("aria-busy", "true");
      else main.removeAttribute("aria-busy");
    }
  }

  function started() {
    inFlight += 1;
    loading(true);
  }

  function finished() {
    inFlight = Math.max(0, inFlight - 1);
    if (!inFlight) loading(false);
  }

  // beforeSend, not beforeRequest: another listener may still cancel a request there (offline.js does).
  document.addEventListener("htmx:beforeSend", started);
  // afterRequest follows every request htmx sent, answered or not (send error, timeout, abort too).
  document.addEventListener("htmx:afterRequest", finished);
  // Back and Forward ask the server for the page again (htmx keeps no history cache here).
  document.addEventListener("htmx:historyCacheMiss", started);
  document.addEventListener("htmx:historyCacheMissLoad", finished);
  document.addEventListener("htmx:historyCacheMissLoadError", finished);

  function leavesPage(link, event) {
    if (!link || event.defaultPrevented || event.button !== 0) return false;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return false;
    if (link.target && link.target !== "_self") return false;
    if (link.hasAttribute("download") || link.origin !== location.origin) return false;
    // A jump within this page loads nothing.
    return !(link.pathname === location.pathname && link.search === location.search && link.hash);
  }

  // Bubble phase on window: htmx has had its turn, so defaultPrevented means it took the navigation.
  window.addEventListener("click", function (event) {
    if (leavesPage(event.target.closest && event.target.closest("a[href]"), event)) loading(true);
  });
  window.addEventListener("submit", function (event) {
    if (!event.defaultPrevented) loading(true);
  });
  // A page restored from the back/forward cache still has the class it had when it was left.
  window.addEventListener("pageshow", function () {
    inFlight = 0;
    loading(false);
  });

  // The page came with its stylesheet inline (a first visit on a slow link paints sooner without a second
  // connection). Once the service worker holds the file, the cookie tells the server to link to it instead,
  // so later pages do not carry it again (server/templating.py).
  window.addEventListener("load", function () {
    var inline = document.querySelector("style[data-href]");
    if (!inline || !window.caches) return;
    var href = inline.getAttribute("data-href");
    // ready: the worker has installed, so its precache (which holds the stylesheet) is complete.
    var worker = navigator.serviceWorker ? navigator.serviceWorker.ready : Promise.resolve();
    worker.then(function () { return caches.match(href); }).then(function (held) {
      if (held) document.cookie = "cp_css=" + href + "; path=/; max-age=31536000; samesite=lax";
    }).catch(function () {});
  });

  // Heading ids carry a prefix since issue 11 ("s-notes"), so that no heading can take an id the page's own
  // parts use. A link made before (/wiki/pumps#notes, a bookmark, another site) still lands on its section.
  function followOldSectionLink() {
    var name;
    try { name = decodeURIComponent(location.hash.slice(1)); } catch (e) { return; }
    if (!name || document.getElementById(name)) return;
    var section = document.getElementById("s-" + name);
    if (section && /^H[1-6]$/.test(section.tagName)) section.scrollIntoView();
  }
  followOldSectionLink();  // deferred: the document is parsed by now
  window.addEventListener("hashchange", followOldSectionLink);

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
