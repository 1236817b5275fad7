/**
 * The session's life over a fake socket (no browser media here: WebRTC itself is covered by
 * end-to-end tests): join on open, token errors, roster updates, reconnecting, ending.
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { RECONNECT_MAX_MS, reconnectDelay, Session } from '../../js/session.js';

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
  const session = new Session({ token, wsUrl: 'ws://test/ws', SocketImpl: FakeSocket, reconnectDelayMs: 3000, random: () => 0.5 });
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

test('a revoked link ends a joined session for good, without a retry', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { session, socket } = newSession();
  socket.open();
  socket.receive(JOINED);
  socket.receive({ type: 'error', code: 'link_revoked', message: 'this invitation link was revoked' });
  assert.equal(session.screen, 'failed');
  assert.equal(session.failure, 'link_revoked');
  socket.close();
  t.mock.timers.tick(60_000);
  assert.equal(FakeSocket.all.length, 1, 'the revoked link is not tried again');
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

test('reconnect attempts back off, doubling to a ceiling, and start over after a join', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  const { session, socket } = newSession();
  socket.open();
  socket.receive(JOINED);
  socket.drop();
  /** Ticks until the next socket appears; returns how long that took. */
  const nextAttempt = () => {
    const before = FakeSocket.all.length;
    let waited = 0;
    while (FakeSocket.all.length === before && waited < 60_000) {
      t.mock.timers.tick(100);
      waited += 100;
    }
    return waited;
  };
  const waits = [];
  for (let i = 0; i < 5; i++) {
    waits.push(nextAttempt());
    /** @type {FakeSocket} */ (FakeSocket.all.at(-1)).drop(); // the server is still away
  }
  assert.deepEqual(waits, [3000, 6000, 12_000, RECONNECT_MAX_MS, RECONNECT_MAX_MS]);
  assert.equal(session.reconnecting, true);
  // Back: the next loss starts again from the first delay.
  t.mock.timers.tick(RECONNECT_MAX_MS);
  const last = /** @type {FakeSocket} */ (FakeSocket.all.at(-1));
  last.open();
  last.receive(JOINED);
  assert.equal(session.reconnecting, false);
  last.drop();
  assert.equal(nextAttempt(), 3000);
});

