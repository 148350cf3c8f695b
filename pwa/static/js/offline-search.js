// Search without a network (issue #4): MiniSearch (pwa/vendor/minisearch.js) over the pages saved on
// this device — kept or downloaded (OfflineStore) and opened before (the service worker's cache).
//
// It ranks, it does not filter (issue #12): any of the query's words may match (MiniSearch's OR, whose score
// already counts how many of the words a page holds), the words the server leaves out of a query are left out
// here too (STOPWORDS, the list of search/ranking.py; tests/search/test_offline_search.py keeps them equal),
// a title counts more than the text, and a page whose title is the query comes first. Runs of Chinese, Japanese
// or Korean characters are split into overlapping two-character words, as the server splits them, so a
// two-character word inside a sentence is found. When the best page holds too few of the query's words, the
// results page says that nothing matched well and shows the closest pages, marked so.
//
// In node (tests/bench/tldr_minisearch.js) the file exports its ranking functions instead of showing anything.
/* global MiniSearch, OfflineStore */
(function () {
  "use strict";

  var SNIPPET_CHARS = 160;
  var LIMIT = 20;
  var CLOSEST = 5; // pages shown when nothing matched well
  var MAX_QUERY_WORDS = 24;
  // Bump when the words an index holds change (tokenizer, fields): a stored index of another version is rebuilt.
  var INDEX_VERSION = 2;
  var building = null;

  // search/ranking.py STOPWORDS, in the same order.
  var STOPWORDS = [
    "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are", "as", "at", "be",
    "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do",
    "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has", "have", "having",
    "he", "her", "here", "hers", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just",
    "me", "more", "most", "my", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our",
    "ours", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their",
    "theirs", "them", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until",
    "up", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will",
    "with", "would", "you", "your",
  ];
  var STOP = new Set(STOPWORDS);

  // MiniSearch's own word split (spaces and punctuation, 。、「」 included).
  var SPLIT = /[\n\r\p{Z}\p{P}]+/u;
  // Hiragana, Katakana, Han (with its extensions) and Hangul syllables: the brief's CJK ranges.
  var CJK = /[\u3040-\u30FF\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF\uAC00-\uD7AF\u{20000}-\u{2FA1F}]+/gu;

  // A run of CJK characters becomes its overlapping two-character pieces ("数据库" -> "数据", "据库"); a run
  // of one character stays itself.
  function bigrams(run, out) {
    var chars = Array.from(run);
    if (chars.length === 1) out.push(run);
    for (var i = 0; i + 1 < chars.length; i++) out.push(chars[i] + chars[i + 1]);
  }

  // The words of a text, lower-cased, as the index keeps them and a query is looked up.
  function words(text) {
    var out = [];
    text.split(SPLIT).forEach(function (token) {
      if (!token) return;
      var last = 0;
      token.replace(CJK, function (run, offset) {
        if (offset > last) out.push(token.slice(last, offset).toLowerCase());
        bigrams(run, out);
        last = offset + run.length;
        return run;
      });
      if (last < token.length) out.push(token.slice(last).toLowerCase());
    });
    return out;
  }

  // The query's distinct words without stopwords (unless there is nothing else), as the server takes them.
  function queryWords(query) {
    var all = Array.from(new Set(words(query)));
    var kept = all.filter(function (word) { return !STOP.has(word); });
    return (kept.length ? kept : all).slice(0, MAX_QUERY_WORDS);
  }

  // A page's text without its table of contents (server/render.py's nav.toc): the headings are in the text
  // already, and a snippet should start with the page's first words, not "Contents …".
  function plainText(html) {
    return html.replace(/<nav class="toc"[\s\S]*?<\/nav>/g, " ").replace(/<[^>]*>/g, " ")
      .replace(/&[#a-z0-9]+;/gi, " ").replace(/\s+/g, " ").trim();
  }

  // Measured on the tldr development set and SciFact train (tests/bench/bench_offline_search.py): prefix
  // matches help words of PREFIX_FROM letters or more, fuzzy matches (typos) words of FUZZY_FROM or more.
  var PREFIX_FROM = 3;
  var FUZZY_FROM = 6;
  var SEARCH = {
    boost: { title: 1 },
    prefix: function (word) { return word.length >= PREFIX_FROM; },
    fuzzy: function (word) { return word.length >= FUZZY_FROM ? 0.2 : false; },
    combineWith: "OR",
  };
  // Nothing matched well when the best page lacks some of the query's words and scores less than this (in
  // units of the rarest word's idf; calibrated on the tldr development set against questions no page answers:
  // tests/bench/bench_offline_search.py). A page that holds every word of the query is always a good match.
  var GOOD_STRENGTH = 4.5;

  var OPTIONS = {
    fields: ["title", "text"],
    storeFields: ["title", "snippet"],
    tokenize: function (text) { return words(text); },
    processTerm: function (term) { return term; }, // words() lower-cases already
    searchOptions: SEARCH,
  };

  function createIndex(docs) {
    var index = new MiniSearch(OPTIONS);
    index.addAll(docs);
    return index;
  }

  function loadIndex(json) {
    return MiniSearch.loadJSON(json, OPTIONS);
  }

  // The pages for `query`, best first: {results, words, share, strength, noGoodMatch}. `share` is the part of
  // the query's words (stopwords left out) that the first page holds; `searchOptions` overrides SEARCH (benches).
  function rank(index, query, searchOptions) {
    var terms = queryWords(query);
    if (!terms.length) return { results: [], words: terms, share: 0, noGoodMatch: false };
    var options = Object.assign({}, SEARCH, searchOptions || {}, { tokenize: function () { return terms; } });
    var found = index.search(query, options);
    // A page whose title is the query comes first, whatever the text of the others scores.
    var exact = words(query).join(" ");
    var titled = found.filter(function (result) { return words(result.title || "").join(" ") === exact; });
    var results = titled.length ? titled.concat(found.filter(function (r) { return titled.indexOf(r) < 0; }))
      : found;
    var top = results[0];
    var share = top ? terms.filter(function (word) { return top.queryTerms.indexOf(word) >= 0; }).length /
      terms.length : 0;
    // The first score in units of the rarest word's idf (a word on one page only), so that the threshold holds
    // for a few saved pages as for thousands.
    var strength = top ? top.score / Math.log(1 + (index.documentCount - 0.5) / 1.5) : 0;
    return { results: results, words: terms, share: share, strength: strength,
      noGoodMatch: share < 1 && strength < GOOD_STRENGTH };
  }

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

  // The index over pages saved as data is stored, and rebuilt only when they changed (or the index is of
  // another version): reading thousands of pages back out of IndexedDB takes seconds on a phone.
  function savedIndex(changed) {
    return OfflineStore.getMeta("search_index").then(function (stored) {
      if (stored && stored.changed === changed && stored.version === INDEX_VERSION) return loadIndex(stored.json);
      var docs = [];
      return OfflineStore.eachBody(function (page, html) {
        docs.push(doc("/wiki/" + encodeURIComponent(page.slug), page.title, plainText(html)));
      }).then(function () {
        var index = createIndex(docs);
        var record = { changed: changed, version: INDEX_VERSION, json: JSON.stringify(index) };
        return OfflineStore.setMeta("search_index", record)
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

  // The results page, laid out as the online one (server/templates/search.html): when nothing matched well,
  // no count that reads like an answer, but a note and the closest few pages, marked (.closest).
  function show(main, query) {
    return currentIndex().then(function (index) {
      var ranked = rank(index, query || "");
      var closest = ranked.noGoodMatch && ranked.results.length > 0;
      var results = ranked.results.slice(0, closest ? CLOSEST : LIMIT);
      main.textContent = "";
      main.appendChild(element("h1", "", "Offline results"));
      main.appendChild(element("p", "notice offline-results",
        "offline results — no connection, so only the " + index.documentCount +
        " pages saved on this device were searched."));
      if (closest) {
        main.appendChild(element("p", "help", "Searched for “" + query + "”."));
        main.appendChild(element("p", "notice no-good-match", "Nothing matched well. The closest pages:"))
          .setAttribute("role", "status");
      } else {
        main.appendChild(element("p", "help", results.length + " result" + (results.length === 1 ? "" : "s") +
          " for “" + query + "”."));
      }
      var list = element("ol", closest ? "results closest" : "results");
      results.forEach(function (result) {
        var item = element("li");
        var link = element("a", "", result.title);
        link.href = result.id;
        item.appendChild(link);
        if (result.snippet) item.appendChild(element("p", "snippet", result.snippet));
        list.appendChild(item);
      });
      main.appendChild(list);
      if (query && !results.length) main.appendChild(element("p", "", "Nothing matched."));
    });
  }

  var api = {
    show: show, prepare: currentIndex,
    // for tests and benches (tests/bench/tldr_minisearch.js)
    rank: rank, createIndex: createIndex, words: words, queryWords: queryWords, STOPWORDS: STOPWORDS,
  };
  if (typeof module === "object" && module.exports) module.exports = api;
  else window.CommonplaceSearch = api;
})();
