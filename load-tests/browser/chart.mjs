/**
 * Draws the weak-link trace written by `weak_link.mjs` as an SVG chart: the video bitrate the
 * shaped site receives and the SFU's bandwidth estimate towards it (lines, left axis), the
 * layer the SFU forwards to it (steps, right axis: paused, low, mid, high), and the shaped
 * window shaded.
 *
 * Usage: node load-tests/browser/chart.mjs trace.csv chart.svg
 */

import { readFileSync, writeFileSync } from 'node:fs';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: node chart.mjs trace.csv chart.svg');
  process.exit(2);
}
const rows = readFileSync(input, 'utf8').trim().split('\n');
const head = rows[0].split(',');
const col = (/** @type {string} */ name) => head.indexOf(name);
const data = rows.slice(1).map((r) => r.split(',')).map((c) => ({
  t: Number(c[col('seconds')]),
  phase: c[col('phase')],
  kbps: Number(c[col('video_kbps')]),
  layer: col('sfu_layer') >= 0 ? Number(c[col('sfu_layer')]) : NaN,
  estimate: col('estimate_kbps') >= 0 ? Number(c[col('estimate_kbps')]) : NaN,
}));

const W = 900;
const H = 380;
const pad = { l: 64, r: 64, t: 40, b: 48 };
const tMax = Math.max(...data.map((d) => d.t));
const kMax = Math.max(500, Math.ceil(Math.max(...data.flatMap((d) => [d.kbps, d.estimate || 0])) / 250) * 250);
const x = (/** @type {number} */ t) => pad.l + (t / tMax) * (W - pad.l - pad.r);
const yK = (/** @type {number} */ k) => H - pad.b - (k / kMax) * (H - pad.t - pad.b);
const yL = (/** @type {number} */ l) => H - pad.b - (l / 3) * (H - pad.t - pad.b);

const shaped = data.filter((d) => d.phase === 'shaped');
const parts = [];
parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`);
parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
if (shaped.length) {
  const a = x(shaped[0].t);
  const b = x(shaped[shaped.length - 1].t);
  parts.push(`<rect x="${a}" y="${pad.t}" width="${b - a}" height="${H - pad.t - pad.b}" fill="#fde2e2"/>`);
  parts.push(`<text x="${(a + b) / 2}" y="${pad.t + 14}" text-anchor="middle" fill="#a33">300 kbit/s, 3% loss</text>`);
}
for (let k = 0; k <= kMax; k += kMax / 5) {
  parts.push(`<line x1="${pad.l}" x2="${W - pad.r}" y1="${yK(k)}" y2="${yK(k)}" stroke="#eee"/>`);
  parts.push(`<text x="${pad.l - 6}" y="${yK(k) + 4}" text-anchor="end">${Math.round(k)}</text>`);
}
for (let t = 0; t <= tMax; t += 10) {
  parts.push(`<text x="${x(t)}" y="${H - pad.b + 16}" text-anchor="middle">${t}</text>`);
}
['paused', 'low', 'mid', 'high'].forEach((name, l) => {
  parts.push(`<text x="${W - pad.r + 6}" y="${yL(l) + 4}" fill="#1565c0">${name}</text>`);
});
parts.push(`<text x="${W / 2}" y="${H - 10}" text-anchor="middle">seconds</text>`);
parts.push(`<text x="16" y="${H / 2}" transform="rotate(-90 16 ${H / 2})" text-anchor="middle">received video kbit/s</text>`);
parts.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">A site on a shaped link: received video bitrate and the layer the SFU forwards</text>`);
const line = data.map((d, i) => `${i ? 'L' : 'M'}${x(d.t).toFixed(1)},${yK(d.kbps).toFixed(1)}`).join(' ');
parts.push(`<path d="${line}" fill="none" stroke="#2e7d32" stroke-width="1.5"/>`);
const withEstimate = data.filter((d) => d.estimate > 0);
if (withEstimate.length) {
  const est = withEstimate.map((d, i) => `${i ? 'L' : 'M'}${x(d.t).toFixed(1)},${yK(d.estimate).toFixed(1)}`).join(' ');
  parts.push(`<path d="${est}" fill="none" stroke="#ef6c00" stroke-width="1.2"/>`);
  parts.push(`<rect x="${pad.l + 10}" y="${pad.t + 56}" width="12" height="3" fill="#ef6c00"/><text x="${pad.l + 28}" y="${pad.t + 61}">SFU estimate towards the site (diemcau_site_estimated_bandwidth_bps)</text>`);
}
const withLayer = data.filter((d) => d.layer >= 0);
if (withLayer.length) {
  let steps = `M${x(withLayer[0].t).toFixed(1)},${yL(withLayer[0].layer).toFixed(1)}`;
  for (const d of withLayer.slice(1)) steps += ` H${x(d.t).toFixed(1)} V${yL(d.layer).toFixed(1)}`;
  parts.push(`<path d="${steps}" fill="none" stroke="#1565c0" stroke-width="2" stroke-dasharray="5 3"/>`);
}
parts.push(`<rect x="${pad.l + 10}" y="${pad.t + 24}" width="12" height="3" fill="#2e7d32"/><text x="${pad.l + 28}" y="${pad.t + 29}">received bitrate (browser getStats)</text>`);
parts.push(`<rect x="${pad.l + 10}" y="${pad.t + 40}" width="12" height="3" fill="#1565c0"/><text x="${pad.l + 28}" y="${pad.t + 45}">layer forwarded (diemcau_site_video_layer)</text>`);
parts.push('</svg>');
writeFileSync(output, `${parts.join('\n')}\n`);
console.log(`wrote ${output} (${data.length} samples over ${tMax.toFixed(0)} s)`);
