/* The recording player (templates/calls/_recording.html), ready as soon as the page is.
 *
 * The server draws the waveform and gives the length, so the player shows both before any audio is fetched
 * (preload="none": the audio is asked for, and the playback audited, only when it plays). A position chosen
 * first (a click, the keyboard) is where playback starts. It replaces the browser's own controls, which stay
 * for pages without script.
 *
 * Keyboard: the Play button; the waveform is a slider (role="slider", in the tab order) whose value is the
 * position: Space or Enter plays or pauses, the arrow keys move 5 s, Page Up/Down 30 s, Home and End go to the
 * start and the end. Screen readers hear the position as "0:42 of 1:05". */
(function () {
  "use strict";
  // htmx runs this script again with every live update of the call page: listen once.
  if (window.wordcabPlayer) return;
  window.wordcabPlayer = true;

  var STEP_SECONDS = 5, PAGE_SECONDS = 30;
  var KEY_MOVES = { ArrowRight: STEP_SECONDS, ArrowUp: STEP_SECONDS, ArrowLeft: -STEP_SECONDS, ArrowDown: -STEP_SECONDS,
    PageUp: PAGE_SECONDS, PageDown: -PAGE_SECONDS };

  function clock(seconds) {
    var whole = Math.max(0, Math.floor(seconds || 0)), h = Math.floor(whole / 3600), m = Math.floor((whole % 3600) / 60);
    var s = String(whole % 60).padStart(2, "0");
    return h ? h + ":" + String(m).padStart(2, "0") + ":" + s : m + ":" + s;
  }

  function setUp(player) {
    player.setAttribute("data-ready", "");
    var audio = player.querySelector("[data-audio]");
    var wave = player.querySelector("[data-waveform]");
    var progress = player.querySelector("[data-progress]");
    var button = player.querySelector("[data-play]");
    var position = player.querySelector("[data-position]");
    var length = player.querySelector("[data-length]");
    var width = wave.viewBox.baseVal.width;
    var known = Number(player.dataset.duration) || 0; // seconds, from the server
    var start = 0; // the position chosen before the audio has loaded

    audio.removeAttribute("controls");
    player.querySelector("[data-controls]").hidden = false;

    function total() { return isFinite(audio.duration) && audio.duration > 0 ? audio.duration : known; }
    function loaded() { return audio.readyState > 0; }
    function now() { return loaded() ? audio.currentTime : start; }

    function show() {
      var end = total(), at = Math.min(now(), end);
      progress.setAttribute("width", end ? (width * at) / end : 0);
      position.textContent = clock(at);
      length.textContent = clock(end);
      wave.setAttribute("aria-valuenow", String(Math.round(at)));
      wave.setAttribute("aria-valuemax", String(Math.round(end)));
      wave.setAttribute("aria-valuetext", clock(at) + " of " + clock(end));
      var playing = !audio.paused && !audio.ended;
      button.textContent = playing ? "Pause" : "Play";
      button.setAttribute("aria-pressed", playing ? "true" : "false");
    }

    function seek(seconds) {
      var to = Math.max(0, Math.min(total(), seconds));
      if (loaded()) audio.currentTime = to;
      else start = to;
      show();
    }

    function play() {
      if (!loaded() && start > 0) {
        audio.addEventListener("loadedmetadata", function () { audio.currentTime = Math.min(start, audio.duration || start); }, { once: true });
      }
      var playing = audio.play();
      if (playing && playing.catch) playing.catch(function () { show(); }); // refused (autoplay rules, a 404): show as paused
    }

    function toggle() {
      if (audio.paused || audio.ended) play();
      else audio.pause();
    }

    button.addEventListener("click", toggle);
    wave.addEventListener("click", function (event) {
      var box = wave.getBoundingClientRect();
      seek((Math.min(1, Math.max(0, (event.clientX - box.left) / box.width))) * total());
      if (audio.paused) play();
    });
    wave.addEventListener("keydown", function (event) {
      if (event.key === " " || event.key === "Enter") toggle();
      else if (event.key in KEY_MOVES) seek(now() + KEY_MOVES[event.key]);
      else if (event.key === "Home") seek(0);
      else if (event.key === "End") seek(total());
      else return;
      event.preventDefault(); // Space would scroll the page
    });
    ["timeupdate", "play", "pause", "ended", "durationchange", "loadedmetadata"].forEach(function (name) {
      audio.addEventListener(name, show);
    });
    show();
  }

  function init(root) {
    root.querySelectorAll("[data-player]:not([data-ready])").forEach(setUp);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { init(document); });
  else init(document);
  document.addEventListener("htmx:load", function (event) { init(event.target); });
})();
