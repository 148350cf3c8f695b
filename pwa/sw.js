// Commonplace service worker (issue #4): precaches the app shell, keeps every page the reader
// loads, and answers from the device when the network is slow or gone. Served from /sw.js so that
// its scope is the whole site. The server puts `BUILD` in front of this file
// (server/controllers/shell.py): the version, the shell's hashed URLs, and the files cached on use.
/* global BUILD, OfflineStore, CommonplaceOutbox, CommonplaceSlugs */

importScripts(BUILD.store, BUILD.outbox, BUILD.slugs);

const CACHE_PREFIX = "commonplace-";
const SHELL_CACHE = CACHE_PREFIX + "shell-" + BUILD.version;
// Saved pages outlive shell versions: this name changes only if saved pages had to be dropped.
const PAGES_CACHE = CACHE_PREFIX + "pages-v1";
// Every cache this version uses; activate deletes the other commonplace-* ones.
const CURRENT_CACHES = [SHELL_CACHE, PAGES_CACHE];
const OFFLINE_URL = "/offline";
const FRAME_URL = "/offline/page";
const EDIT_FRAME_URL = "/offline/edit";
const NEW_PAGE_URL = "/new";
// Past this, a saved copy beats waiting on a 2G connection that may never answer.
const NETWORK_TIMEOUT_MS = 3000;
// A page not saved on the device waits this long from the tap, then the reader is told the server is not
// answering (issue #10: a server that accepts connections but never answers hung the tap for 40 s).
const FALLBACK_TIMEOUT_MS = 3500;
// What the last attempt met: the banner tells them apart.
const OFFLINE = "offline";
const SLOW = "slow";
// The source of a page opened while signed in, kept so that it can be edited offline: no rendered HTML.
const SOURCE_FIELDS = "slug,title,rev,body";
const BANNER_MARK = "<!--offline-banner-->";
// Pages opened are kept up to this many, the least recently opened dropped first; pages kept on
// purpose or downloaded live in IndexedDB and are never dropped.
const MAX_OPENED_PAGES = 1000;
const SAVED_AT = "x-commonplace-saved-at";
const SAVED_TITLE = "x-commonplace-title";

self.addEventListener("install", (event) => {
  // No skipWaiting(): a new version waits until the reader accepts the update (SKIP_WAITING below),
  // so open pages never run against caches they were not built for.
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => Promise.all([
    // Pages bypass the HTTP cache ("reload"), which may hold an older shell, and are asked for without
    // cookies: the same for every reader, never showing one account's name to another.
    cache.addAll(BUILD.shell.map((url) => new Request(url, url.startsWith("/static/") ? {}
      : { cache: "reload", credentials: "omit" }))),
    carryLazyFiles(cache),
  ])));
});

// Files cached on first use (offline search, the download page) stay available offline across an update.
function carryLazyFiles(cache) {
  return Promise.all(BUILD.lazy.map((url) => caches.match(url).then((found) => found && cache.put(url, found))));
}

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names
      .filter((name) => name.startsWith(CACHE_PREFIX) && !CURRENT_CACHES.includes(name))
      .map((name) => caches.delete(name))))
    .then(() => self.clients.claim())
    .then(keepOpenPages));
});

// The first page was loaded before any service worker ran: keep it too, from the HTTP cache
// (force-cache: no second download), so that it reloads offline.
function keepOpenPages() {
  return self.clients.matchAll({ type: "window" }).then((windows) => Promise.all(windows.map((client) => {
    const url = new URL(client.url);
    if (url.origin !== self.location.origin) return null;
    return caches.match(url.href, { cacheName: PAGES_CACHE, ignoreVary: true }).then((saved) => saved || fetch(
      url.href, { cache: "force-cache", credentials: "same-origin" }
    ).then((response) => savePage(url, response)).catch(() => null));
  })));
}

// Edits waiting in the outbox (issue #5) go out when the browser says the network is back, even with
// no page open; without Background Sync the pages replay on start and on the online event.
self.addEventListener("sync", (event) => {
  if (event.tag === CommonplaceOutbox.SYNC_TAG) event.waitUntil(CommonplaceOutbox.replay());
});

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "SKIP_WAITING") self.skipWaiting();
  if (data.type === "REFRESH_PAGES") event.waitUntil(refreshPages(data.urls || []));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" || isBoostedPageLoad(request)) {
    event.respondWith(loadPage(event, request, url));
  } else if (url.pathname.startsWith("/static/")) {
    event.respondWith(staticFile(request, url));
  }
  // Everything else (the API, htmx fragments) goes to the network untouched.
});

