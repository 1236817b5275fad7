/**
 * The session's life over a fake socket (no browser media here: WebRTC itself is covered by
 * end-to-end tests): join on open, token errors, roster updates, reconnecting, ending.
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { Session } from '../../js/session.js';

const FIXTURES = new URL('../../../signaling/fixtures/protocol/server/', import.meta.url);
const JOINED = readFileSync(new URL('joined.json', FIXTURES), 'utf8');

class FakeSocket {
  /** @type {FakeSocket[]} */
  static all = [];
  readyState = 0;
  /** @type {any[]} */
  sent = [];
  closed = false;
  /** @type {((ev: unknown) => void) | null} */
  onopen = null;
  /** @type {((ev: {data: unknown}) => void) | null} */
  onmessage = null;
  /** @type {((ev: {code?: number, reason?: string}) => void) | null} */
  onclose = null;
  /** @type {((ev: unknown) => void) | null} */
  onerror = null;
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

/** A JWT-shaped token whose role claim says operator, so no devices are opened. */
const OPERATOR_TOKEN = `e30.${Buffer.from('{"role":"operator"}').toString('base64url')}.c2ln`;

function newSession(token = OPERATOR_TOKEN) {
  FakeSocket.all = [];
  const session = new Session({ token, wsUrl: 'ws://test/ws', SocketImpl: FakeSocket, reconnectDelayMs: 3000 });
  session.start();
  const socket = FakeSocket.all[0];
  assert.ok(socket);
  return { session, socket };
}

test('without a token nothing connects and the page asks for the invite link', () => {
  FakeSocket.all = [];
  const session = new Session({ token: null, wsUrl: 'ws://test/ws', SocketImpl: FakeSocket });
  session.start();
  assert.equal(session.screen, 'no-token');
  assert.equal(session.state, 'idle');
  assert.equal(FakeSocket.all.length, 0);
});

test('joins as soon as the socket opens and shows the meeting on the join page', () => {
  const { session, socket } = newSession();
  assert.equal(session.state, 'joining');
  socket.open();
  assert.deepEqual(socket.sent, [{ type: 'join', v: 1, token: OPERATOR_TOKEN }]);
  socket.receive(JOINED);
  assert.equal(session.state, 'joined');
  assert.equal(session.screen, 'join', 'the big button is still to be pressed');
  assert.equal(session.meeting?.title, 'Hội nghị trực tuyến giao ban tháng 11');
  assert.equal(session.roster.length, 3);
});

test('a bad token ends on an explanation, with no retry', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  const { session, socket } = newSession();
  socket.open();
  socket.receive({ type: 'error', code: 'token_expired', message: 'expired' });
  assert.equal(session.screen, 'failed');
  assert.equal(session.failure, 'token_expired');
  assert.equal(session.state, 'error');
  assert.ok(socket.closed);
  t.mock.timers.tick(10_000);
  assert.equal(FakeSocket.all.length, 1, 'no reconnect after a join error');
});

test('a non-fatal error goes to the banner and the session goes on', () => {
  const { session, socket } = newSession();
  socket.open();
  socket.receive(JOINED);
  socket.receive({ type: 'error', code: 'forbidden', message: 'sites may not end the meeting' });
  assert.deepEqual(session.lastError, { code: 'forbidden', message: 'sites may not end the meeting' });
  assert.equal(session.state, 'joined');
  session.dismissError();
  assert.equal(session.lastError, null);
});

test('replaced is fatal even after joining', () => {
  const { session, socket } = newSession();
  socket.open();
  socket.receive(JOINED);
  socket.receive({ type: 'error', code: 'replaced', message: 'joined elsewhere' });
  assert.equal(session.screen, 'failed');
  assert.equal(session.failure, 'replaced');
});

test('site_state keeps the roster current', () => {
  const { session, socket } = newSession();
  socket.open();
  socket.receive(JOINED);
  socket.receive(readFileSync(new URL('site_state.json', FIXTURES), 'utf8'));
  const s1 = session.roster.find((s) => s.id === 's1');
  assert.equal(s1?.state, 'joined');
  assert.equal(s1?.mic, true);
});

test('a lost socket reconnects and joins again after the delay', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  const { session, socket } = newSession();
  socket.open();
  socket.receive(JOINED);
  socket.drop();
  assert.equal(session.reconnecting, true);
  assert.equal(session.state, 'joining');
  t.mock.timers.tick(2999);
  assert.equal(FakeSocket.all.length, 1);
  t.mock.timers.tick(1);
  const again = FakeSocket.all[1];
  assert.ok(again);
  again.open();
  assert.deepEqual(again.sent, [{ type: 'join', v: 1, token: OPERATOR_TOKEN }]);
  again.receive(JOINED);
  assert.equal(session.reconnecting, false);
  assert.equal(session.state, 'joined');
});

test('ended shows the end screen and nothing reconnects', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  const { session, socket } = newSession();
  socket.open();
  socket.receive(JOINED);
  socket.receive({ type: 'ended', reason: 'ended_by_chair' });
  socket.drop();
  assert.equal(session.state, 'ended');
  t.mock.timers.tick(10_000);
  assert.equal(FakeSocket.all.length, 1);
});

test('leaving sends leave and closes; joining again starts a new socket', () => {
  const { session, socket } = newSession();
  socket.open();
  socket.receive(JOINED);
  session.leave();
  assert.deepEqual(socket.sent.at(-1), { type: 'leave' });
  assert.ok(socket.closed);
  assert.equal(session.screen, 'left');
  assert.equal(session.state, 'idle');
  session.rejoin();
  assert.equal(FakeSocket.all.length, 2);
  assert.equal(session.screen, 'join');
});

test('end meeting sends end_meeting', () => {
  const { session, socket } = newSession();
  socket.open();
  socket.receive(JOINED);
  session.endMeeting();
  assert.deepEqual(socket.sent.at(-1), { type: 'end_meeting' });
});
