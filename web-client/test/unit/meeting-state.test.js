/** What the page keeps about the meeting: phase, floor with a skew-free clock, own notices, local bookkeeping. */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { MeetingState } from '../../js/meeting-state.js';
import { parseServerMessage } from '../../js/protocol.js';

const FIXTURES = new URL('../../../signaling/fixtures/protocol/server/', import.meta.url);
/** @param {string} name */
const fixture = (name) => parseServerMessage(readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8'));

const SITE = { id: 's1', name: 'UBND xã Tả Van', role: /** @type {const} */ ('site'), state: /** @type {const} */ ('joined') };

test('meeting_state sets phase, lock and floor limit', () => {
  const m = new MeetingState();
  assert.equal(m.phase, null);
  const msg = fixture('meeting_state');
  if (msg.type !== 'meeting_state') throw new Error(msg.type);
  m.applyMeetingState(msg);
  assert.deepEqual([m.phase, m.locked, m.floorLimit], ['lobby', false, 2]);
});

test('a hand that goes up calibrates the clock; the first floor does not', () => {
  const m = new MeetingState();
  const first = fixture('floor');
  if (first.type !== 'floor') throw new Error(first.type);
  m.applyFloor(first, 9_000_000_000_000);
  assert.equal(m.clock.offsetMs, 0, 'old hands say nothing about the server clock now');
  m.applyFloor({ ...first, hands: [...first.hands, { site_id: 's9', since_ms: 1_795_404_800_000 }] }, 1_795_404_800_000 + 120_050);
  assert.equal(m.clock.offsetMs, 120_050);
});

test('after a reconnect, hands raised while away do not calibrate the clock', () => {
  const m = new MeetingState();
  const first = fixture('floor');
  if (first.type !== 'floor') throw new Error(first.type);
  m.applyFloor(first, 1_000);
  m.rejoined();
  m.applyFloor({ ...first, hands: [...first.hands, { site_id: 's9', since_ms: 500 }] }, 90_000);
  assert.equal(m.clock.offsetMs, 0, 'that hand went up during the outage, not now');
});

test('the chair lifting its mute tells the site it may speak; muting again takes that back', () => {
  const m = new MeetingState();
  m.applySiteState({ type: 'site_state', site: SITE, muted: true }, 's1');
  assert.equal(m.notice, null);
  m.applySiteState({ type: 'site_state', site: SITE, muted: false }, 's1');
  assert.equal(m.notice, 'maySpeak');
  m.applySiteState({ type: 'site_state', site: SITE, muted: true }, 's1');
  assert.equal(m.notice, null);
  m.applySiteState({ type: 'site_state', site: SITE, video_stopped: true }, 's1');
  m.applySiteState({ type: 'site_state', site: SITE, video_stopped: false }, 's1');
  assert.equal(m.notice, 'videoAllowed');
  m.dismissNotice();
  assert.equal(m.notice, null);
});

test('another site being unmuted raises no notice here', () => {
  const m = new MeetingState();
  m.applySiteState({ type: 'site_state', site: { ...SITE, id: 's2' }, muted: true }, 's1');
  m.applySiteState({ type: 'site_state', site: { ...SITE, id: 's2' }, muted: false }, 's1');
  assert.equal(m.notice, null);
});

test('removal and listening are remembered, undone on refusal, and a site back is not removed', () => {
  const m = new MeetingState();
  const undo = m.noteSent({ type: 'remove_site', site_id: 's6' });
  assert.ok(m.removed.has('s6'));
  undo?.();
  assert.ok(!m.removed.has('s6'));
  m.noteSent({ type: 'remove_site', site_id: 's6' });
  m.applySiteState({ type: 'site_state', site: { ...SITE, id: 's6', state: 'left' } }, 'chair');
  assert.ok(m.removed.has('s6'), 'leaving is what removal looks like');
  m.applySiteState({ type: 'site_state', site: { ...SITE, id: 's6', state: 'joined' } }, 'chair');
  assert.ok(!m.removed.has('s6'), 'readmitted elsewhere and back');
  m.noteSent({ type: 'listen', site_id: 's5', on: false });
  assert.ok(m.notListening.has('s5'));
  m.noteSent({ type: 'listen', site_id: 's5', on: true });
  assert.ok(!m.notListening.has('s5'));
  assert.equal(m.noteSent({ type: 'raise_hand' }), null);
});

test('chat keeps what arrived and shows it on the local clock', () => {
  const m = new MeetingState();
  const msg = fixture('chat');
  if (msg.type !== 'chat') throw new Error(msg.type);
  m.applyChat(msg, msg.at_ms + 40, 's1');
  assert.equal(m.chat.length, 1);
  assert.equal(m.chatLog[0].atMs, msg.at_ms + 40);
  assert.equal(m.chatLog[0].own, false);
});

test('the server\'s removed and heard marks replace what the page remembered', () => {
  const m = new MeetingState();
  const other = { ...SITE, id: 's4', state: /** @type {const} */ ('left') };
  m.applySiteState({ type: 'site_state', site: other, removed: true, heard: false }, 'chair');
  assert.ok(m.removed.has('s4'));
  assert.ok(m.notListening.has('s4'));
  m.applySiteState({ type: 'site_state', site: other, removed: false, heard: true }, 'chair');
  assert.ok(!m.removed.has('s4'));
  assert.ok(!m.notListening.has('s4'));
});

test('recording: on from the server, off with its reason, and forgotten on a new socket until told again', () => {
  const m = new MeetingState();
  assert.equal(m.recording, false);
  const on = fixture('recording');
  if (on.type !== 'recording') throw new Error(on.type);
  m.applyRecording(on);
  assert.equal(m.recording, true);
  m.applyRecording({ type: 'recording', on: true, since_ms: on.since_ms, warning: 'quota' });
  assert.equal(m.recordingQuota, true);
  m.applyRecording({ type: 'recording', on: false, reason: 'quota_reached' });
  assert.deepEqual([m.recording, m.recordingStopped, m.recordingQuota], [false, 'quota_reached', false]);
  m.applyRecording(on);
  // A socket that drops misses a stop: the server says `recording` after `joined` only while it runs.
  m.rejoined();
  assert.equal(m.recording, false);
});
