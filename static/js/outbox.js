/*
 * Outbox of petitions that could not be sent because the network was down.
 *
 * Shared by the page (petition-form.js, loaded with a <script> tag) and the
 * service worker (sw.js, loaded with importScripts), so both send a stored
 * petition the same way. Exposes self.PetitionOutbox.
 *
 * IndexedDB database "petition-outbox", version 1:
 *   store "outbox" (key idempotency_key):
 *     {idempotency_key, url, fields: [[name, value], …],
 *      files: [{name, filename, blob}, …], created_at, rejected?}
 *   store "sent" (key idempotency_key):
 *     {idempotency_key, tracking_code, status_url, sent_at}
 *
 * Exactly once: the server deduplicates by idempotency_key, so sending the
 * same stored record again is always safe; a record keeps its key for ever.
 * Only one context (page or service worker) flushes at a time (Web Locks
 * when the browser has them).
 */
(function (g) {
  'use strict';

  var DB_NAME = 'petition-outbox';
  var TAG = 'petition-outbox';
  var dbPromise = null;

  /* ---- IndexedDB plumbing ------------------------------------------- */

  function open() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        if (!g.indexedDB) { reject(new Error('IndexedDB unavailable')); return; }
        var req = g.indexedDB.open(DB_NAME, 1);
        req.onupgradeneeded = function () {
          var db = req.result;
          if (!db.objectStoreNames.contains('outbox')) db.createObjectStore('outbox', { keyPath: 'idempotency_key' });
          if (!db.objectStoreNames.contains('sent')) db.createObjectStore('sent', { keyPath: 'idempotency_key' });
        };
        req.onsuccess = function () {
          var db = req.result;
          db.onversionchange = function () { db.close(); dbPromise = null; };
          resolve(db);
        };
        req.onerror = function () { reject(req.error); };
        req.onblocked = function () { reject(new Error('IndexedDB blocked')); };
      }).catch(function (err) { dbPromise = null; throw err; });
    }
    return dbPromise;
  }

  /* Run fn(transaction) and resolve with the result of the request it
     returns, once the transaction has committed. */
  function run(stores, mode, fn) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(stores, mode);
        var req = fn(t);
        t.oncomplete = function () { resolve(req ? req.result : undefined); };
        t.onerror = function () { reject(t.error); };
        t.onabort = function () { reject(t.error || new Error('transaction aborted')); };
      });
    });
  }

  function put(record) {
    return run(['outbox'], 'readwrite', function (t) { return t.objectStore('outbox').put(record); });
  }
  function all(store) {
    return run([store], 'readonly', function (t) { return t.objectStore(store).getAll(); });
  }
  function remove(store, keys) {
    return run([store], 'readwrite', function (t) {
      [].concat(keys).forEach(function (k) { t.objectStore(store).delete(k); });
    });
  }
  /* Move a record from "outbox" to "sent" in one transaction. */
  function markSent(info) {
    return run(['outbox', 'sent'], 'readwrite', function (t) {
      t.objectStore('outbox').delete(info.idempotency_key);
      t.objectStore('sent').put(info);
    });
  }

  /* ---- Sending ------------------------------------------------------- */

  /* A random UUID v4 (crypto.randomUUID only exists on https). */
  function uuid() {
    var c = g.crypto;
    if (c.randomUUID) return c.randomUUID();
    var b = c.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var x = Array.prototype.map.call(b, function (n) { return (n + 256).toString(16).slice(1); }).join('');
    return x.slice(0, 8) + '-' + x.slice(8, 12) + '-' + x.slice(12, 16) + '-' + x.slice(16, 20) + '-' + x.slice(20);
  }

  /* An abort signal that fires after ms (null where AbortController is missing). */
  function deadline(ms) {
    if (typeof AbortController === 'undefined') return { signal: undefined, done: function () {} };
    var ctl = new AbortController();
    var timer = setTimeout(function () { ctl.abort(); }, ms);
    return { signal: ctl.signal, done: function () { clearTimeout(timer); } };
  }

  /* Upload time-out: 30 s, plus 1 s for every 16 KB of photos (slow 3G). */
  function timeoutFor(record) {
    var bytes = 0;
    (record.files || []).forEach(function (f) { bytes += f.blob.size || 0; });
    return 30000 + Math.round(bytes / 16);
  }

  /*
   * POST one record as multipart/form-data and classify the answer:
   *   {kind: "sent", data}              200/201 with a tracking code
   *   {kind: "rejected", status, errors, error}  422 and other final 4xx
   *   {kind: "csrf", error}             400 csrf: needs a fresh token
   *   {kind: "later", status, error}    408/429/5xx or a non-JSON 2xx (captive portal)
   *   {kind: "network"}                 fetch rejected or timed out
   */
  async function send(record) {
    var fd = new FormData();
    record.fields.forEach(function (pair) { fd.append(pair[0], pair[1]); });
    (record.files || []).forEach(function (f) { fd.append(f.name, f.blob, f.filename); });
    var clock = deadline(timeoutFor(record));
    var res, data = null;
    try {
      res = await fetch(record.url, {
        method: 'POST', body: fd, credentials: 'same-origin',
        headers: { Accept: 'application/json' }, signal: clock.signal
      });
      try { data = await res.json(); } catch (e) { data = null; }
    } catch (e) {
      return { kind: 'network' };
    } finally {
      clock.done();
    }
    var error = (data && data.error) || {};
    if ((res.status === 200 || res.status === 201) && data && data.tracking_code) return { kind: 'sent', data: data };
    if (res.status === 400 && error.code === 'csrf') return { kind: 'csrf', error: error };
    if (res.status < 400 || res.status === 408 || res.status === 429 || res.status >= 500) {
      return { kind: 'later', status: res.status, error: error };
    }
    return { kind: 'rejected', status: res.status, errors: (data && data.errors) || null, error: error };
  }

  /*
   * Send every stored record once. opts.csrfToken (the page only): the token
   * of the current page, used when the stored one is refused. Stops at the
   * first network failure. Resolves with
   *   {sent: [info], rejected: [record], csrf: [record], pending: n, retry: bool}.
   */
  function flush(opts) {
    opts = opts || {};
    var work = async function () {
      var out = { sent: [], rejected: [], csrf: [], pending: 0, retry: false };
      var records = await all('outbox');
      for (var i = 0; i < records.length; i++) {
        var rec = records[i];
        if (rec.rejected) { out.rejected.push(rec); continue; }
        var r = await send(rec);
        if (r.kind === 'csrf' && opts.csrfToken) {
          rec.fields = rec.fields.map(function (p) { return [p[0], p[0] === 'csrf_token' ? opts.csrfToken : p[1]]; });
          await put(rec);
          r = await send(rec);
        }
        if (r.kind === 'sent') {
          var info = {
            idempotency_key: rec.idempotency_key, tracking_code: r.data.tracking_code,
            status_url: r.data.status_url, sent_at: new Date().toISOString()
          };
          await markSent(info);
          out.sent.push(info);
        } else if (r.kind === 'rejected') {
          rec.rejected = { status: r.status, errors: r.errors, message: r.error.message || '' };
          await put(rec);
          out.rejected.push(rec);
        } else if (r.kind === 'csrf') {
          out.csrf.push(rec);
        } else {
          out.retry = true;
          break;
        }
      }
      out.pending = (await all('outbox')).filter(function (x) { return !x.rejected; }).length;
      return out;
    };
    var locks = g.navigator && g.navigator.locks;
    return locks ? locks.request(TAG, work) : work();
  }

  g.PetitionOutbox = {
    TAG: TAG, open: open, put: put, all: all, remove: remove, markSent: markSent,
    send: send, flush: flush, uuid: uuid, deadline: deadline
  };
})(self);
