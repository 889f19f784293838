// Plays a camera's segments one after another; a click on a row jumps to it.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", () => {
    const player = document.getElementById("player");
    const rows = [...document.querySelectorAll("#segments tbody tr")];
    const label = document.getElementById("now-playing");
    if (!player || !rows.length) return;
    let index = 0;
    function play(i) {
      index = i;
      rows.forEach((row, n) => row.classList.toggle("playing", n === i));
      player.src = rows[i].dataset.src;
      label.textContent = "Playing segment from " + rows[i].dataset.label;
      player.play().catch(() => {});
    }
    player.addEventListener("ended", () => { if (index + 1 < rows.length) play(index + 1); });
    rows.forEach((row, i) => row.querySelector(".play").addEventListener("click", (event) => {
      event.preventDefault();
      play(i);
    }));
    play(0);
  });
})();
