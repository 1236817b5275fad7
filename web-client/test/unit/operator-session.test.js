/**
 * The session's side of the operators' tools over a fake socket: `stats` kept (and its
 * history), the actions sent, and on a site: notices until dismissed, the audio-only mark,
 * and `reconnect` obeyed at once.
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { Session } from '../../js/session.js';

const FIXTURES = new URL('../../../signaling/fixtures/protocol/server/', import.meta.url);

class FakeSocket {
  /** @type {FakeSocket[]} */
  static all = [];
  readyState = 0;
  /** @type {any[]} */
  sent = [];
  closed = false;
  /** @type {((ev: unknown) => void) | null} */ onopen = null;
  /** @type {((ev: {data: unknown}) => void) | null} */ onmessage = null;
  /** @type {((ev: {code?: number, reason?: string}) => void) | null} */ onclose = null;
  /** @type {((ev: unknown) => void) | null} */ onerror = null;
  constructor() {
    FakeSocket.all.push(this);
  }
  /** @param {string} data */
  send(data) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.closed = true;
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  /** @param {string | object} msg */
  receive(msg) {
    this.onmessage?.({ data: typeof msg === 'string' ? msg : JSON.stringify(msg) });
  }
  drop() {
    this.readyState = 3;
    this.onclose?.({ code: 1006 });
  }
}

/** @param {string} role */
const tokenFor = (role) => `e30.${Buffer.from(JSON.stringify({ role })).toString('base64url')}.c2ln`;

const SITES = [
  { id: 'chair', name: 'Hội trường UBND tỉnh', role: 'chair', state: 'joined' },
  { id: 's1', name: 'UBND xã Tả Van', role: 'site', state: 'joined' },
  { id: 's7', name: 'UBND xã Bản Hồ', role: 'site', state: 'joined' },
];

/**
 * @param {'operator' | 'site'} role
 */
function joined(role) {
  FakeSocket.all = [];
  const session = new Session({ token: tokenFor(role), wsUrl: 'ws://test/ws', SocketImpl: FakeSocket, reconnectDelayMs: 3000 });
  session.start();
  const socket = FakeSocket.all[0];
  socket.open();
  const you = role === 'operator' ? { id: 'op', name: 'Kỹ thuật viên', role } : { id: 's1', name: 'UBND xã Tả Van', role };
  socket.receive({ type: 'joined', v: 1, meeting: { id: 'm', title: 'Giao ban' }, you, sites: SITES, receive: { video: 2, audio: 2 }, ice_servers: [] });
  socket.sent.length = 0;
  return { session, socket };
}

test('an operator keeps the last stats message and five minutes of it per site', () => {
  const { session, socket } = joined('operator');
  const before = session.stats;
  assert.equal(before, null);
  const fixture = readFileSync(new URL('stats.json', FIXTURES), 'utf8');
  socket.receive(fixture);
  assert.equal(session.stats?.sites.length, 2);
  assert.equal(session.stats?.totals.expected, 4);
  const at = JSON.parse(fixture).at_ms;
  socket.receive({ ...JSON.parse(fixture), at_ms: at + 1000 });
  assert.equal(session.statsHistory.ring('s7')?.length, 2);
  assert.equal(session.statsHistory.ring('s7')?.valueAt('upLossPct', 1), 3.1);
});

test('stats are dropped while the socket is down: no stale figures', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  const { session, socket } = joined('operator');
  socket.receive(readFileSync(new URL('stats.json', FIXTURES), 'utf8'));
  socket.drop();
  assert.equal(session.stats, null);
  assert.ok(session.statsHistory.ring('s7'), 'the charts keep their history');
});

test('the operator actions send the contract\'s messages', () => {
  const { session, socket } = joined('operator');
  assert.equal(session.sendNotice('s7', 'Xã Bản Hồ: vui lòng bật lại micrô'), true);
  assert.equal(session.askReconnect('s7'), true);
  assert.equal(session.forceAudioOnly('s7', true), true);
  assert.equal(session.forceAudioOnly('s7', false), true);
  assert.deepEqual(socket.sent, [
    { type: 'notice', site_id: 's7', text: 'Xã Bản Hồ: vui lòng bật lại micrô' },
    { type: 'reconnect', site_id: 's7' },
    { type: 'force_audio_only', site_id: 's7', on: true },
    { type: 'force_audio_only', site_id: 's7', on: false },
  ]);
});

test('a notice that breaks the rules is a bug here, not something to send', () => {
  const { session } = joined('operator');
  assert.throws(() => session.sendNotice('s7', 'x'.repeat(501)), /at most 500/);
});

test('a site shows each operator notice until it is dismissed', () => {
  const { session, socket } = joined('site');
  socket.receive(readFileSync(new URL('notice.json', FIXTURES), 'utf8'));
  socket.receive({ type: 'notice', from: 'operator', text: 'Đề nghị kiểm tra loa' });
  assert.deepEqual(session.operatorNotices.map((n) => n.text), ['Xã Bản Hồ: vui lòng bật lại micro', 'Đề nghị kiểm tra loa']);
  session.dismissOperatorNotice(session.operatorNotices[0].id);
  assert.deepEqual(session.operatorNotices.map((n) => n.text), ['Đề nghị kiểm tra loa']);
});

test('a site knows when the operators forced it to audio only, and when they stop', () => {
  const { session, socket } = joined('site');
  const me = SITES[1];
  assert.equal(session.audioOnlyForced, false);
  socket.receive({ type: 'site_state', site: me, audio_only_forced: true });
  assert.equal(session.audioOnlyForced, true);
  socket.receive({ type: 'site_state', site: SITES[2], audio_only_forced: false });
  assert.equal(session.audioOnlyForced, true, 'another site\'s state says nothing about us');
  socket.receive({ type: 'site_state', site: me, audio_only_forced: false });
  assert.equal(session.audioOnlyForced, false);
});

test('reconnect drops the socket and joins again at once, not after the usual delay', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  const { session, socket } = joined('site');
  socket.receive(readFileSync(new URL('reconnect.json', FIXTURES), 'utf8'));
  assert.ok(socket.closed, 'the old socket is closed');
  assert.equal(FakeSocket.all.length, 2, 'a new socket at once');
  assert.equal(session.reconnecting, true);
  const again = FakeSocket.all[1];
  again.open();
  assert.deepEqual(again.sent, [{ type: 'join', v: 1, token: tokenFor('site') }]);
  t.mock.timers.tick(10_000);
  assert.equal(FakeSocket.all.length, 2, 'no second reconnect from the old timer');
});
