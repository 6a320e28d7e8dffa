// The recording player: the server-computed waveform shows progress and seeks on click.
(function () {
  function init(root) {
    root.querySelectorAll("[data-player]:not([data-ready])").forEach(function (player) {
      player.setAttribute("data-ready", "");
      var audio = player.querySelector("[data-audio]");
      var svg = player.querySelector("[data-waveform]");
      var progress = player.querySelector("[data-progress]");
      var width = svg.viewBox.baseVal.width;
      audio.addEventListener("timeupdate", function () {
        if (audio.duration) progress.setAttribute("width", (width * audio.currentTime) / audio.duration);
      });
      svg.addEventListener("click", function (event) {
        var box = svg.getBoundingClientRect();
        var share = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
        var seek = function () { audio.currentTime = share * audio.duration; audio.play(); };
        if (audio.duration) seek(); else { audio.addEventListener("loadedmetadata", seek, { once: true }); audio.load(); }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (event) { init(event.target); });
})();
