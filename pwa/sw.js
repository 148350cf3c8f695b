// Commonplace service worker (issue #4): precaches the app shell, keeps every page the reader
// loads, and answers from the device when the network is slow or gone. Served from /sw.js so that
// its scope is the whole site. The server puts `BUILD` in front of this file
// (server/controllers/shell.py): the version, the shell's hashed URLs, and the files cached on use.
/* global BUILD, OfflineStore, CommonplaceOutbox */

importScripts(BUILD.store, BUILD.outbox);

const CACHE_PREFIX = "commonplace-";
const SHELL_CACHE = CACHE_PREFIX + "shell-" + BUILD.version;
// Saved pages outlive shell versions: this name changes only if saved pages had to be dropped.
const PAGES_CACHE = CACHE_PREFIX + "pages-v1";
// Every cache this version uses; activate deletes the other commonplace-* ones.
const CURRENT_CACHES = [SHELL_CACHE, PAGES_CACHE];
const OFFLINE_URL = "/offline";
const FRAME_URL = "/offline/page";
// Past this, a saved copy beats waiting on a 2G connection that may never answer.
const NETWORK_TIMEOUT_MS = 3000;
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
  const network = fetch(pageRequest).then((response) => {
    event.waitUntil(savePage(url, response.clone()));
    return response;
  });
  const first = await Promise.race([
    network.then((response) => ({ response }), () => ({ failed: true })),
    new Promise((resolve) => setTimeout(() => resolve({ timedOut: true }), NETWORK_TIMEOUT_MS)),
  ]);
  if (first.response) return first.response.redirected ? redirectTo(first.response) : first.response;
  const saved = await savedPage(url);
  if (saved) return saved;
  if (first.timedOut) {
    try {
      return await network;
    } catch (error) {
      // Fall through to the offline page.
    }
  }
  return offlinePage();
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

// A saved copy: the page as last loaded, else the page kept or downloaded as data (OfflineStore).
async function savedPage(url) {
  const kept = await caches.match(pageKey(url), { cacheName: PAGES_CACHE, ignoreVary: true });
  if (kept) {
    return withBanner(await kept.text(), kept.headers, Number(kept.headers.get(SAVED_AT)) || Date.now());
  }
  const slug = slugOf(url);
  const page = slug && await OfflineStore.getPage(slug).catch(() => null);
  if (!page) return null;
  const frame = await caches.match(FRAME_URL, { cacheName: SHELL_CACHE, ignoreVary: true });
  if (!frame) return null;
  const html = fill(await frame.text(), {
    TITLE: escapeHtml(page.title), SLUG: encodeURIComponent(page.slug), SLUG_TEXT: escapeHtml(page.slug), HTML: page.html,
    UPDATED: (page.updated_at || "").slice(0, 16).replace("T", " "),
  });
  return withBanner(html, frame.headers, page.saved_at);
}

function slugOf(url) {
  if (url.pathname === "/") return "welcome";
  const match = /^\/wiki\/([^/]+)$/.exec(url.pathname);
  return match ? decodeURIComponent(match[1]) : null;
}

async function offlinePage() {
  const page = await caches.match(OFFLINE_URL, { cacheName: SHELL_CACHE, ignoreVary: true });
  if (!page) return Response.error();
  return withBanner(await page.text(), page.headers, null);
}

function withBanner(html, headers, savedAt) {
  const text = savedAt ? "offline — saved " + timeAgo(savedAt) : "offline — this page is not saved on this device";
  const banner = '<p class="offline-banner" role="status"' +
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
