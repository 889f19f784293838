// The map of districts, sites and cameras. Tiles come from the deployment's own tile
// server when one is configured; otherwise markers sit on a plain background.
(function () {
  "use strict";
  const COLOURS = { online: "#1a7f37", offline: "#c62828", maintenance: "#b26a00" };
  const PLANNED = "#6b7785";

  function start() {
    const element = document.getElementById("map");
    if (!element || typeof L === "undefined") return;
    const tileUrl = element.dataset.tileUrl;
    const map = L.map(element, { preferCanvas: true, zoomSnap: 0.5 }).setView([33.2, 71.4], 7);
    if (tileUrl) {
      L.tileLayer(tileUrl, { maxZoom: 19 }).addTo(map);
    } else {
      element.classList.add("plain");
    }
    const districtLayer = L.layerGroup().addTo(map);
    const siteLayer = L.layerGroup().addTo(map);
    const cameraLayer = L.layerGroup().addTo(map);
    L.control.layers(null, { Districts: districtLayer, Sites: siteLayer, Cameras: cameraLayer }).addTo(map);
    const form = document.getElementById("map-filters");
    const summary = document.getElementById("map-summary");
    let fitted = false;

    let latest = 0;

    async function load() {
      const ticket = ++latest;
      const params = new URLSearchParams(new FormData(form));
      for (const [key, value] of [...params.entries()]) if (!value) params.delete(key);
      summary.textContent = "Loading…";
      const response = await fetch(element.dataset.features + "?" + params.toString(), {
        headers: { Accept: "application/json" }, credentials: "same-origin",
      });
      if (!response.ok) {
        summary.textContent = "Could not load the map (" + response.status + ").";
        return;
      }
      const data = await response.json();
      if (ticket !== latest) return; // a newer filter's answer is on its way: drop this one
      districtLayer.clearLayers(); siteLayer.clearLayers(); cameraLayer.clearLayers();
      const bounds = [];
      for (const d of data.districts) {
        L.marker([d.latitude, d.longitude], { opacity: 0 })
          .bindTooltip(escapeHtml(d.name), { permanent: true, direction: "center", className: "district-label" })
          .addTo(districtLayer);
        if (!params.get("district") || params.get("district") === d.slug) bounds.push([d.latitude, d.longitude]);
      }
      for (const s of data.sites) {
        L.circleMarker([s.lat, s.lon], { radius: 6, color: "#102a43", weight: 1, fillOpacity: 0.15 })
          .bindPopup(`<a href="/sites/${s.id}">${escapeHtml(s.code)}</a> ${escapeHtml(s.name)}<br>${escapeHtml(s.type)} · ${escapeHtml(s.status)} · ${s.cameras} cameras`)
          .addTo(siteLayer);
        bounds.push([s.lat, s.lon]);
      }
      for (const c of data.cameras) {
        const colour = COLOURS[c.status] || PLANNED;
        L.circleMarker([c.lat, c.lon], { radius: 3, color: colour, weight: 1, fillColor: colour, fillOpacity: 0.9 })
          .bindPopup(`<a href="/cameras/${c.id}">${escapeHtml(c.code)}</a> ${escapeHtml(c.name)}<br>${escapeHtml(c.status)} · ${escapeHtml(c.ownership)}`)
          .addTo(cameraLayer);
      }
      summary.textContent = [count(data.districts.length, "district"), count(data.sites.length, "site"),
        count(data.cameras.length, "camera")].join(" · ");
      element.dataset.cameraCount = String(data.cameras.length);
      element.dataset.siteCount = String(data.sites.length);
      if (bounds.length && (!fitted || params.get("district"))) {
        // No animation: Leaflet drops a fitBounds that arrives while a zoom animation
        // runs, so a filter chosen just after the page loaded left the map unzoomed.
        map.fitBounds(bounds, { padding: [20, 20], maxZoom: 13, animate: false });
        fitted = true;
      }
    }

    function count(n, noun) {
      return `${n} ${noun}${n === 1 ? "" : "s"}`;
    }

    function escapeHtml(text) {
      return String(text).replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]);
    }

    form.addEventListener("change", load);
    load();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
