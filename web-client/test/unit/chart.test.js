/** The chart geometry: time on x (newest at the right edge), value on y, gaps break the line. */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { linePath, niceMax } from '../../js/views/chart.js';
import { SampleRing } from '../../js/stats-history.js';

test('the newest sample sits at the right edge and the scale maps max to the top', () => {
  const ring = new SampleRing(10);
  ring.push(0, { downKbps: 0 });
  ring.push(1000, { downKbps: 50 });
  ring.push(2000, { downKbps: 100 });
  const d = linePath(ring, 'downKbps', { endMs: 2000, spanMs: 2000, width: 100, height: 20, max: 100 });
  assert.equal(d, 'M0.0 20.0L50.0 10.0L100.0 0.0');
});

test('unknown values and long gaps start a new segment; values over the scale stay in the box', () => {
  const ring = new SampleRing(10);
  ring.push(0, { rttMs: 10 });
  ring.push(1000, { rttMs: null });
  ring.push(2000, { rttMs: 20 });
  ring.push(3000, { rttMs: 900 });
  ring.push(9000, { rttMs: 10 });
  const d = linePath(ring, 'rttMs', { endMs: 10_000, spanMs: 10_000, width: 10, height: 10, max: 100 });
  assert.equal(d, 'M0.0 9.0M2.0 8.0L3.0 0.0M9.0 9.0');
});

test('samples older than the span are left out', () => {
  const ring = new SampleRing(10);
  ring.push(0, { downKbps: 1 });
  ring.push(5000, { downKbps: 1 });
  assert.equal(linePath(ring, 'downKbps', { endMs: 5000, spanMs: 1000, width: 10, height: 10, max: 1 }), 'M10.0 0.0');
});

test('scales round up to 1, 2 or 5 times a power of ten, with a floor', () => {
  assert.equal(niceMax(130, 100), 200);
  assert.equal(niceMax(2100, 100), 5000);
  assert.equal(niceMax(0.4, 10), 10);
  assert.equal(niceMax(NaN, 500), 500);
  assert.equal(niceMax(501, 500), 1000);
});
