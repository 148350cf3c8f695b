// Search without a network (issue #4): MiniSearch (pwa/vendor/minisearch.js) over the pages saved on
// this device — kept or downloaded (OfflineStore) and opened before (the service worker's cache).
/* global MiniSearch, OfflineStore */
(function () {
  "use strict";

  var SNIPPET_CHARS = 160;
  var building = null;

  function plainText(html) {
    return html.replace(/<[^>]*>/g, " ").replace(/&[#a-z0-9]+;/gi, " ").replace(/\s+/g, " ").trim();
  }

  var OPTIONS = {
    fields: ["title", "text"],
    storeFields: ["title", "snippet"],
    searchOptions: { boost: { title: 3 }, prefix: true, fuzzy: 0.2, combineWith: "AND" },
  };

  function doc(id, title, text) {
    return { id: id, title: title, text: text, snippet: text.slice(0, SNIPPET_CHARS) };
  }

  // Pages opened on this device that are not also saved as data.
  function openedPages(index) {
    return caches.keys().then(function (names) {
      var name = names.filter(function (n) { return n.indexOf("commonplace-pages-") === 0; })[0];
      return name ? caches.open(name) : null;
    }).then(function (cache) {
      if (!cache) return [];
      return cache.keys().then(function (requests) {
        return Promise.all(requests.filter(function (request) {
          var path = new URL(request.url).pathname;
          return /^\/wiki\/[^/]+$/.test(path) && !index.has(path);
        }).map(function (request) {
          return cache.match(request, { ignoreVary: true }).then(function (response) { return response.text(); })
            .then(function (html) {
              var title = /<h1>([\s\S]*?)<\/h1>/.exec(html);
              var prose = /<div class="prose">([\s\S]*?)<\/div>\s*<section/.exec(html);
              return doc(new URL(request.url).pathname, plainText(title ? title[1] : ""),
                plainText(prose ? prose[1] : ""));
            });
        }));
      });
    });
  }

  // The index over pages saved as data is stored, and rebuilt only when they changed: reading
  // thousands of pages back out of IndexedDB takes seconds on a phone.
  function savedIndex(changed) {
    return OfflineStore.getMeta("search_index").then(function (stored) {
      if (stored && stored.changed === changed) return MiniSearch.loadJSON(stored.json, OPTIONS);
      var docs = [];
      return OfflineStore.eachBody(function (page, html) {
        docs.push(doc("/wiki/" + encodeURIComponent(page.slug), page.title, plainText(html)));
      }).then(function () {
        var index = new MiniSearch(OPTIONS);
        index.addAll(docs);
        return OfflineStore.setMeta("search_index", { changed: changed, json: JSON.stringify(index) })
          .catch(function () {}) // a full device still searches, it only rebuilds next time
          .then(function () { return index; });
      });
    });
  }

  function build(changed) {
    return savedIndex(changed).then(function (index) {
      return openedPages(index).then(function (opened) {
        index.addAll(opened);
        return index;
      });
    });
  }

  // The index for the pages saved now, built once per change of the saved pages.
  function currentIndex() {
    return OfflineStore.getMeta(OfflineStore.CHANGED).then(function (changed) {
      if (!building || building.changed !== changed) building = { changed: changed, index: build(changed) };
      return building.index;
    });
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function show(main, query) {
    return currentIndex().then(function (index) {
      var results = query ? index.search(query).slice(0, 20) : [];
      main.textContent = "";
      main.appendChild(element("h1", "", "Offline results"));
      main.appendChild(element("p", "notice offline-results",
        "offline results — no connection, so only the " + index.documentCount +
        " pages saved on this device were searched."));
      main.appendChild(element("p", "help", results.length + " result" + (results.length === 1 ? "" : "s") +
        " for “" + query + "”."));
      var list = element("ol", "results");
      results.forEach(function (result) {
        var item = element("li");
        var link = element("a", "", result.title);
        link.href = result.id;
        item.appendChild(link);
        if (result.snippet) item.appendChild(element("p", "snippet", result.snippet));
        list.appendChild(item);
      });
      main.appendChild(list);
    });
  }

  window.CommonplaceSearch = { show: show, prepare: currentIndex };
})();
