// The supervisor's microphone as 20 ms frames of μ-law 8 kHz (160 bytes), posted to the page, which sends
// them on the supervise websocket (static/js/supervise.js). Downsampled by averaging the input samples
// that fall in each output sample (any input rate: 48 kHz, 44.1 kHz…).
class SuperviseMic extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / 8000; // input samples per output sample
    this.acc = 0;
    this.count = 0;
    this.phase = 0;
    this.frame = new Uint8Array(160);
    this.filled = 0;
  }

  static encode(sample) {
    // G.711 μ-law of one float sample in [-1, 1].
    var pcm = Math.max(-32768, Math.min(32767, Math.round(sample * 32767)));
    var sign = pcm < 0 ? 0x80 : 0;
    if (pcm < 0) pcm = -pcm;
    pcm = Math.min(pcm + 0x84, 32767);
    var exponent = 7;
    for (var mask = 0x4000; (pcm & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
    var mantissa = (pcm >> (exponent + 3)) & 0x0f;
    return ~(sign | (exponent << 4) | mantissa) & 0xff;
  }

  process(inputs) {
    var channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    for (var i = 0; i < channel.length; i++) {
      this.acc += channel[i];
      this.count++;
      this.phase += 1;
      if (this.phase >= this.step) {
        this.phase -= this.step;
        this.frame[this.filled++] = SuperviseMic.encode(this.acc / this.count);
        this.acc = 0;
        this.count = 0;
        if (this.filled === 160) {
          this.port.postMessage(this.frame.buffer.slice(0));
          this.filled = 0;
        }
      }
    }
    return true;
  }
}

registerProcessor("supervise-mic", SuperviseMic);
