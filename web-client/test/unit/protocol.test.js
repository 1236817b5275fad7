/**
 * The shared protocol fixtures (`signaling/fixtures/protocol/`), read by the Rust tests too:
 * every server fixture parses, every client fixture validates and equals what our builders
 * make, every invalid fixture is refused with the code the server answers.
 */

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';

import {
  CLIENT_TYPES, JOIN_ERROR_CODES, MAX_CHAT_CHARS, PROTOCOL_VERSION, ProtocolError, SERVER_TYPES,
  classifyClientFrame, parseServerMessage, validateClientMessage,
} from '../../js/protocol.js';
import {
  candidateMessage, chatMessage, cochairMessage, endMeetingMessage, grantFloorMessage, gridMessage,
  joinMessage, leaveMessage, listenMessage, lockMessage, lowerHandMessage, mediaStateMessage, muteMessage,
  offerMessage, openMeetingMessage, pingMessage, presentMessage, raiseHandMessage, readmitSiteMessage,
  removeSiteMessage, revokeFloorMessage, spotlightMessage, stopVideoMessage,
} from '../../js/messages.js';
import { clientInfoMessage, forceAudioOnlyMessage, noticeMessage, reconnectMessage } from '../../js/messages.js';
import { checkMessage, checkResultMessage, recordingMessage, reissueLinkMessage } from '../../js/messages.js';

const FIXTURES = new URL('../../../signaling/fixtures/protocol/', import.meta.url);

/** @param {string} dir */
function fixtures(dir) {
  const url = new URL(`${dir}/`, FIXTURES);
  return readdirSync(url).filter((f) => f !== 'expected.json').sort()
    .map((name) => ({ name, text: readFileSync(new URL(name, url), 'utf8') }));
}

test('protocol version is 1', () => {
  assert.equal(PROTOCOL_VERSION, 1);
});

test('every server fixture parses and keeps its type', () => {
  const all = fixtures('server');
  assert.equal(all.length, SERVER_TYPES.length, 'one fixture per server message type');
  for (const { name, text } of all) {
    const msg = parseServerMessage(text);
    assert.equal(msg.type, name.replace(/\.json$/, ''), name);
    assert.ok(SERVER_TYPES.includes(msg.type), name);
  }
});

test('joined fixture carries the roster, receive counts and ICE servers', () => {
  const msg = parseServerMessage(readFileSync(new URL('server/joined.json', FIXTURES), 'utf8'));
  assert.equal(msg.type, 'joined');
  if (msg.type !== 'joined') return;
  assert.equal(msg.you.role, 'chair');
  assert.deepEqual(msg.sites.map((s) => s.state), ['joined', 'waiting', 'left']);
  assert.deepEqual(msg.receive, { video: 2, audio: 2 });
  assert.deepEqual(msg.ice_servers[0].urls, ['turn:127.0.0.1:3478?transport=udp']);
});

/** @param {string} name */
const serverFixture = (name) => parseServerMessage(readFileSync(new URL(`server/${name}.json`, FIXTURES), 'utf8'));

test('slots fixture keeps idle slots as null site ids and says which track a slot carries', () => {
  const msg = serverFixture('slots');
  assert.equal(msg.type, 'slots');
  if (msg.type !== 'slots') return;
  assert.deepEqual(msg.slots.map((s) => s.site_id ?? null), ['chair', 's2', null, 'chair', null]);
  assert.deepEqual(msg.slots.map((s) => s.track ?? null), ['camera', 'screen', null, 'audio', null]);
});

test('site_state fixture carries what the chair did to the site', () => {
  const msg = serverFixture('site_state');
  if (msg.type !== 'site_state') throw new Error(msg.type);
  assert.deepEqual([msg.muted, msg.video_stopped, msg.cochair], [true, false, false]);
});

