// Saving edits through the outbox, replaying it, and showing its state (issues #5 and #10).
// Every save made with JavaScript goes into the outbox first, online too, so there is one path; the
// server's answer then decides what the author sees. Reading never waits for any of this.
(function () {
  "use strict";

  var Outbox = self.CommonplaceOutbox;
  if (!Outbox || !self.indexedDB) return;  // the plain form post still works

  var RETRY_FIRST_MS = 2000;
  var RETRY_MAX_MS = 5 * 60 * 1000;
  // After a sync that sent something, "All sent" shows this long, then the indicator goes (issue 10, item 12).
  var SENT_SHOWN_MS = 5000;
  var retryMs = RETRY_FIRST_MS;
  var retryTimer = null;
  var sentUntil = 0;
  var busy = false;       // the last replay met a busy server (429 or 5xx)
  var FLASH = "cp-flash";
  var REOPEN = "cp-reopen";

  // Plain words for what the server refused (sync/vocabulary.py has the server's own).
  var REFUSALS = {
    protected: "the page is protected; only moderators can edit it",
    too_large: "the text is too large",
    bad_title: "the title cannot be used",
    exists: "a page with that title exists already",
    blocked: "this account is blocked from editing",
    not_found: "the page no longer exists",
    invalid_op: "the server could not read it",
    unknown_base: "the page's history changed under it",
    login_required: "you need to log in",
    op_id_taken: "its id was used by another account"
  };

  function meta(name) {
    var el = document.querySelector('meta[name="' + name + '"]');
    return el ? el.content : null;
  }

  // The header's forms are swapped by a boosted navigation and the head is not: after logging in again,
  // the head's token is the old session's, and a push sent with it is refused (issue 10, item 13).
  function csrfToken() {
    var fresh = document.querySelector('.site-header input[name="csrf_token"]') ||
                document.querySelector('main input[name="csrf_token"]');
    return (fresh && fresh.value) || meta("csrf-token") || null;
  }

  // Who this page says is signed in ("" for nobody). Read from the header, which htmx swaps on boosted
  // navigation (the head is not), so logging in or out is seen; a cached page offline names the account
  // it was rendered for.
  function account() {
    var header = document.querySelector(".site-header");
    return (header && header.getAttribute("data-account")) || "";
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) node.textContent = text;
    return node;
  }

  function timeAgo(iso) {
    var seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    if (seconds < 60) return "just now";
    if (seconds < 3600) return Math.round(seconds / 60) + " min ago";
    if (seconds < 86400) return Math.round(seconds / 3600) + " h ago";
    return Math.round(seconds / 86400) + " days ago";
  }

  function plural(n, word) {
    return n + " " + word + (n > 1 ? "s" : "");
  }

  // ---------------------------------------------------------------------------------------------------
  // The indicator and the list of ops. Nothing shows until there is something to say.

  function describe(ops, authNeeded) {
    var mine = ops.filter(function (op) { return op.account === account(); });
    var pending = mine.filter(function (op) { return op.state === "pending"; }).length;
    var conflicts = mine.filter(function (op) { return op.state === "conflict"; }).length;
    var rejected = mine.filter(function (op) { return op.state === "rejected"; }).length;
    var others = ops.length - mine.length;
    if (authNeeded && pending) return { text: "Log in again to sync " + plural(pending, "edit"), kind: "warn" };
    if (conflicts) return { text: plural(conflicts, "conflict") + " to resolve", kind: "warn" };
    if (rejected) return { text: plural(rejected, "edit") + " not accepted", kind: "warn" };
    if (pending && busy) return { text: "Server busy: " + pending + " waiting", kind: "pending" };
    if (pending) return { text: pending + " waiting to sync", kind: "pending" };
    if (others) return { text: plural(others, "edit") + " of another account", kind: "pending" };
    if (Date.now() < sentUntil) return { text: "All sent", kind: "ok" };
    return null;
  }

  // Looked up inside the header, not by id alone: a page saved before issue 11 may still hold a heading
  // with the id "sync-state" (headings' ids are prefixed now), and the indicator would have written into it.
  function shownIndicator() {
    return document.querySelector(".site-header > #sync-state");
  }

  function indicator() {
    var box = shownIndicator();
    if (box) return box;
    var header = document.querySelector(".site-header");
    if (!header) return null;
    box = el("div", { id: "sync-state", class: "sync-state" });
    var button = el("button", { type: "button", class: "sync-button", "aria-expanded": "false",
                                "aria-controls": "sync-panel" });
    var panel = el("div", { id: "sync-panel", class: "sync-panel", hidden: "" });
    button.addEventListener("click", function () {
      var open = panel.hasAttribute("hidden");
      if (open) panel.removeAttribute("hidden"); else panel.setAttribute("hidden", "");
      button.setAttribute("aria-expanded", String(open));
    });
    box.appendChild(button);
    box.appendChild(panel);
    header.appendChild(box);
    return box;
  }

  function editUrl(op) {
    var slug = op.slug || (op.result && op.result.slug);
    if (op.base_rev && slug) return "/wiki/" + encodeURIComponent(slug) + "/edit";
    return "/new?title=" + encodeURIComponent(op.title || "");
  }

  // The text of a refused edit stays readable and copyable, and can go back into the edit form.
  function refusedText(op) {
    var box = el("details", { class: "sync-text" });
    box.appendChild(el("summary", {}, "Show text"));
    var text = el("textarea", { readonly: "", rows: "6", class: "sync-text-body",
                                "aria-label": "Text of your edit" });
    text.value = op.body;
    box.appendChild(text);
    var actions = el("p", { class: "sync-text-actions" });
    var copy = el("button", { type: "button", class: "link-button sync-copy" }, "Copy");
    var said = el("span", { class: "sync-copied", role: "status" });
    copy.addEventListener("click", function () {
      var selectAll = function () {
        text.focus();
        text.select();
        said.textContent = "Selected: use your phone's Copy.";
      };
      if (!navigator.clipboard || !navigator.clipboard.writeText) return selectAll();
      navigator.clipboard.writeText(op.body).then(function () { said.textContent = "Copied."; }, selectAll);
    });
    actions.appendChild(copy);
    actions.appendChild(el("span", {}, " "));
    actions.appendChild(said);
    box.appendChild(actions);
    return box;
  }

  function refusalWords(op) {
    var result = op.result || {};
    if (result.reason === "too_large" && result.message) return result.message;
    var words = REFUSALS[result.reason];
    return words ? "Not accepted: " + words + "." : "Not accepted: " + (result.message || "the server refused it.");
  }

  function opLine(op) {
    var item = el("li", { class: "sync-op sync-op-" + op.state, "data-op-id": op.op_id });
    var name = op.title || op.page_title || op.slug || "new page";
    item.appendChild(el("span", {}, name + " · " + timeAgo(op.created_at) + " · "));
    if (op.state === "pending") {
      item.appendChild(el("span", { class: "sync-op-state" }, op.account === account()
        ? "waiting to sync" : "waiting for " + (op.account || "an anonymous session")));
    } else if (op.state === "conflict") {
      item.appendChild(el("a", { href: "/conflicts/" + encodeURIComponent(op.result.conflict_id) },
                          "conflict: resolve it"));
    } else {
      item.appendChild(el("span", { class: "sync-op-state" }, refusalWords(op)));
    }
    if (op.state === "rejected") {
      var reopen = el("a", { href: editUrl(op), class: "sync-reopen" }, "Open in the editor");
      reopen.addEventListener("click", function () { sessionStorage.setItem(REOPEN, op.op_id); });
      item.appendChild(el("span", {}, " "));
      item.appendChild(reopen);
    }
    var discard = el("button", { type: "button", class: "link-button sync-discard" }, "Discard");
    discard.addEventListener("click", function () {
      var message = op.state === "conflict"
        ? "Remove this note? The conflict stays on the server until you resolve it."
        : "Discard this edit for good? Its text will be lost.";
      if (!window.confirm(message)) return;
      Outbox.remove(op.op_id).then(render);
    });
    item.appendChild(el("span", {}, " "));
    item.appendChild(discard);
    if (op.state === "rejected") item.appendChild(refusedText(op));
    return item;
  }

  function render() {
    return Promise.all([Outbox.all(), Outbox.getMeta("auth_needed")]).then(function (got) {
      var ops = got[0];
      followSavedNotice(ops);
      var state = describe(ops, got[1]);
      var shown = shownIndicator();
      if (!state) {
        if (shown) shown.remove();
        showPendingOnPage(ops);
        return;
      }
      var box = indicator();
      if (!box) return;
      var button = box.querySelector(".sync-button");
      button.textContent = state.text;
      button.className = "sync-button sync-" + state.kind;
      var panel = box.querySelector(".sync-panel");
      // Rebuilt only when something in it changed: a rebuild under a finger would swallow the tap.
      var drawn = JSON.stringify([ops.map(function (op) { return [op.op_id, op.state, op.created_at]; }),
                                  Boolean(got[1]), busy, Math.floor(Date.now() / 60000)]);
      if (panel.getAttribute("data-drawn") === drawn) {
        showPendingOnPage(ops);
        return;
      }
      panel.setAttribute("data-drawn", drawn);
      var openDetails = {};
      panel.querySelectorAll("li[data-op-id] details[open]").forEach(function (d) {
        openDetails[d.closest("li").getAttribute("data-op-id")] = true;
      });
      panel.textContent = "";
      if (!ops.length) {
        panel.appendChild(el("p", {}, "Every edit made on this device has reached the server."));
      } else {
        var list = el("ul", { class: "sync-ops" });
        ops.forEach(function (op) {
          var line = list.appendChild(opLine(op));
          var details = line.querySelector("details");
          if (details && openDetails[op.op_id]) details.open = true;
        });
        panel.appendChild(list);
      }
      if (got[1]) {
        // A page saved on the device may still show the account in its header: the way back is here.
        var again = panel.appendChild(el("p", { class: "notice" },
          "Your session has ended. Log in again and your edits will be sent; nothing is lost. "));
        again.appendChild(el("a", { href: "/login?next=" + encodeURIComponent(location.pathname),
                                    class: "sync-login" }, "Log in"));
      } else if (busy) {
        panel.appendChild(el("p", { class: "notice" },
          "The server is busy. Your edits are saved here and will be sent shortly."));
      }
      showPendingOnPage(ops);
    });
  }

  // On a page with an edit still waiting, say so and show the text that will be sent.
  function showPendingOnPage(ops) {
    var match = location.pathname.match(/^\/wiki\/([^/]+)$/);
    var old = document.getElementById("pending-edit");
    if (old) old.remove();
    if (!match) return;
    var slug = decodeURIComponent(match[1]);
    var mine = ops.filter(function (op) { return op.slug === slug && op.state === "pending"; });
    if (!mine.length) return;
    var last = mine[mine.length - 1];
    var main = document.getElementById("main");
    var box = el("section", { id: "pending-edit", class: "pending-edit", "aria-label": "Edit waiting to sync" });
    var flash = document.getElementById("saved-notice");
    if (!flash) {  // just saved: the saved notice says it already
      box.appendChild(el("p", { class: "notice", role: "status" },
        "Your edit from " + timeAgo(last.created_at) + " is waiting to sync. It is saved on this device."));
    }
    // Folded: the page stays readable under it, and the text that will be sent is one tap away.
    var details = box.appendChild(el("details", { class: "pending-text" }));
    details.appendChild(el("summary", {}, "Show the text waiting to sync"));
    details.appendChild(el("pre", { class: "pending-body" }, last.body));
    main.insertBefore(box, flash ? flash.nextSibling : main.firstChild);
  }

  // ---------------------------------------------------------------------------------------------------
  // Replay: on start, on the online event, through Background Sync, and by retry with backoff.

  // A busy server may say how long to wait (Retry-After on a 429); never sooner than that.
  function scheduleRetry(err) {
    if (retryTimer) return;
    var wait = Math.max(retryMs * (0.75 + Math.random() / 2), (err && err.retryAfterMs) || 0);
    retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
    retryTimer = setTimeout(function () { retryTimer = null; replay(); }, wait);
  }

  // Conflicts the server no longer lists as open are settled: the server holds their text, so the note
  // here goes (issue 10, item 7). Asked only when some are noted.
  function refreshConflicts() {
    if (!account()) return Promise.resolve();
    return Outbox.all().then(function (ops) {
      var noted = ops.filter(function (op) { return op.state === "conflict" && op.account === account(); });
      if (!noted.length) return null;
      return openConflicts(null, {}).then(function (open) {
        if (!open) return null;
        return Promise.all(noted.filter(function (op) { return !open[op.result.conflict_id]; })
          .map(function (op) { return Outbox.remove(op.op_id); }));
      }, function () {});
    });
  }

  // Every open conflict id, following the reply's cursor (a reply stops at the server's byte budget);
  // null when any page of it fails, so that no note is dropped on a partial list.
  function openConflicts(after, open) {
    var url = "/api/sync/conflicts" + (after !== null ? "?after=" + encodeURIComponent(after) : "");
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (reply) {
        if (!reply) return null;
        (reply.conflicts || []).forEach(function (c) { open[c.id] = true; });
        return reply.more && reply.cursor !== undefined && reply.cursor !== null ? openConflicts(reply.cursor, open) : open;
      });
  }

  // The conflict page marks a conflict it has just settled; its note goes at once, online or not.
  function dropResolvedConflicts() {
    var marks = document.querySelectorAll("[data-resolved-conflict]");
    return Promise.all(Array.prototype.map.call(marks, function (mark) {
      return Outbox.removeConflict(mark.getAttribute("data-resolved-conflict"));
    }));
  }

  function noteSent(summary) {
    if (summary && summary.sent) {
      sentUntil = Date.now() + SENT_SHOWN_MS;
      setTimeout(render, SENT_SHOWN_MS + 50);
    }
  }

  // Offline, the browser says so: wait for the online event rather than fail a request.
  function replay(options) {
    if (navigator.onLine === false) return render();
    return Outbox.replay(options).then(function (summary) {
      retryMs = RETRY_FIRST_MS;
      busy = false;
      noteSent(summary);
      return refreshConflicts().then(render).then(function () { return summary; });
    }, function (err) {
      busy = Boolean(err && err.kind === "busy");
      scheduleRetry(err);
      return render().then(function () { return null; });
    });
  }

  function askBackgroundSync() {
    if (!navigator.serviceWorker) return;
    navigator.serviceWorker.ready.then(function (reg) {
      if (reg.sync) return reg.sync.register(Outbox.SYNC_TAG);
    }).catch(function () {});
  }

  // ---------------------------------------------------------------------------------------------------
  // Saving: the edit form goes through the outbox, and the person lands on the page view with a notice
  // at the top. location.replace: the filled form leaves the history, so Back never shows it as unsent.

  // `reachable`: the server answered (busy, or the session ended), so it can serve the page view.
  function landOnPage(op, notice, reachable) {
    sessionStorage.setItem(FLASH, JSON.stringify(notice));
    var slug = op.slug;
    var saved = op.base_rev && navigator.serviceWorker && navigator.serviceWorker.controller;
    if (reachable || saved) {
      location.replace("/wiki/" + encodeURIComponent(slug));
      return;
    }
    // A page started offline has no saved view to land on: show what was saved, under its title.
    history.replaceState(null, "", "/wiki/" + encodeURIComponent(slug));
    var main = document.getElementById("main");
    main.textContent = "";
    main.appendChild(el("h1", {}, op.title || slug));
    showFlash();
    window.scrollTo(0, 0);
    render();
  }

  function savedHere(op, text, reachable) {
    landOnPage(op, { text: text, op_id: op.op_id }, reachable);
  }

  // The notice of a save that waited follows what became of it, so the top of the page never says
  // "waiting" about an edit that was sent, refused or met a conflict meanwhile.
  function followSavedNotice(ops) {
    var notice = document.getElementById("saved-notice");
    var opId = notice && notice.getAttribute("data-op-id");
    if (!opId) return;
    var op = ops.filter(function (o) { return o.op_id === opId; })[0];
    if (op && op.state === "pending") return;
    notice.removeAttribute("data-op-id");
    notice.textContent = !op ? "Saved on this device, and now sent." : op.state === "conflict"
      ? "Your edit met a newer change: open the sync list above to resolve it."
      : refusalWords(op) + " Your text is kept: open the sync list above to copy it or try again.";
  }

  function showError(form, text) {
    var old = form.parentNode.querySelector(".error[data-outbox]");
    if (old) old.remove();
    var p = el("p", { class: "error", role: "alert", "data-outbox": "" }, text);
    form.parentNode.insertBefore(p, form);
    // The message lands above the button just tapped: bring it into view once laid out (scroll anchoring
    // would otherwise keep the view where it was), and focus it for screen readers.
    p.setAttribute("tabindex", "-1");
    requestAnimationFrame(function () {
      p.focus({ preventScroll: true });
      p.scrollIntoView({ block: "center" });
    });
  }

  // A refused edit reopened in this form and saved again is in the outbox anew: the old note goes.
  function dropReopened(form) {
    var reopened = form.getAttribute("data-reopened");
    return reopened ? Outbox.remove(reopened) : Promise.resolve();
  }

  function afterReply(form, op, summary, button) {
    var result = summary.results.filter(function (r) { return r.op_id === op.op_id; })[0];
    var status = result && (result.status === "duplicate" && result.first_status ? result.first_status : result.status);
    if (summary.auth_needed) {
      return savedHere(op, "Saved on this device. Your session has ended: log in again and it will be sent.", true);
    }
    if (!result) return savedHere(op, "Saved on this device, waiting to sync.", true);
    if (status === "conflict") {
      location.replace("/conflicts/" + encodeURIComponent(result.conflict_id));
      return null;
    }
    if (status === "rejected") {
      // The text is still in the form: say why, and drop the copy in the outbox.
      return Outbox.remove(op.op_id).then(function () {
        showError(form, result.message || "The server refused this change.");
        if (button) button.disabled = false;
        return render();
      });
    }
    var text = "Saved.";
    if (status === "merged" && result.merged_with && result.merged_with.length) {
      var names = result.merged_with.join(", ");
      text = result.page_existed ? names + " had started this page already: your text was added after theirs."
        : result.kept_both ? "Saved. " + names + " added text at the same place meanwhile: both additions are kept."
          : "Saved, merged with changes by " + names + ".";
    } else if (result.unchanged) {
      text = "Saved: the text was already the same, so nothing changed.";
    }
    var notice = { text: text };
    if (!result.unchanged && result.rev) {
      notice.link = "/wiki/" + encodeURIComponent(result.slug) + "/diff?to=" + encodeURIComponent(result.rev);
      notice.linkText = "See your change";
    }
    sessionStorage.setItem(FLASH, JSON.stringify(notice));
    location.replace("/wiki/" + encodeURIComponent(result.slug));
    return null;
  }

  // The title the form is editing (edit.html's heading: Editing “Title”), for the sync panel; an edit op
  // carries no title of its own, since a title there renames the page.
  function pageTitle(form) {
    var heading = form.parentNode.querySelector("h1");
    var quoted = heading && /“(.*)”/.exec(heading.textContent);
    return quoted ? quoted[1] : null;
  }

  function onSubmit(event) {
    var form = event.target;
    var match = location.pathname.match(/^\/wiki\/([^/]+)\/edit$/);
    if (!match || !form.classList || !form.classList.contains("edit-form")) return;  // page edits only
    event.preventDefault();
    event.stopPropagation();  // before htmx's boost sees it
    var data = new FormData(form);
    var fields = {
      slug: decodeURIComponent(match[1]),
      title: data.get("title") || null, base_rev: data.get("base_rev") || null,
      body: String(data.get("body") || "").replace(/\r\n/g, "\n"), summary: String(data.get("summary") || ""),
      account: account(), page_title: pageTitle(form)
    };
    var button = form.querySelector("button[type=submit]");
    Outbox.maxPageBytes().then(function (stored) {
      var limit = Number(form.getAttribute("data-max-page-bytes")) || stored;
      var size = Outbox.byteLength(fields.body);
      if (size > limit) {
        showError(form, Outbox.tooLargeMessage(size, limit) +
                  " Your text is still in the form: shorten it, or split it into several pages.");
        return null;
      }
      if (button) button.disabled = true;
      return Outbox.setMeta("account", account())
        .then(function () { return Outbox.setMeta("csrf", csrfToken()); })
        .then(function () { return Outbox.add(fields); })
        .then(function (op) {
          askBackgroundSync();
          if (navigator.onLine === false) {
            return dropReopened(form).then(function () {
              savedHere(op, "Saved on this device, waiting to sync. It will be sent when the connection returns.");
            });
          }
          return Outbox.replay().then(function (summary) {
            var refused = summary.results.some(function (r) { return r.op_id === op.op_id && r.status === "rejected"; });
            return (refused ? Promise.resolve() : dropReopened(form)).then(function () {
              return afterReply(form, op, summary, button);
            });
          }, function (err) {
            scheduleRetry(err);
            busy = Boolean(err && err.kind === "busy");
            return dropReopened(form).then(function () {
              savedHere(op, busy
                ? "The server is busy right now. Your edit is saved on this device and will be sent shortly."
                : "Saved on this device, waiting to sync: there is no connection right now.", busy);
            });
          });
        }, function (err) {
          if (button) button.disabled = false;
          showError(form, "Could not save on this device (" + (err && err.name || "storage error") +
                          "); your text is still in the form.");
        });
    });
  }

  // The form starts from the author's own latest text when it is newer than the copy the form was built
  // from (a waiting edit, or one acknowledged since the copy was saved), or from a refused edit reopened
  // from the sync panel.
  function prefillEditForm() {
    var match = location.pathname.match(/^\/wiki\/([^/]+)\/edit$/);
    var form = document.querySelector("form.edit-form");
    var textarea = form && form.querySelector("textarea[name=body]");
    if (!match || !textarea || form.hasAttribute("data-prefilled")) return;
    form.setAttribute("data-prefilled", "");
    var limit = form.getAttribute("data-max-page-bytes");
    if (limit) Outbox.setMeta("max_page_bytes", Number(limit));
    var slug = decodeURIComponent(match[1]);
    var reopen = sessionStorage.getItem(REOPEN);
    sessionStorage.removeItem(REOPEN);
    var note = function (text) {
      var p = el("p", { class: "notice", role: "status" }, text);
      form.parentNode.insertBefore(p, form);
    };
    if (reopen) {
      Outbox.all().then(function (ops) {
        var op = ops.filter(function (o) { return o.op_id === reopen; })[0];
        if (!op) return;
        textarea.value = op.body;
        var summary = form.querySelector("input[name=summary]");
        if (summary && op.summary) summary.value = op.summary;
        var title = form.querySelector("input[name=title]");
        if (title && op.title) title.value = op.title;
        form.setAttribute("data-reopened", op.op_id);
        note("This is the text of your edit that was not accepted (" + refusalWords(op).replace(/^Not accepted: /, "")
             .replace(/\.$/, "") + "). Change what is needed and save again.");
      });
      return;
    }
    var base = form.querySelector("input[name=base_rev]");
    Outbox.latestOwnText(slug, account(), base ? base.value : null).then(function (own) {
      if (!own) return;
      textarea.value = own.body;
      note(own.waiting ? "This is your edit still waiting to sync." : "This is your latest saved text.");
    });
  }

  function showFlash() {
    var raw = sessionStorage.getItem(FLASH);
    var main = document.getElementById("main");
    if (!raw || !main) return;
    sessionStorage.removeItem(FLASH);
    var notice;
    try { notice = JSON.parse(raw); } catch (err) { notice = { text: raw }; }
    var old = document.getElementById("saved-notice");
    if (old) old.remove();
    var p = el("p", { id: "saved-notice", class: "notice saved-notice", role: "status" }, notice.text);
    if (notice.op_id) p.setAttribute("data-op-id", notice.op_id);
    if (notice.link) {
      p.appendChild(document.createTextNode(" "));
      p.appendChild(el("a", { href: notice.link }, notice.linkText));
    }
    main.insertBefore(p, main.firstChild);
  }

  function start() {
    var loggedIn = shownAccount !== null && account() && account() !== shownAccount;
    shownAccount = account();
    showFlash();
    var token = csrfToken();
    Outbox.setMeta("account", account())
      .then(function () { return token ? Outbox.setMeta("csrf", token) : null; })
      .then(dropResolvedConflicts)
      .then(function () {
        prefillEditForm();
        return replay({ now: loggedIn });
      });
  }

  document.addEventListener("submit", onSubmit, true);
  window.addEventListener("online", function () { retryMs = RETRY_FIRST_MS; replay(); });
  // A boosted navigation is a new page without a new start: logging in there must send what waits.
  var shownAccount = null;
  document.addEventListener("htmx:afterSettle", function () {
    if (account() !== shownAccount) { start(); return; }
    dropResolvedConflicts().then(render);
    prefillEditForm();
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
