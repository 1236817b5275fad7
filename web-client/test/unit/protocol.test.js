/**
 * The shared protocol fixtures (`signaling/fixtures/protocol/`), read by the Rust tests too:
 * every server fixture parses, every client fixture validates and equals what our builders
 * make, every invalid fixture is refused with the code the server answers.
 */

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';

import {
  CLIENT_TYPES, PROTOCOL_VERSION, ProtocolError, SERVER_TYPES, candidateMessage, classifyClientFrame,
  endMeetingMessage, joinMessage, leaveMessage, mediaStateMessage, offerMessage, parseServerMessage,
  pingMessage, validateClientMessage,
} from '../../js/protocol.js';

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

test('slots fixture keeps idle slots as null site ids', () => {
  const msg = parseServerMessage(readFileSync(new URL('server/slots.json', FIXTURES), 'utf8'));
  assert.equal(msg.type, 'slots');
  if (msg.type !== 'slots') return;
  assert.deepEqual(msg.slots.map((s) => s.site_id ?? null), ['s1', null, 's1', null]);
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
