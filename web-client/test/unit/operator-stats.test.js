/**
 * The operators' dashboard rules: every expected site gets a row, the alert thresholds
 * (loss, round trip, a silent floor holder), worst first, sorting by any column, totals.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  COLUMNS, DEFAULT_SORT, LIMITS, alertsFor, buildRows, formatters, levelPercent, nextSort, severityOf, sortRows, totalsOf,
} from '../../js/operator-stats.js';
import { StatsHistory } from '../../js/stats-history.js';
import { site, stats } from './stats-sample.js';

/** @type {import('../../js/roster.js').RosterEntry[]} */
const ROSTER = [
  { id: 'chair', name: 'Hội trường tỉnh', role: 'chair', state: 'joined' },
  { id: 's1', name: 'UBND xã Tả Van', role: 'site', state: 'joined' },
  { id: 's2', name: 'UBND xã Bản Hồ', role: 'site', state: 'joined' },
  { id: 's3', name: 'UBND xã Sa Pả', role: 'site', state: 'waiting' },
  { id: 's4', name: 'UBND xã Y Tý', role: 'site', state: 'left' },
  { id: 's5', name: 'UBND xã A Mú Sung', role: 'site', state: 'joined' },
  { id: 'op', name: 'Kỹ thuật viên', role: 'operator', state: 'joined' },
];

/** @type {import('../../js/protocol.js').FloorMessage} */
const FLOOR = { type: 'floor', holders: ['s2'], hands: [] };

test('every expected participant has a row in roster order; operators have none', () => {
  const rows = buildRows(ROSTER, stats(1000, [site('chair'), site('s1')]));
  assert.deepEqual(rows.map((r) => r.id), ['chair', 's1', 's2', 's3', 's4', 's5']);
  assert.deepEqual(rows.map((r) => r.state), ['joined', 'joined', 'joined', 'waiting', 'left', 'joined']);
  assert.equal(rows[1].stats?.down_kbps, 900);
  assert.equal(rows[2].stats, null, 's2 is joined but its media is not connected');
});

test('figures of a site that left are not shown, even if a stats message still lists it', () => {
  const rows = buildRows(ROSTER, stats(1000, [site('s4')]));
  assert.equal(rows.find((r) => r.id === 's4')?.stats, null);
});

test('loss over 5 % in either direction and a round trip over 400 ms raise alerts', () => {
  const quiet = { holdsFloor: false, quietMs: 0 };
  assert.deepEqual(alertsFor(site('s1', { up_loss_pct: 5 }), quiet), [], 'exactly 5 % is not over');
  assert.deepEqual(alertsFor(site('s1', { up_loss_pct: 5.1 }), quiet), ['loss']);
  assert.deepEqual(alertsFor(site('s1', { down_loss_pct: 12, up_loss_pct: null }), quiet), ['loss']);
  assert.deepEqual(alertsFor(site('s1', { rtt_ms: 401 }), quiet), ['rtt']);
  assert.deepEqual(alertsFor(site('s1', { rtt_ms: null, up_loss_pct: null, down_loss_pct: null }), quiet), [], 'unknown is not bad news');
});

test('a floor holder silent for 5 s of samples is flagged; a silent site without the floor is not', () => {
  const history = new StatsHistory();
  for (let t = 0; t <= 5000; t += 1000) {
    history.add(stats(t, [site('s1', { audio_level: 0.004 }), site('s2', { audio_level: 0.002 }), site('s5', { audio_level: 0.3 })]));
  }
  const floor = { ...FLOOR, holders: ['s2', 's5'] };
  const rows = buildRows(ROSTER, stats(5000, [site('s1'), site('s2'), site('s5')]), { floor, history });
  const by = Object.fromEntries(rows.map((r) => [r.id, r]));
  assert.deepEqual(by.s2.alerts, ['silent']);
  assert.equal(by.s2.holdsFloor, true);
  assert.deepEqual(by.s1.alerts, [], 'quiet, but not holding the floor');
  assert.deepEqual(by.s5.alerts, [], 'holding the floor and speaking');
});

