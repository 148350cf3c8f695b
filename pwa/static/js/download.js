// The offline page's tools (issue #4, issue 10): what is saved on this device (counted by kind, the list
// short with a filter), the storage it uses, and "download the commons" in compressed batches from
// /api/bulk, with a size estimate before and a count and a Cancel during. The cursor is stored with each
// batch, so a download cut off by a dropped connection (or cancelled) continues where it stopped.
/* global OfflineStore */
(function () {
  "use strict";

  var offline = window.CommonplaceOffline;
  var BATCH = 200;
  // "Recent changes" means this many of the most recently changed pages.
  var RECENT_MAX = 500;
  // The list shows this many saved pages; the rest are a filter or a "Show all" away.
  var LIST_SHOWN = 20;
  // Batches of pages (brotli 5) cross the wire at about this share of their JSON: 0.15-0.18 measured on the
  // tldr commons (7,436 pages, 2026-12). The estimate takes the upper figure.
  var WIRE_RATIO = 0.18;
  var SAMPLE = 20;
  var KINDS = ["kept", "opened", "downloaded"];

  function megabytes(bytes) {
    return (bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0) + " MB";
  }

  function roughSize(bytes) {
    return bytes < 1e6 ? Math.max(1, Math.round(bytes / 1000)) + " kB" : megabytes(bytes);
  }

  function count(n) {
    return Number(n).toLocaleString("en");
  }

  function pages(n) {
    return count(n) + (n === 1 ? " page" : " pages");
  }

  // Every saved page once, with the ways it is saved: opened (the service worker's cache), kept, downloaded.
  function collectSaved() {
    var entries = {};
    var order = [];
    function entry(href, title) {
      if (!entries[href]) {
        entries[href] = { href: href, title: title, kinds: {} };
        order.push(entries[href]);
      }
      return entries[href];
    }
    return caches.keys().then(function (names) {
      var cacheName = names.filter(function (name) { return name.indexOf("commonplace-pages-") === 0; })[0];
      return cacheName ? caches.open(cacheName).then(function (cache) { return cache.keys(); }) : [];
    }).then(function (requests) {
      var paths = requests.map(function (request) { return new URL(request.url).pathname; })
        .filter(function (path) { return /^\/wiki\/[^/]+$/.test(path); });
      return Promise.all(paths.map(function (path) {
        return caches.match(path, { ignoreVary: true }).then(function (response) {
          var title = response && response.headers.get("x-commonplace-title");
          entry(path, title ? decodeURIComponent(title) : decodeURIComponent(path.slice(6))).kinds.opened = true;
        });
      }));
    }).then(function () {
      return OfflineStore.listPages();
    }).then(function (stored) {
      stored.forEach(function (page) {
        var item = entry("/wiki/" + encodeURIComponent(page.slug), page.title);
        item.title = page.title;
        if (page.kept) item.kinds.kept = true;
        if (page.downloaded) item.kinds.downloaded = true;
      });
      // Kept first (chosen on purpose), then opened, then downloaded; by title within each.
      function rank(item) { return item.kinds.kept ? 0 : item.kinds.opened ? 1 : 2; }
      order.sort(function (a, b) { return rank(a) - rank(b) || a.title.localeCompare(b.title); });
      return order;
    });
  }

  function describeCounts(saved) {
    var tally = { opened: 0, kept: 0, downloaded: 0 };
    saved.forEach(function (item) {
      Object.keys(item.kinds).forEach(function (kind) { tally[kind] += 1; });
    });
    if (!saved.length) return "Nothing is saved on this device yet.";
    return "On this device: " + pages(saved.length) + " — " + count(tally.opened) + " opened, " +
      count(tally.kept) + " kept offline, " + count(tally.downloaded) + " downloaded.";
  }

  function showStorage(hub, saved) {
    var line = hub.querySelector(".offline-storage");
    Promise.all([
      navigator.storage && navigator.storage.estimate ? navigator.storage.estimate() : Promise.resolve(null),
      navigator.storage && navigator.storage.persisted ? navigator.storage.persisted() : Promise.resolve(false),
    ]).then(function (found) {
      var text = describeCounts(saved);
      if (found[0]) text += " This site uses " + megabytes(found[0].usage) + " of " + megabytes(found[0].quota) + " available.";
      if (saved.length) {
        text += found[1] ? " Saved pages stay until you remove them." : " The browser may remove saved pages when space runs low.";
      }
      line.textContent = text;
      line.hidden = false;
    });
  }

  function SavedList(hub) {
    this.hub = hub;
    this.list = hub.querySelector(".offline-list");
    this.more = hub.querySelector(".offline-more");
    this.filter = hub.querySelector(".offline-filter");
    this.saved = [];
    this.showAll = false;
    var self = this;
    this.filter.addEventListener("input", function () { self.render(); });
    hub.querySelector(".offline-show-all").addEventListener("click", function () {
      self.showAll = true;
      self.render();
    });
  }

  SavedList.prototype.refresh = function () {
    var self = this;
    return collectSaved().then(function (saved) {
      self.saved = saved;
      self.render();
      showStorage(self.hub, saved);
    });
  };

  SavedList.prototype.render = function () {
    var words = this.filter.value.trim().toLowerCase();
    var matching = words ? this.saved.filter(function (item) { return item.title.toLowerCase().indexOf(words) >= 0; })
      : this.saved;
    var shown = this.showAll ? matching : matching.slice(0, LIST_SHOWN);
    var fragment = document.createDocumentFragment();
    shown.forEach(function (item) {
      var li = document.createElement("li");
      var link = document.createElement("a");
      link.href = item.href;
      link.textContent = item.title;
      li.appendChild(link);
      var kinds = document.createElement("span");
      kinds.className = "saved-kinds";
      kinds.textContent = " " + KINDS.filter(function (kind) { return item.kinds[kind]; }).join(", ");
      li.appendChild(kinds);
      fragment.appendChild(li);
    });
    this.list.textContent = "";
    this.list.appendChild(fragment);
    var rest = matching.length - shown.length;
    this.more.hidden = rest <= 0;
    this.more.querySelector(".offline-more-count").textContent = "and " + count(rest) + " more.";
    if (words && !matching.length) {
      this.more.hidden = false;
      this.more.querySelector(".offline-more-count").textContent = "No saved page has “" + this.filter.value.trim() + "” in its title.";
    }
    this.more.querySelector(".offline-show-all").hidden = rest <= 0;
  };

  // Builds and stores the offline search index while the reader is still online and idle, so that
  // the first search without a network does not wait for it.
  function prepareSearch(hub) {
    offline.load("minisearch").then(function () { return offline.load("search"); })
      .then(function () { return window.CommonplaceSearch.prepare(); })
      .then(function () { hub.dataset.searchReady = "1"; })
      .catch(function (error) { console.warn("Commonplace: offline search index not prepared:", error); });
  }

  function Download(hub, saved) {
    this.hub = hub;
    this.saved = saved;
    this.form = hub.querySelector(".download-form");
    this.bar = hub.querySelector(".download-progress");
    this.status = hub.querySelector(".download-status");
    this.estimateLine = hub.querySelector(".download-estimate");
    this.cancelButton = hub.querySelector(".download-cancel");
    this.running = false;
    this.cancelled = false;
    this.asked = 0;
  }

  Download.prototype.say = function (text) {
    this.status.textContent = text;
  };

  Download.prototype.choice = function () {
    var data = new FormData(this.form);
    return { scope: data.get("scope"), q: (data.get("q") || "").trim() };
  };

  // Before a download: how many pages, and roughly how many bytes, from a small sample of pages.
  Download.prototype.estimate = function () {
    var self = this;
    var choice = this.choice();
    var asked = ++this.asked;
    if (!navigator.onLine) {
      this.estimateLine.textContent = "Downloading needs a connection.";
      return;
    }
    if (choice.scope === "search" && !choice.q) {
      this.estimateLine.textContent = "Type the words to search for.";
      return;
    }
    // A sample of recently changed pages: like the pages people read, unlike the long starter pages.
    var url = "/api/bulk?limit=" + SAMPLE + "&scope=" + (choice.scope === "search" ? "search&q=" +
      encodeURIComponent(choice.q) : "changes");
    fetch(url).then(function (response) {
      if (!response.ok) throw new Error(url + " answered " + response.status);
      return response.text();
    }).then(function (text) {
      if (asked !== self.asked) return;
      var reply = JSON.parse(text);
      var total = choice.scope === "changes" ? Math.min(reply.total, RECENT_MAX) : reply.total;
      var perPage = reply.pages.length ? (new TextEncoder().encode(text).length / reply.pages.length) * WIRE_RATIO : 0;
      self.estimateLine.textContent = total
        ? pages(total) + ", about " + roughSize(total * perPage) + " to download."
        : "No page matches that search.";
    }).catch(function () {
      if (asked === self.asked) self.estimateLine.textContent = "";
    });
  };

  Download.prototype.progress = function (state) {
    this.bar.hidden = false;
    this.bar.max = Math.max(state.total, 1);
    this.bar.value = state.fetched;
    this.bar.textContent = Math.round((100 * state.fetched) / this.bar.max) + "%";
  };

  Download.prototype.begin = function () {
    var choice = this.choice();
    if (choice.scope === "search" && !choice.q) {
      this.say("Type the words to search for, then download their results.");
      return;
    }
    var self = this;
    OfflineStore.getMeta("download").then(function (state) {
      // The same choice as an unfinished (or cancelled) download continues it; another choice starts afresh.
      if (!state || state.done || state.scope !== choice.scope || state.q !== choice.q) {
        state = { scope: choice.scope, q: choice.q, cursor: null, fetched: 0, total: 0, done: false };
      }
      state.paused = false;
      if (navigator.storage && navigator.storage.persist) navigator.storage.persist();
      offline.cacheOfflineSearch();
      return offline.ensureFeedCursor().then(function () { self.run(state); });
    }).catch(function (error) {
      self.say(offline.quotaMessage(error));
    });
  };

  Download.prototype.setRunning = function (on) {
    this.running = on;
    this.cancelButton.hidden = !on;
    this.cancelButton.disabled = false;
    this.form.querySelector("button[type=submit]").disabled = on;
  };

  Download.prototype.run = function (state) {
    if (this.running) return;
    this.setRunning(true);
    this.cancelled = false;
    this.say(state.fetched ? "Resuming the download…" : "Downloading…");
    this.next(state);
  };

  // Stops after the batch on its way: what was saved stays, and Download continues from there.
  Download.prototype.cancel = function () {
    this.cancelled = true;
    this.cancelButton.disabled = true;
    this.say("Stopping after the pages on their way…");
  };

  Download.prototype.next = function (state) {
    var self = this;
    var batch = Number(this.form.dataset.batch) || BATCH;
    var url = "/api/bulk?scope=" + state.scope + "&limit=" + batch +
      (state.cursor !== null ? "&after=" + state.cursor : "") + (state.q ? "&q=" + encodeURIComponent(state.q) : "");
    offline.json(url).then(function (reply) {
      var cap = state.scope === "changes" ? RECENT_MAX : Infinity;
      var got = reply.pages.slice(0, Math.max(0, cap - state.fetched));
      var next = {
        scope: state.scope, q: state.q, cursor: reply.cursor, fetched: state.fetched + got.length,
        total: Math.min(reply.total, cap), done: !reply.more || state.fetched + got.length >= cap,
        paused: self.cancelled,
      };
      return OfflineStore.savePages(got, { downloaded: true }, { download: next }).then(function () {
        self.progress(next);
        if (next.done) {
          self.setRunning(false);
          self.say("Done: " + count(next.fetched) + " pages are on this device.");
          prepareSearch(self.hub);
          return self.saved.refresh();
        }
        if (self.cancelled) {
          self.setRunning(false);
          self.say("Stopped: " + count(next.fetched) + " of " + pages(next.total) +
            " are on this device. Download again to continue from there.");
          return self.saved.refresh();
        }
        self.say("Downloading: " + count(next.fetched) + " of " + pages(next.total) + "…");
        return self.next(next);
      });
    }).catch(function (error) {
      self.setRunning(false);
      if (error && error.name === "QuotaExceededError") {
        self.say(offline.quotaMessage(error) + " " + state.fetched + " pages were saved.");
        self.saved.refresh();
        return;
      }
      self.say("The connection dropped after " + count(state.fetched) + " of " + count(state.total) +
        " pages. The download resumes when you are back online.");
      window.addEventListener("online", function () { self.run(state); }, { once: true });
    });
  };

  Download.prototype.remove = function () {
    var self = this;
    OfflineStore.forgetDownloaded().then(function () {
      self.bar.hidden = true;
      self.say("Downloaded pages removed; pages you keep offline stay.");
      return self.saved.refresh();
    });
  };

  window.CommonplaceDownload = {
    start: function (hub) {
      hub.querySelector(".offline-saved").hidden = false;
      hub.querySelector(".offline-download").hidden = false;
      var saved = new SavedList(hub);
      var download = new Download(hub, saved);
      download.form.addEventListener("submit", function (event) {
        event.preventDefault();
        download.begin();
      });
      download.form.addEventListener("change", function () { download.estimate(); });
      var typing;
      hub.querySelector("#download-q").addEventListener("input", function () {
        clearTimeout(typing);
        typing = setTimeout(function () { download.estimate(); }, 500);
      });
      download.cancelButton.addEventListener("click", function () { download.cancel(); });
      hub.querySelector(".download-remove").addEventListener("click", function () { download.remove(); });
      // A download interrupted by closing the page picks up again here; a cancelled one waits to be asked.
      OfflineStore.getMeta("download").then(function (state) {
        if (state && !state.done) {
          download.progress(state);
          if (state.paused) {
            download.say("A download was stopped at " + count(state.fetched) + " of " + pages(state.total) +
              ". Download to continue from there.");
          } else if (navigator.onLine) {
            download.run(state);
          }
        }
        if (!download.running) download.estimate();
      });
      return saved.refresh();
    },
  };
})();
