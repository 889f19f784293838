// The operator console: the open alert queue (most urgent, then longest waiting, first),
// the map of cameras, sites, units, incidents and alerts, and the live feed that keeps
// both current. Everything shown comes through the API and /ws/console, which apply the
// operator's district scope on the server; this script never filters for security.
(function () {
  "use strict";
  const OPEN = new Set(["new", "acknowledged", "escalated"]);
  const FINAL_INCIDENT = new Set(["closed", "cancelled", "duplicate", "hoax", "referred"]);
  const QUEUE_LIMIT = 500; // rows loaded from the API at once
  const REFILL_MS = 2000; // after rows left, how soon the page asks for those it dropped
  const POLL_MS = 15000;
  const PKT_OFFSET_MS = 5 * 3600 * 1000; // Pakistan keeps no daylight saving
  const VIDEO_MARGIN_MS = 2 * 60 * 1000;

  function start() {
    const root = document.getElementById("console");
    if (!root) return;
    const queue = document.getElementById("alert-queue");
    const template = document.getElementById("alert-template");
    const countLabel = document.getElementById("queue-count");
    const feedState = document.getElementById("feed-state");
    const queueError = document.getElementById("queue-error");
    const filters = document.getElementById("queue-filters");
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    const alerts = new Map(); // id -> alert as the API returns it
    const rows = new Map(); // id -> <li>
    const shown = []; // [id, Date.now()] when an alert first appeared (latency measurements)
    window.safecityConsole = { shown: shown, alerts: alerts };
    const map = makeMap(root);
    // Where the map draws a unit, as [lat, lon] (null if not on the map): for tests.
    window.safecityConsole.unitAt = map.unitAt;
    // Rows the page holds at most: a flood of live alerts (a camera firing all night) must
    // not grow the page without bound. Beyond it the least urgent row is let go and
    // counted; once rows leave, the queue is loaded again and the next ones come back.
    const rowLimit = Number(root.dataset.queueRows) || 2000;
    let beyond = 0; // open alerts in scope that the page does not hold
    let refill = null;
    let queueLoaded = false;
    let mapLoaded = !root.dataset.features;
    let loadTicket = 0;

    // -- the queue ------------------------------------------------------------------------

    function filterValues() {
      const values = {};
      for (const [key, value] of new FormData(filters).entries()) if (value) values[key] = value;
      return values;
    }

    function wanted(alert) {
      const f = filterValues();
      if (!OPEN.has(alert.status)) return false;
      if (f.district && alert.district !== f.district) return false;
      if (f.priority && String(alert.priority) !== f.priority) return false;
      return true;
    }

    function order(a, b) {
      return a.priority - b.priority || a.first_seen.localeCompare(b.first_seen) || a.id - b.id;
    }

    async function loadQueue() {
      const ticket = ++loadTicket;
      const params = new URLSearchParams({ status: "open", limit: String(QUEUE_LIMIT), ...filterValues() });
      const response = await fetch(root.dataset.alerts + "?" + params.toString(), {
        headers: { Accept: "application/json" }, credentials: "same-origin",
      });
      if (ticket !== loadTicket) return;
      if (!response.ok) {
        showQueueError("Could not load the alert queue (" + response.status + ").");
        return;
      }
      const body = await response.json();
      if (ticket !== loadTicket) return;
      queueError.hidden = true;
      alerts.clear();
      for (const row of rows.values()) row.remove();
      rows.clear();
      map.clearAlerts();
      // The server sends the queue in order: append, no per-row search for a place.
      const fragment = document.createDocumentFragment();
      for (const alert of body.items) upsert(alert, false, fragment);
      queue.appendChild(fragment);
      queueLoaded = true;
      beyond = Math.max(0, (body.total || 0) - alerts.size);
      refreshCount();
      markReady();
    }

    function showQueueError(text) {
      queueError.textContent = text;
      queueError.hidden = false;
    }

    function refreshCount() {
      const n = alerts.size;
      const more = beyond > 0 ? ` (showing ${n} of ${n + beyond})` : "";
      countLabel.textContent = `${n} open${more}`;
      root.dataset.alertCount = String(n);
      root.dataset.alertsBeyond = String(beyond);
      refreshTitle();
    }

    // -- urgent alerts nobody has taken -----------------------------------------------------
    // A P1 alert still "new" keeps its highlight until someone acknowledges it and counts
    // in the tab's title, which an operator sees from another tab or a minimised window;
    // a live one also sounds a short tone where this browser has the console's sound on.
    const URGENT_PRIORITY = 1;
    const baseTitle = document.title;
    const soundToggle = document.getElementById("urgent-sound");
    let audio = null;

    function isUrgent(alert) {
      return alert.priority <= URGENT_PRIORITY && alert.status === "new";
    }

    function refreshTitle() {
      let waiting = 0;
      for (const alert of alerts.values()) if (isUrgent(alert)) waiting += 1;
      document.title = waiting ? `(${waiting}) P1 waiting · ${baseTitle}` : baseTitle;
      root.dataset.urgent = String(waiting);
    }

    if (soundToggle) {
      soundToggle.checked = localStorage.getItem("safecity.urgentSound") !== "off";
      soundToggle.addEventListener("change", () => {
        localStorage.setItem("safecity.urgentSound", soundToggle.checked ? "on" : "off");
      });
      // Browsers let a page play sound only once the user has interacted with that page
      // (signing in on the login page does not count): the first click or key here
      // unlocks it, and until then the label says so.
      if (window.AudioContext) {
        soundToggle.parentElement.title = "Click anywhere on the console once to let it sound";
        const unlock = () => {
          audio = audio || new AudioContext();
          audio.resume().then(() => { soundToggle.parentElement.title = "A short tone when a new P1 alert arrives (this browser)"; });
        };
        document.addEventListener("pointerdown", unlock, { once: true });
        document.addEventListener("keydown", unlock, { once: true });
      }
    }

    function sound() {
      if (!soundToggle || !soundToggle.checked || !window.AudioContext) return;
      audio = audio || new AudioContext();
      if (audio.state === "suspended") audio.resume();
      const at = audio.currentTime;
      for (const [offset, pitch] of [[0, 880], [0.25, 660]]) {
        const tone = audio.createOscillator();
        const gain = audio.createGain();
        tone.frequency.value = pitch;
        gain.gain.setValueAtTime(0.2, at + offset);
        gain.gain.exponentialRampToValueAtTime(0.001, at + offset + 0.2);
        tone.connect(gain).connect(audio.destination);
        tone.start(at + offset);
        tone.stop(at + offset + 0.2);
      }
      root.dataset.sounded = String(Number(root.dataset.sounded || 0) + 1);
    }

    function keepWithinLimit() {
      while (rows.size > rowLimit && queue.lastElementChild) {
        remove(Number(queue.lastElementChild.dataset.id));
        beyond += 1;
      }
    }

    function refillSoon() {
      if (beyond === 0 || refill !== null) return;
      refill = setTimeout(() => {
        refill = null;
        if (beyond > 0 && rows.size < rowLimit) loadQueue();
      }, REFILL_MS);
    }

    // One sweep a second ends every highlight that is due: a timer per row re-styled
    // the page once per live alert, hundreds of frames a minute in a busy hour.
    const FRESH_MS = 4000;
    const freshUntil = new Map();
    let sweep = null;

    function markFresh(row) {
      row.classList.add("fresh");
      freshUntil.set(row, Date.now() + FRESH_MS);
      if (sweep === null) sweep = setInterval(endHighlights, 1000);
    }

    function endHighlights() {
      const now = Date.now();
      for (const [row, until] of freshUntil) {
        if (until > now) continue;
        row.classList.remove("fresh");
        freshUntil.delete(row);
      }
      if (freshUntil.size === 0) {
        clearInterval(sweep);
        sweep = null;
      }
    }

    function upsert(alert, live, fragment) {
      const known = alerts.get(alert.id);
      if (known && known.version > alert.version) return; // an older message overtaken
      if (!wanted(alert)) {
        if (rows.has(alert.id)) {
          remove(alert.id);
          refillSoon(); // room for one that was let go
        }
        return;
      }
      alerts.set(alert.id, alert);
      let row = rows.get(alert.id);
      if (!row) {
        row = template.content.firstElementChild.cloneNode(true);
        row.dataset.id = String(alert.id);
        rows.set(alert.id, row);
        wireRow(row, alert.id);
        shown.push([alert.id, Date.now()]);
        if (shown.length > 20000) shown.splice(0, 10000);
      }
      const wasUrgent = Boolean(known) && isUrgent(known);
      fill(row, alert);
      if (live) markFresh(row);
      // A new P1, or one raised to P1 by a later sighting: not each re-sighting of a P1.
      if (live && isUrgent(alert) && !wasUrgent) sound();
      if (fragment) fragment.appendChild(row);
      else place(row, alert);
      map.showAlert(alert);
      if (live) keepWithinLimit();
    }

    function remove(id) {
      alerts.delete(id);
      const row = rows.get(id);
      if (row) { row.remove(); freshUntil.delete(row); }
      rows.delete(id);
      map.removeAlert(id);
    }

    function sortsBefore(alert, element) {
      const other = element && alerts.get(Number(element.dataset.id));
      return other ? order(alert, other) < 0 : false;
    }

    function place(row, alert) {
      // The queue is kept in order(), so a row already between the right neighbours stays
      // (moving it would take the focus from an operator's half-made choice), and a new or
      // moved one finds its place by binary search: walking up to a thousand rows for
      // every alert was most of the page's work at 100 alerts a second.
      if (row.parentNode === queue) {
        const before = row.previousElementSibling;
        const after = row.nextElementSibling;
        if ((!before || !sortsBefore(alert, before)) && (!after || sortsBefore(alert, after))) return;
        row.remove();
      }
      const children = queue.children;
      let low = 0;
      let high = children.length;
      while (low < high) {
        const middle = (low + high) >> 1;
        if (sortsBefore(alert, children[middle])) high = middle;
        else low = middle + 1;
      }
      queue.insertBefore(row, children[low] || null);
    }

    function fill(row, alert) {
      row.dataset.status = alert.status;
      row.classList.toggle("urgent", isUrgent(alert));
      row.dataset.version = String(alert.version);
      const priority = row.querySelector(".priority");
      priority.textContent = "P" + alert.priority;
      priority.className = "priority p" + alert.priority;
      row.querySelector(".title").textContent = alert.title;
      row.querySelector(".count").textContent = alert.count > 1 ? "×" + alert.count : "";
      row.querySelector(".kind").textContent = alert.kind;
      const camera = alert.camera_code ? alert.camera_code + (alert.camera_name ? " " + alert.camera_name : "") : alert.site_code || alert.district;
      row.querySelector(".camera").textContent = camera;
      const seen = row.querySelector(".seen");
      seen.dateTime = alert.last_seen;
      seen.textContent = alert.count > 1 ? `${pkt(alert.first_seen)} – ${pkt(alert.last_seen)}` : pkt(alert.last_seen);
      row.querySelector(".status").textContent = alert.status;
      row.querySelector(".handled").textContent = alert.handled_by ? `by ${alert.handled_by} ${pkt(alert.handled_at)}` + (alert.note ? ` — ${alert.note}` : "") : "";
      const image = row.querySelector(".snapshot");
      if (alert.has_snapshot) {
        // The version in the address: a sighting folded in may change the picture.
        const src = `/api/v1/alerts/${alert.id}/snapshot?v=${alert.version}`;
        if (image.getAttribute("src") !== src) image.src = src;
        image.alt = (alert.hotlist ? "Vehicle of " : "Snapshot of ") + alert.title;
        image.title = "Open the whole picture";
        image.onclick = (event) => {
          event.stopPropagation(); // the picture, not the row's selection
          window.open(src, "_blank", "noopener");
        };
        image.hidden = false;
      } else {
        // A newer sighting without a picture: never leave an older camera's on the card.
        image.hidden = true;
        image.removeAttribute("src");
        image.onclick = null;
      }
      fillPlateCheck(row, alert);
      const links = row.querySelector(".video-links");
      links.replaceChildren();
      if (alert.camera_id && root.dataset.canWatch) {
        links.append(link(`/cameras/${alert.camera_id}/live`, "Live"));
        const since = formPkt(Date.parse(alert.first_seen) - VIDEO_MARGIN_MS);
        const until = formPkt(Date.parse(alert.last_seen) + VIDEO_MARGIN_MS);
        const query = new URLSearchParams({ since: since, until: until });
        links.append(link(`/cameras/${alert.camera_id}/playback?${query}`, "Recorded"));
      }
      const plate = alert.hotlist && (alert.hotlist.listed_plate || alert.hotlist.read_plate);
      if (plate && root.dataset.canSearchPlates) {
        // Where else the vehicle was read, misreads included; the page asks why.
        links.append(link(`/plates?${new URLSearchParams({ plate: plate, mode: "near" })}`, "Other reads"));
      }
      if (root.dataset.canAudit) {
        links.append(link(`/audit?${new URLSearchParams({ object_type: "alert", object_id: String(alert.id) })}`, "History"));
      }
      const acknowledge = row.querySelector('[data-action="acknowledge"]');
      if (acknowledge) acknowledge.disabled = alert.status !== "new";
      const escalate = row.querySelector('[data-action="escalate"]');
      if (escalate) escalate.disabled = alert.status === "escalated";
      // A hotlist hit leads to field action only once an operator has confirmed the
      // match (the server refuses it too); until then the incident button says why.
      // Nor once its hotlist entry has left the list: the car is no longer sought.
      const unconfirmed = alert.hotlist && alert.hotlist.verdict !== "confirmed";
      const ended = alert.hotlist && entryEnded(alert.hotlist);
      const incident = row.querySelector('[data-action="incident"]');
      if (incident) {
        incident.disabled = Boolean(unconfirmed || ended);
        incident.title = ended ? "The hotlist entry is no longer live" : unconfirmed ? "Confirm the plate match first" : "";
      }
      const matchActions = row.querySelector(".match-actions");
      if (matchActions) matchActions.hidden = !alert.hotlist || Boolean(alert.hotlist.verdict);
    }

    // A hotlist hit: the plate crop beside the vehicle, the plate as read and as listed
    // one above the other with every differing character marked (LEB1234 / LE81234),
    // why it is listed, and the operator's verdict.
    function fillPlateCheck(row, alert) {
      const box = row.querySelector(".plate-check");
      const hit = alert.hotlist;
      row.classList.toggle("hotlist", Boolean(hit));
      box.hidden = !hit;
      if (!hit) return;
      const crop = row.querySelector(".plate-crop");
      if (alert.has_plate_crop) {
        // Reloaded whenever the alert changes: the operator judges the crop the alert
        // holds now, never one a later sighting replaced.
        const src = `/api/v1/alerts/${alert.id}/snapshot?which=plate&v=${alert.version}`;
        if (crop.getAttribute("src") !== src) crop.src = src;
        crop.alt = "Plate crop of " + (hit.read_plate || alert.title);
        crop.hidden = false;
      } else {
        crop.hidden = true;
      }
      const read = hit.read_plate || "";
      const listed = hit.listed_plate || "";
      showPlate(row.querySelector(".read-plate"), read, listed);
      showPlate(row.querySelector(".listed-plate"), listed, read);
      if (!listed && hit.entry_id) row.querySelector(".listed-plate").textContent = `entry ${hit.entry_id}`;
      row.querySelector(".match-kind").textContent = hit.match === "confusable" ? "look-alike characters" : hit.match || "";
      const why = [hit.category.replace(/_/g, " "), hit.reason, hit.source_agency && "listed by " + hit.source_agency];
      row.querySelector(".hotlist-why").textContent = why.filter(Boolean).join(" · ");
      const verdict = row.querySelector(".match-verdict");
      verdict.dataset.verdict = hit.verdict || "unchecked";
      verdict.textContent = hit.verdict
        ? `Match ${hit.verdict} by ${hit.checked_by} ${pkt(hit.checked_at)}`
        : "Match not checked: compare the plate crop with the listed plate before any field action.";
      const entry = row.querySelector(".entry-state");
      entry.hidden = !entryEnded(hit);
      entry.textContent = entryEnded(hit)
        ? `Entry ${hit.entry_id} no longer live: ${hit.entry_state === "expired" ? "expired" : "taken off the list"}` +
          (hit.entry_ended_at ? ` ${pkt(hit.entry_ended_at)}` : "") + ". No field action on this alert."
        : "";
    }

    function entryEnded(hit) {
      return hit.entry_state === "removed" || hit.entry_state === "expired";
    }

    // Closing an alert takes it off every operator's queue and cannot be undone: the
    // operator is told what will happen and says yes first.
    function confirmClosing(alert, action, reasonLabel) {
      const what = `P${alert.priority} alert "${alert.title}"`;
      const question = action === "reject-match"
        ? `Not a match: ${what} will be dismissed as a misread plate and leave the queue. ` +
          "This cannot be undone. Reject the match?"
        : `${what} will be dismissed as "${reasonLabel}" and leave the queue. ` +
          "This cannot be undone. Dismiss it?";
      return window.confirm(question);
    }

    function showPlate(element, text, other) {
      element.replaceChildren();
      for (let i = 0; i < text.length; i += 1) {
        const differs = other !== "" && text[i] !== other[i];
        const cell = document.createElement(differs ? "mark" : "span");
        cell.textContent = text[i];
        if (differs) cell.title = "differs from the other plate";
        element.append(cell);
      }
    }

    function link(href, text) {
      const a = document.createElement("a");
      a.href = href;
      a.textContent = text;
      a.target = "_blank";
      a.rel = "noopener";
      return a;
    }

    function wireRow(row, id) {
      row.addEventListener("click", (event) => {
        if (event.target.closest("button, select, a")) return;
        select(id);
      });
      for (const button of row.querySelectorAll("button[data-action]")) {
        button.addEventListener("click", () => act(id, button.dataset.action, row));
      }
    }

    function select(id) {
      for (const row of queue.querySelectorAll(".selected")) row.classList.remove("selected");
      const row = rows.get(id);
      if (row) {
        row.classList.add("selected");
        row.scrollIntoView({ block: "nearest" });
      }
      map.focus(id);
    }

    async function act(id, action, row) {
      const alert = alerts.get(id);
      if (!alert) return;
      const errorLine = row.querySelector(".action-error");
      errorLine.hidden = true;
      let url = `/api/v1/alerts/${id}/${action}`;
      let body = {};
      if (action === "dismiss") {
        const reason = row.querySelector(".reason").value;
        if (!reason) {
          errorLine.textContent = "Choose a reason to dismiss.";
          errorLine.hidden = false;
          return;
        }
        body = { reason: reason };
      }
      if (action === "dismiss" || action === "reject-match") {
        const reasons = row.querySelector(".reason");
        const label = reasons ? reasons.options[reasons.selectedIndex].text : "";
        if (!confirmClosing(alert, action, label)) return;
      }
      if (action === "incident") {
        const type = row.querySelector(".incident-type").value;
        if (!type) {
          errorLine.textContent = "Choose the incident type.";
          errorLine.hidden = false;
          return;
        }
        url = `/api/v1/alerts/${id}/incident`;
        body = { type: type };
      }
      const response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json", Accept: "application/json",
          "X-CSRF-Token": csrf, "If-Match": `"${alert.version}"`,
        },
        body: JSON.stringify(body),
      });
      const answer = await response.json().catch(() => null);
      if (response.ok && answer) {
        // Acting on an alert answers the alert; opening an incident answers the incident.
        if (action === "incident") refreshOne(id);
        else upsert(answer, false);
        refreshCount();
        return;
      }
      const message = answer && answer.error ? answer.error.message : `failed (${response.status})`;
      errorLine.textContent = message;
      errorLine.hidden = false;
      if (response.status === 409 || response.status === 412) refreshOne(id);
    }

    async function refreshOne(id) {
      const response = await fetch(`/api/v1/alerts/${id}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.ok) {
        const fresh = await response.json();
        const errorLine = rows.get(id) && rows.get(id).querySelector(".action-error");
        upsert(fresh, false);
        if (errorLine && !rows.has(id)) errorLine.hidden = true;
        refreshCount();
      }
    }

    // -- the live feed ------------------------------------------------------------------

    let retry = 500;
    let everConnected = false;
    function connect() {
      const scheme = location.protocol === "https:" ? "wss://" : "ws://";
      const socket = new WebSocket(scheme + location.host + root.dataset.socket);
      setFeed("connecting");
      socket.addEventListener("open", () => {
        retry = 500;
      });
      socket.addEventListener("message", (event) => {
        const message = JSON.parse(event.data);
        if (message.kind === "batch") message.frames.forEach(handle);
        else handle(message);
      });
      function handle(message) {
        if (message.kind === "hello") {
          setFeed("live");
          // Whatever happened while disconnected is in the queue, not in the feed.
          if (everConnected) loadQueue();
          everConnected = true;
        } else if (message.kind === "resync") {
          loadQueue();
        } else if (message.kind === "alert") {
          upsert(message.payload, true);
          refreshCount();
        } else if (message.kind.startsWith("unit")) {
          map.showUnit(message.payload);
        } else if (message.kind.startsWith("incident")) {
          map.showIncident(message.payload);
        }
      }
      socket.addEventListener("close", (event) => {
        if (event.code === 4401) {
          setFeed("lost", "signed out: reload the page");
          return;
        }
        if (event.code === 4403) {
          setFeed("lost", "not allowed");
          return;
        }
        setFeed("lost", "reconnecting");
        setTimeout(connect, retry);
        retry = Math.min(retry * 2, 10000);
      });
    }

    function setFeed(state, text) {
      feedState.className = "feed-state " + state;
      feedState.textContent = text || state;
      root.dataset.feed = state;
    }

    // -- units and incidents (the dispatch module's lists) -------------------------------

    async function poll(url, show) {
      if (!url) return;
      const response = await fetch(url + "?limit=1000", { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.ok) {
        const body = await response.json();
        for (const item of body.items || []) show(item);
      }
      setTimeout(() => poll(url, show), POLL_MS);
    }

    async function loadFeatures() {
      if (!root.dataset.features) return;
      const response = await fetch(root.dataset.features, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.ok) map.showFeatures(await response.json());
      mapLoaded = true;
      markReady();
    }

    function markReady() {
      if (queueLoaded && mapLoaded) root.dataset.ready = "1";
    }

    filters.addEventListener("change", loadQueue);
    map.onSelect(select);
    loadQueue();
    loadFeatures();
    connect();
    poll(root.dataset.units, map.showUnit);
    poll(root.dataset.incidents, map.showIncident);
  }

  // -- the map ------------------------------------------------------------------------------

  function makeMap(root) {
    const element = document.getElementById("console-map");
    const none = () => {};
    if (typeof L === "undefined") {
      return { clearAlerts: none, showAlert: none, removeAlert: none, focus: none, showFeatures: none, showUnit: none, showIncident: none, onSelect: none, unitAt: () => null };
    }
    const map = L.map(element, { preferCanvas: true, zoomSnap: 0.5 }).setView([33.2, 71.4], 7);
    if (root.dataset.tileUrl) L.tileLayer(root.dataset.tileUrl, { maxZoom: 19 }).addTo(map);
    else element.classList.add("plain");
    const layers = {
      Sites: L.layerGroup().addTo(map), Cameras: L.layerGroup().addTo(map),
      Units: L.layerGroup().addTo(map), Incidents: L.layerGroup().addTo(map), Alerts: L.layerGroup().addTo(map),
    };
    L.control.layers(null, layers).addTo(map);
    const alertMarkers = new Map();
    const unitMarkers = new Map();
    const incidentMarkers = new Map();
    let selectHandler = none;
    let fitted = false;

    function point(item) {
      const lat = item.latitude ?? item.lat;
      const lon = item.longitude ?? item.lon;
      return lat == null || lon == null ? null : [lat, lon];
    }

    function upsertMarker(markers, layer, id, at, style, label) {
      let marker = markers.get(id);
      if (!marker) {
        marker = L.circleMarker(at, style).addTo(layer);
        markers.set(id, marker);
      } else {
        marker.setLatLng(at);
        marker.setStyle(style);
      }
      marker.unbindTooltip();
      marker.bindTooltip(label);
      return marker;
    }

    return {
      onSelect(handler) { selectHandler = handler; },
      clearAlerts() { layers.Alerts.clearLayers(); alertMarkers.clear(); },
      showAlert(alert) {
        const at = point(alert);
        if (!at) return;
        const style = { radius: 9, color: "#7f0000", weight: 2, fillColor: alert.priority <= 2 ? "#c62828" : "#b26a00", fillOpacity: 0.8 };
        const marker = upsertMarker(alertMarkers, layers.Alerts, alert.id, at, style, `P${alert.priority} ${alert.title}`);
        marker.off("click");
        marker.on("click", () => selectHandler(alert.id));
      },
      removeAlert(id) {
        const marker = alertMarkers.get(id);
        if (marker) layers.Alerts.removeLayer(marker);
        alertMarkers.delete(id);
      },
      focus(id) {
        const marker = alertMarkers.get(id);
        if (marker) map.setView(marker.getLatLng(), Math.max(map.getZoom(), 14), { animate: false });
      },
      showFeatures(data) {
        const bounds = [];
        for (const s of data.sites || []) {
          L.circleMarker([s.lat, s.lon], { radius: 5, color: "#102a43", weight: 1, fillOpacity: 0.1 })
            .bindTooltip(`${s.code} ${s.name}`).addTo(layers.Sites);
          bounds.push([s.lat, s.lon]);
        }
        for (const c of data.cameras || []) {
          const colour = c.status === "online" ? "#1a7f37" : c.status === "offline" ? "#c62828" : "#6b7785";
          L.circleMarker([c.lat, c.lon], { radius: 3, color: colour, weight: 1, fillColor: colour, fillOpacity: 0.9 })
            .bindTooltip(`${c.code} ${c.name} (${c.status})`).addTo(layers.Cameras);
        }
        if (bounds.length && !fitted) {
          map.fitBounds(bounds, { padding: [20, 20], maxZoom: 13, animate: false });
          fitted = true;
        }
      },
      showUnit(unit) {
        const at = point(unit);
        if (!at || unit.id == null) return;
        const style = { radius: 7, color: "#0b5cad", weight: 2, fillColor: "#4f8fd6", fillOpacity: 0.9 };
        upsertMarker(unitMarkers, layers.Units, unit.id, at, style, `${unit.callsign || "Unit " + unit.id} (${unit.status || ""})`);
        element.dataset.units = String(unitMarkers.size);
      },
      unitAt(id) {
        const marker = unitMarkers.get(id);
        if (!marker) return null;
        const at = marker.getLatLng();
        return [at.lat, at.lng];
      },
      showIncident(incident) {
        const at = point(incident);
        if (!at || incident.id == null) return;
        const closed = FINAL_INCIDENT.has(incident.status);
        if (closed) {
          const marker = incidentMarkers.get(incident.id);
          if (marker) layers.Incidents.removeLayer(marker);
          incidentMarkers.delete(incident.id);
          element.dataset.incidents = String(incidentMarkers.size);
          return;
        }
        const style = { radius: 8, color: "#4a148c", weight: 2, fillColor: "#8e24aa", fillOpacity: 0.8 };
        upsertMarker(incidentMarkers, layers.Incidents, incident.id, at, style, `Incident ${incident.id}: ${incident.type_label || incident.type || ""} (${incident.status || ""})`);
        element.dataset.incidents = String(incidentMarkers.size);
      },
    };
  }

  function pad(n) {
    return String(n).padStart(2, "0");
  }

  function pktParts(ms) {
    const d = new Date(ms + PKT_OFFSET_MS);
    return {
      y: d.getUTCFullYear(), mo: pad(d.getUTCMonth() + 1), d: pad(d.getUTCDate()),
      h: pad(d.getUTCHours()), mi: pad(d.getUTCMinutes()), s: pad(d.getUTCSeconds()),
    };
  }

  function pkt(iso) {
    if (!iso) return "";
    const p = pktParts(Date.parse(iso));
    return `${p.d}-${p.mo}-${p.y} ${p.h}:${p.mi}:${p.s} PKT`;
  }

  function formPkt(ms) {
    const p = pktParts(ms);
    return `${p.y}-${p.mo}-${p.d}T${p.h}:${p.mi}`;
  }

  document.addEventListener("DOMContentLoaded", start);
})();
