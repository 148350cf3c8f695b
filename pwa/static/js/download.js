// The offline page's tools (issue #4): what is saved on this device, the storage it uses, and
// "download the commons" in compressed batches from /api/bulk. The cursor is stored with each
// batch, so a download cut off by a dropped connection resumes where it stopped.
/* global OfflineStore */
(function () {
  "use strict";

  var offline = window.CommonplaceOffline;
  var BATCH = 200;
  // "Recent changes" means this many of the most recently changed pages.
  var RECENT_MAX = 500;
  var LIST_MAX = 300;

  function megabytes(bytes) {
    return (bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0) + " MB";
  }

  function showStorage(hub) {
    var line = hub.querySelector(".offline-storage");
    Promise.all([
      OfflineStore.countPages(),
      navigator.storage && navigator.storage.estimate ? navigator.storage.estimate() : Promise.resolve(null),
      navigator.storage && navigator.storage.persisted ? navigator.storage.persisted() : Promise.resolve(false),
    ]).then(function (found) {
      var text = found[0] + " page" + (found[0] === 1 ? "" : "s") + " kept or downloaded";
      if (found[1]) text += "; this site uses " + megabytes(found[1].usage) + " of " + megabytes(found[1].quota) + " available";
      text += found[2] ? ". Saved pages stay until you remove them." : ". The browser may remove saved pages when space runs low.";
      line.textContent = text;
    });
  }

  function addLink(list, href, title, seen) {
    if (seen[href] || list.children.length >= LIST_MAX) return;
    seen[href] = true;
    var item = document.createElement("li");
    var link = document.createElement("a");
    link.href = href;
    link.textContent = title;
    item.appendChild(link);
    list.appendChild(item);
  }

  // Pages opened on this device (the service worker's cache), then pages kept or downloaded.
  function showSaved(hub) {
    var list = hub.querySelector(".offline-list");
    var seen = {};
    list.textContent = "";
    return caches.keys().then(function (names) {
      var pages = names.filter(function (name) { return name.indexOf("commonplace-pages-") === 0; })[0];
      return pages ? caches.open(pages).then(function (cache) { return cache.keys(); }) : [];
    }).then(function (requests) {
      var paths = requests.map(function (request) { return new URL(request.url).pathname; })
        .filter(function (path) { return /^\/wiki\/[^/]+$/.test(path); });
      return Promise.all(paths.map(function (path) {
        return caches.match(path, { ignoreVary: true }).then(function (response) {
          var title = response && response.headers.get("x-commonplace-title");
          addLink(list, path, title ? decodeURIComponent(title) : decodeURIComponent(path.slice(6)), seen);
        });
      }));
    }).then(function () {
      return OfflineStore.listPages();
    }).then(function (pages) {
      pages.sort(function (a, b) { return Number(b.kept) - Number(a.kept) || a.title.localeCompare(b.title); });
      pages.forEach(function (page) { addLink(list, "/wiki/" + encodeURIComponent(page.slug), page.title, seen); });
      showStorage(hub);
    });
  }

  // Builds and stores the offline search index while the reader is still online and idle, so that
  // the first search without a network does not wait for it.
  function prepareSearch(hub) {
    offline.load("minisearch").then(function () { return offline.load("search"); })
      .then(function () { return window.CommonplaceSearch.prepare(); })
      .then(function () { hub.dataset.searchReady = "1"; })
      .catch(function (error) { console.warn("Commonplace: offline search index not prepared:", error); });
  }

  function Download(hub) {
    this.hub = hub;
    this.form = hub.querySelector(".download-form");
    this.bar = hub.querySelector(".download-progress");
    this.status = hub.querySelector(".download-status");
    this.running = false;
  }

  Download.prototype.say = function (text) {
    this.status.textContent = text;
  };

  Download.prototype.progress = function (state) {
    this.bar.hidden = false;
    this.bar.max = Math.max(state.total, 1);
    this.bar.value = state.fetched;
    this.bar.textContent = Math.round((100 * state.fetched) / this.bar.max) + "%";
  };

  Download.prototype.begin = function () {
    var data = new FormData(this.form);
    var scope = data.get("scope");
    var q = (data.get("q") || "").trim();
    if (scope === "search" && !q) {
      this.say("Type the words to search for, then download their results.");
      return;
    }
    var self = this;
    OfflineStore.getMeta("download").then(function (state) {
      // The same choice as an unfinished download continues it; another choice starts afresh.
      if (!state || state.done || state.scope !== scope || state.q !== q) {
        state = { scope: scope, q: q, cursor: null, fetched: 0, total: 0, done: false };
      }
      if (navigator.storage && navigator.storage.persist) navigator.storage.persist();
      offline.cacheOfflineSearch();
      return offline.ensureFeedCursor().then(function () { self.run(state); });
    }).catch(function (error) {
      self.say(offline.quotaMessage(error));
    });
  };

  Download.prototype.run = function (state) {
    if (this.running) return;
    this.running = true;
    this.say(state.fetched ? "Resuming the download…" : "Downloading…");
    this.next(state);
  };

  Download.prototype.next = function (state) {
    var self = this;
    var batch = Number(this.form.dataset.batch) || BATCH;
    var url = "/api/bulk?scope=" + state.scope + "&limit=" + batch +
      (state.cursor !== null ? "&after=" + state.cursor : "") + (state.q ? "&q=" + encodeURIComponent(state.q) : "");
    offline.json(url).then(function (reply) {
      var cap = state.scope === "changes" ? RECENT_MAX : Infinity;
      var pages = reply.pages.slice(0, Math.max(0, cap - state.fetched));
      var next = {
        scope: state.scope, q: state.q, cursor: reply.cursor, fetched: state.fetched + pages.length,
        total: Math.min(reply.total, cap), done: !reply.more || state.fetched + pages.length >= cap,
      };
      return OfflineStore.savePages(pages, { downloaded: true }, { download: next }).then(function () {
        self.progress(next);
        if (!next.done) return self.next(next);
        self.running = false;
        self.say("Done: " + next.fetched + " pages are on this device.");
        prepareSearch(self.hub);
        return showSaved(self.hub);
      });
    }).catch(function (error) {
      self.running = false;
      if (error && error.name === "QuotaExceededError") {
        self.say(offline.quotaMessage(error) + " " + state.fetched + " pages were saved.");
        showStorage(self.hub);
        return;
      }
      self.say("The connection dropped after " + state.fetched + " of " + state.total +
        " pages. The download resumes when you are back online.");
      window.addEventListener("online", function () { self.run(state); }, { once: true });
    });
  };

  Download.prototype.remove = function () {
    var self = this;
    OfflineStore.forgetDownloaded().then(function () {
      self.bar.hidden = true;
      self.say("Downloaded pages removed; pages you keep offline stay.");
      return showSaved(self.hub);
    });
  };

  window.CommonplaceDownload = {
    start: function (hub) {
      hub.querySelector(".offline-saved").hidden = false;
      hub.querySelector(".offline-download").hidden = false;
      var download = new Download(hub);
      download.form.addEventListener("submit", function (event) {
        event.preventDefault();
        download.begin();
      });
      hub.querySelector(".download-remove").addEventListener("click", function () { download.remove(); });
      // A download interrupted by closing the page picks up again here.
      OfflineStore.getMeta("download").then(function (state) {
        if (state && !state.done) {
          download.progress(state);
          if (navigator.onLine) download.run(state);
        }
      });
      return showSaved(hub);
    },
  };
})();
