// The offline search of the phone (pwa/static/js/offline-search.js) run in node over the tldr pages, for
// bench_tldr_questions.py. The options are read from offline-search.js itself (its `var OPTIONS = {...};`),
// so the figures follow whatever the shipped file configures; "or" is the same index searched with
// combineWith "OR".
//
//     node tldr_minisearch.js pwa/vendor/minisearch.js pwa/static/js/offline-search.js input.json
//
// input.json: {"docs": [{id, title, text}], "queries": ["..."]}; prints {"and": [[id, ...]], "or": [...]}
// with the first 10 ids of each query's results.
"use strict";

const fs = require("fs");
const vm = require("vm");

const [minisearchPath, offlineSearchPath, inputPath] = process.argv.slice(2);
const MiniSearch = require(require("path").resolve(minisearchPath));
const source = fs.readFileSync(offlineSearchPath, "utf8");
const match = /var OPTIONS = (\{[\s\S]*?\n {2}\});/.exec(source);
if (!match) {
  process.stderr.write("could not find `var OPTIONS = {...};` in " + offlineSearchPath + "\n");
  process.exit(2);
}
const options = vm.runInNewContext("(" + match[1] + ")");
const input = JSON.parse(fs.readFileSync(inputPath, "utf8"));

const index = new MiniSearch(options);
index.addAll(input.docs);
const top = (query, extra) => index.search(query, extra).slice(0, 10).map((r) => r.id);
const out = {
  options: options.searchOptions,
  and: input.queries.map((q) => top(q)),
  or: input.queries.map((q) => top(q, { combineWith: "OR" })),
};
process.stdout.write(JSON.stringify(out));