// htmx's boosted links and history restores load a whole page's worth. The worker fetches the whole
// page (and keeps it), then hands htmx the fragment the server would have sent: a fragment never
// lands in the cache under the page's URL, yet every visit is kept.
function isBoostedPageLoad(request) {
  const headers = request.headers;
  return headers.get("HX-Request") === "true" &&
    (headers.get("HX-Boosted") === "true" || headers.get("HX-History-Restore-Request") === "true");
}

async function loadPage(event, request, url) {
  const page = await wholePage(event, request, url);
  return request.mode === "navigate" ? page : asFragment(page);
}

async function wholePage(event, request, url) {
  const pageRequest = request.mode === "navigate" ? request
    : new Request(url.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
  let saving = null;
  const network = fetch(pageRequest).then((response) => {
    saving = savePage(url, response.clone());
    return response;
  });
  // Kept alive until the page arrives and is saved, even after a saved copy has answered the tap.
  event.waitUntil(network.then(() => saving, () => null));
  const outcome = network.then((response) => ({ response }), () => ({ failed: true }));
  const first = await Promise.race([outcome, timeout(NETWORK_TIMEOUT_MS)]);
  if (first.response) return answer(first.response);
  const local = await fromDevice(url, first.failed ? OFFLINE : SLOW);
  if (local) return local;
  if (first.timedOut) {
    const second = await Promise.race([outcome, timeout(FALLBACK_TIMEOUT_MS - NETWORK_TIMEOUT_MS)]);
    if (second.response) return answer(second.response);
    return offlinePage(url, second.failed ? OFFLINE : SLOW);
  }
  return offlinePage(url, OFFLINE);
}

function timeout(ms) {
  return new Promise((resolve) => setTimeout(() => resolve({ timedOut: true }), ms));
}

function answer(response) {
  return response.redirected ? redirectTo(response) : response;
}

// What the device can show without the server: the page as last loaded, a page kept or downloaded, an edit
// or create form filled from the saved source, the new-page form, or a page started here still waiting to sync.
async function fromDevice(url, reason) {
  const edit = /^\/wiki\/([^/]+)\/edit$/.exec(url.pathname);
  if (edit) return editForm(url, decodeURIComponent(edit[1]), reason);
  if (url.pathname === NEW_PAGE_URL) return newPageForm(url, reason);
  return savedPage(url, reason);
}

// A rebuilt response cannot carry the URL it was redirected to, so htmx would show the new page under
// the old URL: send the redirect on instead (the follow-up request is kept under its own URL).
function redirectTo(response) {
  return Response.redirect(response.url, 303);
}

// The same cut as the server's fragment (server/templates/base.html): the title, then the body's content.
async function asFragment(response) {
  if (!(response.headers.get("Content-Type") || "").startsWith("text/html")) return response;
  const html = await response.text();
  const title = /<title>[\s\S]*?<\/title>/.exec(html);
  const bodyStart = html.indexOf(">", html.indexOf("<body")) + 1;
  const bodyEnd = html.lastIndexOf("</body>");
  const fragment = title && bodyStart > 0 && bodyEnd > bodyStart
    ? title[0] + "\n" + html.slice(bodyStart, bodyEnd) : html;
  return new Response(fragment, { status: response.status, statusText: response.statusText,
    headers: plainHeaders(response.headers) });
}

// Bodies rebuilt here are already decoded and of a new length.
function plainHeaders(headers) {
  const out = new Headers(headers);
  out.delete("Content-Length");
  out.delete("Content-Encoding");
  return out;
}

async function savePage(url, response) {
  const type = response.headers.get("Content-Type") || "";
  if (response.status !== 200 || response.type !== "basic" || response.redirected || !type.startsWith("text/html")) {
    return;
  }
  const html = await response.text();
  const headers = plainHeaders(response.headers);
  headers.set(SAVED_AT, String(Date.now()));
  // The offline page lists saved pages by title without reading every body.
  const title = /<title>([^<]*?)(?: · [^<·]*)?<\/title>/.exec(html);
  if (title) headers.set(SAVED_TITLE, encodeURIComponent(title[1]));
  const copy = new Response(html, { status: 200, headers });
  const cache = await caches.open(PAGES_CACHE);
  const key = pageKey(url);
  await cache.delete(key, { ignoreVary: true }); // re-inserted last: the cache's order is the visit order
  await cache.put(key, copy);
  const keys = await cache.keys();
  await Promise.all(keys.slice(0, Math.max(0, keys.length - MAX_OPENED_PAGES)).map((old) => cache.delete(old)));
  const slug = slugOf(url);
  if (slug && accountOf(html)) await keepSource(slug);
}

// Someone signed in may edit what they read, offline too (issue #10): keep the page's Markdown beside its
// HTML. About 0.7 kB for a typical page, and a 304 when the saved source is still the head.
async function keepSource(slug) {
  try {
    const saved = await OfflineStore.getSource(slug);
    const response = await fetch("/api/pages/" + encodeURIComponent(slug) + "?fields=" + SOURCE_FIELDS, {
      credentials: "same-origin", headers: saved ? { "If-None-Match": '"' + saved.rev + '"' } : {},
    });
    if (response.status === 200) await OfflineStore.saveSource(await response.json());
  } catch (error) {
    // The page itself is saved; its source is fetched again on the next visit.
  }
}

function accountOf(html) {
  const found = /data-account="([^"]*)"/.exec(html);
  return found ? found[1] : "";
}

