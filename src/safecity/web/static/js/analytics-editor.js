// Zone, ignore region and line editor: clicks on the picture add points (fractions of its
// size); the drawing is kept in the configuration text, which is saved whole through the API.
// An ignore region is a polygon like a zone, kept in "ignore": motion there is not tracked
// and no plate is read there (a camera's on-screen clock and name).
(function () {
  "use strict";
  const root = document.getElementById("analytics-editor");
  if (!root) return;
  const canvas = document.getElementById("overlay");
  const ctx = canvas.getContext("2d");
  const text = document.getElementById("config");
  const list = document.getElementById("shapes");
  const hint = document.getElementById("draw-hint");
  const editable = root.dataset.editable === "yes";
  let version = Number(root.dataset.version);
  let drawing = null; // {kind: "zone"|"ignore"|"line", points: [[x, y], ...]}
  const POLYGONS = { zone: "zones", ignore: "ignore" };

  const img = document.getElementById("snapshot");
  if (img && img.tagName === "IMG") {
    img.addEventListener("error", function () {
      img.hidden = true;
      document.getElementById("snapshot-error").hidden = false;
    });
  }

  function config() {
    try {
      return JSON.parse(text.value);
    } catch (err) {
      return null;
    }
  }

  function write(cfg) {
    text.value = JSON.stringify(cfg, null, 2);
    redraw();
  }

  function toPixels(p) {
    return [p[0] * canvas.width, p[1] * canvas.height];
  }

  function strokeShape(points, closed, colour, shade) {
    if (!points.length) return;
    ctx.strokeStyle = colour;
    ctx.fillStyle = colour;
    ctx.lineWidth = 2;
    ctx.beginPath();
    points.forEach(function (p, i) {
      const xy = toPixels(p);
      if (i === 0) ctx.moveTo(xy[0], xy[1]);
      else ctx.lineTo(xy[0], xy[1]);
    });
    if (closed) ctx.closePath();
    if (shade) {
      // A translucent fill marks an area the analytics do not look at.
      ctx.globalAlpha = 0.3;
      ctx.fill();
      ctx.globalAlpha = 1;
    }
    ctx.stroke();
    points.forEach(function (p) {
      const xy = toPixels(p);
      ctx.fillRect(xy[0] - 3, xy[1] - 3, 6, 6);
    });
  }

  function arrow(line) {
    // An arrowhead at the end: start -> end is the allowed direction of a wrong-way rule.
    // A tick from the middle towards the line's right side, marked "in": the crossing
    // counted as "in" by a line-crossing rule.
    const a = toPixels(line.start), b = toPixels(line.end);
    const mx = (a[0] + b[0]) / 2, my = (a[1] + b[1]) / 2;
    const dx = b[0] - a[0], dy = b[1] - a[1];
    const len = Math.hypot(dx, dy) || 1;
    const ux = dx / len, uy = dy / len;
    const nx = -uy, ny = ux;
    ctx.beginPath();
    ctx.moveTo(b[0], b[1]);
    ctx.lineTo(b[0] - ux * 14 + nx * 7, b[1] - uy * 14 + ny * 7);
    ctx.lineTo(b[0] - ux * 14 - nx * 7, b[1] - uy * 14 - ny * 7);
    ctx.closePath();
    ctx.fill();
    ctx.beginPath();
    ctx.moveTo(mx, my);
    ctx.lineTo(mx + nx * 20, my + ny * 20);
    ctx.stroke();
    ctx.font = "12px sans-serif";
    ctx.fillText("in", mx + nx * 24, my + ny * 24);
  }

  // Which fields each kind of rule takes;
  // "need" must be set, "may" may be left to the whole picture.
  const RULE_FIELDS = {
    zone_intrusion: { zone: "need" },
    loitering: { zone: "need", seconds: "need" },
    crowd: { zone: "may", threshold: "need", hold: "need", rearm: "need" },
    line_crossing: { line: "need" },
    wrong_way: { line: "need", zone: "may", tolerance: "need" },
    stopped_vehicle: { zone: "need", seconds: "need" },
    object_left: { zone: "may", seconds: "need" },
  };

  function ruleSummary(rule) {
    const parts = [];
    if (rule.zone) parts.push("zone " + rule.zone);
    if (rule.line) parts.push("line " + rule.line);
    if (rule.seconds !== undefined) parts.push(rule.seconds + " s");
    if (rule.threshold !== undefined) parts.push("over " + rule.threshold);
    if (rule.classes && rule.classes.length) parts.push(rule.classes.join(", "));
    return rule.kind.replace(/_/g, " ") + " " + rule.name + (parts.length ? " (" + parts.join("; ") + ")" : "");
  }

  function fillChoices(select, names, optional) {
    const before = select.value;
    select.replaceChildren();
    if (optional) select.appendChild(new Option("(the whole picture)", ""));
    names.forEach(function (name) { select.appendChild(new Option(name, name)); });
    if (names.indexOf(before) >= 0) select.value = before;
  }

  function showRuleFields() {
    const form = document.getElementById("rule-form");
    if (!form) return;
    const fields = RULE_FIELDS[document.getElementById("rule-kind").value] || {};
    form.querySelectorAll("[data-field]").forEach(function (label) {
      label.hidden = !fields[label.dataset.field];
    });
    const cfg = config();
    if (!cfg) return;
    fillChoices(document.getElementById("rule-zone"), (cfg.zones || []).map(function (z) { return z.name; }), fields.zone === "may");
    fillChoices(document.getElementById("rule-line"), (cfg.lines || []).map(function (l) { return l.name; }), false);
  }

  function addRule() {
    const hint = document.getElementById("rule-hint");
    const cfg = config();
    if (!cfg) { hint.textContent = "The configuration text is not valid JSON."; return; }
    const kind = document.getElementById("rule-kind").value;
    const fields = RULE_FIELDS[kind];
    const rule = { kind: kind, name: document.getElementById("rule-name").value.trim() };
    if (!rule.name) { hint.textContent = "Give the rule a name."; return; }
    if ((cfg.rules || []).some(function (r) { return r.name === rule.name; })) {
      hint.textContent = "A rule called " + rule.name + " exists already."; return;
    }
    const zone = document.getElementById("rule-zone").value;
    const line = document.getElementById("rule-line").value;
    if (fields.zone === "need" && !zone) { hint.textContent = "Draw a zone first: this rule watches one."; return; }
    if (fields.line && !line) { hint.textContent = "Draw a line first: this rule needs one."; return; }
    if (fields.zone && zone) rule.zone = zone;
    if (fields.line) rule.line = line;
    const numbers = {
      seconds: ["rule-seconds", "seconds", 1], threshold: ["rule-threshold", "threshold", 1],
      tolerance: ["rule-tolerance", "tolerance_degrees", 1], hold: ["rule-hold", "hold_seconds", 0],
      rearm: ["rule-rearm", "rearm_seconds", 0],
    };
    for (const field in numbers) {
      if (!fields[field]) continue;
      const [id, key, least] = numbers[field];
      const input = document.getElementById(id);
      const value = Number(input.value);
      if (input.value === "" || !Number.isFinite(value) || value < least) {
        hint.textContent = input.parentElement.textContent.trim() + ": a number of at least " + least + ".";
        return;
      }
      rule[key] = value;
    }
    const classes = document.getElementById("rule-classes").value.split(",")
      .map(function (c) { return c.trim(); }).filter(Boolean);
    if (classes.length) rule.classes = classes;
    cfg.rules = (cfg.rules || []).concat([rule]);
    hint.textContent = "Added " + rule.name + ". Remember to save.";
    write(cfg);
  }

  function label(name, p) {
    const xy = toPixels(p);
    ctx.font = "14px sans-serif";
    ctx.fillText(name, xy[0] + 5, xy[1] - 5);
  }

  function redraw() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    list.replaceChildren();
    const cfg = config();
    if (!cfg) {
      hint && (hint.textContent = "The configuration text is not valid JSON.");
      return;
    }
    (cfg.zones || []).forEach(function (zone, i) {
      strokeShape(zone.points, true, "#ffcc00");
      label(zone.name, zone.points[0]);
      addItem("zone", zone.name, function () { cfg.zones.splice(i, 1); write(cfg); });
    });
    (cfg.ignore || []).forEach(function (region, i) {
      strokeShape(region.points, true, "#b0b0b0", true);
      label(region.name, region.points[0]);
      addItem("ignore region", region.name, function () { cfg.ignore.splice(i, 1); write(cfg); });
    });
    (cfg.lines || []).forEach(function (line, i) {
      strokeShape([line.start, line.end], false, "#00d0ff");
      arrow(line);
      label(line.name, line.start);
      addItem("line", line.name, function () { cfg.lines.splice(i, 1); write(cfg); });
    });
    (cfg.rules || []).forEach(function (rule, i) {
      addItem("rule", ruleSummary(rule), function () { cfg.rules.splice(i, 1); write(cfg); });
    });
    showRuleFields();
    if (drawing) strokeShape(drawing.points, false, "#ff4040");
  }

  function addItem(kind, name, remove) {
    const li = document.createElement("li");
    li.textContent = kind + ": " + name;
    if (editable) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "secondary";
      button.textContent = "Delete";
      button.addEventListener("click", remove);
      li.appendChild(button);
    }
    list.appendChild(li);
  }

  function start(kind) {
    drawing = { kind: kind, points: [] };
    hint.textContent = kind === "zone"
      ? "Click the corners of the zone, then Finish shape."
      : kind === "ignore"
        ? "Click the corners of the ignore region (no motion, objects or plates there), then Finish shape."
        : "Click the two ends of the line (walking start to end, 'in' is to the right).";
    redraw();
  }

  function finish() {
    const cfg = config();
    if (!drawing || !cfg) return;
    const name = document.getElementById("shape-name").value.trim();
    const round = function (p) { return [Number(p[0].toFixed(4)), Number(p[1].toFixed(4))]; };
    const key = POLYGONS[drawing.kind];
    if (key) {
      if (drawing.points.length < 3) { hint.textContent = "A polygon needs at least 3 points."; return; }
      cfg[key] = (cfg[key] || []).concat([{ name: name, points: drawing.points.map(round) }]);
    } else {
      if (drawing.points.length !== 2) { hint.textContent = "A line needs exactly 2 points."; return; }
      cfg.lines = (cfg.lines || []).concat([
        { name: name, start: round(drawing.points[0]), end: round(drawing.points[1]) },
      ]);
    }
    drawing = null;
    hint.textContent = "Added " + name + ". Remember to save.";
    write(cfg);
  }

  if (editable) {
    canvas.addEventListener("click", function (event) {
      if (!drawing) return;
      const box = canvas.getBoundingClientRect();
      const x = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
      const y = Math.min(1, Math.max(0, (event.clientY - box.top) / box.height));
      drawing.points.push([x, y]);
      if (drawing.kind === "line" && drawing.points.length === 2) finish();
      else redraw();
    });
    document.getElementById("new-zone").addEventListener("click", function () {
      start(document.getElementById("polygon-kind").value === "ignore" ? "ignore" : "zone");
    });
    document.getElementById("new-line").addEventListener("click", function () { start("line"); });
    document.getElementById("finish-shape").addEventListener("click", finish);
    document.getElementById("cancel-shape").addEventListener("click", function () {
      drawing = null;
      redraw();
    });
    text.addEventListener("input", redraw);
    document.getElementById("rule-kind").addEventListener("change", showRuleFields);
    document.getElementById("add-rule").addEventListener("click", addRule);
    document.getElementById("save").addEventListener("click", function () {
      const result = document.getElementById("save-result");
      const cfg = config();
      if (!cfg) { result.textContent = "Not saved: the configuration is not valid JSON."; return; }
      const meta = document.querySelector('meta[name="csrf-token"]');
      fetch("/api/v1/cameras/" + root.dataset.cameraId + "/analytics", {
        method: "PUT",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          "If-Match": '"' + version + '"',
          "X-CSRF-Token": meta ? meta.content : "",
        },
        body: JSON.stringify(cfg),
      }).then(function (response) {
        return response.json().then(function (body) {
          if (response.ok) {
            version = body.version;
            root.dataset.version = String(version);
            result.textContent = "Saved as version " + version + ".";
            const note = document.getElementById("config-version");
            if (note) note.textContent = "Version " + version + ", changed just now by you.";
            write(body.config);
          } else {
            const error = body.error || {};
            result.textContent = "Not saved: " + (error.message || response.status);
          }
        });
      }).catch(function () {
        result.textContent = "Not saved: the server could not be reached.";
      });
    });
  }
  redraw();
})();
