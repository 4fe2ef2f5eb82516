// The audible alert: a WebAudio beep, no sound file. Off until the operator switches it on
// (browsers only start audio after a user gesture: the switch is that gesture).

let context = null;
let enabled = false;

export function setSound(on) {
  enabled = on;
  if (on) {
    context = context || new AudioContext();
    context.resume();
  }
}

export function soundOn() {
  return enabled;
}

export function beep(times = 1) {
  if (!enabled || !context) return;
  for (let i = 0; i < times; i += 1) {
    const start = context.currentTime + i * 0.3;
    const oscillator = context.createOscillator();
    const gain = context.createGain();
    oscillator.type = "square";
    oscillator.frequency.value = 880;
    gain.gain.setValueAtTime(0.15, start);
    gain.gain.exponentialRampToValueAtTime(0.001, start + 0.25);
    oscillator.connect(gain).connect(context.destination);
    oscillator.start(start);
    oscillator.stop(start + 0.25);
  }
}