function pageKey(url) {
  return url.origin + url.pathname + url.search;
}

async function refreshPages(urls) {
  const cache = await caches.open(PAGES_CACHE);
  await Promise.all(urls.map(async (href) => {
    const url = new URL(href, self.location.origin);
    if (!(await cache.match(pageKey(url), { ignoreVary: true }))) return;
    const response = await fetch(url.href, { cache: "no-cache", credentials: "same-origin" });
    await savePage(url, response);
  }));
}

// A saved copy: the page as last loaded, else the page kept or downloaded as data (OfflineStore), else a
// page started on this device and still waiting to sync.
async function savedPage(url, reason) {
  const kept = await caches.match(pageKey(url), { cacheName: PAGES_CACHE, ignoreVary: true });
  if (kept) {
    return withBanner(await kept.text(), kept.headers, url, reason, Number(kept.headers.get(SAVED_AT)) || Date.now());
  }
  const slug = slugOf(url);
  if (!slug) return null;
  const page = await OfflineStore.getPage(slug).catch(() => null);
  if (page) {
    return fromFrame(FRAME_URL, {
      TITLE: escapeHtml(page.title), SLUG: encodeURIComponent(page.slug), SLUG_TEXT: escapeHtml(page.slug), HTML: page.html,
      UPDATED: (page.updated_at || "").slice(0, 16).replace("T", " "),
    }, url, reason, page.saved_at);
  }
  const started = await pendingCreate(slug);
  if (!started) return null;
  const waiting = '<p class="notice pending-page" role="status">You started this page on this device. It is ' +
    "waiting to sync: nobody else can read it until the connection returns and the server accepts it.</p>" +
    '<pre class="pending-body">' + escapeHtml(started.body) + "</pre>";
  const response = await fromFrame(FRAME_URL, {
    TITLE: escapeHtml(started.title || slug), SLUG: encodeURIComponent(slug), SLUG_TEXT: escapeHtml(slug),
    HTML: waiting, UPDATED: started.created_at.slice(0, 16).replace("T", " "),
  }, url, reason, null, true);
  // Nothing on the server to keep offline yet.
  return response && new Response((await response.text()).replace(/<button[^>]*keep-offline[^>]*>[^<]*<\/button>/, ""),
    { status: 200, headers: response.headers });
}

// The newest create of this page still in the outbox (the author's own, if the account is known).
async function pendingCreate(slug) {
  const [ops, account] = await Promise.all([
    CommonplaceOutbox.all().catch(() => []), CommonplaceOutbox.getMeta("account").catch(() => ""),
  ]);
  const creates = ops.filter((op) => op.slug === slug && !op.base_rev && op.state === "pending" &&
    (op.account || "") === (account || ""));
  return creates.length ? creates[creates.length - 1] : null;
}

