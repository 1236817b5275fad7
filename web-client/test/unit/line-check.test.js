/** The pre-meeting line check: its rules (`line-check.js`) and its run (`line-checker.js`) on a fake clock. */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import en from '../../js/i18n/en.js';
import vi from '../../js/i18n/vi.js';
import {
  CHECK_TIMING, buildCheckResult, devicesWorking, loopbackMids, measure, readCheckStats, silenced, udpPortFromSdp, verdict,
} from '../../js/line-check.js';
import { LineChecker } from '../../js/line-checker.js';
import { classifyClientFrame } from '../../js/protocol.js';

/** @typedef {import('../../js/line-check.js').CheckReading} CheckReading */

test('video needs 250 kbit/s back, under 5 % loss and under 400 ms; else audio only', () => {
  assert.equal(verdict(true, { recv_kbps: 250, loss_pct: 4.9, rtt_ms: 399 }), 'video');
  assert.equal(verdict(true, { recv_kbps: 249, loss_pct: 0, rtt_ms: 20 }), 'audio_only');
  assert.equal(verdict(true, { recv_kbps: 900, loss_pct: 5, rtt_ms: 20 }), 'audio_only');
  assert.equal(verdict(true, { recv_kbps: 900, loss_pct: 0, rtt_ms: 400 }), 'audio_only');
  assert.equal(verdict(true, { recv_kbps: null, loss_pct: 0, rtt_ms: 20 }), 'audio_only', 'nothing came back');
  assert.equal(verdict(true, { recv_kbps: 900, loss_pct: null, rtt_ms: 20 }), 'audio_only');
  assert.equal(verdict(true, { recv_kbps: 900, loss_pct: 0, rtt_ms: null }), 'video', 'an unknown round trip does not count against');
  assert.equal(verdict(false, { recv_kbps: 900, loss_pct: 0, rtt_ms: 20 }), 'no_connection');
});

/**
 * A stats report of a site at `t` ms whose loopback runs at `kbps`.
 * @param {number} t
 * @param {{kbps?: number, lossEvery?: number, rtt?: number, level?: number, frames?: boolean}} [o]
 */
function report(t, { kbps = 800, lossEvery = 0, rtt = 0.02, level = 0.1, frames = true } = {}) {
  const packets = Math.floor(t / 10);
  const lost = lossEvery ? Math.floor(packets / lossEvery) : 0;
  return [
    { type: 'transport', id: 'T', selectedCandidatePairId: 'P' },
    { type: 'candidate-pair', id: 'Q', nominated: false, state: 'failed', currentRoundTripTime: 9 },
    {
      type: 'candidate-pair', id: 'P', nominated: true, state: 'succeeded', currentRoundTripTime: rtt,
      totalRoundTripTime: (rtt * t) / 1000, responsesReceived: t / 1000, availableOutgoingBitrate: 1_800_000,
    },
    { type: 'inbound-rtp', kind: 'video', mid: '3', bytesReceived: (kbps * t) / 8 - (kbps * t) / 80, packetsReceived: packets - lost, packetsLost: lost },
    { type: 'inbound-rtp', kind: 'audio', mid: '5', bytesReceived: (kbps * t) / 80, packetsReceived: 0, packetsLost: 0 },
    { type: 'inbound-rtp', kind: 'video', mid: '4', bytesReceived: 1e9 + t * 1e6, packetsReceived: 1e9, packetsLost: 1e6 },
    { type: 'outbound-rtp', kind: 'video', rid: 'q', bytesSent: (100 * t) / 8, framesSent: frames ? t / 40 : 0 },
    { type: 'outbound-rtp', kind: 'video', rid: 'f', bytesSent: (800 * t) / 8, framesSent: frames ? t / 40 : 0 },
    { type: 'outbound-rtp', kind: 'audio', bytesSent: (40 * t) / 8 },
    { type: 'media-source', kind: 'video', frames: frames ? t / 40 : 0 },
    { type: 'media-source', kind: 'audio', audioLevel: level, totalAudioEnergy: (level * level * t) / 1000, totalSamplesDuration: t / 1000 },
  ];
}