test('4 s of silence is not yet an alert', () => {
  const history = new StatsHistory();
  for (let t = 0; t <= 4000; t += 1000) history.add(stats(t, [site('s2', { audio_level: 0 })]));
  const rows = buildRows(ROSTER, stats(4000, [site('s2')]), { floor: FLOOR, history });
  assert.deepEqual(rows.find((r) => r.id === 's2')?.alerts, []);
  assert.equal(LIMITS.silentMs, 5000);
});

test('severity ranks a silent speaker over heavy loss over a long round trip over a healthy site', () => {
  const silent = severityOf({ state: 'joined', stats: site('a'), alerts: ['silent'] });
  const lossy = severityOf({ state: 'joined', stats: site('b', { down_loss_pct: 9 }), alerts: ['loss'] });
  const slow = severityOf({ state: 'joined', stats: site('c', { rtt_ms: 450 }), alerts: ['rtt'] });
  const paused = severityOf({ state: 'joined', stats: site('d', { layer: 'paused' }), alerts: [] });
  const healthy = severityOf({ state: 'joined', stats: site('e'), alerts: [] });
  assert.ok(silent > lossy && lossy > slow && slow > paused && paused > healthy, `${[silent, lossy, slow, paused, healthy]}`);
  assert.equal(healthy, 0);
  assert.equal(severityOf({ state: 'joined', stats: site('f', { layer: 'paused', audio_only_forced: true }), alerts: [] }), 0,
    'video paused because the operators forced audio only is not a fault');
});

test('a site that dropped out or has no media ranks above a healthy one, a waiting site too', () => {
  const left = severityOf({ state: 'left', stats: null, alerts: [] });
  const noMedia = severityOf({ state: 'joined', stats: null, alerts: [] });
  const waiting = severityOf({ state: 'waiting', stats: null, alerts: [] });
  assert.ok(left > noMedia && noMedia > waiting && waiting > 0);
});

test('worst first by default, ties by name in Vietnamese order', () => {
  const msg = stats(1000, [
    site('chair'), site('s1', { rtt_ms: 600 }), site('s2', { down_loss_pct: 15 }), site('s5'),
  ]);
  const sorted = sortRows(buildRows(ROSTER, msg), DEFAULT_SORT).map((r) => r.id);
  assert.deepEqual(sorted, ['s2', 's1', 's4', 's3', 'chair', 's5']);
});

test('any column sorts, unknown values last in both directions', () => {
  const msg = stats(1000, [site('chair', { down_kbps: 2500 }), site('s1', { down_kbps: 120 }), site('s2', { down_kbps: 800 })]);
  const rows = buildRows(ROSTER, msg);
  const asc = sortRows(rows, { column: 'down', dir: 'asc' }).map((r) => r.id);
  assert.deepEqual(asc.slice(0, 3), ['s1', 's2', 'chair']);
  const desc = sortRows(rows, { column: 'down', dir: 'desc' }).map((r) => r.id);
  assert.deepEqual(desc.slice(0, 3), ['chair', 's2', 's1']);
  for (const order of [asc, desc]) assert.deepEqual(new Set(order.slice(3)), new Set(['s3', 's4', 's5']));
  const names = sortRows(rows, { column: 'name', dir: 'asc' }).map((r) => r.name);
  assert.deepEqual(names.slice(0, 3), ['Hội trường tỉnh', 'UBND xã A Mú Sung', 'UBND xã Bản Hồ']);
  for (const column of COLUMNS) assert.equal(sortRows(rows, { column, dir: 'asc' }).length, rows.length, column);
});

test('TURN sorts first in the connection column, paused video first in the layer column', () => {
  const msg = stats(1000, [
    site('chair'), site('s1', { candidate: 'relay', transport: 'relay', layer: 'low' }), site('s2', { candidate: 'srflx', layer: 'paused' }),
  ]);
  const rows = buildRows(ROSTER, msg);
  const byTransport = sortRows(rows, nextSort(DEFAULT_SORT, 'transport')).map((r) => r.id);
  assert.deepEqual(byTransport.slice(0, 3), ['s1', 's2', 'chair']);
  const byLayer = sortRows(rows, nextSort(DEFAULT_SORT, 'layer')).map((r) => r.id);
  assert.deepEqual(byLayer.slice(0, 3), ['s2', 's1', 'chair']);
});

