/** Roster updates and what the slots show. */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { applySiteState, attendance, chairId, programSlot, videoMidFor } from '../../js/roster.js';

/** @type {import('../../js/roster.js').RosterEntry[]} */
const ROSTER = [
  { id: 'chair', name: 'Hội trường UBND tỉnh', role: 'chair', state: 'joined' },
  { id: 's1', name: 'UBND xã Tả Van', role: 'site', state: 'waiting' },
  { id: 's2', name: 'UBND xã Bản Hồ', role: 'site', state: 'left' },
];

test('site_state replaces the entry in place and keeps device state it does not mention', () => {
  const a = applySiteState(ROSTER, { type: 'site_state', site: { ...ROSTER[1], state: 'joined' }, mic: true, camera: false });
  assert.deepEqual(a.map((s) => s.id), ['chair', 's1', 's2']);
  assert.deepEqual(a[1], { ...ROSTER[1], state: 'joined', mic: true, camera: false });
  const b = applySiteState(a, { type: 'site_state', site: { ...ROSTER[1], state: 'joined' }, camera: true });
  assert.equal(b[1].mic, true);
  assert.equal(b[1].camera, true);
  assert.equal(ROSTER[1].state, 'waiting', 'the old roster is not changed');
});

test('site_state for an unknown site appends it', () => {
  const a = applySiteState(ROSTER, { type: 'site_state', site: { id: 's3', name: 'UBND xã Mới', role: 'site', state: 'joined' } });
  assert.deepEqual(a.map((s) => s.id), ['chair', 's1', 's2', 's3']);
});

test('attendance counts sites only', () => {
  assert.deepEqual(attendance(ROSTER), { joined: 0, total: 2 });
  assert.equal(chairId(ROSTER), 'chair');
});

test('the program is the chair, else the first busy video slot', () => {
  /** @type {import('../../js/protocol.js').Slot[]} */
  const slots = [
    { mid: '2', kind: 'video', site_id: 's1', name: 'UBND xã Tả Van', layer: 'low' },
    { mid: '3', kind: 'video', site_id: 'chair', name: 'Hội trường UBND tỉnh', layer: 'high' },
    { mid: '4', kind: 'audio', site_id: 'chair', name: 'Hội trường UBND tỉnh', layer: null },
  ];
  assert.equal(programSlot(slots, 'chair')?.mid, '3');
  assert.equal(programSlot(slots.slice(0, 1), 'chair')?.mid, '2');
  assert.equal(programSlot([{ mid: '2', kind: 'video', site_id: null }], 'chair'), null);
  assert.equal(videoMidFor(slots, 's1'), '2');
  assert.equal(videoMidFor(slots, 's2'), null);
});
