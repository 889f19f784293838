// The field unit's map: where the incident is, and where the unit last reported.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    const element = document.getElementById("field-map");
    if (!element || typeof L === "undefined") return;
    const target = [parseFloat(element.dataset.latitude), parseFloat(element.dataset.longitude)];
    const map = L.map(element, { zoomSnap: 0.5 }).setView(target, 14);
    if (element.dataset.tileUrl) L.tileLayer(element.dataset.tileUrl, { maxZoom: 19 }).addTo(map);
    else element.classList.add("plain");
    L.circleMarker(target, { radius: 9, color: "#c62828" }).addTo(map);
    const lat = parseFloat(element.dataset.unitLatitude);
    const lon = parseFloat(element.dataset.unitLongitude);
    if (!Number.isNaN(lat) && !Number.isNaN(lon)) {
      L.circleMarker([lat, lon], { radius: 7, color: "#1a5fb4" }).addTo(map);
      map.fitBounds([target, [lat, lon]], { padding: [30, 30], maxZoom: 16 });
    }
  });
})();
