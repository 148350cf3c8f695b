// The outbox: every edit made in this browser waits here, in IndexedDB, until the server acknowledges it
// (DESIGN.md, sync rules 1, 5 and 6). A plain script shared by the pages and the service worker
// (importScripts), so it touches no DOM; it hangs everything off self.CommonplaceOutbox.
//
// An op is a plain object: {op_id, type, slug, title, base_rev, body, summary, account, created_at, state,
// result}. state is "pending" until the server answers; an answer of applied, merged or duplicate removes
// it; conflict and rejected keep it, marked, for its author to see. Only that answer, or the author's
// deliberate discard, ever removes an op.
(function (scope) {
  "use strict";

  var DB_NAME = "commonplace-outbox";
  var DB_VERSION = 1;
  var OPS = "ops";    // key: an increasing number (the order ops were made in); index op_id
  var META = "meta";  // key -> value: device_id, csrf (the page's CSRF token), account, auth_needed
  var PUSH_URL = "/api/sync/push";
  var OPS_PER_PUSH = 50;
  var DONE = { applied: true, merged: true, duplicate: true };

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

  function add(fields) {
    var op = {
      op_id: newId(), type: "edit", slug: fields.slug || null, title: fields.title || null,
      base_rev: fields.base_rev || null, body: fields.body, summary: fields.summary || "",
      account: fields.account || "", created_at: new Date().toISOString(), state: "pending", result: null
    };
    return transact([OPS], "readwrite", function (ops) { return request(ops.add(op)); })
      .then(function () { return op; });
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

  // What the server said about one op, applied to the outbox.
  function settle(result) {
    var status = result.status === "duplicate" && result.first_status ? result.first_status : result.status;
    if (DONE[status]) return remove(result.op_id);
    if (status === "conflict") return update(result.op_id, { state: "conflict", result: result });
    return update(result.op_id, { state: "rejected", result: result });
  }

  // Sends this account's pending ops, oldest first (so in order per page), in batches. Resolves to
  // {sent, results, auth_needed}; rejects on a network or server failure so the caller backs off.
  // Ops queued under another account stay for that account (DESIGN.md: an op belongs to its author).
  function replayOnce() {
    return Promise.all([all(), getMeta("account"), getMeta("csrf"), deviceId()]).then(function (got) {
      var account = got[1] || "";
      var pending = got[0].filter(function (op) { return op.state === "pending" && op.account === account; });
      var summary = { sent: 0, results: [], auth_needed: false };
      function next() {
        var batch = pending.splice(0, OPS_PER_PUSH);
        if (!batch.length) return summary;
        var headers = { "Content-Type": "application/json", "Accept": "application/json" };
        if (got[2]) headers["X-CSRF-Token"] = got[2];
        var ops = batch.map(function (op) {
          return { op_id: op.op_id, type: op.type, slug: op.slug, title: op.title, base_rev: op.base_rev,
                   body: op.body, summary: op.summary };
        });
        return fetch(PUSH_URL, { method: "POST", credentials: "same-origin", headers: headers,
                                 body: JSON.stringify({ device_id: got[3], account: account, ops: ops }) })
          .then(function (response) {
            if (response.status === 401 || response.status === 403) {
              summary.auth_needed = true;
              return setMeta("auth_needed", true).then(function () { return summary; });
            }
            if (!response.ok) throw new Error("push answered " + response.status);
            return response.json().then(function (reply) {
              return reply.results.reduce(function (chain, result) {
                return chain.then(function () { return settle(result); });
              }, Promise.resolve()).then(function () {
                summary.sent += batch.length;
                summary.results = summary.results.concat(reply.results);
                return setMeta("auth_needed", false).then(next);
              });
            });
          });
      }
      return next();
    });
  }

  // One replay at a time across tabs and the service worker where the browser has Web Locks; where it
  // has not, a second replay only repeats ops, which the server answers as duplicates.
  function replay() {
    if (scope.navigator && scope.navigator.locks) {
      return scope.navigator.locks.request("commonplace-outbox", replayOnce);
    }
    return replayOnce();
  }

  scope.CommonplaceOutbox = {
    add: add, all: all, remove: remove, update: update, replay: replay, getMeta: getMeta, setMeta: setMeta,
    deviceId: deviceId, SYNC_TAG: "commonplace-outbox"
  };
})(self);