test('figures come from two readings of the loopback slots only', () => {
  const a = readCheckStats(report(2000), 2000, ['3', '5']);
  const b = readCheckStats(report(10_000), 10_000, ['3', '5']);
  const f = measure(a, b);
  assert.equal(Math.round(/** @type {number} */ (f.recv_kbps)), 800);
  assert.equal(Math.round(/** @type {number} */ (f.send_kbps)), 940, 'every outbound encoding and the sound');
  assert.equal(f.loss_pct, 0);
  assert.equal(Math.round(/** @type {number} */ (f.rtt_ms)), 20, 'mean of the selected pair, not the failed one');
  assert.equal(f.available_kbps, 1800);
});

test('loss is counted over the window, and counters that went back are no reading', () => {
  const mids = ['3', '5'];
  const f = measure(readCheckStats(report(0, { lossEvery: 20 }), 0, mids), readCheckStats(report(8000, { lossEvery: 20 }), 8000, mids));
  assert.equal(Math.round(/** @type {number} */ (f.loss_pct) * 10) / 10, 5);
  const back = measure(readCheckStats(report(8000), 8000, mids), readCheckStats(report(1000), 9000, mids));
  assert.deepEqual([back.recv_kbps, back.send_kbps, back.loss_pct], [null, null, null]);
});

test('without loopback mids every inbound stream counts; a pair without totals gives its last round trip', () => {
  const stats = [
    { type: 'candidate-pair', id: 'P', nominated: true, state: 'succeeded', currentRoundTripTime: 0.05 },
    { type: 'inbound-rtp', kind: 'video', bytesReceived: 1000, packetsReceived: 10, packetsLost: 0 },
    { type: 'inbound-rtp', kind: 'audio', bytesReceived: 500, packetsReceived: 5, packetsLost: 1 },
  ];
  const r = readCheckStats(stats, 0);
  assert.deepEqual([r.bytesReceived, r.received, r.lost, r.rttMs], [1500, 15, 1, 50]);
  assert.equal(measure(r, { ...r, atMs: 1000 }).rtt_ms, 50);
  const firefox = readCheckStats([{ type: 'remote-inbound-rtp', roundTripTime: 0.12 }], 0);
  assert.equal(firefox.rttMs, 120);
});

/** @param {Partial<MediaStreamTrack>} [o] */
const track = (o = {}) => /** @type {MediaStreamTrack} */ (/** @type {unknown} */ ({ readyState: 'live', enabled: true, muted: false, ...o }));

test('camera works when live and frames arrive; microphone when live and above silence', () => {
  const readings = [0, 1000, 2000].map((t) => readCheckStats(report(t), t));
  assert.deepEqual(devicesWorking(readings, { camera: track(), mic: track() }), { camera: true, mic: true });
  assert.deepEqual(devicesWorking(readings, { camera: null, mic: track({ readyState: 'ended' }) }), { camera: false, mic: false });
  assert.deepEqual(devicesWorking(readings, { camera: track({ enabled: false }), mic: track({ muted: true }) }), { camera: false, mic: false });
  const frozen = [0, 2000].map((t) => readCheckStats(report(t, { frames: false, level: 0 }), t));
  assert.deepEqual(devicesWorking(frozen, { camera: track(), mic: track() }), { camera: false, mic: false });
  // A short beep between readings lifts the average above silence.
  const beep = [readCheckStats(report(0, { level: 0 }), 0), { ...readCheckStats(report(2000, { level: 0 }), 2000), audioEnergy: 0.0004 }];
  assert.equal(devicesWorking(beep, { camera: track(), mic: track() }).mic, true);
  // A browser without frame counts or levels: the tracks' word.
  assert.deepEqual(devicesWorking([], { camera: track(), mic: track() }), { camera: true, mic: true });
});

test('the UDP port comes from the answer\'s UDP candidates', () => {
  const sdp = [
    'v=0', 'm=audio 9 UDP/TLS/RTP/SAVPF 111',
    'a=candidate:1 1 TCP 2105458943 203.0.113.5 443 typ host tcptype passive',
    'a=candidate:2 1 udp 2130706431 203.0.113.5 50000 typ host',
    'a=end-of-candidates', '',
  ].join('\r\n');
  assert.equal(udpPortFromSdp(sdp), 50000);
  assert.equal(udpPortFromSdp('a=candidate:1 1 tcp 1 10.0.0.1 443 typ host'), null);
  assert.equal(udpPortFromSdp(null), null);
});

