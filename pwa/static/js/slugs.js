// The slug rule of server/slugs.py, ported so that the service worker can guess the address of a page
// started offline (issue #10). The server's answer stays authoritative: a create op carries the title,
// and the server derives the slug itself. Keep the two in step (tests/e2e/test_offline_contributing.py
// compares them on a list of titles).
(function (scope) {
  "use strict";

  var MAX_TITLE_CHARS = 200;
  var MAX_SLUG_CHARS = 80;
  var SLUG_HASH_CHARS = 10;
  var CONTROL = /[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;
  // Python's \w in str patterns: letters, digits and other numbers, and the underscore (not marks).
  var NOT_SLUG = /[^\p{L}\p{N}_\s-]/gu;
  var SEPARATORS = /[\s_-]+/g;

  // Throws an Error whose message says what is wrong with the title, as the server would.
  function cleanTitle(title) {
    var text = String(title).normalize("NFC").replace(CONTROL, "");
    text = text.split(/\s+/).filter(Boolean).join(" ");
    if (!text) throw new Error("The title is empty; give the page a name.");
    if (Array.from(text).length > MAX_TITLE_CHARS) {
      throw new Error("The title is longer than " + MAX_TITLE_CHARS + " characters; shorten it.");
    }
    return text;
  }

  function trimHyphens(text) {
    return text.replace(/^-+|-+$/g, "");
  }

  function digest(text) {
    return scope.crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)).then(function (hash) {
      var hex = Array.prototype.map.call(new Uint8Array(hash), function (b) { return (b + 256).toString(16).slice(1); });
      return hex.join("").slice(0, SLUG_HASH_CHARS);
    });
  }

  // A promise: titles made only of symbols get "page-" and a hash, and a slug longer than MAX_SLUG_CHARS is cut
  // and gets a hash of the whole (issue 11), which the browser computes asynchronously.
  function slugify(title) {
    var text = cleanTitle(title).normalize("NFKC").toLowerCase().replace(NOT_SLUG, "");
    text = trimHyphens(text.replace(SEPARATORS, "-"));
    var chars = Array.from(text);
    if (!text) return digest(String(title)).then(function (hex) { return "page-" + hex; });
    if (chars.length <= MAX_SLUG_CHARS) return Promise.resolve(text);
    var cut = chars.slice(0, MAX_SLUG_CHARS).join("").replace(/-+$/, "");
    return digest(text).then(function (hex) { return cut + "-" + hex; });
  }

  scope.CommonplaceSlugs = { cleanTitle: cleanTitle, slugify: slugify };
})(self);
