// A supervisor on a live call (docs/supervise.md): the call page's panel (templates/live/_supervise.html)
// and the wallboard rows' Listen buttons. Listening opens /ws/calls/<id>/supervise, whose binary frames are
// μ-law 8 kHz mono (both sides of the call), decoded here and scheduled on Web Audio with a small jitter
// buffer. Operators and admins may whisper (text), barge in or take over: the microphone goes through an
// AudioWorklet (supervise_mic_worklet.js) that sends 20 ms μ-law frames as binary messages.
(function () {
  "use strict";
  if (window.wordcabSupervise) return; // the wallboard's blank row and the page may both load this
  window.wordcabSupervise = true;

  var JITTER_SECONDS = 0.12; // audio is scheduled this far ahead of now, to ride out uneven arrivals
  var CLOSE_REASONS = {
    4401: "Sign in again to listen.",
    4403: "Your role may not listen to calls.",
    4404: "The call is not live.",
    1000: "The call ended.",
  };

  var ULAW = new Float32Array(256);
  for (var code = 0; code < 256; code++) {
    var u = ~code & 0xff;
    var magnitude = ((((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4)) - 0x84;
    ULAW[code] = ((u & 0x80) ? -magnitude : magnitude) / 32768;
  }

  function socketUrl(callId) {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + location.host + "/ws/calls/" + encodeURIComponent(callId) + "/supervise";
  }

  // One listening session: the socket, the playback, and (maybe) the microphone.
  function Session(callId, view) {
    this.callId = callId;
    this.view = view; // {state(text), received(n, level), mode(mode), sent(n), ended()}
    this.received = 0;
    this.sent = 0;
    this.mode = "none";
    this.context = new (window.AudioContext || window.webkitAudioContext)();
    this.nextTime = 0;
    this.mic = null;
    this.open();
  }

  Session.prototype.open = function () {
    var self = this;
    self.view.state("Connecting…");
    self.ws = new WebSocket(socketUrl(self.callId));
    self.ws.binaryType = "arraybuffer";
    self.ws.onmessage = function (event) {
      if (typeof event.data === "string") self.onText(JSON.parse(event.data));
      else self.play(new Uint8Array(event.data));
    };
    self.ws.onclose = function (event) {
      self.view.state(CLOSE_REASONS[event.code] || "Disconnected (" + event.code + ").");
      self.release();
      self.view.ended();
    };
  };

  Session.prototype.onText = function (message) {
    if (message.type === "status") {
      this.mode = message.mode;
      this.view.mode(message.mode, message.may_speak);
      if (message.state === "listening") this.view.state(modeSentence(message.mode));
    } else if (message.type === "error") {
      this.view.state("Refused: " + message.message);
    } else if (message.type === "whispered") {
      this.view.state("Whispered to the agent: “" + message.text + "”.");
    }
  };

  Session.prototype.play = function (ulaw) {
    var buffer = this.context.createBuffer(1, ulaw.length, 8000);
    var samples = buffer.getChannelData(0);
    var peak = 0;
    for (var i = 0; i < ulaw.length; i++) {
      samples[i] = ULAW[ulaw[i]];
      peak = Math.max(peak, Math.abs(samples[i]));
    }
    var source = this.context.createBufferSource();
    source.buffer = buffer;
    source.connect(this.context.destination);
    var now = this.context.currentTime;
    if (this.nextTime < now + 0.02 || this.nextTime > now + 1) this.nextTime = now + JITTER_SECONDS;
    source.start(this.nextTime);
    this.nextTime += buffer.duration;
    this.received++;
    this.view.received(this.received, peak);
  };

  Session.prototype.command = function (command) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(command));
  };

  Session.prototype.setMode = function (mode, worklet) {
    var self = this;
    if (mode === "none") {
      self.stopMic();
      self.command({ type: "mode", mode: "none" });
      return;
    }
    self.startMic(worklet).then(function () {
      self.command({ type: "mode", mode: mode });
    }, function (error) {
      self.view.state("The microphone is not available: " + error.message);
    });
  };

  Session.prototype.startMic = function (worklet) {
    var self = this;
    if (self.mic) return Promise.resolve();
    return navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
      return self.context.audioWorklet.addModule(worklet).then(function () {
        var input = self.context.createMediaStreamSource(stream);
        var node = new AudioWorkletNode(self.context, "supervise-mic");
        node.port.onmessage = function (event) {
          if (self.ws.readyState !== WebSocket.OPEN || self.mode === "none") return;
          self.ws.send(event.data);
          self.sent++;
          self.view.sent(self.sent);
        };
        input.connect(node);
        self.mic = { stream: stream, input: input, node: node };
      });
    });
  };

  Session.prototype.stopMic = function () {
    if (!this.mic) return;
    this.mic.input.disconnect();
    this.mic.node.port.onmessage = null;
    this.mic.stream.getTracks().forEach(function (track) { track.stop(); });
    this.mic = null;
  };

  Session.prototype.release = function () {
    this.stopMic();
    if (this.context.state !== "closed") this.context.close();
  };

  Session.prototype.close = function () {
    if (this.ws) this.ws.close(1000);
  };

  function modeSentence(mode) {
    return {
      none: "Listening.",
      barge: "Barged in: the caller and the agent hear you.",
      takeover: "You took the call over: the agent is muted.",
      "whisper-audio": "Whispering by voice: only the agent hears you.",
    }[mode] || "Listening.";
  }

  // --- the call page's panel -----------------------------------------------------------------------------
  function panel(root) {
    var $ = function (selector) { return root.querySelector(selector); };
    var listen = $("[data-supervise-listen]"), stop = $("[data-supervise-stop]"), state = $("[data-supervise-state]");
    var controls = $("[data-supervise-controls]"), handBack = $("[data-supervise-mode='none']");
    var session = null;
    var view = {
      state: function (text) { state.textContent = text; },
      received: function (n, peak) {
        $("[data-supervise-received]").textContent = String(n);
        $("[data-supervise-level]").value = peak;
      },
      mode: function (mode, maySpeak) {
        if (controls) controls.hidden = !maySpeak;
        if (handBack) handBack.hidden = mode === "none";
        root.dataset.mode = mode;
      },
      sent: function (n) { var sent = $("[data-supervise-sent]"); if (sent) sent.textContent = String(n); },
      ended: function () {
        session = null;
        listen.hidden = false;
        stop.hidden = true;
        if (controls) controls.hidden = true;
      },
    };
    listen.addEventListener("click", function () {
      if (session) return;
      session = new Session(root.dataset.callId, view);
      listen.hidden = true;
      stop.hidden = false;
    });
    stop.addEventListener("click", function () { if (session) session.close(); });
    root.querySelectorAll("[data-supervise-mode]").forEach(function (button) {
      button.addEventListener("click", function () {
        if (session) session.setMode(button.dataset.superviseMode, root.dataset.worklet);
      });
    });
    var whisper = $("[data-supervise-whisper]");
    if (whisper) {
      whisper.addEventListener("submit", function (event) {
        event.preventDefault();
        var text = whisper.elements.text.value.trim();
        if (session && text) {
          session.command({ type: "whisper", text: text });
          whisper.elements.text.value = "";
        }
      });
    }
  }

  // --- the wallboard rows --------------------------------------------------------------------------------
  var rowSessions = {};
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-supervise-row-listen]");
    if (!button) return;
    var row = button.closest("tr");
    var callId = row && row.dataset.callId;
    if (!callId) return;
    if (rowSessions[callId]) {
      rowSessions[callId].close();
      return;
    }
    button.textContent = "Stop";
    rowSessions[callId] = new Session(callId, {
      state: function (text) { button.title = text; },
      received: function (n) { button.dataset.received = String(n); },
      mode: function () {},
      sent: function () {},
      ended: function () {
        delete rowSessions[callId];
        button.textContent = "Listen";
      },
    });
  });

  function start() {
    document.querySelectorAll("[data-supervise]").forEach(panel);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