test('meeting_state, floor, chat and grid fixtures read as the protocol says', () => {
  const state = serverFixture('meeting_state');
  assert.deepEqual(state, { type: 'meeting_state', phase: 'lobby', locked: false, floor_limit: 2 });
  const floor = serverFixture('floor');
  if (floor.type !== 'floor') throw new Error(floor.type);
  assert.deepEqual(floor.holders, ['s2']);
  assert.deepEqual(floor.hands.map((h) => h.site_id), ['s5', 's1']);
  assert.equal(floor.spotlight, null);
  assert.equal(floor.presenter, 'chair');
  const chat = serverFixture('chat');
  if (chat.type !== 'chat') throw new Error(chat.type);
  assert.equal(chat.from.role, 'chair');
  assert.equal(chat.to, 'all');
  const grid = serverFixture('grid');
  assert.deepEqual(grid, { type: 'grid', page: 0, pages: 7, page_size: 16, sites: ['s2', 's5', 's1', 's3'] });
});

test('new server messages with mistyped fields are refused with the field named', () => {
  assert.throws(() => parseServerMessage('{"type":"meeting_state","phase":"closed","locked":false,"floor_limit":2}'), /meeting_state\.phase/);
  assert.throws(() => parseServerMessage('{"type":"floor","holders":["s1"],"hands":[{"site_id":"s2"}]}'), /floor\.hands\[0\]\.since_ms/);
  assert.throws(() => parseServerMessage('{"type":"floor","holders":[1],"hands":[]}'), /floor\.holders/);
  assert.throws(() => parseServerMessage('{"type":"chat","from":{"id":"a","name":"b","role":"chair"},"to":"all","text":5,"at_ms":1}'), /chat\.text/);
  assert.throws(() => parseServerMessage('{"type":"grid","page":-1,"pages":1,"page_size":9,"sites":[]}'), /grid\.page/);
  assert.throws(() => parseServerMessage('{"type":"slots","slots":[{"mid":"3","kind":"video","track":"window"}]}'), /track/);
  assert.throws(() => parseServerMessage('{"type":"site_state","site":{"id":"s1","name":"x","role":"site","state":"joined"},"muted":"yes"}'), /site_state\.muted/);
});

test('an older server without the new fields still parses', () => {
  const slots = parseServerMessage('{"type":"slots","slots":[{"mid":"3","kind":"video","site_id":"s1"}]}');
  assert.equal(slots.type, 'slots');
  const state = parseServerMessage('{"type":"site_state","site":{"id":"s1","name":"x","role":"site","state":"joined"}}');
  assert.equal(state.type, 'site_state');
  const floor = parseServerMessage('{"type":"floor","holders":[],"hands":[]}');
  assert.equal(floor.type, 'floor');
});

test('every client fixture validates and equals what the builders make', () => {
  /** @type {Record<string, (m: any) => unknown>} */
  const build = {
    join: (m) => joinMessage(m.token),
    offer: (m) => offerMessage(m.sdp),
    candidate: (m) => candidateMessage(m.candidate, m.sdp_mid),
    media_state: (m) => mediaStateMessage(m.mic, m.camera),
    ping: (m) => pingMessage(m.id),
    end_meeting: () => endMeetingMessage(),
    leave: () => leaveMessage(),
    raise_hand: () => raiseHandMessage(),
    lower_hand: (m) => lowerHandMessage(m.site_id),
    grant_floor: (m) => grantFloorMessage(m.site_id),
    revoke_floor: (m) => revokeFloorMessage(m.site_id),
    mute: (m) => muteMessage(m.site_id, m.muted),
    stop_video: (m) => stopVideoMessage(m.site_id, m.stopped),
    spotlight: (m) => spotlightMessage(m.site_id),
    listen: (m) => listenMessage(m.site_id, m.on),
    remove_site: (m) => removeSiteMessage(m.site_id),
    readmit_site: (m) => readmitSiteMessage(m.site_id),
    lock: (m) => lockMessage(m.locked),
    open_meeting: () => openMeetingMessage(),
    cochair: (m) => cochairMessage(m.site_id, m.on),
    present: (m) => presentMessage(m.on),
    chat: (m) => chatMessage(m.to, m.text),
    grid: (m) => gridMessage(m.page, m.page_size),
    notice: (m) => noticeMessage(m.site_id, m.text),
    reconnect: (m) => reconnectMessage(m.site_id),
    force_audio_only: (m) => forceAudioOnlyMessage(m.site_id, m.on),
    client_info: (m) => clientInfoMessage(m.browser, m.candidate, m.transport),
    check: (m) => checkMessage(m.on),
    check_result: (m) => checkResultMessage(m),
    reissue_link: (m) => reissueLinkMessage(m.site_id),
    recording: (m) => recordingMessage(m.on),
  };
  const all = fixtures('client');
  assert.equal(all.length, CLIENT_TYPES.length, 'one fixture per client message type');
  for (const { name, text } of all) {
    const value = JSON.parse(text);
    const msg = validateClientMessage(value);
    assert.equal(name, `${msg.type}.json`);
    assert.deepEqual(build[msg.type](value), value, name);
    assert.equal(classifyClientFrame(text), null, name);
  }
});