test('the result message is rounded, carries no figures without a connection, and the server accepts it', () => {
  const ok = buildCheckResult({
    connected: true, camera: true, mic: false,
    figures: { rtt_ms: 23.456, loss_pct: 0.1234, send_kbps: 912.7, recv_kbps: 801.2, available_kbps: 1800 },
  });
  assert.deepEqual(ok, { type: 'check_result', verdict: 'video', camera: true, mic: false, rtt_ms: 23, loss_pct: 0.1, send_kbps: 913, recv_kbps: 801 });
  assert.equal(classifyClientFrame(JSON.stringify(ok)), null);
  const none = buildCheckResult({ connected: false, camera: true, mic: true, figures: null });
  assert.deepEqual(none, { type: 'check_result', verdict: 'no_connection', camera: true, mic: true, rtt_ms: null, loss_pct: null, send_kbps: null, recv_kbps: null });
  const odd = buildCheckResult({ connected: true, camera: true, mic: true, figures: { rtt_ms: NaN, loss_pct: -1, send_kbps: Infinity, recv_kbps: 300, available_kbps: null } });
  assert.deepEqual([odd.rtt_ms, odd.loss_pct, odd.send_kbps, odd.verdict], [null, null, null, 'audio_only']);
  assert.equal(classifyClientFrame(JSON.stringify(odd)), null);
});

test('own slots are the loopback, never played; while checking nothing is played', () => {
  /** @type {import('../../js/protocol.js').Slot[]} */
  const slots = [{ mid: '3', kind: 'video', site_id: 's1' }, { mid: '4', kind: 'video', site_id: null }, { mid: '5', kind: 'audio', site_id: 's1' }, { mid: '6', kind: 'audio', site_id: 'chair' }];
  assert.deepEqual(loopbackMids(slots, 's1'), ['3', '5']);
  assert.deepEqual(loopbackMids(slots, null), []);
  assert.equal(silenced(slots, 's1', false, '5'), true);
  assert.equal(silenced(slots, 's1', false, '6'), false);
  assert.equal(silenced(slots, 's1', true, '6'), true);
});

test('every verdict, step and failure has words in both languages', () => {
  const keys = [
    'check.verdict.video', 'check.verdict.audio_only', 'check.verdict.no_connection', 'check.verdict.no_connection.noPort',
    'check.short.video', 'check.short.audio_only', 'check.short.no_connection',
    'check.step.connecting', 'check.step.starting', 'check.step.warmup', 'check.step.measuring',
    'check.failed.conflict', 'check.failed.interrupted', 'check.failed.offline', 'check.failed.no_answer', 'check.failed',
  ];
  for (const k of keys) assert.ok(k in vi && k in en, k);
});

// ---- the run, on a fake clock --------------------------------------------------------

/**
 * A checker over a fake peer connection; `server` answers what the checker sends.
 * @param {{state?: string, sdp?: string, server?: (msg: any, c: LineChecker, h: any) => void, stats?: (t: number) => object[]}} [o]
 */
function harness(o = {}) {
  const h = {
    t: 0,
    /** @type {any[]} */
    sent: [],
    /** @type {import('../../js/protocol.js').Slot[]} */
    slots: [],
    pc: {
      connectionState: o.state ?? 'connected',
      remoteDescription: { sdp: o.sdp ?? 'a=candidate:1 1 udp 1 127.0.0.1 40001 typ host' },
      getStats: async () => ({ values: () => (o.stats ?? report)(h.t) }),
    },
  };
  const server = o.server ?? ((/** @type {any} */ msg, /** @type {LineChecker} */ c) => {
    if (msg.type === 'check' && msg.on) {
      c.onCheck(true);
      h.slots = [{ mid: '3', kind: 'video', site_id: 's1', track: 'camera', layer: 'high' }, { mid: '5', kind: 'audio', site_id: 's1', track: 'audio' }];
    }
  });
  const checker = new LineChecker({
    send: (msg) => {
      h.sent.push(msg);
      server(msg, checker, h);
      return true;
    },
    pc: () => h.pc,
    tracks: () => ({ camera: track(), mic: track() }),
    slots: () => h.slots,
    ownId: () => 's1',
    changed: () => {},
    now: () => h.t,
    sleep: async (ms) => {
      h.t += ms;
    },
  });
  return { h, checker };
}

