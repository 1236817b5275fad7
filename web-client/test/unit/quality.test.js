/** The connection-quality mark from getStats numbers. */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { connectionMark, qualityMark, readStats, shownMark } from '../../js/quality.js';

test('low RTT and loss is good, middling is fair, bad is poor', () => {
  assert.equal(qualityMark({ rttMs: 40, lossRatio: 0 }), 'good');
  assert.equal(qualityMark({ rttMs: 150, lossRatio: 0.02 }), 'good');
  assert.equal(qualityMark({ rttMs: 250, lossRatio: 0.01 }), 'fair');
  assert.equal(qualityMark({ rttMs: 60, lossRatio: 0.05 }), 'fair');
  assert.equal(qualityMark({ rttMs: 600, lossRatio: 0 }), 'poor');
  assert.equal(qualityMark({ rttMs: 50, lossRatio: 0.15 }), 'poor');
});

test('unknown numbers do not make the mark worse', () => {
  assert.equal(qualityMark({ rttMs: null, lossRatio: null }), 'good');
  assert.equal(qualityMark({ rttMs: null, lossRatio: 0.05 }), 'fair');
});

test('no media path reads as connecting or disconnected', () => {
  assert.equal(connectionMark('new', null), 'connecting');
  assert.equal(connectionMark('connecting', { rttMs: 10, lossRatio: 0 }), 'connecting');
  assert.equal(connectionMark('disconnected', null), 'disconnected');
  assert.equal(connectionMark('failed', null), 'disconnected');
  assert.equal(connectionMark('connected', null), 'good');
  assert.equal(connectionMark('connected', { rttMs: 500, lossRatio: 0 }), 'poor');
});

test('readStats takes RTT from the nominated pair and loss over the last interval', () => {
  const first = readStats([
    { type: 'candidate-pair', nominated: true, state: 'succeeded', currentRoundTripTime: 0.08 },
    { type: 'candidate-pair', nominated: false, state: 'failed', currentRoundTripTime: 2 },
    { type: 'inbound-rtp', kind: 'audio', packetsLost: 5, packetsReceived: 95 },
    { type: 'inbound-rtp', kind: 'video', packetsLost: 0, packetsReceived: 100 },
  ], null);
  assert.equal(first.rttMs, 80);
  assert.equal(first.lossRatio, 5 / 200);
  assert.deepEqual(first.totals, { lost: 5, received: 195 });

  const second = readStats([
    { type: 'candidate-pair', nominated: true, state: 'succeeded', currentRoundTripTime: 0.3 },
    { type: 'inbound-rtp', packetsLost: 15, packetsReceived: 285 },
  ], first.totals);
  assert.equal(second.rttMs, 300);
  assert.equal(second.lossRatio, 10 / 100);
  assert.equal(qualityMark(second), 'poor');
});

test('readStats falls back to the RTCP round trip and tolerates empty reports', () => {
  const s = readStats([{ type: 'remote-inbound-rtp', roundTripTime: 0.12 }], null);
  assert.equal(s.rttMs, 120);
  assert.equal(s.lossRatio, null);
  const empty = readStats([], null);
  assert.deepEqual(empty, { rttMs: null, lossRatio: null, totals: { lost: 0, received: 0 } });
});

test('counters that went backwards (renegotiation) give no loss reading', () => {
  const s = readStats([{ type: 'inbound-rtp', packetsLost: 0, packetsReceived: 10 }], { lost: 3, received: 500 });
  assert.equal(s.lossRatio, null);
});

test('the shown mark is never better than the SFU says the line is', () => {
  assert.equal(shownMark('good', 'reduced'), 'fair', 'a weak-line banner never sits beside "good"');
  assert.equal(shownMark('good', 'audio_only'), 'poor');
  assert.equal(shownMark('poor', 'reduced'), 'poor', 'the browser may know worse');
  assert.equal(shownMark('good', 'full'), 'good');
  assert.equal(shownMark('good', undefined), 'good');
  assert.equal(shownMark('connecting', 'audio_only'), 'connecting');
  assert.equal(shownMark('disconnected', 'reduced'), 'disconnected');
});
