// Incident maps: the call form's map sets the caller's coordinates on click; an
// incident's page shows where it is. No tiles unless the deployment serves its own.
(function () {
  "use strict";

  function baseMap(element, lat, lon, zoom) {
    const map = L.map(element, { zoomSnap: 0.5 }).setView([lat, lon], zoom);
    if (element.dataset.tileUrl) {
      L.tileLayer(element.dataset.tileUrl, { maxZoom: 19 }).addTo(map);
    } else {
      element.classList.add("plain");
    }
    return map;
  }

  function callForm() {
    const element = document.getElementById("call-map");
    if (!element) return;
    const latInput = document.getElementById("call-latitude");
    const lonInput = document.getElementById("call-longitude");
    const district = document.querySelector("#call-form select[name=district]");
    const chosen = district && district.selectedOptions[0];
    const lat = parseFloat(latInput.value) || (chosen ? parseFloat(chosen.dataset.lat) : 34.0);
    const lon = parseFloat(lonInput.value) || (chosen ? parseFloat(chosen.dataset.lon) : 71.55);
    const map = baseMap(element, lat, lon, 12);
    let marker = null;
    function place(latlng) {
      if (marker) marker.setLatLng(latlng);
      else marker = L.marker(latlng).addTo(map);
      latInput.value = latlng.lat.toFixed(6);
      lonInput.value = latlng.lng.toFixed(6);
    }
    if (latInput.value && lonInput.value) place(L.latLng(lat, lon));
    map.on("click", function (event) { place(event.latlng); });
    if (district) {
      district.addEventListener("change", function () {
        const option = district.selectedOptions[0];
        map.setView([parseFloat(option.dataset.lat), parseFloat(option.dataset.lon)], 12);
      });
    }
  }

  function incidentMap() {
    const element = document.getElementById("incident-map");
    if (!element) return;
    const lat = parseFloat(element.dataset.latitude);
    const lon = parseFloat(element.dataset.longitude);
    const map = baseMap(element, lat, lon, 14);
    L.circleMarker([lat, lon], { radius: 9, color: "#c62828" }).addTo(map);
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (typeof L === "undefined") return;
    callForm();
    incidentMap();
  });
})();
