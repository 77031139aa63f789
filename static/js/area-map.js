// The portal's maps, drawn from the settings the page gives as JSON (a
// <script type="application/json"> block named by the container's data-config):
// areas shaded by their counts or per 1,000 residents (one choice, radio
// buttons, the legend following it), named by labels that appear by zoom and
// never overlap, a tooltip and a popup on every area; heat whose radius is
// metres on the ground; a commune's petitions as markers. Boundaries come
// from cached files (app/maps/geo.py: quantized, delta-encoded rings), so a
// second visit fetches only the page. Every text is set with textContent:
// a citizen's title never becomes markup.
(function () {
  'use strict';
  var SHADES = ['#ececec', '#fcbba1', '#fc9272', '#fb6a4a', '#de2d26', '#a50f15'];
  var LAND = '#f4f1ea', OUTLINE = '#6b6b70', HIDDEN = '#e6e3dc';
  var PROVINCE_LABELS_UNTIL = 7;  // the country's zoom: province names only
  var number = new Intl.NumberFormat(document.documentElement.lang || 'vi', { maximumFractionDigits: 2 });

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, key) {
      return key in values ? encodeURIComponent(values[key]) : all;
    });
  }

  // A boundary file into GeoJSON: rings [x0, y0, dx, dy, …] on the file's grid.
  function decode(file) {
    var s = file.transform.scale, t = file.transform.translate;
    file.features.forEach(function (f) {
      f.geometry.coordinates = f.geometry.coordinates.map(function (polygon) {
        return polygon.map(function (ring) {
          var out = [], x = 0, y = 0;
          for (var i = 0; i < ring.length; i += 2) {
            x += ring[i]; y += ring[i + 1];
            out.push([t[0] + x * s[0], t[1] + y * s[1]]);
          }
          out.push(out[0]);
          return out;
        });
      });
      var l = f.properties.label;
      f.properties.label = L.latLng(t[1] + l[1] * s[1], t[0] + l[0] * s[0]);
    });
    return file;
  }

  var files = {};  // url → the decoded file, fetched once (the browser's cache keeps it between visits)

  function load(url) {
    if (files[url]) return files[url];
    files[url] = fetch(url, { credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) throw new Error(url + ': ' + r.status);
      return r.json();
    }).then(decode);
    return files[url];
  }

  // Six classes: 0 (or hidden) alone, then quantiles of the values above 0.
  function breaks(values) {
    var positive = values.filter(function (v) { return v > 0; }).sort(function (a, b) { return a - b; });
    if (!positive.length) return [];
    var cuts = [];
    for (var q = 1; q < SHADES.length; q++) {
      cuts.push(positive[Math.min(positive.length - 1, Math.round(positive.length * q / (SHADES.length - 1)))]);
    }
    return cuts;
  }

  function shade(value, cuts) {
    if (value === null || value === undefined) return HIDDEN;
    if (!(value > 0) || !cuts.length) return SHADES[0];
    for (var i = 0; i < cuts.length; i++) if (value <= cuts[i]) return SHADES[i + 1];
    return SHADES[SHADES.length - 1];
  }

  function metresPerPixel(map) {
    var lat = map.getCenter().lat;
    return 40075016.686 * Math.cos(lat * Math.PI / 180) / Math.pow(2, map.getZoom() + 8);
  }

  function AreaMap(holder, cfg) {
    this.holder = holder;
    this.cfg = cfg;
    this.texts = cfg.texts;
    this.measure = 'count';
    this.provinceBounds = {};
    this.provinceFeatures = [];
    this.layers = cfg.layers.map(function (c) {
      return { cfg: c, files: {}, features: [], group: null, cuts: { count: [], per_1000: [] } };
    });
    var markers = cfg.kind === 'markers';
    this.map = L.map(holder, { preferCanvas: !markers, maxZoom: 18, zoomSnap: 0.25, minZoom: 4 });
    this.map.fitBounds(cfg.bounds);
    holder.classList.toggle('with-tiles', !!cfg.tiles);
    this.map.createPane('land').style.zIndex = 250;
    this.map.createPane('outline').style.zIndex = 450;
    this.map.createPane('labels').style.zIndex = 640;
    this.map.getPane('outline').style.pointerEvents = 'none';
    this.map.getPane('labels').style.pointerEvents = 'none';
    if (cfg.tiles) L.tileLayer(cfg.tiles.url, { attribution: cfg.tiles.attribution, maxZoom: 19 }).addTo(this.map);
    L.control.scale({ position: 'bottomright', imperial: false }).addTo(this.map);
    this.labels = L.layerGroup().addTo(this.map);
    this.layers.forEach(function (layer) { this.computeBreaks(layer); }, this);
    if (markers) this.addMarkers(); else this.addMeasureControl();
    this.addLegend();
    if (cfg.heat) this.addHeat(cfg.heat);
    var self = this;
    this.map.on('zoomend moveend', function () { self.update(); });
    this.start();
  }

  AreaMap.prototype.start = function () {
    var self = this;
    holder_status(this.holder, this.texts.loading);
    load(this.cfg.base).then(function (provinces) {
      self.drawBase(provinces);
      var eager = self.layers.filter(function (l) { return Object.keys(l.cfg.files).length === 1; });
      return Promise.all(eager.map(function (layer) {
        return Promise.all(Object.keys(layer.cfg.files).map(function (key) { return self.loadFile(layer, key); }));
      }));
    }).then(function () {
      if (self.cfg.focus || self.cfg.kind === 'markers') {  // a province's or a commune's map opens on it
        var bounds = L.latLngBounds([]);
        self.layers.forEach(function (layer) {
          layer.features.forEach(function (f) { bounds.extend(f.getBounds()); });
        });
        if (bounds.isValid()) self.map.fitBounds(bounds, { padding: [8, 8] });
      }
      holder_status(self.holder, null);
      self.update();
      self.holder.setAttribute('data-loaded', '1');
    }).catch(function (error) {
      holder_status(self.holder, self.texts.failed);
      if (window.console) console.error(error);
    });
  };

  function holder_status(holder, text) {
    var note = holder.querySelector('.map-status');
    if (!text) { if (note) note.remove(); return; }
    if (!note) { note = el('p', 'map-status'); note.setAttribute('role', 'status'); holder.appendChild(note); }
    note.textContent = text;
  }

  AreaMap.prototype.drawBase = function (provinces) {
    var self = this;
    L.geoJSON(provinces, {
      pane: 'land', interactive: false,
      style: { stroke: false, fillColor: LAND, fillOpacity: this.cfg.tiles ? 0 : 1 }
    }).addTo(this.map);
    L.geoJSON(provinces, {
      pane: 'outline', interactive: false, style: { color: OUTLINE, weight: 1.4, fill: false }
    }).addTo(this.map);
    provinces.features.forEach(function (f) {
      var bounds = L.geoJSON(f).getBounds();
      self.provinceBounds[f.properties.code] = bounds;
      self.provinceFeatures.push(f.properties);
    });
    this.bbox = L.latLngBounds([]);
    Object.keys(this.provinceBounds).forEach(function (c) { self.bbox.extend(self.provinceBounds[c]); });
  };

  AreaMap.prototype.loadFile = function (layer, key) {
    if (layer.files[key]) return layer.files[key];
    var self = this;
    layer.files[key] = load(layer.cfg.files[key]).then(function (file) {
      var geo = L.geoJSON(file, {
        style: function (f) { return self.style(layer, f.properties.code); },
        onEachFeature: function (f, path) {
          f.properties.parent = key === 'all' ? null : key;  // a province's communes, a commune's villages
          self.bind(layer, f.properties, path);
        }
      });
      geo.eachLayer(function (path) { layer.features.push(path); });
      if (!layer.group) layer.group = L.featureGroup();
      layer.group.addLayer(geo);
      self.update();
    });
    return layer.files[key];
  };

  AreaMap.prototype.value = function (layer, code, measure) {
    var counts = layer.cfg.counts;
    if (!counts) return undefined;
    var row = counts[code];
    if (!row) return this.cfg.hiddenUnder ? null : 0;  // absent: hidden from the public, or none
    return row[measure === 'per_1000' ? 1 : 0];
  };

  AreaMap.prototype.computeBreaks = function (layer) {
    var counts = layer.cfg.counts || {};
    ['count', 'per_1000'].forEach(function (m) {
      var index = m === 'per_1000' ? 1 : 0;
      layer.cuts[m] = breaks(Object.keys(counts).map(function (c) { return counts[c][index]; })
        .filter(function (v) { return v !== null && v !== undefined; }));
    });
  };

  AreaMap.prototype.style = function (layer, code) {
    if (!layer.cfg.shaded) return { color: '#b3161b', weight: 1.2, fillColor: '#fff', fillOpacity: 0.05 };
    var v = this.value(layer, code, this.measure);
    if (this.measure === 'per_1000' && v === null && this.value(layer, code, 'count') !== null) v = 0;
    return { fillColor: shade(v, layer.cuts[this.measure]), fillOpacity: 0.8, color: '#5a5a60', weight: 0.7 };
  };

  AreaMap.prototype.describe = function (layer, props, withLinks) {
    var t = this.texts, box = el('div', 'area-info');
    box.appendChild(el('strong', 'area-name', props.name));
    if (layer.cfg.counts) {
      var count = this.value(layer, props.code, 'count');
      var per = this.value(layer, props.code, 'per_1000');
      var shown = count === null ? t.hidden.replace('{n}', this.cfg.hiddenUnder) : number.format(count);
      box.appendChild(el('div', 'area-count', t.count + ': ' + shown));
      if (count !== null) {
        box.appendChild(el('div', 'area-per', t.per_1000 + ': ' + (per === null ? t.no_data : number.format(per))));
      }
    }
    if (withLinks) {
      var links = (this.cfg.links || {})[layer.cfg.level] || [];
      var parent = props.parent || props.code;
      var list = el('ul', 'area-links');
      links.forEach(function (link) {
        var item = el('li'), a = el('a', null, link.text);
        a.href = fill(link.href, { code: props.code, parent: parent });
        item.appendChild(a);
        list.appendChild(item);
      });
      if (links.length) box.appendChild(list);
    }
    return box;
  };

  AreaMap.prototype.bind = function (layer, props, path) {
    var self = this;
    path.bindTooltip(function () { return self.describe(layer, props, false); }, { sticky: true, direction: 'top' });
    // The popup pans clear of the controls at the top (the measure's radio buttons), so its × stays
    // tappable: measured when tapped (this handler runs before the popup's own), not for every area drawn.
    path.on('click', function () {
      var popup = path.getPopup(), top = self.holder.querySelector('.leaflet-top.leaflet-right');
      if (popup) popup.options.autoPanPaddingTopLeft = L.point(10, top ? top.offsetHeight + 10 : 10);
    });
    path.bindPopup(function () { return self.describe(layer, props, true); },
      { maxWidth: 280, autoPanPaddingTopLeft: L.point(10, 10), autoPanPaddingBottomRight: L.point(10, 10) });
    path.on('popupopen', function () { path.closeTooltip(); });
    path.on('tooltipopen', function () {  // one tooltip at a time, whatever the pointer skipped over
      if (self.tipped && self.tipped !== path) self.tipped.closeTooltip();
      self.tipped = path;
    });
    path.on('mouseover', function () { path.setStyle({ weight: 2.5, color: '#1d1d1f' }); });
    path.on('mouseout', function () { path.setStyle(self.style(layer, props.code)); });
  };

  AreaMap.prototype.active = function (layer) {
    var z = this.map.getZoom();
    return z >= (layer.cfg.fromZoom || 0) && z <= (layer.cfg.toZoom === undefined ? 99 : layer.cfg.toZoom);
  };

  AreaMap.prototype.update = function () {
    var self = this, view = this.map.getBounds();
    this.layers.forEach(function (layer) {
      var on = self.active(layer);
      if (on && Object.keys(layer.cfg.files).length > 1) {  // the country's communes: the provinces in view
        Object.keys(layer.cfg.files).forEach(function (code) {
          var b = self.provinceBounds[code];
          if (b && b.intersects(view)) {
            self.loadFile(layer, code);
          }
        });
      }
      if (layer.group) {
        if (on && !self.map.hasLayer(layer.group)) layer.group.addTo(self.map);
        if (!on && self.map.hasLayer(layer.group)) self.map.removeLayer(layer.group);
      }
    });
    this.updateHeat();
    this.updateLegend();
    this.updateLabels();
  };

  // Names: provinces at the country's zoom, then each level from its own zoom, the busiest first,
  // a name hidden where it would overlap one already placed.
  AreaMap.prototype.updateLabels = function () {
    var self = this, z = this.map.getZoom(), view = this.map.getBounds().pad(0.05), candidates = [];
    this.labels.clearLayers();
    if (z <= PROVINCE_LABELS_UNTIL) {
      this.provinceFeatures.forEach(function (p) {
        if (view.contains(p.label)) candidates.push({ at: p.label, text: p.name, weight: 1e9, cls: 'province' });
      });
    }
    this.layers.forEach(function (layer) {
      if (!self.active(layer) || z < (layer.cfg.labelsFrom || 0) || !layer.group) return;
      layer.features.forEach(function (path) {
        var p = path.feature.properties;
        if (!view.contains(p.label)) return;
        var v = self.value(layer, p.code, 'count');
        candidates.push({ at: p.label, text: p.name, weight: v || 0, cls: layer.cfg.level });
      });
    });
    candidates.sort(function (a, b) { return b.weight - a.weight; });
    var placed = [];
    candidates.slice(0, 400).forEach(function (c) {
      var marker = L.marker(c.at, {
        pane: 'labels', interactive: false, keyboard: false,
        icon: L.divIcon({ className: 'area-label area-label-' + c.cls, html: '', iconSize: null })
      });
      self.labels.addLayer(marker);
      var node = marker.getElement();
      node.appendChild(el('span', null, c.text));
      var r = node.firstChild.getBoundingClientRect();
      var clash = placed.some(function (p) {
        return r.left < p.right + 2 && r.right > p.left - 2 && r.top < p.bottom + 1 && r.bottom > p.top - 1;
      });
      if (clash) self.labels.removeLayer(marker); else placed.push(r);
    });
  };

  AreaMap.prototype.shadedLayer = function () {
    var self = this;
    return this.layers.filter(function (l) { return l.cfg.shaded && l.cfg.counts && self.active(l); })[0];
  };

  AreaMap.prototype.addMeasureControl = function () {
    var self = this, t = this.texts, Measure = L.Control.extend({
      options: { position: 'topright' },
      onAdd: function () {
        var box = el('fieldset', 'map-measure leaflet-bar');
        box.appendChild(el('legend', null, t.measure));
        ['count', 'per_1000'].forEach(function (m) {
          var label = el('label'), input = el('input');
          input.type = 'radio'; input.name = self.holder.id + '-measure'; input.value = m;
          input.checked = m === self.measure;
          input.addEventListener('change', function () { if (input.checked) self.setMeasure(m); });
          label.appendChild(input);
          label.appendChild(document.createTextNode(' ' + t[m]));
          box.appendChild(label);
        });
        L.DomEvent.disableClickPropagation(box);
        return box;
      }
    });
    new Measure().addTo(this.map);
  };

  AreaMap.prototype.setMeasure = function (measure) {
    var self = this;
    this.measure = measure;
    this.layers.forEach(function (layer) {
      layer.features.forEach(function (path) { path.setStyle(self.style(layer, path.feature.properties.code)); });
    });
    this.updateLegend();
  };

  AreaMap.prototype.addLegend = function () {
    var self = this, Legend = L.Control.extend({
      options: { position: 'bottomleft' },
      onAdd: function () {
        var box = el('details', 'map-legend');
        box.open = window.matchMedia('(min-width: 600px)').matches;  // folded on a phone
        self.legendSummary = el('summary');
        box.appendChild(self.legendSummary);
        self.legendBody = el('div', 'map-legend-body');
        box.appendChild(self.legendBody);
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        return box;
      }
    });
    this.legend = new Legend().addTo(this.map);
  };

  AreaMap.prototype.updateLegend = function () {
    if (!this.legendBody) return;
    var t = this.texts, body = this.legendBody, self = this;
    body.textContent = '';
    if (this.cfg.kind === 'markers') {
      this.legendSummary.textContent = t.legend + ': ' + t.status;
      this.cfg.statuses.forEach(function (s) {
        var row = el('div'), sw = el('span', 'swatch round');
        sw.style.background = s.colour;
        row.appendChild(sw); row.appendChild(document.createTextNode(s.name));
        body.appendChild(row);
      });
      var row = el('div'), sw = el('span', 'swatch round approximate');
      row.appendChild(sw); row.appendChild(document.createTextNode(t.approximate));
      body.appendChild(row);
      return;
    }
    var layer = this.shadedLayer(), m = this.measure;
    this.legendSummary.textContent = t.legend + ': ' + t[m];
    body.appendChild(el('strong', 'map-legend-title', this.cfg.title));
    body.appendChild(el('small', 'map-legend-unit', t[m + '_unit']));
    if (!layer) return;
    // The public sees no 0: an area without a shown count is "fewer than the threshold" (its own row below).
    var hidden = this.cfg.hiddenUnder, cuts = layer.cuts[m], rows = hidden ? [] : [[SHADES[0], '0']];
    var integers = m === 'count';
    var low = hidden && integers ? hidden - 1 : 0;
    cuts.forEach(function (high, i) {
      var from = integers ? Math.floor(low) + 1 : low;
      if (i && high === cuts[i - 1]) return;
      var text = from >= high ? number.format(high) : number.format(from) + ' – ' + number.format(high);
      rows.push([SHADES[i + 1], text]);
      low = high;
    });
    if (this.cfg.hiddenUnder) rows.push([HIDDEN, t.hidden_legend.replace('{n}', this.cfg.hiddenUnder)]);
    rows.forEach(function (r) {
      var row = el('div', 'map-legend-row'), sw = el('span', 'swatch');
      sw.style.background = r[0];
      row.appendChild(sw); row.appendChild(document.createTextNode(r[1]));
      body.appendChild(row);
    });
    this.legendMeasure = m;
    self.holder.setAttribute('data-measure', m);
  };

  // Heat: drawn from the province's zoom on, each point's radius a fixed distance on the ground.
  AreaMap.prototype.addHeat = function (heat) {
    var self = this, overlays = {};
    this.heat = heat;
    this.heatGroups = heat.layers.map(function (h) {
      var cells = h.cells, peak = 1;
      var sorted = cells.map(function (c) { return c[2]; }).sort(function (a, b) { return a - b; });
      if (sorted.length) peak = Math.max(1, sorted[Math.floor(sorted.length * 0.9)]);
      var layer = L.heatLayer(cells, { radius: 10, blur: 8, max: peak, minOpacity: 0.35 });
      var group = L.layerGroup();
      overlays[h.name] = group;
      if (h.show) group.addTo(self.map);
      return { group: group, heat: layer };
    });
    L.control.layers(null, overlays, { collapsed: !window.matchMedia('(min-width: 900px)').matches }).addTo(this.map);
    this.map.on('overlayadd', function () { self.updateHeat(); });
  };

  AreaMap.prototype.updateHeat = function () {
    if (!this.heatGroups) return;
    var self = this, on = this.map.getZoom() >= this.heat.fromZoom;
    var radius = Math.max(2, Math.min(120, this.heat.radiusMetres / metresPerPixel(this.map)));
    this.heatGroups.forEach(function (h) {
      var shown = h.group.hasLayer(h.heat);
      if (!self.map.hasLayer(h.group) || !on) { if (shown) h.group.removeLayer(h.heat); return; }
      h.heat.setOptions({ radius: radius, blur: radius * 0.85 });
      if (!shown) h.group.addLayer(h.heat);
    });
  };

  // A commune's petitions: a circle per petition coloured by status; hollow and dashed where the place
  // is only the village's (placed with the pickers, no point).
  AreaMap.prototype.addMarkers = function () {
    var t = this.texts, cluster = L.markerClusterGroup({ maxClusterRadius: 40, showCoverageOnHover: false });
    this.map.createPane('petitions').style.zIndex = 610;  // above the villages, whatever loads first
    this.cfg.markers.forEach(function (m) {
      var style = m.approximate
        ? { radius: 8, color: m.colour, weight: 2, dashArray: '3 3', fillColor: '#ffffff', fillOpacity: 0.85 }
        : { radius: 7, color: m.colour, weight: 1.5, fillColor: m.colour, fillOpacity: 0.9 };
      style.pane = 'petitions';
      style.className = m.approximate ? 'marker-approximate' : 'marker-exact';
      var marker = L.circleMarker([m.lat, m.lon], style);
      marker.bindPopup(function () {
        var box = el('div', 'petition-popup');
        box.appendChild(el('strong', null, m.title));
        box.appendChild(el('div', null, m.category + ' · ' + m.status));
        if (m.approximate) box.appendChild(el('div', 'approximate-note', t.approximate));
        var a = el('a', null, t.open);
        a.href = m.href;
        box.appendChild(a);
        return box;
      }, { maxWidth: 260 });
      cluster.addLayer(marker);
    });
    this.markerLayer = cluster;
    cluster.addTo(this.map);
  };

  function start() {
    window.portalMaps = window.portalMaps || {};
    var holders = document.querySelectorAll('.area-map[data-config]');
    Array.prototype.forEach.call(holders, function (holder) {
      if (window.portalMaps[holder.id]) return;
      var cfg = JSON.parse(document.getElementById(holder.getAttribute('data-config')).textContent);
      window.portalMaps[holder.id] = new AreaMap(holder, cfg);
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
