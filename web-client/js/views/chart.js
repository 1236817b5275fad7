/**
 * Line charts of a site's last five minutes (`SampleRing`), drawn as inline SVG: a small
 * sparkline in every dashboard row and the larger charts of the detail panel. The drawing
 * is a `path` per figure whose `d` is recomputed in place, so a chart never rebuilds its
 * elements. The x axis is time (the right edge is the newest `stats` message), so a site
 * that was away shows a gap rather than a squeezed line.
 *
 * `linePath` and `niceMax` are pure and unit-tested; the rest touches the DOM.
 */

import { HISTORY_MS } from '../stats-history.js';

/** @typedef {import('../stats-history.js').SampleRing} SampleRing */
/** @typedef {import('../stats-history.js').SampleField} SampleField */

const SVG = 'http://www.w3.org/2000/svg';

/** A gap between two samples longer than this breaks the line. */
const GAP_MS = 3000;

/**
 * The SVG path of one figure over time, in a `width` × `height` box: the newest sample at
 * the right edge (`endMs`), `spanMs` back at the left; `max` at the top, 0 at the bottom
 * (values above `max` are drawn at the top). Unknown values and long gaps break the line.
 * @param {SampleRing} ring
 * @param {SampleField} field
 * @param {{endMs: number, spanMs?: number, width: number, height: number, max: number}} box
 * @returns {string}
 */
export function linePath(ring, field, { endMs, spanMs = HISTORY_MS, width, height, max }) {
  let d = '';
  let prevAt = NaN;
  let open = false;
  for (let i = 0; i < ring.length; i++) {
    const at = ring.timeAt(i);
    const v = ring.valueAt(field, i);
    if (Number.isNaN(v) || at < endMs - spanMs) {
      open = false;
      continue;
    }
    if (open && at - prevAt > GAP_MS) open = false;
    const x = width - ((endMs - at) / spanMs) * width;
    const y = height - (Math.min(Math.max(v, 0), max) / (max || 1)) * height;
    d += `${open ? 'L' : 'M'}${x.toFixed(1)} ${y.toFixed(1)}`;
    open = true;
    prevAt = at;
  }
  return d;
}

/**
 * A round top for a chart's scale (1, 2 or 5 times a power of ten) at or above `value`,
 * and never under `floor`.
 * @param {number} value NaN when nothing is known
 * @param {number} floor
 */
export function niceMax(value, floor) {
  const v = Number.isNaN(value) ? 0 : Math.max(value, floor);
  if (v <= 0) return floor > 0 ? floor : 1;
  const power = 10 ** Math.floor(Math.log10(v));
  for (const step of [1, 2, 5, 10]) if (step * power >= v) return step * power;
  return 10 * power;
}

/**
 * @param {string} tag
 * @param {Record<string, string>} attrs
 */
function svg(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

/**
 * @typedef {object} ChartLine
 * @property {SampleField} field
 * @property {string} className colour and stroke, in CSS
 * @property {(ring: SampleRing) => number} [max] the scale's top for this line; by default
 *   the chart's shared scale
 */

/**
 * @param {object} options
 * @param {ChartLine[]} options.lines
 * @param {number} options.width viewBox width (the chart stretches to its box)
 * @param {number} options.height
 * @param {(ring: SampleRing) => number} options.max the shared scale's top
 * @param {number[]} [options.limits] dashed horizontal lines at these values (thresholds)
 * @param {string} [options.className]
 * @param {string} [options.testid]
 * @returns {{element: SVGSVGElement, draw: (ring: SampleRing | null, endMs: number) => number}}
 *   `draw` returns the shared scale's top it used
 */
export function createChart({ lines, width, height, max, limits = [], className = 'chart', testid }) {
  const element = /** @type {SVGSVGElement} */ (svg('svg', {
    viewBox: `0 0 ${width} ${height}`,
    preserveAspectRatio: 'none',
    class: className,
    'aria-hidden': 'true',
    focusable: 'false',
  }));
  if (testid) element.dataset.testid = testid;
  const limitPaths = limits.map(() => svg('path', { class: 'chart-limit' }));
  const paths = lines.map((l) => svg('path', { class: `chart-line ${l.className}` }));
  element.append(...limitPaths, ...paths);
  let lastD = /** @type {string[]} */ ([]);

  /**
   * @param {SampleRing | null} ring
   * @param {number} endMs
   */
  function draw(ring, endMs) {
    const top = ring ? max(ring) : 1;
    limits.forEach((value, i) => {
      const y = (height - (Math.min(value, top) / top) * height).toFixed(1);
      limitPaths[i].setAttribute('d', value <= top ? `M0 ${y}H${width}` : '');
    });
    lines.forEach((line, i) => {
      const d = ring ? linePath(ring, line.field, { endMs, width, height, max: line.max ? line.max(ring) : top }) : '';
      if (lastD[i] !== d) paths[i].setAttribute('d', d);
      lastD[i] = d;
    });
    return top;
  }

  return { element, draw };
}
