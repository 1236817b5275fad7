/**
 * A microphone level bar for the join page: the quickest answer to "does my microphone
 * work?". It reads the stream through a Web Audio analyser and never plays it.
 */

import { h } from './dom.js';

/**
 * @param {string} label shown above the bar, and its accessible name
 * @returns {{element: HTMLElement, setStream: (stream: MediaStream | null) => void, destroy: () => void}}
 */
export function createMicMeter(label) {
  const fill = h('div', { class: 'meter-fill' });
  const bar = h('div', { class: 'meter', attrs: { role: 'meter', 'aria-label': label, 'aria-valuemin': '0', 'aria-valuemax': '100' } }, fill);
  const element = h('div', { class: 'meter-box' }, h('p', { class: 'meter-label', text: label }), bar);
  element.hidden = true;
  /** @type {AudioContext | null} */
  let ctx = null;
  /** @type {MediaStream | null} */
  let current = null;
  let frame = 0;
  /** Browsers start an AudioContext suspended until the user clicks; resume on the first. */
  const resume = () => void ctx?.resume().catch(() => {});

  /** @param {MediaStream | null} stream */
  function setStream(stream) {
    if (stream === current) return;
    stop();
    current = stream;
    const track = stream?.getAudioTracks()[0];
    element.hidden = !track;
    if (!stream || !track || typeof AudioContext === 'undefined') return;
    ctx = new AudioContext();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 512;
    ctx.createMediaStreamSource(new MediaStream([track])).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const tick = () => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      // RMS scaled so normal speech fills about half the bar.
      const level = Math.min(100, Math.round(Math.sqrt(sum / samples.length) * 400));
      fill.style.width = `${level}%`;
      bar.setAttribute('aria-valuenow', String(level));
      frame = requestAnimationFrame(tick);
    };
    tick();
    document.addEventListener('click', resume, { once: true });
  }

  function stop() {
    cancelAnimationFrame(frame);
    document.removeEventListener('click', resume);
    void ctx?.close().catch(() => {});
    ctx = null;
    fill.style.width = '0%';
  }

  return { element, setStream, destroy: stop };
}