test('the reconnect delay spreads sites over ±25% and never passes the ceiling', () => {
  assert.equal(reconnectDelay(0, 1000, () => 0), 750);
  assert.equal(reconnectDelay(0, 1000, () => 0.999999), 1250);
  assert.equal(reconnectDelay(3, 1000, () => 0.5), 8000);
  assert.equal(reconnectDelay(40, 1000, () => 0.999999), Math.round(RECONNECT_MAX_MS * 1.25));
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

/** @param {string} role */
const tokenFor = (role) => `e30.${Buffer.from(JSON.stringify({ role })).toString('base64url')}.c2ln`;

const SITE_JOINED = {
  type: 'joined', v: 1,
  meeting: { id: 'm-2f1c', title: 'Giao ban' },
  you: { id: 's1', name: 'UBND xã Tả Van', role: 'site' },
  sites: [
    { id: 'chair', name: 'Hội trường UBND tỉnh', role: 'chair', state: 'joined' },
    { id: 's1', name: 'UBND xã Tả Van', role: 'site', state: 'joined' },
  ],
  receive: { video: 3, audio: 2 },
  ice_servers: [],
};

/** A site's session, joined. */
function siteSession() {
  const { session, socket } = newSession(tokenFor('site'));
  socket.open();
  socket.receive(SITE_JOINED);
  socket.sent.length = 0;
  return { session, socket };
}

/** A chair's session, joined, with a roster from the shared fixture. */
function chairSession() {
  const { session, socket } = newSession(tokenFor('chair'));
  socket.open();
  socket.receive(JOINED);
  socket.sent.length = 0;
  return { session, socket };
}

test('meeting_state, floor, grid and chat are kept for the views and hooks', () => {
  const { session, socket } = chairSession();
  for (const name of ['meeting_state', 'floor', 'grid', 'chat']) socket.receive(readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8'));
  const ms = session.meetingState;
  assert.equal(ms.phase, 'lobby');
  assert.equal(ms.locked, false);
  assert.equal(ms.floorLimit, 2);
  assert.deepEqual(ms.floor?.holders, ['s2']);
  assert.deepEqual(ms.grid?.sites, ['s2', 's5', 's1', 's3']);
  assert.equal(ms.chat.length, 1);
  assert.equal(ms.chat[0].text, 'Đề nghị các điểm cầu tắt micrô khi không phát biểu.');
  assert.equal(session.canModerate, true);
});

test('a site sees its own floor, hand and the chair’s marks', () => {
  const { session, socket } = siteSession();
  assert.equal(session.holdsFloor, false);
  session.toggleHand();
  assert.deepEqual(socket.sent.at(-1), { type: 'raise_hand' });
  socket.receive({ type: 'floor', holders: [], hands: [{ site_id: 's5', since_ms: 1 }, { site_id: 's1', since_ms: 2 }], spotlight: null, presenter: null });
  assert.equal(session.handPosition, 2);
  session.toggleHand();
  assert.deepEqual(socket.sent.at(-1), { type: 'lower_hand' }, 'own hand: no site id');
  socket.receive({ type: 'floor', holders: ['s1'], hands: [], spotlight: null, presenter: null });
  assert.equal(session.holdsFloor, true);
  assert.equal(session.mayPresent || !session.screenShare.supported, true);
  const me = SITE_JOINED.sites[1];
  socket.receive({ type: 'site_state', site: me, muted: true, video_stopped: false, cochair: false });
  assert.equal(session.own?.muted, true);
  socket.receive({ type: 'site_state', site: me, muted: false, video_stopped: false, cochair: true });
  assert.equal(session.meetingState.notice, 'maySpeak', 'told it may speak again');
  assert.equal(session.micOn, false, 'the chair never switches the microphone on');
  assert.equal(session.isCochair, true);
  assert.equal(session.canModerate, true);
});

test('a chat message goes out and shows at once; an empty one is not sent', () => {
  const { session, socket } = siteSession();
  assert.equal(session.sendChat('chair', 'Xã Tả Van mất tiếng'), true);
  assert.deepEqual(socket.sent.at(-1), { type: 'chat', to: 'chair', text: 'Xã Tả Van mất tiếng' });
  assert.equal(session.meetingState.chatLog.at(-1)?.pending, true);
  assert.equal(session.sendChat('chair', '   '), false);
  assert.equal(session.sendChat('chair', 'x'.repeat(1001)), false);
  assert.equal(socket.sent.length, 1);
});

test('removing a site is remembered, and undone when the server refuses it', () => {
  const { session, socket } = chairSession();
  const id = session.chairing.act({ type: 'remove_site', site_id: 's1' });
  assert.deepEqual(socket.sent.at(-1), { type: 'remove_site', site_id: 's1', id });
  assert.ok(session.meetingState.removed.has('s1'));
  socket.receive({ type: 'error', code: 'unknown_site', message: 'no such site', id });
  assert.ok(!session.meetingState.removed.has('s1'));
  assert.equal(session.lastError?.code, 'unknown_site');
});

test('an error is attributed to the request whose id it carries, not to a later one, however late', (t) => {
  // Only the clock: the socket's own timers (pings) stay real and do not fire in this test.
  t.mock.timers.enable({ apis: ['Date'] });
  const { session, socket } = chairSession();
  const first = session.chairing.act({ type: 'remove_site', site_id: 's1' });
  const second = session.chairing.act({ type: 'remove_site', site_id: 's2' });
  assert.equal(typeof first, 'number');
  assert.notEqual(first, second, 'each request has its own id');
  assert.deepEqual(socket.sent.at(-1), { type: 'remove_site', site_id: 's2', id: second });
  // An error without an id (a dropped frame, a chat refused) undoes no action.
  socket.receive({ type: 'error', code: 'rate_limited', message: 'slow down' });
  assert.ok(session.meetingState.removed.has('s1') && session.meetingState.removed.has('s2'));
  // The first action's refusal, after the second was sent and long after a time window
  // would have closed: only the first is undone.
  t.mock.timers.tick(30_000);
  socket.receive({ type: 'error', code: 'conflict', message: 'that site has been removed', id: first });
  assert.ok(!session.meetingState.removed.has('s1'), 'the refused action is undone');
  assert.ok(session.meetingState.removed.has('s2'), 'the later action stands');
  // Its id is used up: the same id again undoes nothing more.
  socket.receive({ type: 'error', code: 'conflict', message: 'again', id: first });
  assert.ok(session.meetingState.removed.has('s2'));
  socket.receive({ type: 'error', code: 'unknown_site', message: 'no such site', id: second });
  assert.ok(!session.meetingState.removed.has('s2'));
});

test('a reissued link is kept for the chair’s dialog, with the site’s name, until dismissed', () => {
  const { session, socket } = chairSession();
  /** Read afresh each time (an assertion on the field would narrow its type). */
  const issued = () => session.issuedLink;
  assert.equal(issued(), null);
  socket.receive({ type: 'link', site_id: 's2', link: 'https://hop.example.vn/join#t=new' });
  assert.deepEqual(issued(), { siteId: 's2', name: 'UBND xã Bản Hồ', link: 'https://hop.example.vn/join#t=new', seq: 1 });
  socket.receive({ type: 'link', site_id: 's1', link: 'https://hop.example.vn/join#t=other' });
  assert.equal(issued()?.seq, 2, 'a second answer is a new dialog');
  assert.equal(issued()?.name, 'UBND xã Tả Van');
  session.dismissLink();
  assert.equal(issued(), null);
});

test('grid rotation asks for the next page on its timer and wraps around', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  const { session, socket } = chairSession();
  socket.receive({ type: 'grid', page: 1, pages: 3, page_size: 9, sites: ['s1'] });
  session.chairing.setRotation(true, 10);
  t.mock.timers.tick(9_999);
  assert.equal(socket.sent.filter((m) => m.type === 'grid').length, 0);
  t.mock.timers.tick(1);
  assert.deepEqual(socket.sent.at(-1), { type: 'grid', page: 2, page_size: 9 });
  socket.receive({ type: 'grid', page: 2, pages: 3, page_size: 9, sites: ['s2'] });
  t.mock.timers.tick(10_000);
  assert.deepEqual(socket.sent.at(-1), { type: 'grid', page: 0, page_size: 9 });
  session.chairing.setRotation(false);
  t.mock.timers.tick(60_000);
  assert.equal(socket.sent.filter((m) => m.type === 'grid').length, 2);
});

test('removed by the chair: its own end screen, and nothing reconnects', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  const { session, socket } = siteSession();
  socket.receive({ type: 'ended', reason: 'removed_by_chair' });
  socket.drop();
  assert.equal(session.screen, 'ended');
  assert.equal(session.endReason, 'removed_by_chair');
  t.mock.timers.tick(60_000);
  assert.equal(FakeSocket.all.length, 1);
});

test('a locked meeting refuses the join once, and only a click tries again', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  const { session, socket } = newSession(tokenFor('site'));
  socket.open();
  socket.receive({ type: 'error', code: 'locked', message: 'meeting is locked' });
  assert.equal(session.screen, 'failed');
  assert.equal(session.failure, 'locked');
  t.mock.timers.tick(60_000);
  assert.equal(FakeSocket.all.length, 1, 'no retry loop');
  session.rejoin();
  assert.equal(FakeSocket.all.length, 2);
  FakeSocket.all[1].open();
  assert.deepEqual(FakeSocket.all[1].sent, [{ type: 'join', v: 1, token: tokenFor('site') }]);
});

test('the raw send hook passes anything through, unchecked', () => {
  const { session, socket } = chairSession();
  assert.equal(session.sendRaw({ type: 'grant_floor' }), true);
  assert.deepEqual(socket.sent.at(-1), { type: 'grant_floor' });
});