// The edit form for a page whose source is on the device, or the create form for a page nobody has here.
// sync-ui.js then fills the text from the author's own waiting edit, if any, and queues the save.
async function editForm(url, slug, reason) {
  const source = await OfflineStore.getSource(slug).catch(() => null);
  const waitNote = reason === SLOW ? "The server is not answering yet. Saving keeps your %s on this device and " +
    "sends it as soon as the server answers." : "You are offline. Saving keeps your %s on this device and sends it " +
    "when the connection returns.";
  // An edit form opened online after the source was saved is the newer copy: it answers instead.
  const form = await caches.match(pageKey(url), { cacheName: PAGES_CACHE, ignoreVary: true });
  if (form && (!source || Number(form.headers.get(SAVED_AT)) > source.saved_at)) return savedPage(url, reason);
  if (source) {
    return editFrame({ heading: "Editing", title: source.title, slug, baseRev: source.rev, body: source.body,
      create: false, note: waitNote.replace("%s", "edit") }, url, reason, source.saved_at);
  }
  const started = await pendingCreate(slug);
  if (!started && await heldOnDevice(slug)) {
    // Saved to read (opened while logged out) but without its text to edit: the cached form, if any.
    return savedPage(url, reason);
  }
  const asked = url.searchParams.get("title");
  const title = started ? started.title : cleanTitleOr(asked, slug.replace(/-/g, " "));
  return editFrame({ heading: "Creating", title, slug, baseRev: "", body: "", create: true,
    note: waitNote.replace("%s", "new page") }, url, reason, null);
}

function cleanTitleOr(title, fallback) {
  try {
    return title ? CommonplaceSlugs.cleanTitle(title) : fallback;
  } catch (error) {
    return fallback;
  }
}

async function editFrame(form, url, reason, savedAt) {
  const csrf = await CommonplaceOutbox.getMeta("csrf").catch(() => "");
  const frame = await caches.match(EDIT_FRAME_URL, { cacheName: SHELL_CACHE, ignoreVary: true });
  if (!frame) return null;
  let html = await frame.text();
  if (!form.create) html = html.replace(/<!--create-->[\s\S]*?<!--\/create-->/, "");
  return fromHtml(fill(html, {
    HEADING: form.heading, TITLE: escapeHtml(form.title), SLUG: encodeURIComponent(form.slug),
    BASE_REV: escapeHtml(form.baseRev), BODY: escapeHtml(form.body), CSRF: escapeHtml(csrf || ""),
    OP_ID: self.crypto.randomUUID(), NOTE: escapeHtml(form.note),
  }), frame.headers, url, reason, savedAt, true);
}

// "New page" offline: the form; with a title, the create form at the page's address, unless the device
// holds a page of that name (then say so, and offer to open or edit it: never overwrite it unawares).
async function newPageForm(url, reason) {
  const shell = await caches.match(NEW_PAGE_URL, { cacheName: SHELL_CACHE, ignoreVary: true });
  if (!shell) return null;
  const title = url.searchParams.get("title");
  let slug = null;
  try {
    slug = title ? await CommonplaceSlugs.slugify(title) : null;
  } catch (error) {
    slug = null;
  }
  if (!slug) return fromHtml(await shell.text(), shell.headers, url, reason, null, true);
  const held = await heldOnDevice(slug);
  if (!held) {
    const target = "/wiki/" + encodeURIComponent(slug) + "/edit?title=" + encodeURIComponent(CommonplaceSlugs.cleanTitle(title));
    return Response.redirect(new URL(target, self.location.origin).href, 303);
  }
  const href = "/wiki/" + encodeURIComponent(slug);
  const exists = '<div class="page-exists" role="alert"><p>A page called “' + escapeHtml(held.title) +
    "” is already on this device" + (held.pending ? ", waiting to sync" : "") + ".</p><p>" +
    '<a href="' + href + '">Open “' + escapeHtml(held.title) + '”</a> · <a href="' + href + '/edit">Edit it</a></p>' +
    "<p>Or give your new page another title:</p></div>";
  return fromHtml((await shell.text()).replace("<!--page-exists-->", exists), shell.headers, url, reason, null, true);
}

