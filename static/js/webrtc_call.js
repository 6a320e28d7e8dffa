/* "Talk to this agent" (templates/telephony/_webrtc_call.html): a browser call to an agent over WebRTC.
 *
 * The browser's own RTCPeerConnection, nothing else: no STUN or TURN server (the server answers with its
 * host candidates only), no trickle ICE (the offer is sent once its candidates are gathered, the answer comes
 * back with all of the server's), μ-law (PCMU) preferred so the server resamples nothing. The microphone goes
 * to the agent, the agent's audio (the consent opener first) plays in the <audio> element.
 *
 * States shown: asking for the microphone → connecting → in call (with a ticking duration and a level meter
 * of the microphone) → ended; a refused microphone or a failed connection says so in words. Hang up asks the
 * server to end the call (POST /v1/webrtc/calls/{id}/hangup), then closes the connection; leaving the page
 * does the same. */
(function () {
  "use strict";
  var root = document.querySelector("[data-webrtc-call]");
  if (!root || !root.querySelector("[data-webrtc-start]")) return;

  var GATHERING_TIMEOUT_MS = 5000;
  var STATUS_EVERY_SECONDS = 2;
  var startButton = root.querySelector("[data-webrtc-start]");
  var hangupButton = root.querySelector("[data-webrtc-hangup]");
  var stateText = root.querySelector("[data-webrtc-state]");
  var durationText = root.querySelector("[data-webrtc-duration]");
  var callLink = root.querySelector("[data-webrtc-call-link]");
  var levelLabel = root.querySelector("[data-webrtc-level-label]");
  var levelMeter = root.querySelector("[data-webrtc-level]");
  var errorText = root.querySelector("[data-webrtc-error]");
  var audio = root.querySelector("[data-webrtc-audio]");

  var call = null; // {id, pc, stream, connectedAt, ticker, audioContext, ended}

  function csrfToken() {
    var input = root.querySelector('input[name="csrfmiddlewaretoken"]');
    return input ? input.value : "";
  }

  function clock(seconds) {
    var whole = Math.max(0, Math.floor(seconds)), m = Math.floor(whole / 60);
    return m + ":" + String(whole % 60).padStart(2, "0");
  }

  function show(state, error) {
    root.setAttribute("data-state", state);
    stateText.textContent = {
      microphone: "Asking for your microphone…",
      connecting: "Connecting…",
      "in-call": "In call",
      ending: "Hanging up…",
      ended: "Call ended.",
      idle: "Not in a call."
    }[state];
    errorText.hidden = !error;
    errorText.textContent = error || "";
    var live = state === "microphone" || state === "connecting" || state === "in-call";
    startButton.hidden = live || state === "ending";
    hangupButton.hidden = !live;
    durationText.hidden = !(call && call.connectedAt);
    levelLabel.hidden = state !== "in-call";
  }

  function post(url, body, keepalive) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      keepalive: !!keepalive,
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken() },
      body: body ? JSON.stringify(body) : null
    });
  }

  function preferPcmu(pc) {
    if (!window.RTCRtpReceiver || !RTCRtpReceiver.getCapabilities) return;
    var codecs = RTCRtpReceiver.getCapabilities("audio").codecs;
    var pcmu = codecs.filter(function (c) { return c.mimeType.toLowerCase() === "audio/pcmu"; });
    var rest = codecs.filter(function (c) { return c.mimeType.toLowerCase() !== "audio/pcmu"; });
    pc.getTransceivers().forEach(function (transceiver) {
      if (transceiver.setCodecPreferences) transceiver.setCodecPreferences(pcmu.concat(rest));
    });
  }

  function gatheringComplete(pc) {
    return new Promise(function (resolve) {
      if (pc.iceGatheringState === "complete") return resolve();
      var timer = setTimeout(resolve, GATHERING_TIMEOUT_MS); // send what we have: host candidates come first
      pc.addEventListener("icegatheringstatechange", function () {
        if (pc.iceGatheringState === "complete") { clearTimeout(timer); resolve(); }
      });
    });
  }

  function meterLevel(current) {
    var AudioContextClass = window.AudioContext || window.webkitAudioContext;
    if (!AudioContextClass) return;
    current.audioContext = new AudioContextClass();
    var analyser = current.audioContext.createAnalyser();
    analyser.fftSize = 512;
    current.audioContext.createMediaStreamSource(current.stream).connect(analyser);
    var samples = new Float32Array(analyser.fftSize);
    (function draw() {
      if (current.ended) return;
      analyser.getFloatTimeDomainData(samples);
      var sum = 0;
      for (var i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
      levelMeter.value = Math.min(1, Math.sqrt(sum / samples.length) * 4);
      requestAnimationFrame(draw);
    })();
  }

  function connected(current) {
    if (current.connectedAt) return;
    current.connectedAt = Date.now();
    durationText.textContent = "0:00";
    var seconds = 0;
    current.ticker = setInterval(function () {
      durationText.textContent = clock((Date.now() - current.connectedAt) / 1000);
      if (++seconds % STATUS_EVERY_SECONDS === 0) endedOnServer(current);
    }, 1000);
    show("in-call");
    meterLevel(current);
  }

  // The server may end the call (a hang-up on another page, the agent's max duration): the peer connection
  // does not always say so at once, the call's status does.
  function endedOnServer(current) {
    fetch(root.dataset.statusUrl.replace("CALL_ID", encodeURIComponent(current.id)), {
      credentials: "same-origin", headers: { "Accept": "application/json" }
    }).then(function (response) { return response.ok ? response.json() : null; }).then(function (body) {
      if (body && ["completed", "failed", "no_answer"].indexOf(body.status) >= 0) release(current, "ended");
    }).catch(function () { /* asked again in a moment */ });
  }

  function release(current, state, error) {
    if (current.ended) return;
    current.ended = true;
    clearInterval(current.ticker);
    if (current.pc) current.pc.close();
    if (current.stream) current.stream.getTracks().forEach(function (track) { track.stop(); });
    if (current.audioContext) current.audioContext.close();
    audio.srcObject = null;
    if (call === current) call = null;
    if (current.connectedAt) durationText.textContent = clock((Date.now() - current.connectedAt) / 1000);
    show(state, error);
    durationText.hidden = !current.connectedAt;
  }

  function microphoneError(error) {
    if (error && (error.name === "NotAllowedError" || error.name === "SecurityError")) {
      return "Your microphone was refused. Allow this site to use it (the icon in the address bar), then try again.";
    }
    if (error && error.name === "NotFoundError") return "No microphone was found. Plug one in, then try again.";
    return "Your microphone could not be opened" + (error && error.message ? ": " + error.message : ".");
  }

  async function start() {
    if (call) return;
    if (!window.RTCPeerConnection || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      show("idle", "This browser cannot make WebRTC calls (or the page is not served over HTTPS).");
      return;
    }
    var current = { id: "", pc: null, stream: null, connectedAt: 0, ticker: 0, audioContext: null, ended: false };
    call = current;
    callLink.hidden = true;
    show("microphone");
    try {
      current.stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    } catch (error) {
      release(current, "idle", microphoneError(error));
      return;
    }
    if (current.ended) { // Hang up (or leaving the page) while the browser asked for the microphone
      current.stream.getTracks().forEach(function (track) { track.stop(); });
      return;
    }
    show("connecting");
    var pc = current.pc = new RTCPeerConnection({ iceServers: [] });
    current.stream.getAudioTracks().forEach(function (track) { pc.addTrack(track, current.stream); });
    preferPcmu(pc);
    pc.addEventListener("track", function (event) {
      audio.srcObject = event.streams[0] || new MediaStream([event.track]);
    });
    pc.addEventListener("connectionstatechange", function () {
      if (pc.connectionState === "connected") connected(current);
      else if (pc.connectionState === "failed") {
        release(current, "ended", current.connectedAt ? "The connection to the server was lost." :
          "The call could not connect: this browser and the server found no network path (WebRTC needs UDP " +
          "between them).");
      } else if (pc.connectionState === "closed") {
        release(current, "ended");
      }
    });
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await gatheringComplete(pc);
      var response = await post(root.dataset.createUrl, {
        agent_id: root.dataset.agentId, sdp: pc.localDescription.sdp, type: "offer"
      });
      var body = await response.json().catch(function () { return {}; });
      if (!response.ok) {
        var message = body.error && body.error.message ? body.error.message : "the server answered " + response.status;
        return release(current, "idle", "The call could not start: " + message);
      }
      current.id = body.call_id;
      callLink.href = root.dataset.callUrl.replace("CALL_ID", encodeURIComponent(current.id));
      callLink.hidden = false;
      if (current.ended) return hangupOnServer(current, false); // Hang up was pressed meanwhile
      await pc.setRemoteDescription({ type: "answer", sdp: body.sdp });
    } catch (error) {
      release(current, "idle", "The call could not start: " + (error && error.message ? error.message : error));
    }
  }

  function hangupOnServer(current, keepalive) {
    if (!current.id) return Promise.resolve();
    var url = root.dataset.hangupUrl.replace("CALL_ID", encodeURIComponent(current.id));
    return post(url, null, keepalive).catch(function () { /* the server ends it when the connection closes */ });
  }

  async function hangup() {
    var current = call;
    if (!current) return;
    show("ending");
    await hangupOnServer(current, false);
    release(current, "ended");
  }

  startButton.addEventListener("click", start);
  hangupButton.addEventListener("click", hangup);
  window.addEventListener("pagehide", function () {
    if (call) { hangupOnServer(call, true); release(call, "ended"); }
  });
})();
