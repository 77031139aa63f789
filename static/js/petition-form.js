/*
 * Cổng Mặt trận số — progressive enhancement of the petition form (#petition-form).
 *
 * The form works without JavaScript (server-rendered pickers, "Chọn" button).
 * This adds: current position and a map (Leaflet, loaded only when asked
 * for), cascading pickers with search, similar petitions nearby, photo
 * position from EXIF and downscaling, a draft in localStorage, and sending
 * with fetch — kept in the IndexedDB outbox (outbox.js) when the network is
 * down, and sent later by this page or by the service worker (sw.js).
 *
 * Text from the server or the citizen only ever reaches the page through
 * textContent or new Option(), never as HTML.
 */
(() => {
  'use strict';

  const form = document.getElementById('petition-form');
  const Outbox = window.PetitionOutbox;
  const textsEl = document.getElementById('form-script-texts');
  if (!form || !window.fetch || !Outbox || !textsEl) return;   // no outbox.js or a very old browser: the plain form
  /* The script's texts come from the page, in the page's language; {name} takes a value. */
  const TEXTS = JSON.parse(textsEl.textContent);
  const t = (key, values) => (TEXTS[key] || key).replace(/\{(\w+)\}/g, (m, k) => (values && k in values ? values[k] : m));

  const $ = (id) => document.getElementById(id);
  const D = form.dataset;
  const el = {
    lat: $('lat'), lon: $('lon'), acc: $('accuracy_m'), src: $('location_source'),
    title: $('title'), body: $('body'), category: $('category'),
    useLoc: $('use-location'), showMap: $('show-map'), map: $('map'), place: $('place-result'),
    search: $('area-search'), similar: $('similar'), photos: $('photos'), photoLoc: $('photo-location'),
    anonY: $('anonymous-y'), contact: $('contact-fields'), consent: $('consent'),
    submit: $('submit'), status: $('form-status'),
    key: form.elements.namedItem('idempotency_key'), csrf: form.elements.namedItem('csrf_token'),
    pick: form.querySelector('button[name="action"][value="pick"]')
  };
  const levels = [$('province'), $('commune'), $('village')];
  // form.action would be the buttons named "action": read the attribute.
  const ACTION = new URL(form.getAttribute('action') || '', location.href).href;
  const MAX_PHOTOS = 5;
  const UNLOCATED = t('unlocated');
  const FALLBACK = t('fallback');

  /* ---- Helpers */

  /* Build an element: props.text becomes textContent; kids are nodes or strings. */
  function h(tag, props, kids) {
    const n = document.createElement(tag);
    Object.keys(props || {}).forEach((k) => {
      if (k === 'text') n.textContent = props[k];
      else if (k === 'className' || k === 'type' || k === 'href' || k === 'id') n[k] = props[k];
      else n.setAttribute(k, props[k]);
    });
    (kids || []).forEach((c) => { if (c != null) n.append(c); });
    return n;
  }
  const label = (a) => ((a.unit_type || '') + ' ' + (a.name || '')).trim();
  const dist = (m) => (m < 1000 ? Math.round(m) + ' m' : (m / 1000).toFixed(1).replace('.', ',') + ' km');
  const list = (x) => Array.prototype.slice.call(x || []);
  const uuid = () => Outbox.uuid();
  const say = (text) => { el.place.textContent = text; };
  /* Only same-origin URLs from the server are followed or posted to. */
  function safeUrl(u) {
    try { const x = new URL(u, location.href); return x.origin === location.origin ? x.href : null; } catch (e) { return null; }
  }

  /* GET JSON (20 s time-out); rejects only when the network fails. */
  async function getJSON(base, params) {
    const u = new URL(base, location.href);
    Object.keys(params).forEach((k) => { if (params[k]) u.searchParams.set(k, params[k]); });
    const clock = Outbox.deadline(20000);
    try {
      const r = await fetch(u.href, { headers: { Accept: 'application/json' }, credentials: 'same-origin', signal: clock.signal });
      const data = await r.json().catch(() => null);
      return { ok: r.ok, status: r.status, data: data || {} };
    } finally { clock.done(); }
  }

  /* A notice in #form-status, replacing what is there unless append. */
  function status(kids, kind, append) {
    if (!append) el.status.textContent = '';
    const p = h('p', { className: 'notice notice-' + (kind || 'info') }, [].concat(kids));
    el.status.append(p);
    return p;
  }

  /* ---- a. Enhance; register the service worker */

  form.querySelectorAll('.js-only').forEach((n) => { n.hidden = false; });
  form.querySelectorAll('.nojs-only').forEach((n) => { n.hidden = true; });

  if ('serviceWorker' in navigator && D.swUrl) {
    navigator.serviceWorker.register(D.swUrl, { scope: '/', updateViaCache: 'none' }).catch(() => {});
    navigator.serviceWorker.addEventListener('message', (e) => {
      if (e.data && e.data.type === 'petition-sent') showSent();
      if (e.data && e.data.type === 'petition-refused') showRefused();
    });
  }

  /* ---- e. Cascading pickers and area search */

  const placeholders = levels.map((s) => (s.options[0] && !s.options[0].value ? s.options[0].text : '—'));
  const areaCache = {};
  let placeSeq = 0;   // bumped by every new place: late answers for an older one are dropped
  let pointInNoCommune = false;   // the server located the point in no commune (at sea, across a border)
  let searchSeq = 0;
  if (levels[1].length > 1) levels[1].dataset.parent = levels[0].value;
  if (levels[2].length > 1) levels[2].dataset.parent = levels[1].value;

  const hasOption = (sel, code) => list(sel.options).some((o) => o.value === code);

  /* Replace the options of level i, keeping "— Chọn … —" first and the value if still offered. */
  function fill(i, areas, parent) {
    const sel = levels[i], keep = sel.value;
    sel.length = 0;
    sel.add(new Option(placeholders[i], ''));
    areas.forEach((a) => sel.add(new Option(label(a), a.code)));
    sel.value = keep;
    if (sel.value !== keep) sel.value = '';
    sel.dataset.parent = parent || '';
  }

  /* Children of parent ("" = the provinces) filtered by q; null on failure. */
  async function fetchAreas(parent, q) {
    const key = parent + '|' + q;
    if (areaCache[key]) return areaCache[key];
    try {
      const r = await getJSON(D.areasUrl, { parent, q });
      if (r.ok && Array.isArray(r.data.areas)) return (areaCache[key] = r.data.areas);
      say((r.data.error && r.data.error.message) || t('areas_failed'));
    } catch (e) {
      say(t('areas_offline'));
    }
    if (el.pick) el.pick.hidden = false;   // the server can still fill the pickers
    return null;
  }

  /* Load the children of parent into level i. */
  async function load(i, parent) {
    const sel = levels[i];
    if (!parent) { fill(i, []); return []; }
    sel.options[0].text = t('loading');
    sel.setAttribute('aria-busy', 'true');
    const areas = await fetchAreas(parent, '');
    sel.removeAttribute('aria-busy');
    sel.options[0].text = placeholders[i];
    if (areas) fill(i, areas, parent);
    return areas;
  }

  /* The citizen picked at level i: empty the levels below, load the next one. */
  async function picked(i) {
    placeSeq++;
    if (el.search) el.search.value = '';
    searchHint('');
    for (let j = i + 1; j < 3; j++) fill(j, []);
    if (i < 2 && levels[i].value) await load(i + 1, levels[i].value);
    mapAreas();
  }
  levels.forEach((sel, i) => sel.addEventListener('change', () => picked(i)));

  /* Select the located [province, commune, village] (objects or null), loading lists on the way. */
  async function setPlace(areas, seq) {
    for (let i = 0; i < 3; i++) {
      const sel = levels[i], a = areas[i] || {};
      if (i > 0) {
        const parent = levels[i - 1].value;
        if (!parent) { fill(i, []); continue; }
        if (sel.dataset.parent !== parent && !hasOption(sel, a.code)) {
          if (!(await load(i, parent)) || seq !== placeSeq) return;
        }
      }
      if (a.code && a.name && !hasOption(sel, a.code)) sel.add(new Option(label(a), a.code));
      sel.value = a.code || '';
    }
    searchHint('');
  }

  /* The search refills the deepest select still to be chosen. */
  const searchLevel = () => (!levels[0].value ? 0 : !levels[1].value ? 1 : 2);
  const hintEl = h('p', { className: 'hint', 'aria-live': 'polite' });
  function searchHint(text) {
    if (!el.search) return;
    el.search.placeholder = t(['search_province', 'search_commune', 'search_village'][searchLevel()]);
    hintEl.textContent = text;
  }
  async function runSearch() {
    const i = searchLevel(), q = el.search.value.trim(), seq = ++searchSeq;
    const parent = i ? levels[i - 1].value : '';
    const areas = await fetchAreas(parent, q);
    if (!areas || seq !== searchSeq) return;
    fill(i, areas, q ? '' : parent);
    const what = t(['list_province', 'list_commune', 'list_village'][i]);
    searchHint(!q ? '' : areas.length ? t('search_found', { n: areas.length, list: what }) : t('search_none'));
  }
  if (el.search) {
    let timer = 0;
    el.search.after(hintEl);
    el.search.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(runSearch, 250); });
    el.search.addEventListener('keydown', (e) => {   // Enter goes to the refilled list instead of submitting
      if (e.key === 'Enter') { e.preventDefault(); levels[searchLevel()].focus(); }
    });
    searchHint('');
  }

  /* ---- b/d. A point (GPS, map tap, photo) and where it is */

  function setPoint(lat, lon, source, accuracy) {
    el.lat.value = lat.toFixed(6);
    el.lon.value = lon.toFixed(6);
    el.acc.value = accuracy == null ? '' : Math.round(accuracy);
    el.src.value = source;
    el.photoLoc.hidden = true;
    placeMarker(source !== 'map');
    locate(source === 'gps' ? t('your_position', { accuracy: dist(accuracy) })
      : source === 'exif' ? t('photo_position') : t('map_point'), true);
    similar();
  }

  function clearPoint() {
    [el.lat, el.lon, el.acc, el.src].forEach((x) => { x.value = ''; });
    pointInNoCommune = false;
    el.similar.hidden = true;
    placeMarker(false);
  }

  /* Ask the server for the village/commune/province; apply: set the pickers too. */
  async function locate(prefix, apply) {
    const seq = ++placeSeq;
    pointInNoCommune = false;
    say(prefix + t('locating'));
    let r;
    try { r = await getJSON(D.locateUrl, { lat: el.lat.value, lon: el.lon.value }); } catch (e) {
      if (seq === placeSeq) say(prefix + t('locate_offline'));
      return;
    }
    if (seq !== placeSeq) return;
    const d = r.data;
    if (!r.ok) {   // a point the server refuses (e.g. outside Việt Nam) would block the submission
      if (r.status === 400) clearPoint();
      return say(prefix + ((d.error && d.error.message) || UNLOCATED));
    }
    if (d.method === 'unlocated' || !(d.commune || d.province)) {
      pointInNoCommune = true;
      return say(prefix + UNLOCATED);
    }
    let text = [d.village, d.commune, d.province].filter(Boolean).map(label).join(', ');
    if (d.method === 'nearest' && d.distance_m) text += t('nearest', { distance: dist(d.distance_m) });
    if (!d.village) text += t('choose_village');
    say(prefix + text);
    if (apply) { await setPlace([d.province, d.commune, d.village], seq); mapAreas(); }
  }

  const GEO_ERRORS = {
    1: t('geo_denied'),
    2: t('geo_unavailable'),
    3: t('geo_timeout')
  };
  el.useLoc.addEventListener('click', () => {
    const btn = el.useLoc, text = btn.textContent;
    if (!navigator.geolocation) return say(t('geo_unsupported') + FALLBACK);
    btn.disabled = true;
    btn.textContent = t('geo_busy');
    const done = () => { btn.disabled = false; btn.textContent = text; };
    navigator.geolocation.getCurrentPosition((pos) => {
      done();
      setPoint(pos.coords.latitude, pos.coords.longitude, 'gps', pos.coords.accuracy);
    }, (err) => {
      done();
      say((GEO_ERRORS[err.code] || GEO_ERRORS[2]) + FALLBACK);
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
  });

  /* ---- c. The map: Leaflet is loaded on first use only */

  let map = null, marker = null, comLayer = null, comFor = null, leafletP = null;
  const outlines = {};
  const STYLE = { color: '#6b5b45', weight: 1, fillColor: '#fff', fillOpacity: 0.8 };
  const CHOSEN = { color: '#b3161b', weight: 3, fillColor: '#fde8e8', fillOpacity: 0.5 };

  const inject = (tag, url) => new Promise((ok, fail) => {
    const n = document.createElement(tag);
    if (tag === 'link') { n.rel = 'stylesheet'; n.href = url; } else n.src = url;
    n.onload = ok;
    n.onerror = () => { n.remove(); fail(new Error(url)); };
    document.head.append(n);
  });
  function loadLeaflet() {
    leafletP = leafletP || Promise.all([inject('link', D.leafletCss), inject('script', D.leafletJs)])
      .catch((e) => { leafletP = null; throw e; });
    return leafletP;
  }
  /* Simplified boundaries of parent's children as GeoJSON (cached), or null. */
  async function boundaries(parent) {
    if (!outlines[parent]) {
      try {
        const r = await getJSON(D.boundariesUrl, { parent });
        if (r.ok && r.data.type === 'FeatureCollection') outlines[parent] = r.data;
      } catch (e) { /* the map still works without outlines */ }
    }
    return outlines[parent] || null;
  }

  el.showMap.addEventListener('click', async () => {
    const btn = el.showMap;
    btn.dataset.text = btn.dataset.text || btn.textContent;
    const shown = (on, text) => {
      el.map.hidden = !on;
      btn.textContent = text || btn.dataset.text;
      btn.setAttribute('aria-expanded', String(on));
    };
    if (!el.map.hidden) return shown(false);
    btn.disabled = true;
    btn.textContent = t('map_loading');
    try { await loadLeaflet(); } catch (e) {
      btn.disabled = false;
      shown(false);
      return say(t('map_failed'));
    }
    btn.disabled = false;
    shown(true, t('map_hide'));
    if (map) return map.invalidateSize();
    const L = window.L;
    map = L.map(el.map, { center: [16, 106.5], zoom: 5, preferCanvas: true, attributionControl: !!D.tileUrl });
    if (D.tileUrl) {
      L.tileLayer(D.tileUrl, { attribution: D.tileAttribution || '', maxZoom: 19 }).addTo(map);
    } else {
      boundaries('').then((gj) => {
        if (!gj) return;
        const layer = L.geoJSON(gj, { style: STYLE, interactive: false }).addTo(map);
        layer.bringToBack();
        if (!marker && !comLayer) map.fitBounds(layer.getBounds());
      });
    }
    map.on('click', (e) => setPoint(e.latlng.lat, e.latlng.lng, 'map', null));
    placeMarker(true);
    mapAreas();
  });

  /* The marker on the current point; pan: centre the map on it. */
  function placeMarker(pan) {
    if (!map) return;
    if (!el.lat.value) { if (marker) marker.remove(); marker = null; return; }
    const ll = [parseFloat(el.lat.value), parseFloat(el.lon.value)];
    if (marker) marker.setLatLng(ll); else marker = window.L.marker(ll, { keyboard: false }).addTo(map);
    if (pan) map.setView(ll, Math.max(map.getZoom(), 13));
  }

  /* Without base tiles: the communes of the chosen province, the chosen one in red. */
  async function mapAreas() {
    if (!map || D.tileUrl) return;
    const p = levels[0].value;
    if (p !== comFor) {
      comFor = p;
      if (comLayer) comLayer.remove();
      comLayer = null;
      const gj = p && (await boundaries(p));
      if (!gj || comFor !== p) return;
      comLayer = window.L.geoJSON(gj, { style: STYLE, interactive: false }).addTo(map);
      const b = comLayer.getBounds();
      if (b.isValid() && map.getBoundsZoom(b) > map.getZoom()) map.fitBounds(b);
    }
    const c = levels[1].value;
    if (comLayer) comLayer.setStyle((f) => (f.properties && f.properties.code === c ? CHOSEN : STYLE));
  }

  /* ---- f. Similar petitions nearby */

  let similarSeq = 0;
  async function similar() {
    const seq = ++similarSeq;
    if (!el.category.value || !el.lat.value) { el.similar.hidden = true; return; }
    let r;
    try { r = await getJSON(D.similarUrl, { lat: el.lat.value, lon: el.lon.value, category: el.category.value }); } catch (e) { return; }
    if (seq !== similarSeq) return;
    const found = r.ok && Array.isArray(r.data.petitions) ? r.data.petitions : [];
    el.similar.textContent = '';
    el.similar.hidden = !found.length;
    if (found.length) {
      el.similar.append(h('h2', { text: t('similar_heading') }),
        h('p', { text: t('similar_advice') }),
        h('ul', null, found.map(similarItem)));
    }
  }
  el.category.addEventListener('change', similar);

  /* The categories' own questions: only the chosen category's block is shown (all are, without script). */
  const showQuestions = () => {
    form.querySelectorAll('.category-questions').forEach((block) => {
      block.hidden = block.dataset.category !== el.category.value;
    });
  };
  el.category.addEventListener('change', showQuestions);
  showQuestions();

  function similarItem(p) {
    const href = safeUrl(p.status_url);
    const people = (n) => t('supporters', { n: n || 0 });
    const count = h('span', { text: people(p.supporters) });
    const btn = h('button', { type: 'button', className: 'button', text: t('support') });
    const note = h('span', { className: 'support-note' });
    let key = null;   // one key per petition, reused when the citizen retries
    btn.addEventListener('click', async () => {
      const url = safeUrl(p.support_url);
      if (!url) return;
      btn.disabled = true;
      note.textContent = t('sending');
      key = key || uuid();
      const fd = new FormData();
      fd.append('csrf_token', el.csrf ? el.csrf.value : '');
      fd.append('idempotency_key', key);
      const clock = Outbox.deadline(20000);   // on a stalled line the button comes back instead of staying disabled
      try {
        const res = await fetch(url, { method: 'POST', body: fd, credentials: 'same-origin', headers: { Accept: 'application/json' }, signal: clock.signal });
        const d = (await res.json().catch(() => null)) || {};
        if (res.ok && typeof d.supporters === 'number') {
          count.textContent = people(d.supporters);
          btn.textContent = t('support_done');
          note.textContent = d.already && typeof d.message === 'string' ? d.message : '';   // this device's voice was in already
          return;
        }
        note.textContent = (d.error && d.error.message) || t('support_failed');
      } catch (e) {
        note.textContent = t('offline_retry');
      } finally { clock.done(); }
      btn.disabled = false;
    });
    return h('li', null, [
      h('p', { className: 'similar-title' }, [h(href ? 'a' : 'span', href ? { href, text: p.title } : { text: p.title })]),
      h('p', { className: 'similar-meta' }, [t('away', { distance: dist(p.distance_m || 0) }) + ' · ', count, p.status ? ' · ' + p.status : null]),
      btn, note]);
  }

  /* ---- g. Photos: EXIF position, downscaling */

  let photoJob = Promise.resolve([]), photoGen = 0;
  const photoNote = h('p', { className: 'hint', 'aria-live': 'polite' });
  el.photos.after(photoNote);

  const readBuf = (b) => (b.arrayBuffer ? b.arrayBuffer() : new Response(b).arrayBuffer());

  /* GPS position from the APP1 "Exif" segment of a JPEG (TIFF IFD0 → GPS IFD), or null. */
  async function exifGps(file) {
    const v = new DataView(await readBuf(file.slice(0, 256 * 1024)));
    if (v.getUint16(0) !== 0xFFD8) return null;
    for (let o = 2; o + 10 < v.byteLength; o += 2 + v.getUint16(o + 2)) {
      const m = v.getUint16(o);
      if ((m & 0xFF00) !== 0xFF00 || m === 0xFFDA) return null;   // not a marker, or the image data
      if (m === 0xFFE1 && v.getUint32(o + 4) === 0x45786966) return tiffGps(v, o + 10);
    }
    return null;
  }
  function tiffGps(v, t) {
    const le = v.getUint16(t) === 0x4949;
    const u16 = (p) => v.getUint16(t + p, le), u32 = (p) => v.getUint32(t + p, le);
    const each = (ifd, fn) => { for (let i = 0, n = u16(ifd); i < n; i++) fn(ifd + 2 + i * 12); };
    if (u16(2) !== 42) return null;
    let gps = 0;
    const g = {};
    each(u32(4), (e) => { if (u16(e) === 0x8825) gps = u32(e + 8); });
    if (!gps) return null;
    each(gps, (e) => {
      const tag = u16(e), type = u16(e + 2);
      if (tag === 1 || tag === 3) g[tag] = String.fromCharCode(v.getUint8(t + e + 8));   // N/S, E/W
      if ((tag === 2 || tag === 4) && (type === 5 || type === 10) && u32(e + 4) === 3) {   // 3 rationals: d, m, s
        const off = u32(e + 8);
        g[tag] = [0, 1, 2].reduce((sum, k) => {
          const n = type === 10 ? v.getInt32(t + off + k * 8, le) : u32(off + k * 8), den = u32(off + k * 8 + 4);
          return sum + (den ? n / den : 0) / Math.pow(60, k);
        }, 0);
      }
    });
    const lat = g[1] === 'S' ? -g[2] : g[2], lon = g[3] === 'W' ? -g[4] : g[4];
    if (!isFinite(lat) || !isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180 || (!lat && !lon)) return null;
    return { lat, lon };
  }

  /* Decode upright, scale the longest side to ≤ 1600 px, re-encode as JPEG 0.82
     (which also drops the EXIF). The original when anything fails. */
  async function shrink(file) {
    const orig = { blob: file, filename: file.name || 'anh.jpg' };
    if (!/^image\/(jpeg|png|webp)$/.test(file.type)) return orig;
    let url = null;
    try {
      let img = window.createImageBitmap ? await createImageBitmap(file, { imageOrientation: 'from-image' }).catch(() => null) : null;
      if (!img) {
        img = new Image();
        img.src = url = URL.createObjectURL(file);
        await img.decode();
      }
      const w = img.naturalWidth || img.width, ht = img.naturalHeight || img.height, s = Math.min(1, 1600 / Math.max(w, ht));
      const c = document.createElement('canvas');
      c.width = Math.max(1, Math.round(w * s));
      c.height = Math.max(1, Math.round(ht * s));
      const ctx = c.getContext('2d');
      ctx.fillStyle = '#fff';   // transparent PNG → white, not black
      ctx.fillRect(0, 0, c.width, c.height);
      ctx.imageSmoothingQuality = 'high';
      ctx.drawImage(img, 0, 0, c.width, c.height);
      if (img.close) img.close();
      const blob = await new Promise((ok) => c.toBlob(ok, 'image/jpeg', 0.82));
      c.width = c.height = 0;
      return blob && blob.size ? { blob, filename: orig.filename.replace(/\.[^.]*$/, '') + '.jpg' } : orig;
    } catch (e) {
      return orig;
    } finally {
      if (url) URL.revokeObjectURL(url);
    }
  }

  /* One photo at a time, so a cheap phone never holds several decoded photos. */
  async function shrinkAll(files, gen) {
    const out = [];
    for (const f of files) {
      if (gen !== photoGen) return [];
      out.push(await shrink(f));
    }
    return out;
  }

  function photosChanged() {
    const files = list(el.photos.files), use = files.slice(0, MAX_PHOTOS);
    photoNote.textContent = files.length > MAX_PHOTOS ? t('too_many_photos', { n: files.length, max: MAX_PHOTOS }) : '';
    photoJob = shrinkAll(use, ++photoGen);
    offerExif(use);
  }
  el.photos.addEventListener('change', photosChanged);

  /* No point given yet: offer the position where the first geotagged photo was taken. */
  async function offerExif(files) {
    el.photoLoc.hidden = true;
    for (const f of files) {
      const gps = el.lat.value ? null : await exifGps(f).catch(() => null);
      if (!gps || el.lat.value) continue;
      const btn = h('button', { type: 'button', className: 'button', text: t('use_photo_position') });
      btn.addEventListener('click', () => setPoint(gps.lat, gps.lon, 'exif', null));
      el.photoLoc.textContent = '';
      el.photoLoc.append(t('photo_has_position', { name: f.name }), btn);
      el.photoLoc.hidden = false;
      return;
    }
  }

  /* ---- h. Draft in localStorage */

  const DRAFT = 'petition-draft-v1', USED = 'petition-used-keys';
  const FIELDS = ['title', 'body', 'category', 'name', 'phone'];
  const store = {
    get: (k) => { try { return JSON.parse(localStorage.getItem(k)); } catch (e) { return null; } },
    set: (k, v) => { try { localStorage.setItem(k, JSON.stringify(v)); } catch (e) { /* full, or private mode */ } },
    del: (k) => { try { localStorage.removeItem(k); } catch (e) { /* ignore */ } }
  };
  let draftTimer = 0, finished = false;
  function saveDraft() {
    clearTimeout(draftTimer);
    if (finished) return;
    const d = { saved_at: Date.now() }, a = form.querySelector('input[name="anonymous"]:checked');
    FIELDS.forEach((id) => { d[id] = $(id).value; });
    d.anonymous = a ? a.value : '';
    store.set(DRAFT, d);
  }
  function clearDraft() { clearTimeout(draftTimer); store.del(DRAFT); }
  /* Fill the empty fields from the draft (the anonymous choice only into a fresh form). */
  function restoreDraft() {
    const d = store.get(DRAFT), fresh = !el.title.value && !el.body.value;
    let restored = false;
    if (!d) return false;
    FIELDS.forEach((id) => {
      const f = $(id);
      if (!f.value && d[id] && (f.tagName !== 'SELECT' || hasOption(f, d[id]))) {
        f.value = d[id];
        restored = restored || id === 'title' || id === 'body';   // name and phone alone are not news
      }
    });
    const radio = d.anonymous && $('anonymous-' + d.anonymous);
    if (fresh && radio) radio.checked = true;
    return restored;
  }
  form.addEventListener('input', (e) => {
    clearFieldError(e.target);
    if (FIELDS.indexOf(e.target.id) >= 0) { clearTimeout(draftTimer); draftTimer = setTimeout(saveDraft, 400); }
  });
  form.addEventListener('change', (e) => {
    clearFieldError(e.target);
    if (e.target.name === 'anonymous') syncAnonymous();
    if (e.target.name === 'anonymous' || FIELDS.indexOf(e.target.id) >= 0) saveDraft();
  });
  window.addEventListener('pagehide', saveDraft);

  /* "Gửi ẩn danh": the name and phone are neither shown nor sent. */
  function syncAnonymous() { if (el.contact && el.anonY) el.contact.hidden = el.anonY.checked; }

  /* A key sent or stored is never used again, even if the browser restores the old hidden field. */
  function useKey(k) { store.set(USED, (store.get(USED) || []).concat(k).slice(-20)); }

  /* ---- i. Submitting */

  let lastSubmitter = null, sending = false, summary = null, pending = 0, storedNote = null, pendingNote = null;
  form.addEventListener('click', (e) => {
    const b = e.target.closest && e.target.closest('button[type="submit"]');
    if (b) lastSubmitter = b;
  });
  form.addEventListener('submit', async (e) => {
    const sub = e.submitter || lastSubmitter;
    lastSubmitter = null;
    if (!sub || sub.value !== 'submit') {
      // Enter in a text field "clicks" the hidden "Chọn" button: the pickers are live, stay here.
      if (!el.pick || el.pick.hidden) e.preventDefault();
      return;
    }
    e.preventDefault();
    if (sending) return;
    sending = el.submit.disabled = true;
    try { await submit(); } finally { sending = el.submit.disabled = false; }
  });

  /* The form as an outbox record: [name, value] pairs and the downscaled photos. */
  async function buildRecord() {
    const files = list(el.photos.files).slice(0, MAX_PHOTOS), anon = el.anonY && el.anonY.checked, fields = [];
    let photos = await photoJob;
    if (photos.length !== files.length) photos = await shrinkAll(files, photoGen);
    new FormData(form).forEach((v, k) => {
      if (typeof v === 'string' && k !== 'action' && !(anon && (k === 'name' || k === 'phone'))) fields.push([k, v]);
    });
    fields.push(['action', 'submit']);
    return {
      idempotency_key: el.key.value, url: ACTION, fields, created_at: new Date().toISOString(),
      files: photos.map((p) => ({ name: 'photos', filename: p.filename, blob: p.blob }))
    };
  }

  /* The place rule (app/services/petitions.py check_place): a province picked, or a point in a commune.
     Checked here too, so that a petition kept offline is not refused later for it. */
  function placeMissing() {
    if (levels[0].value) return false;
    return !el.lat.value || pointInNoCommune;
  }

  async function submit() {
    clearErrors();
    if (placeMissing()) {
      showErrors({ province: [el.lat.value ? t('no_place_point') : t('no_place')] });
      return;
    }
    status(el.photos.files && el.photos.files.length ? t('sending_with_photos') : t('sending_petition'));
    const rec = await buildRecord();
    const r = await Outbox.send(rec);
    const msg = r.error && r.error.message;
    if (r.kind === 'sent') {
      finished = true;
      clearDraft();
      useKey(rec.idempotency_key);
      status([t('sent'), h('strong', { text: r.data.tracking_code })], 'success');
      const url = safeUrl(r.data.status_url);
      if (url) location.assign(url + (url.indexOf('?') < 0 ? '?' : '&') + 'new=1');
    } else if (r.kind === 'rejected' && r.errors) {
      showErrors(r.errors);
    } else if (r.kind === 'network') {
      await storeOffline(rec);
    } else if (r.kind === 'csrf') {
      status((msg || t('session_expired')) + t('text_kept_on_reload'), 'error');
    } else {
      status(msg || t('server_busy', { code: r.status ? t('error_code', { status: r.status }) : '' }), 'error');
    }
  }

  /* The network is down: keep the petition in the outbox and empty the form for the next one. */
  async function storeOffline(rec) {
    try { await Outbox.put(rec); } catch (e) {
      return status(t('offline_not_stored'), 'error');
    }
    useKey(rec.idempotency_key);
    pending++;
    el.key.value = uuid();   // the stored petition keeps its key, the next one gets a new one
    clearDraft();
    ['title', 'body', 'category', 'photos'].forEach((id) => { $(id).value = ''; });
    photoJob = Promise.resolve([]);
    photoGen++;
    photoNote.textContent = '';
    el.consent.checked = false;
    el.photoLoc.hidden = true;
    say('');
    clearPoint();
    saveDraft();
    storedNote = status(t('stored_offline'), 'success');
    requestSync();
  }

  async function requestSync() {
    try {
      const reg = await Promise.race([navigator.serviceWorker.ready, new Promise((ok) => setTimeout(ok, 5000))]);
      if (reg && reg.sync) await reg.sync.register(Outbox.TAG);
    } catch (e) { /* no Background Sync: the page retries on "online" and on every load */ }
  }

  /* ---- 422: a message beside each field and a summary at the top */

  function clearFieldError(c) {
    if (!c.getAttribute || c.getAttribute('aria-invalid') !== 'true') return;
    const box = c.closest('.field');
    form.querySelectorAll('[name="' + c.name + '"]').forEach((x) => x.removeAttribute('aria-invalid'));
    if (box) { box.classList.remove('has-error'); box.querySelectorAll('.field-error').forEach((x) => x.remove()); }
  }
  function clearErrors() {
    form.querySelectorAll('.field-error').forEach((x) => x.remove());
    form.querySelectorAll('[aria-invalid]').forEach((x) => x.removeAttribute('aria-invalid'));
    form.querySelectorAll('.has-error').forEach((x) => x.classList.remove('has-error'));
    if (summary) summary.hidden = true;
  }
  function showErrors(errors) {
    clearErrors();
    const items = Object.keys(errors).map((name) => {
      const text = [].concat(errors[name]).join(' ');
      const c = form.elements.namedItem(name);
      const controls = !c ? [] : c.tagName ? [c] : list(c);   // one control, or a group of radios
      const first = controls[0];
      if (!first || first.closest('.hp')) return [form, h('li', { text })];
      const p = h('p', { className: 'field-error', id: 'error-' + name.replace(/\W/g, ''), text });
      const hidden = first.type === 'hidden', target = hidden ? levels[0] : first;
      if (hidden) el.place.after(p);   // lat/lon: the error goes with the place
      else {
        const box = first.closest('.field');
        if (box) { box.classList.add('has-error'); box.append(p); } else first.after(p);
        controls.forEach((x) => {
          x.setAttribute('aria-invalid', 'true');
          x.setAttribute('aria-describedby', ((x.getAttribute('aria-describedby') || '') + ' ' + p.id).trim());
        });
      }
      // Named by its label, or by its fieldset's legend (place, radios); a checkbox's message says it all.
      const fs = target.closest('fieldset');
      const named = hidden || first.type === 'radio' ? fs && fs.querySelector('legend')
        : first.type !== 'checkbox' && form.querySelector('label[for="' + target.id + '"]');
      const what = named ? named.textContent.replace(/^\s*\d+\.\s*/, '').trim() + ': ' : '';
      return [target, h('li', null, [h('a', { href: '#' + target.id, text: what + text })])];
    }).sort((a, b) => (a[0].compareDocumentPosition(b[0]) & 2 ? 1 : -1)).map((x) => x[1]);
    if (!summary) {
      summary = h('div', { id: 'form-errors', className: 'notice notice-error', role: 'alert', tabindex: '-1' });
      form.prepend(summary);
    }
    summary.textContent = '';
    summary.append(h('p', { text: t('fix_these') }), h('ul', null, items));
    summary.hidden = false;
    summary.focus();
    status(t('not_sent_see_errors'), 'error');
  }

  /* ---- j. The outbox: retried on every load and when the network comes back */

  /* Say once which stored petitions have arrived (sent by this page or by the service worker). */
  let sentChain = Promise.resolve();
  function showSent() {
    sentChain = sentChain.then(async () => {
      const sent = await Outbox.all('sent').catch(() => []);
      if (sent.length && storedNote) storedNote.remove();
      sent.forEach((s) => {
        const href = safeUrl(s.status_url);
        status([t('arrived'),
          h(href ? 'a' : 'strong', href ? { href, text: s.tracking_code } : { text: s.tracking_code })], 'success', true);
      });
      if (sent.length) await Outbox.remove('sent', sent.map((s) => s.idempotency_key)).catch(() => {});
    });
    return sentChain;
  }

  async function flushOutbox() {
    let out;
    try { out = await Outbox.flush({ csrfToken: el.csrf ? el.csrf.value : '' }); } catch (e) { return; }
    await showSent();
    pending = out.pending;
    if (out.rejected.length) await restoreRejected(out.rejected[0]);
    if (pendingNote) pendingNote.remove();
    pendingNote = null;
    if (pending) {
      pendingNote = status(t('pending', { n: pending }), 'info', true);
      requestSync();
    }
  }

  /* A stored petition the server refused (422, 400, 409…): back into an empty form, with its errors;
     while the citizen writes another one, a notice says it waits to be put back. */
  let refusedNote = null;
  async function restoreRejected(rec) {
    const v = {};
    rec.fields.forEach((p) => { v[p[0]] = p[1]; });
    if (refusedNote) refusedNote.remove();
    refusedNote = null;
    if (el.title.value || el.body.value) {
      refusedNote = status(t('stored_refused_waiting', { title: v.title || '' }) + (rec.rejected.message || ''), 'error', true);
      return;
    }
    ['title', 'body', 'name', 'phone', 'lat', 'lon', 'accuracy_m', 'location_source'].forEach((id) => { $(id).value = v[id] || ''; });
    if (hasOption(el.category, v.category)) el.category.value = v.category;
    if ($('anonymous-' + v.anonymous)) $('anonymous-' + v.anonymous).checked = true;
    el.consent.checked = v.consent === 'y';
    syncAnonymous();
    try {
      const dt = new DataTransfer();
      rec.files.forEach((f) => dt.items.add(new File([f.blob], f.filename, { type: f.blob.type })));
      el.photos.files = dt.files;
      photosChanged();
    } catch (e) { /* the photos have to be chosen again */ }
    await setPlace([{ code: v.province }, { code: v.commune }, { code: v.village }], placeSeq);
    if (v.lat) locate(t('chosen_point'), false);
    saveDraft();
    await Outbox.remove('outbox', rec.idempotency_key).catch(() => {});
    if (rec.rejected.errors) showErrors(rec.rejected.errors);
    status(t('stored_refused') + (rec.rejected.message || ''), 'error', true);
  }

  /* What the service worker had refused: shown without sending anything again. */
  async function showRefused() {
    const refusedRecs = (await Outbox.all('outbox').catch(() => [])).filter((x) => x.rejected);
    if (refusedRecs.length) await restoreRejected(refusedRecs[0]);
  }

  window.addEventListener('online', flushOutbox);
  document.addEventListener('visibilitychange', () => {   // leaving the page: let the service worker carry on
    const sw = navigator.serviceWorker && navigator.serviceWorker.controller;
    if (document.visibilityState === 'hidden' && pending && sw) sw.postMessage({ type: 'flush' });
  });

  /* ---- Start */

  if ((store.get(USED) || []).indexOf(el.key.value) >= 0) el.key.value = uuid();
  if (restoreDraft()) status(t('draft_restored'), 'info', true);
  syncAnonymous();
  if (el.lat.value && el.lon.value) { locate(t('chosen_point'), false); similar(); }
  flushOutbox();
})();
