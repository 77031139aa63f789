// The small map on an officer's petition page: the point and the village boundary.
(function () {
  var holder = document.getElementById('petition-map');
  var data = JSON.parse(document.getElementById('petition-map-data').textContent);
  var map = L.map(holder, { scrollWheelZoom: false });
  if (data.tiles) L.tileLayer(data.tiles, { attribution: data.attribution, maxZoom: 19 }).addTo(map);
  var bounds = null;
  if (data.boundary) {
    var outline = L.geoJSON(data.boundary, { style: { color: '#b3161b', weight: 2, fillOpacity: 0.08 } }).addTo(map);
    bounds = outline.getBounds();
  }
  if (data.point) {
    var marker = L.circleMarker([data.point[1], data.point[0]], { radius: 7, color: '#1a5fb4', fillOpacity: 0.9 });
    marker.addTo(map);
    bounds = bounds ? bounds.extend(marker.getLatLng()) : L.latLngBounds([marker.getLatLng()]);
  }
  if (bounds) map.fitBounds(bounds, { maxZoom: 16, padding: [12, 12] });
})();
