/** Roster updates and what the slots show. */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { applySiteState, attendance, chairId, screenSlot, stateCounts, videoMidFor } from '../../js/roster.js';

/** @type {import('../../js/roster.js').RosterEntry[]} */
const ROSTER = [
  { id: 'chair', name: 'Hội trường UBND tỉnh', role: 'chair', state: 'joined' },
  { id: 's1', name: 'UBND xã Tả Van', role: 'site', state: 'waiting' },
  { id: 's2', name: 'UBND xã Bản Hồ', role: 'site', state: 'left' },
];

test('site_state replaces the entry in place and keeps device state it does not mention', () => {
  const a = applySiteState(ROSTER, { type: 'site_state', site: { ...ROSTER[1], state: 'joined' }, mic: true, camera: false });
  assert.deepEqual(a.map((s) => s.id), ['chair', 's1', 's2']);
  assert.deepEqual(a[1], { ...ROSTER[1], state: 'joined', mic: true, camera: false, muted: false, video_stopped: false, cochair: false });
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

test('a site’s camera slot is found, not its shared screen', () => {
  /** @type {import('../../js/protocol.js').Slot[]} */
  const slots = [
    { mid: '4', kind: 'video', site_id: 's1', name: 'UBND xã Tả Van', layer: 'high', track: 'screen' },
    { mid: '5', kind: 'video', site_id: 's1', name: 'UBND xã Tả Van', layer: 'low', track: 'camera' },
    { mid: '6', kind: 'video', site_id: 's2', name: 'UBND xã Bản Hồ', layer: 'low' },
    { mid: '7', kind: 'audio', site_id: 's3', name: 'UBND xã Sa Pả', layer: null, track: 'audio' },
  ];
  assert.equal(videoMidFor(slots, 's1'), '5');
  assert.equal(videoMidFor(slots, 's2'), '6', 'no track field reads as a camera');
  assert.equal(videoMidFor(slots, 's3'), null, 'audio is not video');
  assert.equal(screenSlot(slots)?.mid, '4');
  assert.equal(screenSlot(slots.slice(1)), null);
});

test('the chair’s marks follow every site_state and default to false', () => {
  const muted = applySiteState(ROSTER, { type: 'site_state', site: ROSTER[1], muted: true, video_stopped: true, cochair: true });
  assert.deepEqual([muted[1].muted, muted[1].video_stopped, muted[1].cochair], [true, true, true]);
  const old = applySiteState(muted, { type: 'site_state', site: ROSTER[1] });
  assert.deepEqual([old[1].muted, old[1].video_stopped, old[1].cochair], [false, false, false]);
});

test('reduced by design follows the reception it comes with, and is kept when a message has none', () => {
  const site = { ...ROSTER[1], state: /** @type {const} */ ('joined') };
  const held = applySiteState(ROSTER, { type: 'site_state', site, reception: 'full', reduced_by_design: true });
  assert.equal(held[1].reduced_by_design, true);
  const mic = applySiteState(held, { type: 'site_state', site, mic: true });
  assert.equal(mic[1].reduced_by_design, true, 'a message without reception keeps it');
  const line = applySiteState(mic, { type: 'site_state', site, reception: 'reduced', reduced_by_design: false });
  assert.equal(line[1].reduced_by_design, undefined);
  assert.equal(line[1].reception, 'reduced');
  const old = applySiteState(held, { type: 'site_state', site, reception: 'reduced' });
  assert.equal(old[1].reduced_by_design, undefined, 'an older server never sends it');
});

test('state counts cover sites only', () => {
  assert.deepEqual(stateCounts(ROSTER), { joined: 0, waiting: 1, left: 1 });
});
