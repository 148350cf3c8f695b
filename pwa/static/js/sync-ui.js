// Saving edits through the outbox, replaying it, and showing its state (issue #5).
// Every save made with JavaScript goes into the outbox first, online too, so there is one path; the
// server's answer then decides what the author sees. Reading never waits for any of this.
(function () {
  "use strict";

  var Outbox = self.CommonplaceOutbox;
  if (!Outbox || !self.indexedDB) return;  // the plain form post still works

  var RETRY_FIRST_MS = 2000;
  var RETRY_MAX_MS = 5 * 60 * 1000;
  var retryMs = RETRY_FIRST_MS;
  var retryTimer = null;
  var openConflicts = null;  // ids the server still lists as open, when known

  function meta(name) {
    var el = document.querySelector('meta[name="' + name + '"]');
    return el ? el.content : null;
  }

  function csrfToken() {
    var field = document.querySelector('input[name="csrf_token"]');
    return meta("csrf-token") || (field && field.value) || null;
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

  // ---------------------------------------------------------------------------------------------------
  // The indicator and the list of ops.

  function describe(ops, authNeeded) {
    var mine = ops.filter(function (op) { return op.account === account(); });
    var pending = mine.filter(function (op) { return op.state === "pending"; }).length;
    var conflicts = mine.filter(function (op) { return op.state === "conflict"; }).length;
    var rejected = mine.filter(function (op) { return op.state === "rejected"; }).length;
    var others = ops.length - mine.length;
    if (authNeeded && pending) return { text: "Log in again to sync " + pending + " edit" + (pending > 1 ? "s" : ""), kind: "warn" };
    if (conflicts) return { text: conflicts + " conflict" + (conflicts > 1 ? "s" : "") + " to resolve", kind: "warn" };
    if (rejected) return { text: rejected + " edit" + (rejected > 1 ? "s" : "") + " not accepted", kind: "warn" };
    if (pending) return { text: pending + " waiting to sync", kind: "pending" };
    if (others) return { text: others + " edit" + (others > 1 ? "s" : "") + " of another account", kind: "pending" };
    return { text: "All synced", kind: "ok" };
  }

  function indicator() {
    var box = document.getElementById("sync-state");
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

  function opLine(op) {
    var item = el("li", { class: "sync-op sync-op-" + op.state, "data-op-id": op.op_id });
    var name = op.title || op.slug || "new page";
    var what = el("span", {}, name + " · " + timeAgo(op.created_at) + " · ");
    item.appendChild(what);
    if (op.state === "pending") {
      item.appendChild(el("span", { class: "sync-op-state" }, op.account === account()
        ? "waiting to sync" : "waiting for " + (op.account || "an anonymous session")));
    } else if (op.state === "conflict") {
      var link = el("a", { href: "/conflicts/" + encodeURIComponent(op.result.conflict_id) }, "conflict: resolve it");
      item.appendChild(link);
    } else {
      item.appendChild(el("span", { class: "sync-op-state" },
        "not accepted: " + ((op.result && (op.result.message || op.result.reason)) || "refused")));
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
    return item;
  }

  function render() {
    return Promise.all([Outbox.all(), Outbox.getMeta("auth_needed")]).then(function (got) {
      var ops = got[0].filter(function (op) {
        return op.state !== "conflict" || !openConflicts || openConflicts[op.result.conflict_id];
      });
      if (!account() && !got[0].length) {  // a reader who never edited here has nothing to see
        var shown = document.getElementById("sync-state");
        if (shown) shown.remove();
        return;
      }
      var box = indicator();
      if (!box) return;
      var state = describe(ops, got[1]);
      var button = box.querySelector(".sync-button");
      button.textContent = state.text;
      button.className = "sync-button sync-" + state.kind;
      var panel = box.querySelector(".sync-panel");
      panel.textContent = "";
      if (!ops.length) {
        panel.appendChild(el("p", {}, "Every edit made on this device has reached the server."));
      } else {
        var list = el("ul", { class: "sync-ops" });
        ops.forEach(function (op) { list.appendChild(opLine(op)); });
        panel.appendChild(list);
      }
      if (got[1]) {
        panel.appendChild(el("p", { class: "notice" },
          "Your session has ended. Log in again and your edits will be sent; nothing is lost."));
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
    box.appendChild(el("p", { class: "notice", role: "status" },
      "Your edit from " + timeAgo(last.created_at) + " is waiting to sync. It is saved on this device."));
    box.appendChild(el("pre", { class: "pending-body" }, last.body));
    main.insertBefore(box, main.firstChild);
  }

  // ---------------------------------------------------------------------------------------------------
  // Replay: on start, on the online event, through Background Sync, and by retry with backoff.

  function scheduleRetry() {
    if (retryTimer) return;
    var wait = retryMs * (0.75 + Math.random() / 2);
    retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
    retryTimer = setTimeout(function () { retryTimer = null; replay(); }, wait);
  }

  // Which of the conflicts noted here are still open on the server (asked only when there are some).
  function refreshConflicts() {
    if (!account()) return Promise.resolve();
    return Outbox.all().then(function (ops) {
      if (!ops.some(function (op) { return op.state === "conflict"; })) return null;
      return fetch("/api/sync/conflicts", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (reply) {
        if (!reply) return;
        openConflicts = {};
        (reply.conflicts || []).forEach(function (c) { openConflicts[c.id] = true; });
      }, function () {});
    });
  }

  // Offline, the browser says so: wait for the online event rather than fail a request.
  function replay() {
    if (navigator.onLine === false) return render();
    return Outbox.replay().then(function (summary) {
      retryMs = RETRY_FIRST_MS;
      return refreshConflicts().then(function () { return render(); }).then(function () { return summary; });
    }, function () {
      scheduleRetry();
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
  // Saving: the edit form goes through the outbox.

  function showSaved(form, op, message) {
    var main = document.getElementById("main");
    main.textContent = "";
    main.appendChild(el("h1", {}, op.title || op.slug));
    main.appendChild(el("p", { class: "notice", role: "status" }, message));
    main.appendChild(el("pre", { class: "pending-body" }, op.body));
    if (op.slug) main.appendChild(el("p", {})).appendChild(el("a", { href: "/wiki/" + op.slug }, "Back to the page"));
  }

  function showError(form, text) {
    var old = form.parentNode.querySelector(".error[data-outbox]");
    if (old) old.remove();
    var p = el("p", { class: "error", role: "alert", "data-outbox": "" }, text);
    form.parentNode.insertBefore(p, form);
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
      body: String(data.get("body") || ""), summary: String(data.get("summary") || ""), account: account()
    };
    if (!fields.slug && !fields.title) return showError(form, "Give the new page a title.");
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    Outbox.setMeta("account", account())
      .then(function () { return Outbox.setMeta("csrf", csrfToken()); })
      .then(function () { return Outbox.add(fields); })
      .then(function (op) {
        askBackgroundSync();
        if (navigator.onLine === false) return Promise.reject(op);
        return Outbox.replay().then(function (summary) {
          var result = summary.results.filter(function (r) { return r.op_id === op.op_id; })[0];
          if (summary.auth_needed) {
            showSaved(form, op, "Saved on this device. Your session has ended: log in again and it will be sent.");
          } else if (!result) {
            showSaved(form, op, "Saved on this device; it will sync when the connection allows.");
          } else if (result.status === "conflict" || result.first_status === "conflict") {
            location.assign("/conflicts/" + encodeURIComponent(result.conflict_id));
          } else if (result.status === "rejected") {
            return Outbox.remove(op.op_id).then(function () {
              showError(form, result.message || result.reason || "The server refused this change.");
              if (button) button.disabled = false;
            });
          } else {
            if (result.status === "merged") {
              sessionStorage.setItem("cp-flash", "Your edit was merged with changes made meanwhile" +
                (result.merged_with && result.merged_with.length ? " by " + result.merged_with.join(", ") : "") + ".");
            }
            location.assign("/wiki/" + encodeURIComponent(result.slug));
          }
          return render();
        }, function () {
          scheduleRetry();
          showSaved(form, op, "Saved on this device and waiting to sync: there is no connection right now.");
          return render();
        });
      })
      .catch(function (err) {
        if (err && err.op_id) {
          showSaved(form, err, "Saved on this device and waiting to sync: there is no connection right now.");
          return render();
        }
        if (button) button.disabled = false;
        showError(form, "Could not save on this device (" + (err && err.name || "storage error") +
                        "); your text is still in the form.");
      });
  }

  // Continue from one's own waiting edit rather than from the older server copy.
  function prefillEditForm() {
    var match = location.pathname.match(/^\/wiki\/([^/]+)\/edit$/);
    var textarea = document.querySelector(".edit-form textarea[name=body]");
    if (!match || !textarea) return;
    var slug = decodeURIComponent(match[1]);
    Outbox.all().then(function (ops) {
      var mine = ops.filter(function (op) { return op.slug === slug && op.state === "pending" && op.account === account(); });
      if (!mine.length) return;
      textarea.value = mine[mine.length - 1].body;
      var note = el("p", { class: "notice", role: "status" }, "This is your edit still waiting to sync.");
      textarea.parentNode.insertBefore(note, textarea.previousElementSibling);
    });
  }

  function showFlash() {
    var text = sessionStorage.getItem("cp-flash");
    var main = document.getElementById("main");
    if (!text || !main) return;
    sessionStorage.removeItem("cp-flash");
    main.insertBefore(el("p", { class: "notice", role: "status" }, text), main.firstChild);
  }

  function start() {
    var token = csrfToken();
    shownAccount = account();
    showFlash();
    Outbox.setMeta("account", account())
      .then(function () { return token ? Outbox.setMeta("csrf", token) : null; })
      .then(function () {
        prefillEditForm();
        return replay();
      });
  }

  document.addEventListener("submit", onSubmit, true);
  window.addEventListener("online", function () { retryMs = RETRY_FIRST_MS; replay(); });
  // A boosted navigation is a new page without a new start: logging in there must send what waits.
  var shownAccount = null;
  document.addEventListener("htmx:afterSettle", function () {
    if (account() !== shownAccount) { start(); return; }
    render();
    prefillEditForm();
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
