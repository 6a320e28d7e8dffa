/* The call page's transcript panel (templates/transcripts/_panel.html) and analysis button.
 *
 * Live: static/js/live.js hands each `transcript.segment` message of this call over as a "transcript-segment"
 * event; the line goes in its place by start time (a caller's line arrives after speech-to-text, so after
 * agent lines said later). After a reconnection (live.js's "call-updated" with resync) the whole transcript
 * is read again from GET /v1/calls/{id}/transcript, so nothing missed while disconnected stays missing.
 *
 * The recording's player (static/js/player.js) follows the text: a click on a line plays the recording from
 * the line's start; while it plays, the line under the playhead is highlighted (aria-current).
 *
 * The "Analyse again" button POSTs /v1/calls/{id}/analysis (the CSRF token is the one htmx sends, from
 * <body hx-headers>) and then asks the page to re-render the call (a "call-updated" event). */
(function () {
  "use strict";
  // htmx runs this script again with every live update of the call page: listen once.
  if (window.wordcabTranscript) return;
  window.wordcabTranscript = true;

  var SPEAKERS = { agent: "Agent", caller: "Caller" };
  var UNSURE_BELOW = 0.5;

  function clock(seconds) {
    var whole = Math.max(0, Math.floor(seconds || 0)), h = Math.floor(whole / 3600), m = Math.floor((whole % 3600) / 60);
    var s = String(whole % 60).padStart(2, "0");
    return h ? h + ":" + String(m).padStart(2, "0") + ":" + s : m + ":" + s;
  }

  function panel() { return document.querySelector("[data-transcript]"); }
  function audio() { return document.querySelector("#recording [data-audio]"); }

  function lineFor(segment) {
    var li = document.createElement("li");
    li.className = "transcript-line speaker-" + segment.speaker;
    li.dataset.start = String(segment.start);
    li.dataset.end = String(segment.end);
    var time = document.createElement("button");
    time.type = "button";
    time.className = "transcript-time mono";
    time.setAttribute("data-seek", "");
    time.title = "Play from here";
    time.textContent = clock(segment.start);
    var who = document.createElement("strong");
    who.className = "transcript-speaker";
    who.textContent = SPEAKERS[segment.speaker] || segment.speaker;
    var text = document.createElement("span");
    text.className = "transcript-text";
    text.textContent = segment.text;
    li.append(time, " ", who, " ", text);
    if (segment.confidence !== null && segment.confidence < UNSURE_BELOW) {
      var unsure = document.createElement("span");
      unsure.className = "muted";
      unsure.title = "speech-to-text confidence " + segment.confidence.toFixed(2);
      unsure.textContent = "(unsure)";
      li.append(" ", unsure);
    }
    return li;
  }

  function add(root, segment) {
    var list = root.querySelector("[data-lines]"), li = lineFor(segment), at = Number(segment.start);
    var after = Array.prototype.find.call(list.children, function (other) { return Number(other.dataset.start) > at; });
    list.insertBefore(li, after || null);
    root.querySelector("[data-transcript-empty]").hidden = true;
  }

  function reload(root) {
    fetch(root.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (!body) return;
        root.querySelector("[data-lines]").replaceChildren();
        body.segments.forEach(function (segment) { add(root, segment); });
      })
      .catch(function () { /* the next resync reads it again */ });
  }

  function playFrom(seconds) {
    var player = audio();
    if (!player) return;
    if (player.readyState > 0) player.currentTime = seconds;
    else player.addEventListener("loadedmetadata", function () { player.currentTime = seconds; }, { once: true });
    var playing = player.play();
    if (playing && playing.catch) playing.catch(function () { /* refused: the player shows it paused */ });
  }

  function highlight() {
    var root = panel(), player = audio();
    if (!root || !player) return;
    var t = player.currentTime;
    root.querySelectorAll(".transcript-line").forEach(function (li) {
      var current = t >= Number(li.dataset.start) && t < Number(li.dataset.end) && !player.paused;
      li.classList.toggle("transcript-current", current);
      if (current) li.setAttribute("aria-current", "true");
      else li.removeAttribute("aria-current");
    });
  }

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; } catch (err) { return ""; }
  }

  function analyse(button) {
    var status = button.parentNode.querySelector("[data-analyse-status]");
    button.disabled = true;
    if (status) status.textContent = "Analysing…";
    fetch(button.dataset.analyse, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" } })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error((body.error && body.error.message) || response.statusText);
          document.body.dispatchEvent(new CustomEvent("call-updated", { detail: { call: body } }));
        });
      })
      .catch(function (err) {
        button.disabled = false;
        if (status) status.textContent = "Not analysed: " + err.message;
      });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-analyse]");
    if (button) { analyse(button); return; }
    var line = event.target.closest(".transcript-line");
    if (line && panel() && panel().contains(line) && audio()) playFrom(Number(line.dataset.start));
  });
  document.body.addEventListener("transcript-segment", function (event) {
    var root = panel();
    if (root && event.detail && event.detail.segment) add(root, event.detail.segment);
  });
  document.body.addEventListener("call-updated", function (event) {
    var root = panel();
    if (root && event.detail && event.detail.resync) reload(root);
  });

  function hookPlayer() {
    var player = audio(), root = panel();
    if (root) root.querySelector("[data-transcript-help]").hidden = !player;
    if (!player || player.dataset.transcriptFollows) return;
    player.dataset.transcriptFollows = "1";
    ["timeupdate", "play", "pause", "ended", "seeked"].forEach(function (name) { player.addEventListener(name, highlight); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", hookPlayer);
  else hookPlayer();
  document.addEventListener("htmx:load", hookPlayer);
})();
