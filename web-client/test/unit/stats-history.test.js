/** The five-minute ring of `stats` samples per site, and the quiet-run measure behind "silent". */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { HISTORY_MS, SampleRing, StatsHistory, sampleOf } from '../../js/stats-history.js';
import { site, stats } from './stats-sample.js';

test('a ring keeps the newest samples in order and overwrites the oldest when full', () => {
  const ring = new SampleRing(3);
  for (let i = 1; i <= 5; i++) ring.push(i * 1000, { downKbps: i * 10 });
  assert.equal(ring.length, 3);
  assert.deepEqual([0, 1, 2].map((i) => ring.timeAt(i)), [3000, 4000, 5000]);
  assert.deepEqual([0, 1, 2].map((i) => ring.valueAt('downKbps', i)), [30, 40, 50]);
  assert.equal(ring.newestAt, 5000);
  assert.equal(ring.max('downKbps'), 50);
});

test('a repeated or older sample is ignored and null figures are kept as unknown', () => {
  const ring = new SampleRing(4);
  assert.equal(ring.push(1000, { rttMs: null }), true);
  assert.equal(ring.push(1000, { rttMs: 5 }), false);
  assert.equal(ring.push(500, { rttMs: 5 }), false);
  assert.equal(ring.length, 1);
  assert.ok(Number.isNaN(ring.valueAt('rttMs', 0)));
  assert.ok(Number.isNaN(ring.max('rttMs')), 'no known value, no maximum');
});

test('quietMs measures the unbroken run under the limit up to the newest sample', () => {
  const ring = new SampleRing(20);
  const levels = [0.3, 0.2, 0.005, 0.001, null, 0.002, 0.004, 0.003, 0.001];
  levels.forEach((v, i) => ring.push(i * 1000, { audioLevel: v }));
  assert.equal(ring.quietMs('audioLevel', 0.01), 6000, 'quiet from t=2 s to t=8 s; unknown counts as quiet');
  ring.push(9000, { audioLevel: 0.5 });
  assert.equal(ring.quietMs('audioLevel', 0.01), 0, 'a loud newest sample ends the run');
});

test('a long gap between samples breaks the quiet run (the site was away)', () => {
  const ring = new SampleRing(20);
  for (const at of [0, 1000, 2000, 10_000, 11_000, 12_000]) ring.push(at, { audioLevel: 0 });
  assert.equal(ring.quietMs('audioLevel', 0.01), 2000);
});

test('the history keeps five minutes per site and forgets sites with nothing left', () => {
  const history = new StatsHistory(400);
  history.add(stats(0, [site('s1'), site('s2')]));
  for (let t = 1000; t <= HISTORY_MS; t += 1000) history.add(stats(t, [site('s1')]));
  assert.equal(history.ring('s1')?.length, 301, 'samples from 0 to 300 s inclusive');
  assert.equal(history.ring('s2')?.length, 1, 'the 0 s sample is exactly five minutes old');
  history.add(stats(HISTORY_MS + 1000, [site('s1')]));
  assert.equal(history.ring('s2'), null);
  assert.equal(history.ring('s1')?.timeAt(0), 1000);
  assert.equal(history.newestAt, HISTORY_MS + 1000);
});

test('a sample takes its figures from the stats entry and the worse of the two losses', () => {
  const sample = sampleOf(site('s1', { up_loss_pct: 7.5, down_loss_pct: 1, rtt_ms: null }));
  assert.equal(sample.upKbps, 500);
  assert.equal(sample.downKbps, 900);
  assert.equal(sample.rttMs, null);
  assert.equal(sample.worstLossPct, 7.5);
  assert.equal(sampleOf(site('s1', { up_loss_pct: null, down_loss_pct: null })).worstLossPct, null);
});
