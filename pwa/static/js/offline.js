// Offline reading in the page (issue #4): registers the service worker and offers its updates, runs
// the "keep offline" toggle, refreshes saved pages from the changes feed, and loads the offline
// search and the download page only where they are needed (phones pay for every byte).
/* global OfflineStore */
(function () {
  "use strict";

  var script = document.currentScript;
  var lazy = { download: script.dataset.download, search: script.dataset.search, minisearch: script.dataset.minisearch };
  var loading = {};
  // The changes feed is asked at most this often on page loads; going back online always asks.
  var REFRESH_EVERY_MS = 60000;
  var SINGLE_FETCH_MAX = 5;
  var BATCH = 200;

  function load(name) {
    if (!loading[name]) {
      loading[name] = new Promise(function (resolve, reject) {
        var tag = document.createElement("script");
        tag.src = lazy[name];
        tag.onload = resolve;
        tag.onerror = function () { loading[name] = null; reject(new Error("could not load " + name)); };
        document.head.appendChild(tag);
      });
    }
    return loading[name];
  }

  function json(url, options) {
    return fetch(url, options).then(function (response) {
      if (response.status === 304) return null;
      if (!response.ok) throw new Error(url + " answered " + response.status);
      return response.json();
    });
  }

  function quotaMessage(error) {
    return error && error.name === "QuotaExceededError"
      ? "This device has no room left for saved pages. Remove downloaded pages or free some space, then try again."
      : "That did not work: check the connection and try again.";
  }

  // The position in the changes feed up to which every saved page is known to be current.
  function ensureFeedCursor() {
    return OfflineStore.getMeta("changes_seq").then(function (seq) {
      if (seq !== undefined) return seq;
      return json("/api/bulk?scope=slugs").then(function (reply) {
        return OfflineStore.setMeta("changes_seq", reply.last_seq).then(function () { return reply.last_seq; });
      });
    });
  }

  function savePagesFresh(slugs) {
    if (slugs.length <= SINGLE_FETCH_MAX) {
      return Promise.all(slugs.map(function (slug) {
        return json("/api/pages/" + encodeURIComponent(slug)).then(function (page) {
          return OfflineStore.savePages([page]);
        });
      }));
    }
    var batches = [];
    for (var i = 0; i < slugs.length; i += BATCH) batches.push(slugs.slice(i, i + BATCH));
    function saveBatch(batch, after) {
      var query = "/api/bulk?scope=slugs&limit=" + BATCH + "&slugs=" + batch.map(encodeURIComponent).join(",") +
        (after ? "&after=" + after : "");
      return json(query).then(function (reply) {
        return OfflineStore.savePages(reply.pages).then(function () {
          // A reply stops at the server's byte budget (issue 11): the rest of the batch follows its cursor.
          return reply.more ? saveBatch(batch, reply.cursor) : null;
        });
      });
    }
    return batches.reduce(function (done, batch) {
      return done.then(function () { return saveBatch(batch, null); });
    }, Promise.resolve());
  }

  // Only what changed travels: the feed names the changed pages, and only saved ones are fetched.
  function refreshSaved(force) {
    var last = Number(localStorage.getItem("commonplace.refreshed") || 0);
    if (!navigator.onLine || (!force && Date.now() - last < REFRESH_EVERY_MS)) return Promise.resolve();
    localStorage.setItem("commonplace.refreshed", String(Date.now()));
    return ensureFeedCursor().then(function step(since) {
      return json("/api/sync/changes?since=" + since + "&limit=500").then(function (reply) {
        return OfflineStore.listPages().then(function (saved) {
          var revs = {};
          saved.forEach(function (page) { revs[page.slug] = page.rev; });
          var stale = [];
          var urls = [];
          reply.changes.forEach(function (change) {
            urls.push("/wiki/" + encodeURIComponent(change.slug));
            if (change.slug === "welcome") urls.push("/");
            if (revs[change.slug] && revs[change.slug] !== change.rev) stale.push(change.slug);
          });
          var worker = navigator.serviceWorker && navigator.serviceWorker.controller;
          if (worker && urls.length) worker.postMessage({ type: "REFRESH_PAGES", urls: urls });
          return savePagesFresh(stale);
        }).then(function () {
          return OfflineStore.setMeta("changes_seq", reply.last_seq);
        }).then(function () {
          return reply.more ? step(reply.last_seq) : null;
        });
      });
    }).catch(function (error) {
      console.warn("Commonplace: saved pages could not be refreshed:", error);
    });
  }

  function setPressed(button, kept) {
    button.setAttribute("aria-pressed", kept ? "true" : "false");
    button.textContent = kept ? "Kept offline" : "Keep offline";
  }

  function cacheOfflineSearch() {
    // Fetched once through the service worker, which keeps them for offline use.
    ["minisearch", "search"].forEach(function (name) { fetch(lazy[name]).catch(function () {}); });
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist();
  }

  function toggleKeep(button) {
    var slug = button.dataset.slug;
    var keep = button.getAttribute("aria-pressed") !== "true";
    var work = keep
      ? OfflineStore.getPage(slug).then(function (held) {
        // A page already on the device (downloaded) needs no network to be kept: flag it (issue 10).
        if (held) return OfflineStore.savePages([held], { kept: true });
        return ensureFeedCursor().then(function () { return json("/api/pages/" + encodeURIComponent(slug)); })
          .then(function (page) { cacheOfflineSearch(); return OfflineStore.savePages([page], { kept: true }); });
      })
      : OfflineStore.getPage(slug).then(function (page) {
        if (page && page.downloaded) return OfflineStore.savePages([page], { kept: false });
        return OfflineStore.forget(slug);
      });
    button.disabled = true;
    work.then(function () { setPressed(button, keep); say(button, ""); }, function (error) {
      say(button, quotaMessage(error));
    }).then(function () { button.disabled = false; });
  }

  function say(button, text) {
    var note = button.parentNode.querySelector(".keep-note");
    if (!note) {
      note = document.createElement("span");
      note.className = "keep-note";
      note.setAttribute("role", "status");
      button.parentNode.appendChild(note);
    }
    note.textContent = text;
  }

  function setUpKeepButtons(root) {
    root.querySelectorAll(".keep-offline").forEach(function (button) {
      if (button.dataset.ready) return;
      button.dataset.ready = "1";
      button.hidden = false;
      button.addEventListener("click", function () { toggleKeep(button); });
      OfflineStore.getPage(button.dataset.slug).then(function (page) {
        setPressed(button, Boolean(page && page.kept));
        // A kept page opened online: one conditional request, 304 when nothing changed.
        if (page && page.kept && navigator.onLine) {
          json("/api/pages/" + encodeURIComponent(page.slug), { headers: { "If-None-Match": '"' + page.rev + '"' } })
            .then(function (fresh) { return fresh && OfflineStore.savePages([fresh]); })
            .catch(function () {});
        }
      });
    });
  }

  function searchBoxQuery() {
    return (document.getElementById("search-q") || {}).value || "";
  }

  function searchOffline(query) {
    var main = document.getElementById("main");
    // Offline, MiniSearch is there only if a page was saved on purpose (it is fetched then, not up front).
    var ready = navigator.onLine ? Promise.resolve(true) : caches.match(lazy.minisearch);
    return ready.then(function (found) {
      if (!found) throw new Error("MiniSearch is not saved on this device");
      return load("minisearch");
    }).then(function () { return load("search"); }).then(function () {
      return window.CommonplaceSearch.show(main, query);
    }).catch(function () {
      main.querySelector(".offline-search-note").hidden = false;
      main.querySelector(".offline-search-note").textContent =
        "Search needs a connection until you keep a page or download the commons.";
    });
  }

  // Runs on every page, and again after htmx swaps one in.
  function enhance() {
    var main = document.getElementById("main");
    if (!main) return;
    setUpKeepButtons(main);
    var hub = main.querySelector(".offline-hub");
    if (!hub || hub.dataset.ready) return;
    hub.dataset.ready = "1";
    // The service worker answers any page it has not saved with the offline page; on /search it
    // searches the pages that are saved instead.
    if (location.pathname === "/search") {
      searchOffline(new URLSearchParams(location.search).get("q") || "");
      return;
    }
    load("download").then(function () { window.CommonplaceDownload.start(hub); });
  }

  function offerUpdate(worker) {
    if (document.querySelector(".update-prompt")) return;
    var prompt = document.createElement("p");
    prompt.className = "update-prompt";
    prompt.setAttribute("role", "status");
    prompt.textContent = "New version available — ";
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = "Reload";
    button.addEventListener("click", function () {
      button.disabled = true;
      navigator.serviceWorker.addEventListener("controllerchange", function () { location.reload(); });
      worker.postMessage({ type: "SKIP_WAITING" });
    });
    prompt.appendChild(button);
    document.body.appendChild(prompt);
  }

  function register() {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(function (registration) {
      if (registration.waiting && navigator.serviceWorker.controller) offerUpdate(registration.waiting);
      registration.addEventListener("updatefound", function () {
        var worker = registration.installing;
        worker.addEventListener("statechange", function () {
          if (worker.state === "installed" && navigator.serviceWorker.controller) offerUpdate(worker);
        });
      });
    }).catch(function (error) {
      // Plain http on a LAN address has no service worker; reading online still works.
      console.warn("Commonplace: offline support is unavailable:", error);
    });
  }

  window.CommonplaceOffline = { load: load, json: json, quotaMessage: quotaMessage, ensureFeedCursor: ensureFeedCursor,
    cacheOfflineSearch: cacheOfflineSearch };

  if (!("serviceWorker" in navigator) || !window.indexedDB) return;
  // The search box asks for results as you type; offline, the saved pages answer instead. Other
  // fragments (related pages) are not asked for at all without a network.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (navigator.onLine || event.detail.boosted) return;
    event.preventDefault();
    if ((event.detail.requestConfig || {}).path.indexOf("/search") === 0) searchOffline(searchBoxQuery());
  });
  document.addEventListener("htmx:sendError", function (event) {
    var path = (event.detail.requestConfig || {}).path || "";
    if (path.indexOf("/search") === 0) searchOffline(searchBoxQuery());
  });
  document.addEventListener("htmx:afterSettle", enhance);
  // Pages opened while signed in show the account; on a shared phone they must not outlive the session.
  document.addEventListener("submit", function (event) {
    if (!/\/logout$/.test(event.target.getAttribute("action") || "")) return;
    caches.keys().then(function (names) {
      names.filter(function (name) { return name.indexOf("commonplace-pages-") === 0; })
        .forEach(function (name) { caches.delete(name); });
    });
  });
  window.addEventListener("online", function () { refreshSaved(true); });
  enhance();
  // After load, so registering and precaching never compete with the page itself for a slow connection.
  window.addEventListener("load", function () {
    register();
    if (navigator.serviceWorker.controller) refreshSaved(false);
  });
})();