test('the node column sorts by the node holding each connection, alone-node sites last', () => {
  const msg = stats(1000, [site('chair', { node: 'hanoi' }), site('s1', { node: 'hue' }), site('s2', { node: 'danang' })]);
  const rows = buildRows(ROSTER, msg);
  const byNode = sortRows(rows, nextSort(DEFAULT_SORT, 'node')).map((r) => r.id);
  assert.deepEqual(byNode.slice(0, 3), ['s2', 'chair', 's1']);
  assert.ok(!byNode.slice(0, 3).includes('s3'), 'a site without a node sorts after those with one');
});

test('a header click starts worst first and a second click flips the order', () => {
  assert.deepEqual(nextSort(DEFAULT_SORT, 'rtt'), { column: 'rtt', dir: 'desc' });
  assert.deepEqual(nextSort(DEFAULT_SORT, 'down'), { column: 'down', dir: 'asc' });
  assert.deepEqual(nextSort({ column: 'rtt', dir: 'desc' }, 'rtt'), { column: 'rtt', dir: 'asc' });
});

test('the line check verdict is part of the row and sorts no connection first', () => {
  /** @type {Record<string, string>} */
  const verdicts = { s1: 'video', s2: 'no_connection', s5: 'audio_only' };
  const rows = buildRows(ROSTER, null, { verdict: (id) => verdicts[id] ?? null });
  assert.equal(rows.find((r) => r.id === 's2')?.check, 'no_connection');
  assert.deepEqual(sortRows(rows, nextSort(DEFAULT_SORT, 'check')).map((r) => r.id).slice(0, 3), ['s2', 's5', 's1']);
});

test('totals: the server\'s figures, and how many sites are on TURN, lossy, slow, silent, forced', () => {
  const history = new StatsHistory();
  for (let t = 0; t <= 6000; t += 1000) history.add(stats(t, [site('s2', { audio_level: 0 })]));
  const msg = stats(6000, [
    site('chair'), site('s1', { candidate: 'relay', transport: 'relay', up_loss_pct: 8, rtt_ms: 500 }),
    site('s2', { audio_level: 0, audio_only_forced: true }),
  ]);
  msg.totals = { expected: 6, joined: 3, up_kbps: 4321.5, down_kbps: 9876 };
  const totals = totalsOf(buildRows(ROSTER, msg, { floor: FLOOR, history }), msg);
  assert.deepEqual(totals, {
    expected: 6, joined: 4, connected: 3, waiting: 1, left: 1, upKbps: 4321.5, downKbps: 9876,
    relay: 1, loss: 1, rtt: 1, silent: 1, audioOnly: 1,
  });
  const offline = totalsOf(buildRows(ROSTER, null), null);
  assert.equal(offline.expected, 6);
  assert.equal(offline.upKbps, null);
});

test('numbers are written the Vietnamese way in Vietnamese, unknown as a dash', () => {
  const vi = formatters('vi');
  assert.equal(vi.whole(12345.6), '12.346');
  assert.equal(vi.oneDecimal(5.25), '5,3');
  assert.equal(vi.mbps(4321.5), '4,3');
  assert.equal(vi.whole(null), '—');
  assert.equal(formatters('en').whole(12345.6), '12,346');
});

test('the level meter is on a decibel scale', () => {
  assert.equal(levelPercent(null), 0);
  assert.equal(levelPercent(0), 0);
  assert.equal(levelPercent(1), 100);
  assert.equal(levelPercent(0.001), 0, '−60 dBFS is empty');
  assert.equal(levelPercent(10 ** (-30 / 20)), 50, '−30 dBFS is half');
});

test('any alert ranks above a site that dropped out; a slight wobble does not change the rank', () => {
  const lossy = severityOf({ state: 'joined', stats: site('a', { up_loss_pct: 5.1 }), alerts: ['loss'] });
  const left = severityOf({ state: 'left', stats: null, alerts: [] });
  assert.ok(lossy > left, `${lossy} > ${left}`);
  const calm = severityOf({ state: 'joined', stats: site('b', { down_loss_pct: 0.2, rtt_ms: 160 }), alerts: [] });
  const calmer = severityOf({ state: 'joined', stats: site('b', { down_loss_pct: 0.4, rtt_ms: 170 }), alerts: [] });
  assert.equal(calm, calmer);
});