test('every invalid fixture is refused with the code the server answers', () => {
  const expected = JSON.parse(readFileSync(new URL('invalid/expected.json', FIXTURES), 'utf8'));
  const all = fixtures('invalid');
  assert.deepEqual(all.map((f) => f.name).sort(), Object.keys(expected).sort());
  for (const { name, text } of all) {
    assert.equal(classifyClientFrame(text), expected[name], name);
  }
});

test('a frame over 256 KiB is too_large', () => {
  const frame = JSON.stringify(offerMessage('x'.repeat(256 * 1024)));
  assert.equal(classifyClientFrame(frame), 'too_large');
});

test('server messages with unknown types or mistyped fields are refused clearly', () => {
  assert.throws(() => parseServerMessage('{"type":"teleport"}'), /unknown server message type "teleport"/);
  assert.throws(() => parseServerMessage('not json'), (e) => e instanceof ProtocolError && e.code === 'bad_json');
  assert.throws(() => parseServerMessage('[]'), /not a JSON object/);
  assert.throws(() => parseServerMessage('{"type":"answer"}'), /answer\.sdp must be a string/);
  assert.throws(() => parseServerMessage('{"type":"pong","id":"7"}'), /pong\.id must be a number/);
  assert.throws(
    () => parseServerMessage('{"type":"site_state","site":{"id":"s1","name":"x","role":"site","state":"gone"}}'),
    /site_state\.site\.state/,
  );
  assert.throws(
    () => parseServerMessage('{"type":"slots","slots":[{"mid":2,"kind":"video"}]}'),
    /slots\.slots\[0\]\.mid must be a string/,
  );
  // `toString` is on every object's prototype; it must not pass as a message type.
  assert.throws(() => parseServerMessage('{"type":"toString"}'), /unknown server message type/);
});

test('unknown fields are ignored, as the protocol promises', () => {
  const msg = parseServerMessage('{"type":"pong","id":3,"future_field":true}');
  assert.equal(msg.type, 'pong');
});

test('end-of-candidates leaves sdp_mid out', () => {
  assert.deepEqual(candidateMessage('', null), { type: 'candidate', candidate: '' });
  assert.equal(classifyClientFrame(JSON.stringify(candidateMessage('', null))), null);
});

test('every builder makes a message the client rules accept', () => {
  const built = [
    raiseHandMessage(), lowerHandMessage(), lowerHandMessage('s2'), grantFloorMessage('s2'), revokeFloorMessage('s2'),
    muteMessage('s3', false), stopVideoMessage('s3', false), spotlightMessage(null), spotlightMessage('s4'),
    listenMessage('s5', true), removeSiteMessage('s6'), readmitSiteMessage('s6'), lockMessage(false),
    openMeetingMessage(), cochairMessage('s1', false), presentMessage(false), chatMessage('all', 'Xin chào'),
    gridMessage(3), gridMessage(0, 25),
  ];
  for (const msg of built) assert.equal(classifyClientFrame(JSON.stringify(msg)), null, JSON.stringify(msg));
  assert.deepEqual(lowerHandMessage(), { type: 'lower_hand' });
  assert.deepEqual(gridMessage(3), { type: 'grid', page: 3 });
});