// {title, pending} of a page this device holds under `slug`, or null.
async function heldOnDevice(slug) {
  const paths = slug === "welcome" ? ["/", "/wiki/welcome"] : ["/wiki/" + encodeURIComponent(slug)];
  for (const path of paths) {
    const kept = await caches.match(self.location.origin + path, { cacheName: PAGES_CACHE, ignoreVary: true });
    if (kept) return { title: decodeURIComponent(kept.headers.get(SAVED_TITLE) || slug) };
  }
  const page = (await OfflineStore.getPage(slug).catch(() => null)) ||
    (await OfflineStore.getSource(slug).catch(() => null));
  if (page) return { title: page.title };
  const started = await pendingCreate(slug);
  return started ? { title: started.title || slug, pending: true } : null;
}

function slugOf(url) {
  if (url.pathname === "/") return "welcome";
  const match = /^\/wiki\/([^/]+)$/.exec(url.pathname);
  return match ? decodeURIComponent(match[1]) : null;
}

async function fromFrame(frameUrl, values, url, reason, savedAt, madeHere) {
  const frame = await caches.match(frameUrl, { cacheName: SHELL_CACHE, ignoreVary: true });
  if (!frame) return null;
  return fromHtml(fill(await frame.text(), values), frame.headers, url, reason, savedAt, madeHere);
}

// A page built here from the shell, which was fetched without cookies: it names the account signed in on
// this device, as the server would, and sync-ui.js attributes a save made on it to that account.
async function fromHtml(html, headers, url, reason, savedAt, madeHere) {
  const account = await CommonplaceOutbox.getMeta("account").catch(() => "");
  return withBanner(account ? signedIn(html, account) : html, headers, url, reason, savedAt, madeHere);
}

function signedIn(html, account) {
  const name = escapeHtml(account);
  return html.replace('data-account=""', 'data-account="' + name + '"').replace(
    /<span class="guest-links">[\s\S]*?<\/span>/,
    '<a href="/users/' + encodeURIComponent(account) + '">' + name + "</a>");
}

async function offlinePage(url, reason) {
  const page = await caches.match(OFFLINE_URL, { cacheName: SHELL_CACHE, ignoreVary: true });
  if (!page) return Response.error();
  return fromHtml(await page.text(), page.headers, url, reason, null);
}

// Says where the page came from and why: no connection, or a server that has not answered yet. `madeHere`:
// the page is a form or a page waiting to sync that the device made, not a copy of the server's page.
function withBanner(html, headers, url, reason, savedAt, madeHere) {
  const retry = ' <a class="offline-retry" href="' + escapeHtml(url.pathname + url.search) + '">Try again</a>';
  let text;
  if (savedAt) {
    text = reason === SLOW
      ? "slow connection — the server has not answered yet; this copy was saved " + timeAgo(savedAt) + "." + retry
      : "offline — saved " + timeAgo(savedAt);
  } else if (madeHere) {
    text = reason === SLOW ? "slow connection — the server has not answered yet." + retry : "offline — no connection";
  } else {
    text = reason === SLOW
      ? "the server is not answering — this page is not saved on this device." + retry
      : "offline — no connection, and this page is not saved on this device." + retry;
  }
  const banner = '<p class="offline-banner" role="status" data-reason="' + reason + '"' +
    (savedAt ? ' data-saved-at="' + savedAt + '"' : "") + ">" + text + "</p>";
  const out = plainHeaders(headers);
  out.delete(SAVED_AT);
  return new Response(html.replace(BANNER_MARK, banner), { status: 200, headers: out });
}

function fill(template, values) {
  // split/join, not replace(): page HTML may contain "$&" and friends.
  return Object.keys(values).reduce((html, key) => html.split("%%" + key + "%%").join(values[key]), template);
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");
}

function timeAgo(then) {
  const minutes = Math.round((Date.now() - then) / 60000);
  if (minutes < 1) return "just now";
  if (minutes < 60) return minutes + (minutes === 1 ? " minute ago" : " minutes ago");
  const hours = Math.round(minutes / 60);
  if (hours < 48) return hours + (hours === 1 ? " hour ago" : " hours ago");
  return Math.round(hours / 24) + " days ago";
}

// Hashed names never change, so a cached copy is always right; files loaded on demand are kept on use.
async function staticFile(request, url) {
  const cached = await caches.match(request, { ignoreVary: true });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok && BUILD.lazy.includes(url.pathname)) {
    const copy = response.clone();
    caches.open(SHELL_CACHE).then((cache) => cache.put(request, copy));
  }
  return response;
}
