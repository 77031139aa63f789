// The small map on an officer's petition page: the point and the village boundary.
(function () {
  var holder = document.getElementById('petition-map');
  var data = JSON.parse(document.getElementById('petition-map-data').textContent);
  var layers = [];
  if (data.boundary) {
    layers.push(L.geoJSON(data.boundary, { style: { color: '#b3161b', weight: 2, fillOpacity: 0.08 } }));
  }
  if (data.point) {
    layers.push(L.circleMarker([data.point[1], data.point[0]], { radius: 7, color: '#1a5fb4', fillOpacity: 0.9 }));
  }
  if (!layers.length) return;
  // The view first: Leaflet cannot draw a layer on a map that has none yet.
  var map = L.map(holder, { scrollWheelZoom: false });
  map.fitBounds(L.featureGroup(layers).getBounds(), { maxZoom: 16, padding: [12, 12] });
  if (data.tiles) L.tileLayer(data.tiles, { attribution: data.attribution, maxZoom: 19 }).addTo(map);
  layers.forEach(function (layer) { layer.addTo(map); });
})();
