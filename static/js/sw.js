/*
 * Service worker of Cổng Mặt trận số, served at /sw.js with scope "/".
 *
 * 1. Sends the petitions stored in the IndexedDB outbox (network was down
 *    when the citizen pressed "Gửi") on Background Sync "petition-outbox"
 *    and on a {type: "flush"} message from a page, and tells open pages what
 *    arrived ("petition-sent") and what the server refused ("petition-refused":
 *    the page puts it back into the form with the server's messages). The
 *    code that stores and sends them is shared with the page: /static/js/outbox.js.
 * 2. Caches the static assets (css, js, Leaflet) on install and serves
 *    /static/ cache-first. Everything else (pages, API, POSTs) goes straight
 *    to the network and is never cached.
 *
 * The pages name static files by content-hashed addresses
 * (/static/css/portal.<digest>.css); the /sw.js route puts them in
 * self.STATIC_URLS (plain name → address) above this file, so the worker
 * caches what the pages ask for. Leaflet's stylesheet asks for its images by
 * their plain names, relative to itself: those stay plain.
 *
 * Bump VERSION whenever this caching changes; the page registers the worker
 * as /sw.js?v=<hash of the static files>, and the query string is part of
 * the cache name, so new files get a new cache.
 */
/* global PetitionOutbox */
var STATIC_URLS = self.STATIC_URLS || {};
function staticUrl(name) { return STATIC_URLS[name] || '/static/' + name; }

importScripts(staticUrl('js/outbox.js'));

var VERSION = 'v2';
var BUILD = new URLSearchParams(self.location.search).get('v');
var CACHE = 'portal-static-' + VERSION + (BUILD ? '-' + BUILD : '');
var ASSETS = [
  staticUrl('css/portal.css'),
  staticUrl('css/petition.css'),
  staticUrl('js/petition-form.js'),
  staticUrl('js/outbox.js'),
  staticUrl('vendor/leaflet/leaflet.js'),
  staticUrl('vendor/leaflet/leaflet.css'),
  '/static/vendor/leaflet/images/marker-icon.png',
  '/static/vendor/leaflet/images/marker-icon-2x.png',
  '/static/vendor/leaflet/images/marker-shadow.png',
  '/static/vendor/leaflet/images/layers.png',
  '/static/vendor/leaflet/images/layers-2x.png'
];

/* Install: fetch the assets one by one, so one failure on a flaky line
   does not fail the whole install (a missing file is fetched on use). */
self.addEventListener('install', function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all(ASSETS.map(function (url) {
      return cache.add(new Request(url, { cache: 'reload' })).catch(function () {});
    }));
  }).then(function () { return self.skipWaiting(); }));
});

/* Activate: drop the caches of older versions. */
self.addEventListener('activate', function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) {
      return k.indexOf('portal-static-') === 0 && k !== CACHE;
    }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

/* Fetch: cache-first for same-origin GET /static/…; no respondWith for the
   rest, so the browser goes to the network as if there were no worker. */
self.addEventListener('fetch', function (event) {
  var req = event.request;
  if (req.method !== 'GET') return;
  var url = new URL(req.url);
  if (url.origin !== self.location.origin || url.pathname.indexOf('/static/') !== 0) return;
  event.respondWith(caches.open(CACHE).then(function (cache) {
    return cache.match(req).then(function (hit) {
      return hit || fetch(req).then(function (res) {
        if (res.ok && res.type === 'basic') cache.put(req, res.clone());
        return res;
      });
    });
  }));
});

/* Send the outbox; tell open pages when something arrived. Throws when a
   record could not be sent for lack of network, so that Background Sync
   tries again later (unless this was its last chance). */
async function flushOutbox(lastChance) {
  var out = await PetitionOutbox.flush();
  if (out.sent.length || out.rejected.length) {
    var pages = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    pages.forEach(function (p) {
      if (out.sent.length) p.postMessage({ type: 'petition-sent', count: out.sent.length });
      // A refused petition stays in the outbox, marked, until a page puts it back into the form.
      if (out.rejected.length) p.postMessage({ type: 'petition-refused', count: out.rejected.length });
    });
  }
  if (out.retry && !lastChance) throw new Error('petition outbox: network still down');
}

self.addEventListener('sync', function (event) {
  if (event.tag === PetitionOutbox.TAG) event.waitUntil(flushOutbox(event.lastChance));
});

self.addEventListener('message', function (event) {
  if (event.data && event.data.type === 'flush') event.waitUntil(flushOutbox(true).catch(function () {}));
});
