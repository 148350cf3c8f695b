// Commonplace service worker: for now it only answers failed navigations with
// the offline page. Served from /sw.js so that its scope can be the whole site.

const CACHE_PREFIX = "commonplace-";
const VERSION = "v1";
const SHELL_CACHE = CACHE_PREFIX + "shell-" + VERSION;
// Every cache this version uses; activate deletes the other commonplace-* ones.
const CURRENT_CACHES = [SHELL_CACHE];
const OFFLINE_URL = "/offline";

self.addEventListener("install", (event) => {
  // No skipWaiting(): a new version waits until the reader accepts the update,
  // so open pages never run against caches they were not built for.
  // cache: "reload" bypasses the HTTP cache, which may hold an older page.
  event.waitUntil(
    caches.open(SHELL_CACHE).then((cache) =>
      cache.addAll([new Request(OFFLINE_URL, { cache: "reload" })])
    )
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys().then((names) =>
      Promise.all(
        names
          .filter((name) => name.startsWith(CACHE_PREFIX) && !CURRENT_CACHES.includes(name))
          .map((name) => caches.delete(name))
      )
    )
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  // Only whole-page loads: htmx fragments and assets go to the network untouched.
  if (request.mode !== "navigate" || request.method !== "GET") return;
  event.respondWith(
    fetch(request).catch(() =>
      // ignoreVary: the page is the same whatever Vary (HX-Request, Cookie) says.
      caches
        .match(OFFLINE_URL, { cacheName: SHELL_CACHE, ignoreVary: true })
        .then((response) => response || Response.error())
    )
  );
});
