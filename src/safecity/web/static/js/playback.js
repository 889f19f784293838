// Plays a camera's segments one after another; a click on a row jumps to it.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", () => {
    const player = document.getElementById("player");
    const rows = [...document.querySelectorAll("#segments tbody tr")];
    const label = document.getElementById("now-playing");
    if (!player || !rows.length) return;
    let index = 0;
    function play(i, offset) {
      index = i;
      rows.forEach((row, n) => row.classList.toggle("playing", n === i));
      player.src = rows[i].dataset.src;
      label.textContent = "Playing segment from " + rows[i].dataset.label;
      if (offset) {
        // Seeking needs the file's duration: wait for its metadata.
        player.addEventListener("loadedmetadata", () => { player.currentTime = offset; }, { once: true });
        label.textContent += ", from " + player.dataset.atLabel;
      }
      player.play().catch(() => {});
    }
    // A link from an event or a plate read starts at its moment: the segment holding it,
    // that many seconds in (the first segment after it if the moment fell in a gap).
    function startAt() {
      const at = Date.parse(player.dataset.at || "");
      if (Number.isNaN(at)) return [0, 0];
      for (let i = 0; i < rows.length; i++) {
        const start = Date.parse(rows[i].dataset.start);
        const seconds = Number(rows[i].dataset.seconds);
        if (at < start) return [i, 0];
        if (at < start + seconds * 1000) return [i, (at - start) / 1000];
      }
      return [rows.length - 1, 0];
    }
    player.addEventListener("ended", () => { if (index + 1 < rows.length) play(index + 1); });
    rows.forEach((row, i) => row.querySelector(".play").addEventListener("click", (event) => {
      event.preventDefault();
      play(i);
    }));
    const [first, offset] = startAt();
    play(first, offset);
  });
})();
