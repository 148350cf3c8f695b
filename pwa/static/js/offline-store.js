// Pages saved as data on this device (kept on purpose or downloaded), in IndexedDB. A classic script,
// so that both the page and the service worker (importScripts) load the same schema.
(function (scope) {
  "use strict";

  var DB_NAME = "commonplace";
  var DB_VERSION = 2;
  // "pages": what lists and searches need (slug, title, rev, seq, updated_at, kept, downloaded,
  // saved_at); "bodies": the rendered HTML by slug, read only to show or index a page, so that
  // listing thousands of pages stays cheap. "meta": small named values (download state, feed cursor).
  // "sources" (version 2, issue #10): {slug, title, rev, body, saved_at}, the Markdown a page is edited
  // from offline, of pages kept, downloaded, or opened while signed in (those have no "pages" entry).
  var opening = null;
  // Meta key stamped whenever saved pages change, so that a stored search index knows it is stale.
  var CHANGED = "pages_changed";

  function open() {
    if (!opening) {
      opening = new Promise(function (resolve, reject) {
        var request = indexedDB.open(DB_NAME, DB_VERSION);
        request.onupgradeneeded = function (event) {
          var db = request.result;
          if (event.oldVersion < 1) {
            db.createObjectStore("pages", { keyPath: "slug" });
            db.createObjectStore("bodies");
            db.createObjectStore("meta");
          }
          if (event.oldVersion < 2) db.createObjectStore("sources", { keyPath: "slug" });
        };
        request.onsuccess = function () {
          var db = request.result;
          // A newer version (an updated service worker or tab) waits for this connection: let it go.
          db.onversionchange = function () { db.close(); opening = null; };
          resolve(db);
        };
        request.onerror = function () { opening = null; reject(request.error); };
      });
    }
    return opening;
  }

  // Runs `work(stores)` in one transaction; resolves with its result once the transaction commits,
  // rejects with the transaction's error (a full disk is a QuotaExceededError here).
  function transact(names, mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(names, mode);
        var stores = {};
        names.forEach(function (name) { stores[name] = tx.objectStore(name); });
        var result = work(stores);
        tx.oncomplete = function () { resolve(result && "result" in result ? result.result : result); };
        tx.onerror = tx.onabort = function () { reject(tx.error || new Error("IndexedDB transaction failed")); };
      });
    });
  }

  function pageRecord(page, old, flags) {
    return {
      slug: page.slug, title: page.title, rev: page.rev, seq: page.seq, updated_at: page.updated_at,
      kept: flags.kept === undefined ? Boolean(old && old.kept) : flags.kept,
      downloaded: Boolean(flags.downloaded || (old && old.downloaded)),
      saved_at: Date.now(),
    };
  }

  function sourceRecord(page) {
    return { slug: page.slug, title: page.title, rev: page.rev, body: page.body, saved_at: Date.now() };
  }

  // Saves pages ({slug, title, rev, seq, html, updated_at, and body when the server sent the source}) and,
  // in the same transaction, any meta values: a download's cursor moves only together with the pages it covers.
  function savePages(pages, flags, meta) {
    return transact(["pages", "bodies", "sources", "meta"], "readwrite", function (s) {
      pages.forEach(function (page) {
        var read = s.pages.get(page.slug);
        read.onsuccess = function () {
          s.pages.put(pageRecord(page, read.result, flags || {}));
          s.bodies.put(page.html, page.slug);
          if (typeof page.body === "string") s.sources.put(sourceRecord(page));
        };
      });
      Object.keys(meta || {}).forEach(function (key) { s.meta.put(meta[key], key); });
      if (pages.length) s.meta.put(Date.now(), CHANGED);
    });
  }

  function getPage(slug) {
    return transact(["pages", "bodies"], "readonly", function (s) {
      var out = {};
      var page = s.pages.get(slug);
      var body = s.bodies.get(slug);
      body.onsuccess = function () {
        out.result = page.result ? Object.assign({}, page.result, { html: body.result || "" }) : null;
      };
      return out;
    });
  }

  function request(storeName, method, args) {
    return transact([storeName], method === "get" || method === "getAll" || method === "count" ? "readonly" : "readwrite",
      function (s) {
        var out = {};
        var req = s[storeName][method].apply(s[storeName], args || []);
        req.onsuccess = function () { out.result = req.result; };
        return out;
      });
  }

  // The source of a page opened (not kept): {slug, title, rev, body}.
  function saveSource(page) {
    return transact(["sources"], "readwrite", function (s) { s.sources.put(sourceRecord(page)); });
  }

  function forget(slug) {
    return transact(["pages", "bodies", "sources", "meta"], "readwrite", function (s) {
      s.pages.delete(slug);
      s.bodies.delete(slug);
      s.sources.delete(slug);
      s.meta.put(Date.now(), CHANGED);
    });
  }

  // Drops downloaded pages, except those the reader also keeps on purpose.
  function forgetDownloaded() {
    return transact(["pages", "bodies", "sources", "meta"], "readwrite", function (s) {
      s.meta.delete("download");
      s.meta.put(Date.now(), CHANGED);
      s.pages.openCursor().onsuccess = function (event) {
        var cursor = event.target.result;
        if (!cursor) return;
        if (!cursor.value.kept) {
          s.bodies.delete(cursor.value.slug);
          s.sources.delete(cursor.value.slug);
          cursor.delete();
        }
        cursor.continue();
      };
    });
  }

  // Every saved page with its HTML. Two bulk reads: a cursor with a lookup per page takes seconds
  // for thousands of pages.
  function eachBody(visit) {
    return transact(["pages", "bodies"], "readonly", function (s) {
      var pages = s.pages.getAll();
      var keys = s.bodies.getAllKeys();
      var bodies = s.bodies.getAll();
      bodies.onsuccess = function () {
        var html = {};
        keys.result.forEach(function (key, i) { html[key] = bodies.result[i]; });
        pages.result.forEach(function (page) { visit(page, html[page.slug] || ""); });
      };
    });
  }

  scope.OfflineStore = {
    CHANGED: CHANGED,
    savePages: savePages,
    getPage: getPage,
    forget: forget,
    forgetDownloaded: forgetDownloaded,
    eachBody: eachBody,
    saveSource: saveSource,
    getSource: function (slug) { return request("sources", "get", [slug]); },
    listPages: function () { return request("pages", "getAll"); },
    countPages: function () { return request("pages", "count"); },
    getMeta: function (key) { return request("meta", "get", [key]); },
    setMeta: function (key, value) { return request("meta", "put", [value, key]); },
  };
})(self);
