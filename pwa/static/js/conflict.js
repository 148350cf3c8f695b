// The conflict page (server/templates/conflict.html). Loaded by that page only; htmx runs it again each
// time a conflict page is swapped in, so it keeps no state and binds to the elements it finds.
// A refused whole text comes back as a redirect to the conflict's page (POST-redirect-GET), which the
// server renders with the merge proposal: the text the author typed is kept in this tab and put back.
(function () {
  "use strict";

  var PREFIX = "commonplace-conflict-draft:";
  var MARKER = /^(<{7}|={7}$|>{7})/m; // the lines sync/merge.py writes around a conflict

  function store() {
    try {
      return window.sessionStorage;
    } catch (error) {
      return null; // storage switched off: the Back button still has the text
    }
  }

  function restoreDraft(form, drafts) {
    var key = PREFIX + form.getAttribute("data-conflict");
    var textarea = form.querySelector("textarea[name=body]");
    form.addEventListener("submit", function () {
      drafts.setItem(key, textarea.value);
    });
    var draft = drafts.getItem(key);
    if (draft === null || !/[?&]error=/.test(location.search)) return;
    textarea.value = draft;
    form.closest("details").open = true;
    var hint = form.querySelector(".conflict-back-hint");
    if (hint) hint.hidden = true;
    showFirstMarker(textarea, draft);
  }

  // Scroll the box to the first marker line left, which is what the error is about. Measured by putting
  // in the text before it (lines wrap on a phone, so counting lines would miss); no focus, so the
  // keyboard does not cover the error above.
  function showFirstMarker(textarea, text) {
    var marker = MARKER.exec(text);
    if (!marker) return;
    textarea.value = text.slice(0, marker.index);
    var above = textarea.scrollHeight;
    textarea.value = text;
    if (above > textarea.clientHeight) textarea.scrollTop = above - textarea.clientHeight / 3;
  }

  function init() {
    var drafts = store();
    if (!drafts) return;
    var done = document.querySelector("[data-resolved-conflict]");
    if (done) drafts.removeItem(PREFIX + done.getAttribute("data-resolved-conflict"));
    var form = document.querySelector("form.conflict-whole-form[data-conflict]");
    if (!form) return;
    restoreDraft(form, drafts);
    // Choosing per part instead: an error that comes back is about the choices, not an older whole text.
    var choices = document.querySelector("form.conflict-form");
    if (choices) {
      choices.addEventListener("submit", function () {
        drafts.removeItem(PREFIX + form.getAttribute("data-conflict"));
      });
    }
  }

  init();
})();