test('a check on a good line: check on, ~10 s, check off, a video verdict sent and kept', async () => {
  const { h, checker } = harness();
  const run = checker.start();
  assert.equal(checker.state, 'running');
  await run;
  assert.equal(checker.state, 'done');
  assert.deepEqual(h.sent.map((m) => m.type === 'check' ? `check ${m.on}` : m.type), ['check true', 'check false', 'check_result']);
  assert.deepEqual(h.sent[2], checker.result);
  assert.deepEqual(checker.result, { type: 'check_result', verdict: 'video', camera: true, mic: true, rtt_ms: 20, loss_pct: 0, send_kbps: 940, recv_kbps: 800 });
  assert.ok(h.t >= CHECK_TIMING.warmupMs + CHECK_TIMING.measureMs && h.t < 12_000, `took ${h.t} ms`);
  assert.equal(checker.looping, false);
  assert.equal(checker.progress, 1);
});

test('a weak loopback is audio only', async () => {
  const { checker } = harness({ stats: (t) => report(t, { kbps: 180, lossEvery: 10 }) });
  await checker.start();
  assert.equal(checker.result?.verdict, 'audio_only');
  assert.equal(checker.result?.loss_pct, 10);
});

test('no connection within 15 s: no_connection with the UDP port, and no check asked for', async () => {
  const { h, checker } = harness({ state: 'connecting' });
  await checker.start();
  assert.equal(checker.state, 'done');
  assert.ok(h.t >= CHECK_TIMING.connectMs && h.t < CHECK_TIMING.connectMs + 1000, `gave up at ${h.t} ms`);
  assert.equal(checker.udpPort, 40001);
  assert.deepEqual(h.sent, [{ type: 'check_result', verdict: 'no_connection', camera: true, mic: true, rtt_ms: null, loss_pct: null, send_kbps: null, recv_kbps: null }]);
});

test('a failed peer connection gives up at once', async () => {
  const { h, checker } = harness({ state: 'failed' });
  await checker.start();
  assert.equal(checker.result?.verdict, 'no_connection');
  assert.equal(h.t, 0);
});

test('refused by the server (the meeting is open): back to idle with the code, sound no longer silenced', async () => {
  const { h, checker } = harness({
    server: (msg, c) => {
      if (msg.type === 'check' && msg.on) assert.ok(c.onError('conflict'));
    },
  });
  await checker.start();
  assert.deepEqual([checker.state, checker.failure, checker.result, checker.looping], ['idle', 'conflict', null, false]);
  assert.deepEqual(h.sent, [{ type: 'check', on: true }]);
  assert.equal(checker.onError('conflict'), false, 'later errors are not the check\'s');
});

test('the meeting opens mid-check: the check stops without a result', async () => {
  const { h, checker } = harness({
    stats: (t) => {
      if (t >= 5000) checker.onCheck(false);
      return report(t);
    },
  });
  await checker.start();
  assert.deepEqual([checker.state, checker.failure], ['idle', 'interrupted']);
  assert.ok(!h.sent.some((m) => m.type === 'check_result'));
});

test('while the loopback may run, every received sound is silenced', async () => {
  const { h, checker } = harness({
    stats: (t) => {
      if (t > 0) seen.push(checker.mutes('9'));
      return report(t);
    },
  });
  /** @type {boolean[]} */
  const seen = [];
  await checker.start();
  assert.ok(seen.length > 5 && seen.every(Boolean));
  assert.equal(checker.mutes('9'), false);
  assert.equal(checker.mutes('5'), true, 'the own sound slot stays silent');
  h.slots = [];
  assert.equal(checker.mutes('5'), false);
});

test('the socket going mid-check cancels it; a new start runs again', async () => {
  const { checker } = harness();
  const run = checker.start();
  checker.abort();
  await run;
  assert.deepEqual([checker.state, checker.failure, checker.result], ['idle', 'interrupted', null]);
  await checker.start();
  assert.equal(checker.state, 'done');
});
