// Live view: fragmented MP4 from /ws/live/<camera> into Media Source Extensions.
//
// The socket first sends {"codec": "avc1.PPCCLL", "masked": bool}, then the init
// segment and one fragment per message. The player keeps to the live edge:
// when more than a second behind, it jumps ahead.
(function () {
  "use strict";
  const MAX_BEHIND_SECONDS = 1.0;
  const KEEP_SECONDS = 10;
  const REASONS = {
    1000: "Stream ended.",
    4401: "Not signed in: sign in again.",
    4403: "You may not watch live footage.",
    4404: "Camera not found.",
    4422: "This camera has no stream configured.",
    1011: "The camera stream is unavailable.",
  };

  // Reads the socket into ``source``; ``report`` receives {status} and {closed}.
  function feed(source, url, report) {
    const socket = new WebSocket(url);
    socket.binaryType = "arraybuffer";
    const queue = [];
    let buffer = null;
    let fragments = 0;

    function trim() {
      const ranges = buffer.buffered;
      if (!ranges.length) return false;
      const start = ranges.start(0);
      const end = ranges.end(ranges.length - 1);
      if (end - start < KEEP_SECONDS * 2) return false;
      buffer.remove(start, end - KEEP_SECONDS);
      return true;
    }

    function pump() {
      if (!buffer || buffer.updating) return;
      if (!queue.length) { trim(); return; }
      try {
        buffer.appendBuffer(queue.shift());
      } catch (error) {
        report({ status: "Playback error: " + error.name });
        socket.close();
      }
    }

    socket.addEventListener("message", (event) => {
      if (typeof event.data === "string") {
        const header = JSON.parse(event.data);
        const type = 'video/mp4; codecs="' + header.codec + '"';
        const open = () => {
          if (!MediaSource.isTypeSupported(type)) {
            report({ status: "This browser cannot play " + header.codec + "." });
            socket.close();
            return;
          }
          buffer = source.addSourceBuffer(type);
          buffer.mode = "segments";
          buffer.addEventListener("updateend", pump);
          report({ status: header.masked ? "Live (privacy masks applied)" : "Live" });
          pump();
        };
        if (source.readyState === "open") open();
        else source.addEventListener("sourceopen", open, { once: true });
        return;
      }
      fragments += 1;
      queue.push(event.data);
      pump();
    });
    socket.addEventListener("close", (event) => {
      const text = REASONS[event.code] || (fragments ? "Stream ended." : "Could not connect to the stream.");
      report({ status: text, closed: event.code });
    });
    return socket;
  }

  // Closes after which the camera may come back: the stream ended, failed or the
  // connection dropped. A refusal (sign-in, permission, no such camera) is final.
  const RETRY_CODES = new Set([1000, 1001, 1006, 1011]);
  const RETRY_MAX_SECONDS = 15;

  function player(video) {
    const tile = video.closest(".live-tile");
    const status = tile ? tile.querySelector(".live-status") : null;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const url = scheme + "//" + location.host + video.dataset.live;
    let socket = null;
    let failures = 0;
    let leaving = false;

    if (!window.MediaSource) {
      if (status) status.textContent = "This browser cannot play live video (no Media Source Extensions).";
      return;
    }

    // A wall runs unattended for a shift: a camera that drops out is tried again,
    // waiting longer after each failure, until it plays or the page is left.
    function retry(text) {
      const wait = Math.min(RETRY_MAX_SECONDS, 2 ** failures);
      failures += 1;
      video.dataset.retries = String(failures);
      if (status) status.textContent = text + " Trying again in " + wait + " s.";
      setTimeout(() => { if (!leaving) connect(); }, wait * 1000);
    }

    function report(message) {
      if (message.status && status) status.textContent = message.status;
      if (message.closed === undefined) return;
      video.dataset.closed = String(message.closed);
      delete video.dataset.playing;
      if (!leaving && RETRY_CODES.has(message.closed)) retry(message.status || "Stream ended.");
    }

    function connect() {
      // The page's policy must allow media-src blob: (Chromium checks it even for
      // a worker's MediaSourceHandle, so a worker would not avoid it).
      const source = new MediaSource();
      const previous = video.src;
      video.src = URL.createObjectURL(source);
      if (previous.startsWith("blob:")) URL.revokeObjectURL(previous);
      socket = feed(source, url, report);
    }

    window.addEventListener("pagehide", () => { leaving = true; if (socket) socket.close(); });
    connect();

    function chase() {
      const ranges = video.buffered;
      if (!ranges.length) return;
      const edge = ranges.end(ranges.length - 1);
      if (edge - video.currentTime > MAX_BEHIND_SECONDS || video.currentTime < ranges.start(0)) {
        video.currentTime = Math.max(ranges.start(0), edge - 0.1);
      }
      if (video.paused) video.play().catch(() => {});
    }
    video.addEventListener("progress", chase);
    setInterval(chase, 250);
    video.addEventListener("playing", () => {
      failures = 0;
      video.dataset.playing = "1";
      delete video.dataset.closed;
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const wall = document.getElementById("wall");
    if (wall) {
      // Layout through the CSSOM: the policy forbids inline style attributes.
      const side = Number(wall.dataset.side) || 2;
      wall.style.display = "grid";
      wall.style.gridTemplateColumns = "repeat(" + side + ", minmax(0, 1fr))";
      wall.style.gap = "4px";
      wall.querySelectorAll("video").forEach((v) => { v.style.width = "100%"; v.style.background = "#000"; });
    }
    document.querySelectorAll("video[data-live]").forEach(player);
  });
})();
