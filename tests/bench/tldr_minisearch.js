// The offline search of the phone (pwa/static/js/offline-search.js) run in node, for bench_offline_search.py
// and bench_tldr_questions.py.
//
//     node tldr_minisearch.js pwa/vendor/minisearch.js pwa/static/js/offline-search.js input.json
//
// input.json: {"docs": [{id, title, text}], "queries": ["..."], "variants": {name: spec}} ("variants" optional).
// Prints {"options", "shipped": [[id, ...]], "ms": [...], "signals": [{...}], "and": [...], "or": [...],
// "variants": {...}} with the first 10 ids of each query's results:
// - shipped: offline-search.js's own ranking (its `rank`, as the phone calls it); ms: each query's time in it;
// - signals: per query, what the "no good match" rule can look at: the share of the query's words the first
//   page holds (`share`, the shipped rule's input), the same counting exact word matches only (`exact_share`),
//   the share weighted by how rare each word is (`idf_share`), the first score (`score`; `strength`: in units
//   of the rarest word's idf, the shipped rule's other input), and the shipped flag;
// - and / or: the same index searched by plain MiniSearch with the shipped search options and combineWith
//   "AND" / "OR" (the query split by the shipped tokenizer, stopwords kept);
// - variants: `rank` with search options changed: spec {"prefix": n, "fuzzy": n, "title": boost,
//   "combineWith": "AND"|"OR", "fuzzy_ratio": r}: prefix/fuzzy matches for words of n letters or more (0: none),
//   fuzzy up to r edits a letter (default 0.2, as shipped).
// A file of the old shape (no exports; a `var OPTIONS = {...};` of plain values, as offline-search.js was before
// issue 12) is read too: then "shipped" is its plain search, and "signals"/"variants" are left out.
"use strict";

const fs = require("fs");
const path = require("path");
const vm = require("vm");

const [minisearchPath, offlineSearchPath, inputPath] = process.argv.slice(2);
const MiniSearch = require(path.resolve(minisearchPath));
global.MiniSearch = MiniSearch;
const source = fs.readFileSync(offlineSearchPath, "utf8");
const input = JSON.parse(fs.readFileSync(inputPath, "utf8"));
const top = (results) => results.slice(0, 10).map((r) => r.id);

function oldShape() {
  const match = /var OPTIONS = (\{[\s\S]*?\n {2}\});/.exec(source);
  if (!match) {
    process.stderr.write("could not find exports or `var OPTIONS = {...};` in " + offlineSearchPath + "\n");
    process.exit(2);
  }
  const options = vm.runInNewContext("(" + match[1] + ")");
  const index = new MiniSearch(options);
  index.addAll(input.docs);
  const ms = [];
  const and = input.queries.map((q) => {
    const started = process.hrtime.bigint();
    const results = index.search(q);
    ms.push(Number(process.hrtime.bigint() - started) / 1e6);
    return top(results);
  });
  return {
    options: options.searchOptions, shipped: and, ms: ms, and: and,
    or: input.queries.map((q) => top(index.search(q, { combineWith: "OR" }))),
  };
}

function searchOptions(spec) {
  const out = {};
  if ("prefix" in spec) out.prefix = (word) => spec.prefix > 0 && word.length >= spec.prefix;
  const ratio = spec.fuzzy_ratio || 0.2;
  if ("fuzzy" in spec) out.fuzzy = (word) => (spec.fuzzy > 0 && word.length >= spec.fuzzy ? ratio : false);
  if ("title" in spec) out.boost = { title: spec.title };
  if ("combineWith" in spec) out.combineWith = spec.combineWith;
  return out;
}

function documentFrequency(index, word) {
  const data = index._index.get(word); // MiniSearch's inverted index: field id -> (document id -> count)
  const ids = new Set();
  if (data) for (const docs of data.values()) for (const id of docs.keys()) ids.add(id);
  return ids.size;
}

function newShape(offline) {
  const index = offline.createIndex(input.docs);
  const n = index.documentCount;
  const idf = (word) => {
    const df = documentFrequency(index, word);
    return Math.log(1 + (n - df + 0.5) / (df + 0.5));
  };
  const shipped = [];
  const signals = [];
  const ms = [];
  for (const query of input.queries) {
    const started = process.hrtime.bigint();
    const ranked = offline.rank(index, query);
    ms.push(Number(process.hrtime.bigint() - started) / 1e6);
    shipped.push(top(ranked.results));
    const first = ranked.results[0];
    const held = (word) => first && first.queryTerms.indexOf(word) >= 0;
    const exact = (word) => first && Object.prototype.hasOwnProperty.call(first.match, word);
    const weight = ranked.words.reduce((sum, w) => sum + idf(w), 0) || 1;
    signals.push({
      words: ranked.words.length,
      share: ranked.share,
      exact_share: ranked.words.length ? ranked.words.filter(exact).length / ranked.words.length : 0,
      idf_share: ranked.words.filter(held).reduce((sum, w) => sum + idf(w), 0) / weight,
      score: first ? first.score : 0,
      strength: ranked.strength,
      no_good_match: ranked.noGoodMatch,
    });
  }
  const plain = (combineWith) => input.queries.map((q) => top(index.search(q, { combineWith: combineWith })));
  const variants = {};
  for (const [name, spec] of Object.entries(input.variants || {})) {
    const options = searchOptions(spec);
    variants[name] = input.queries.map((q) => top(offline.rank(index, q, options).results));
  }
  return { shipped: shipped, ms: ms, signals: signals, and: plain("AND"), or: plain("OR"), variants: variants };
}

const offline = /module\.exports = /.test(source) ? require(path.resolve(offlineSearchPath)) : null;
process.stdout.write(JSON.stringify(offline ? newShape(offline) : oldShape()));