test('chat text is counted in characters, not bytes, and blank text is refused', () => {
  const viet = 'ệ'.repeat(MAX_CHAT_CHARS);
  assert.equal(classifyClientFrame(JSON.stringify(chatMessage('chair', viet))), null, '1000 Vietnamese letters are fine');
  assert.equal(classifyClientFrame(JSON.stringify(chatMessage('chair', `${viet}a`))), 'too_large');
  assert.equal(classifyClientFrame(JSON.stringify(chatMessage('chair', '\n\t '))), 'bad_message');
});

test('site-naming actions need a site id and their flag', () => {
  assert.equal(classifyClientFrame('{"type":"mute","site_id":"s1"}'), 'bad_message');
  assert.equal(classifyClientFrame('{"type":"listen","site_id":"s1","on":"no"}'), 'bad_message');
  assert.equal(classifyClientFrame('{"type":"revoke_floor"}'), 'bad_message');
  assert.equal(classifyClientFrame('{"type":"grid","page":1,"page_size":70000}'), 'bad_message');
  assert.equal(classifyClientFrame('{"type":"present"}'), 'bad_message');
});

test('a join refused because the meeting is locked is a join error, not a retry', () => {
  assert.ok(JOIN_ERROR_CODES.includes('locked'));
  assert.ok(JOIN_ERROR_CODES.includes('site_removed'));
});

test('line check messages: an ack, a result with its site and time, and bad figures refused', () => {
  assert.deepEqual(serverFixture('check'), { type: 'check', on: false });
  const report = serverFixture('check_result');
  if (report.type !== 'check_result') throw new Error(report.type);
  assert.deepEqual([report.site_id, report.verdict, report.rtt_ms], ['s7', 'no_connection', null]);
  assert.throws(() => parseServerMessage('{"type":"check_result","site_id":"s1","at_ms":1,"verdict":"video","camera":true,"mic":true,"rtt_ms":-3,"loss_pct":0,"send_kbps":1,"recv_kbps":1}'), /check_result\.rtt_ms/);
  assert.throws(() => parseServerMessage('{"type":"check","on":"yes"}'), /check\.on/);
  const ok = { verdict: 'video', camera: true, mic: false, rtt_ms: 12, loss_pct: 0, send_kbps: 900, recv_kbps: 800 };
  assert.equal(classifyClientFrame(JSON.stringify(checkResultMessage(/** @type {any} */ (ok)))), null);
  assert.equal(classifyClientFrame(JSON.stringify({ ...ok, type: 'check_result', loss_pct: '0' })), 'bad_message');
  assert.equal(classifyClientFrame(JSON.stringify(checkMessage(true))), null);
});

test('a request id is a safe whole number, on what we send and in the error that echoes it', () => {
  assert.equal(classifyClientFrame('{"type":"raise_hand","id":17}'), null);
  assert.equal(classifyClientFrame(`{"type":"raise_hand","id":${Number.MAX_SAFE_INTEGER}}`), null);
  for (const id of ['"17"', '-1', '1.5', '9007199254740992', 'null']) {
    assert.equal(classifyClientFrame(`{"type":"raise_hand","id":${id}}`), 'bad_message', id);
  }
  assert.throws(() => validateClientMessage({ type: 'leave', id: 'a' }), /leave\.id must be a whole number/);
  const e = parseServerMessage('{"type":"error","code":"forbidden","message":"no","id":17}');
  assert.equal(e.type === 'error' && e.id, 17);
  assert.throws(() => parseServerMessage('{"type":"error","code":"forbidden","message":"no","id":"17"}'), /error\.id/);
  const a = parseServerMessage('{"type":"answer","sdp":"v=0","id":3}');
  assert.equal(a.type === 'answer' && a.id, 3);
});
