/**
 * `SignalingClient` against a fake WebSocket: it sends what it is told, dispatches what the
 * server sends, pings, and gives up on a link that stops answering.
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { joinMessage } from '../../js/messages.js';
import { DEAD_LINK_CLOSE_CODE, SignalingClient } from '../../js/signaling.js';

const JOINED = readFileSync(new URL('../../../signaling/fixtures/protocol/server/joined.json', import.meta.url), 'utf8');

/** A stand-in for the browser WebSocket that records frames and lets the test play server. */
class FakeSocket {
  /** @type {FakeSocket[]} */
  static instances = [];
  readyState = 0;
  /** @type {string[]} */
  sent = [];
  /** @type {number | null} */
  closedWith = null;
  /** @type {((ev: unknown) => void) | null} */
  onopen = null;
  /** @type {((ev: {data: unknown}) => void) | null} */
  onmessage = null;
  /** @type {((ev: {code?: number, reason?: string}) => void) | null} */
  onclose = null;
  /** @type {((ev: unknown) => void) | null} */
  onerror = null;

  /** @param {string} url */
  constructor(url) {
    this.url = url;
    FakeSocket.instances.push(this);
  }

  /** @param {string} data */
  send(data) {
    this.sent.push(data);
  }

  /** @param {number} [code] */
  close(code) {
    this.closedWith = code ?? 1000;
    this.readyState = 3;
  }

  // --- test side
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }

  /** @param {string} text */
  serverSends(text) {
    this.onmessage?.({ data: text });
  }

  serverCloses() {
    this.readyState = 3;
    this.onclose?.({ code: 1006, reason: '' });
  }
}

/** @param {number} [pingIntervalMs] */
function connect(pingIntervalMs = 0) {
  FakeSocket.instances = [];
  const client = new SignalingClient('ws://test/ws', FakeSocket, { pingIntervalMs });
  const socket = FakeSocket.instances[0];
  assert.ok(socket);
  return { client, socket };
}

test('sends join once open and dispatches joined', () => {
  const { client, socket } = connect();
  assert.equal(socket.url, 'ws://test/ws');
  /** @type {string[]} */
  const seen = [];
  client.on('open', () => client.send(joinMessage('tok')));
  client.on('joined', (m) => seen.push(`${m.meeting.title}|${m.you.role}`));
  client.on('error', () => seen.push('error'));

  assert.equal(client.send(joinMessage('early')), false, 'nothing is sent before open');
  socket.open();
  assert.deepEqual(socket.sent.map((s) => JSON.parse(s)), [{ type: 'join', v: 1, token: 'tok' }]);

  socket.serverSends(JOINED);
  assert.deepEqual(seen, ['Hội nghị trực tuyến giao ban tháng 11|chair']);
  assert.equal(socket.sent.length, 1, 'joined is not answered by anything unasked');
});

test('an unreadable frame is reported and the session goes on', () => {
  const { client, socket } = connect();
  /** @type {string[]} */
  const seen = [];
  client.on('protocol_error', (e) => seen.push(e.code));
  client.on('pong', (m) => seen.push(`pong ${m.id}`));
  socket.open();
  socket.serverSends('{"type":"warp"}');
  socket.serverSends('{nope');
  socket.serverSends('{"type":"pong","id":1}');
  assert.deepEqual(seen, ['unknown_type', 'bad_json', 'pong 1']);
  assert.ok(client.isOpen);
});

test('a message that breaks the protocol is refused before it is sent', () => {
  const { client, socket } = connect();
  socket.open();
  assert.throws(() => client.send(/** @type {any} */ ({ type: 'media_state', mic: 'yes', camera: true })));
  assert.deepEqual(socket.sent, []);
});

test('sendUnchecked passes anything as JSON, but only while open', () => {
  const { client, socket } = connect();
  assert.equal(client.sendUnchecked({ type: 'grant_floor' }), false);
  socket.open();
  assert.equal(client.sendUnchecked({ type: 'grant_floor' }), true);
  assert.deepEqual(socket.sent.map((s) => JSON.parse(s)), [{ type: 'grant_floor' }]);
});

test('the server closing the socket emits close once', () => {
  const { client, socket } = connect();
  /** @type {unknown[]} */
  const closes = [];
  client.on('close', (info) => closes.push(info));
  socket.open();
  socket.serverCloses();
  socket.serverCloses();
  assert.deepEqual(closes, [{ code: 1006, reason: '', byUs: false }]);
  assert.equal(client.isOpen, false);
  assert.equal(client.send({ type: 'leave' }), false);
});

test('close() closes the socket and emits close', () => {
  const { client, socket } = connect();
  /** @type {boolean[]} */
  const byUs = [];
  client.on('close', (info) => byUs.push(info.byUs));
  socket.open();
  client.close();
  assert.equal(socket.closedWith, 1000);
  assert.deepEqual(byUs, [true]);
});

test('pings periodically and gives up after two unanswered pings', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const { client, socket } = connect(1000);
  /** @type {number[]} */
  const closes = [];
  client.on('close', (info) => closes.push(info.code));
  socket.open();

  t.mock.timers.tick(1000);
  assert.deepEqual(JSON.parse(socket.sent[0]), { type: 'ping', id: 1 });
  socket.serverSends('{"type":"pong","id":1}');
  t.mock.timers.tick(1000);
  t.mock.timers.tick(1000);
  assert.equal(socket.sent.length, 3, 'pings 2 and 3 sent');
  assert.deepEqual(closes, [], 'one missed pong is tolerated');
  t.mock.timers.tick(1000);
  assert.deepEqual(closes, [DEAD_LINK_CLOSE_CODE]);
  assert.equal(socket.closedWith, DEAD_LINK_CLOSE_CODE);
});

test('a probe closes the socket when its pong does not come in time, and not when it does', (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
  const { client, socket } = connect(0);
  /** @type {number[]} */
  const closes = [];
  client.on('close', (info) => closes.push(info.code));
  socket.open();

  client.probe(2000);
  assert.equal(JSON.parse(socket.sent.at(-1) ?? '{}').type, 'ping');
  socket.serverSends('{"type":"pong","id":1}');
  t.mock.timers.tick(2000);
  assert.deepEqual(closes, [], 'answered: the link is fine');

  client.probe(2000);
  client.probe(2000); // one probe at a time
  assert.equal(socket.sent.filter((m) => JSON.parse(m).type === 'ping').length, 2);
  t.mock.timers.tick(1999);
  assert.deepEqual(closes, []);
  t.mock.timers.tick(1);
  assert.deepEqual(closes, [DEAD_LINK_CLOSE_CODE], 'unanswered: declared dead');
});
