// The outbox: every edit made in this browser waits here, in IndexedDB, until the server acknowledges it
// (DESIGN.md, sync rules 1, 5, 6 and 8). A plain script shared by the pages and the service worker
// (importScripts), so it touches no DOM; it hangs everything off self.CommonplaceOutbox.
//
// An op is a plain object made in one place (makeOp): {op_id, type, slug, title, base_rev, after_op, body,
// summary, account, created_at, state, result, page_title}. state is "pending" until the server answers; an answer of
// applied, merged or duplicate removes it; conflict and rejected keep it, marked, for its author to see.
// Only that answer, the server saying its conflict is settled, or the author's deliberate discard, ever
// removes an op.
(function (scope) {
  "use strict";

  var DB_NAME = "commonplace-outbox";
  var DB_VERSION = 1;
  var OPS = "ops";    // key: an increasing number (the order ops were made in); index op_id
  // key -> value: device_id, csrf (the page's CSRF token), account, auth_needed, max_page_bytes, and
  // "acked:" + slug, the author's last acknowledged op on that page ({op_id, rev, body, account, older}).
  var META = "meta";
  var PUSH_URL = "/api/sync/push";
  var OPS_PER_PUSH = 50;
  // A push that hangs (a server that accepts and never answers) must not hold the replay lock for ever:
  // every later replay would wait behind it (issue 10, item 13). The wait allows for the upload at 5 kB/s,
  // so a slow 2G link is never cut off mid-send.
  var PUSH_TIMEOUT_MS = 30000;
  var PUSH_MS_PER_BYTE = 0.2;
  var DEFAULT_MAX_PAGE_BYTES = 200000;
  var DONE = { applied: true, merged: true, duplicate: true };
  // How many of a page's older revisions an acknowledged record remembers as "before my last edit".
  var OLDER_KEPT = 10;

  var opening = null;

  function request(req) {
    return new Promise(function (resolve, reject) {
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  function open() {
    if (!opening) {
      opening = new Promise(function (resolve, reject) {
        var req = indexedDB.open(DB_NAME, DB_VERSION);
        req.onupgradeneeded = function () {
          var db = req.result;
          var ops = db.createObjectStore(OPS, { keyPath: "seq", autoIncrement: true });
          ops.createIndex("op_id", "op_id", { unique: true });
          db.createObjectStore(META);
        };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { opening = null; reject(req.error); };
      });
    }
    return opening;
  }

  // Runs fn(stores...) in one transaction and resolves when it has committed, so a resolved add() is on disk.
  function transact(names, mode, fn) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(names, mode);
        var value;
        Promise.resolve(fn.apply(null, names.map(function (n) { return tx.objectStore(n); })))
          .then(function (v) { value = v; }, function (err) { tx.abort(); reject(err); });
        tx.oncomplete = function () { resolve(value); };
        tx.onabort = tx.onerror = function () { reject(tx.error || new Error("outbox transaction failed")); };
      });
    });
  }

  function newId() {
    if (scope.crypto && scope.crypto.randomUUID) return scope.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    scope.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  function getMeta(key) {
    return transact([META], "readonly", function (meta) { return request(meta.get(key)); });
  }

  function setMeta(key, value) {
    return transact([META], "readwrite", function (meta) { return request(meta.put(value, key)); });
  }

  function deviceId() {
    return getMeta("device_id").then(function (id) {
      if (id) return id;
      id = "browser-" + newId();
      return setMeta("device_id", id).then(function () { return id; });
    });
  }

  // ---------------------------------------------------------------------------------------------------
  // Sizes, in the server's words (sync/apply.py): the same message online and offline.

  function byteLength(text) {
    return new TextEncoder().encode(text).length;
  }

  // The server's rule (sync.vocabulary.format_size): halves round up, tenths of a MB from 1,000,000 bytes.
  function formatSize(bytes) {
    return bytes < 1000000 ? Math.round(bytes / 1000) + " kB" : (Math.round(bytes / 1e5) / 10).toFixed(1) + " MB";
  }

  function tooLargeMessage(bytes, limit) {
    return "The page is too large (" + formatSize(bytes) + "; the limit is " + formatSize(limit) + ").";
  }

  function maxPageBytes() {
    return getMeta("max_page_bytes").then(function (n) { return Number(n) || DEFAULT_MAX_PAGE_BYTES; });
  }

  // ---------------------------------------------------------------------------------------------------
  // Building ops.

  function ackedKey(slug) {
    return "acked:" + slug;
  }

  // The one op shape every save uses. `after` is the author's own earlier op this edit continues, if any:
  // a waiting op (the new one names it and keeps the chain's base, and the server bases it on what that
  // op produced) or an acknowledged one (its revision is the new base).
  function makeOp(fields, after) {
    var op = {
      op_id: newId(), type: "edit", slug: fields.slug || null, title: fields.title || null,
      base_rev: fields.base_rev || null, after_op: null, body: fields.body, summary: fields.summary || "",
      account: fields.account || "", created_at: new Date().toISOString(), state: "pending", result: null,
      page_title: fields.page_title || null  // shown in the sync panel; never sent
    };
    if (after && after.state === "pending") {
      op.after_op = after.op_id;
      op.base_rev = after.base_rev;
    } else if (after) {
      op.after_op = after.op_id;
      op.base_rev = after.rev;
    }
    return op;
  }

  // The author's latest waiting op on a page, else their last acknowledged one if the form was built from
  // a copy older than it (a saved page, offline): that is the text the person was shown and continued.
  function continuedOp(ops, acked, slug, account, baseRev) {
    if (!slug) return null;
    var waiting = ops.filter(function (op) {
      return op.slug === slug && op.account === account && op.state === "pending";
    });
    if (waiting.length) return waiting[waiting.length - 1];
    if (acked && acked.account === account && baseRev && baseRev !== acked.rev &&
        acked.older.indexOf(baseRev) >= 0) {
      return acked;
    }
    return null;
  }

  function add(fields) {
    return transact([OPS, META], "readwrite", function (ops, meta) {
      return Promise.all([request(ops.getAll()), fields.slug ? request(meta.get(ackedKey(fields.slug))) : null])
        .then(function (got) {
          var op = makeOp(fields, continuedOp(got[0], got[1], fields.slug, fields.account || "",
                                              fields.base_rev || null));
          return request(ops.add(op)).then(function () { return op; });
        });
    });
  }

  // What an edit form for this page should start from: the author's own latest text when it is newer than
  // the copy the form was built from ({body, waiting}), else null.
  function latestOwnText(slug, account, baseRev) {
    return Promise.all([all(), getMeta(ackedKey(slug))]).then(function (got) {
      var op = continuedOp(got[0], got[1], slug, account, baseRev);
      return op ? { body: op.body, waiting: op.state === "pending" } : null;
    });
  }

  function all() {
    return transact([OPS], "readonly", function (ops) { return request(ops.getAll()); });
  }

  function withOp(ops, opId, fn) {
    return request(ops.index("op_id").getKey(opId)).then(function (key) {
      return key === undefined ? false : fn(key);
    });
  }

  function remove(opId) {
    return transact([OPS], "readwrite", function (ops) {
      return withOp(ops, opId, function (key) { return request(ops.delete(key)).then(function () { return true; }); });
    });
  }

  function update(opId, changes) {
    return transact([OPS], "readwrite", function (ops) {
      return withOp(ops, opId, function (key) {
        return request(ops.get(key)).then(function (op) {
          return request(ops.put(Object.assign(op, changes))).then(function () { return true; });
        });
      });
    });
  }

  // The server holds a conflict's text once it says the conflict is settled: that is its acknowledgment.
  function removeConflict(conflictId) {
    return all().then(function (ops) {
      var found = ops.filter(function (op) {
        return op.state === "conflict" && op.result && op.result.conflict_id === conflictId;
      });
      return Promise.all(found.map(function (op) { return remove(op.op_id); })).then(function () {
        return found.length;
      });
    });
  }

  // Remembers the author's last acknowledged text on a page, so that a form built from an older saved copy
  // starts from it. A merged result's revision holds more than the op's text: forget instead.
  function rememberAcked(meta, op, result, status) {
    var key = ackedKey(result.slug || op.slug);
    return request(meta.get(key)).then(function (old) {
      // An earlier op that a later one of its chain already carried: the later op's record stands.
      if (result.superseded_by) return null;
      if (status !== "applied" || !result.rev) return request(meta.delete(key));
      var older = [op.base_rev].concat(old && old.account === op.account ? [old.rev].concat(old.older) : [])
        .filter(function (rev, i, list) { return rev && rev !== result.rev && list.indexOf(rev) === i; })
        .slice(0, OLDER_KEPT);
      return request(meta.put({ op_id: op.op_id, rev: result.rev, body: op.body, account: op.account,
                                older: older }, key));
    });
  }

  // What the server said about one op, applied to the outbox.
  function settle(op, result) {
    var status = result.status === "duplicate" && result.first_status ? result.first_status : result.status;
    if (DONE[status]) {
      return transact([OPS, META], "readwrite", function (ops, meta) {
        return withOp(ops, result.op_id, function (key) { return request(ops.delete(key)); })
          .then(function () { return rememberAcked(meta, op, result, status); });
      });
    }
    if (status === "conflict") return update(result.op_id, { state: "conflict", result: result });
    return update(result.op_id, { state: "rejected", result: result });
  }

  function refuse(op, reason, message) {
    var result = { op_id: op.op_id, status: "rejected", reason: reason, message: message, slug: op.slug };
    return update(op.op_id, { state: "rejected", result: result }).then(function () { return result; });
  }

  // An error a replay ends with: kind "offline" (no answer at all) or "busy" (the server answered 429 or
  // 5xx: the edit stays and is sent later).
  function replayError(kind, detail) {
    var err = new Error(detail || kind);
    err.kind = kind;
    return err;
  }

  function post(body, csrf) {
    var headers = { "Content-Type": "application/json", "Accept": "application/json" };
    if (csrf) headers["X-CSRF-Token"] = csrf;
    var controller = scope.AbortController ? new AbortController() : null;
    var timer = controller && setTimeout(function () { controller.abort(); },
                                         PUSH_TIMEOUT_MS + body.length * PUSH_MS_PER_BYTE);
    return fetch(PUSH_URL, { method: "POST", credentials: "same-origin", headers: headers, body: body,
                             signal: controller ? controller.signal : undefined })
      .then(function (response) {
        clearTimeout(timer);
        return response;
      }, function (err) {
        clearTimeout(timer);
        throw replayError("offline", String(err && err.message || err));
      });
  }

  function wireOp(op) {
    var wire = { op_id: op.op_id, type: op.type, slug: op.slug, title: op.title, base_rev: op.base_rev,
                 body: op.body, summary: op.summary };
    if (op.after_op) wire.after_op = op.after_op;
    return wire;
  }

  function detailOf(response) {
    return response.json().then(function (reply) { return reply && (reply.detail || reply.message); },
                                function () { return null; });
  }

  // Sends this account's pending ops, oldest first (so in order per page), in batches. Resolves to
  // {sent, results, auth_needed}; rejects with a replayError so the caller backs off. One op the server
  // refuses never holds back the others: a batch answered 413 or 400 is sent again op by op, and the one
  // op still refused is marked so, with its text kept. Ops queued under another account stay for that
  // account (DESIGN.md: an op belongs to its author).
  function replayOnce() {
    return Promise.all([all(), getMeta("account"), getMeta("csrf"), deviceId(), maxPageBytes()]).then(function (got) {
      var account = got[1] || "";
      var limit = got[4];
      var pending = got[0].filter(function (op) { return op.state === "pending" && op.account === account; });
      var summary = { sent: 0, results: [], auth_needed: false };

      function send(batch) {
        var body = JSON.stringify({ device_id: got[3], account: account, ops: batch.map(wireOp) });
        return post(body, got[2]).then(function (response) {
          if (response.status === 401 || response.status === 403) {
            summary.auth_needed = true;
            return setMeta("auth_needed", true).then(function () { return false; });
          }
          if (response.status === 413 || response.status === 400) {
            if (batch.length > 1) return sendEach(batch);
            var op = batch[0];
            var refused = response.status === 413
              ? refuse(op, "too_large", tooLargeMessage(byteLength(op.body), limit))
              : detailOf(response).then(function (detail) {
                return refuse(op, "invalid_op", "The server could not read this change" +
                              (detail ? ": " + detail : ".") + " Copy your text and try again.");
              });
            return refused.then(function (result) { summary.results.push(result); return true; });
          }
          if (!response.ok) {
            var busy = replayError("busy", "push answered " + response.status);
            busy.retryAfterMs = (Number(response.headers.get("Retry-After")) || 0) * 1000;
            throw busy;
          }
          return response.json().then(function (reply) {
            var byId = {};
            batch.forEach(function (op) { byId[op.op_id] = op; });
            return reply.results.reduce(function (chain, result) {
              return chain.then(function () { return settle(byId[result.op_id] || {}, result); });
            }, Promise.resolve()).then(function () {
              summary.sent += batch.length;
              summary.results = summary.results.concat(reply.results);
              return setMeta("auth_needed", false).then(function () { return true; });
            });
          });
        });
      }

      function sendEach(batch) {
        return batch.reduce(function (chain, op) {
          return chain.then(function (goOn) { return goOn ? send([op]) : false; });
        }, Promise.resolve(true));
      }

      function next() {
        var batch = pending.splice(0, OPS_PER_PUSH);
        if (!batch.length) return summary;
        return send(batch).then(function (goOn) { return goOn ? next() : summary; });
      }
      return next();
    });
  }

  // One replay at a time across tabs and the service worker where the browser has Web Locks; where it
  // has not, a second replay only repeats ops, which the server answers as duplicates. {now: true} (after
  // logging in again) takes the lock from whoever holds it, a service worker's replay started with the old
  // session say, rather than wait behind it: at worst an op goes twice and comes back a duplicate.
  function replay(options) {
    if (scope.navigator && scope.navigator.locks) {
      var now = Boolean(options && options.now);
      return scope.navigator.locks.request("commonplace-outbox", { steal: now }, replayOnce);
    }
    return replayOnce();
  }

  scope.CommonplaceOutbox = {
    add: add, all: all, remove: remove, update: update, replay: replay, getMeta: getMeta, setMeta: setMeta,
    deviceId: deviceId, removeConflict: removeConflict, latestOwnText: latestOwnText, byteLength: byteLength,
    tooLargeMessage: tooLargeMessage, maxPageBytes: maxPageBytes, SYNC_TAG: "commonplace-outbox"
  };
})(self);
