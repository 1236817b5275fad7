/** The chat log (received and sent, the server's copy replacing ours) and whom one may write to. */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CHAT_KEEP, addReceived, addSent, recipients } from '../../js/chat.js';

const CHAIR = { id: 'chair', name: 'Hội trường UBND tỉnh', role: /** @type {const} */ ('chair') };
const S1 = { id: 's1', name: 'UBND xã Tả Van', role: /** @type {const} */ ('site') };

/** @type {import('../../js/roster.js').RosterEntry[]} */
const ROSTER = [
  { ...CHAIR, state: 'joined' },
  { ...S1, state: 'joined' },
  { id: 's2', name: 'UBND xã Bản Hồ', role: 'site', state: 'waiting' },
  { id: 'op', name: 'Kỹ thuật viên', role: 'operator', state: 'joined' },
];

test('a site writes to the chair only', () => {
  assert.deepEqual(recipients('site', false, ROSTER, 's1'), [{ to: 'chair', name: null }]);
});

test('the chair, an operator and a co-chair write to all or to one site', () => {
  assert.deepEqual(recipients('chair', false, ROSTER, 'chair').map((r) => r.to), ['all', 's1', 's2']);
  assert.deepEqual(recipients('operator', false, ROSTER, 'op').map((r) => r.to), ['all', 'chair', 's1', 's2']);
  assert.deepEqual(recipients('site', true, ROSTER, 's1').map((r) => r.to), ['all', 'chair', 's2']);
});

test('our own message shows at once and the server copy replaces it', () => {
  let log = addSent([], S1, 'chair', 'Xin kiểm tra tiếng', 1000);
  assert.deepEqual(log.map((e) => [e.own, e.pending]), [[true, true]]);
  log = addReceived(log, { type: 'chat', from: CHAIR, to: 'all', text: 'Chào các điểm cầu', at_ms: 5 }, 1100, 's1');
  log = addReceived(log, { type: 'chat', from: S1, to: 'chair', text: 'Xin kiểm tra tiếng', at_ms: 6 }, 1200, 's1');
  assert.deepEqual(log.map((e) => [e.text, e.own, e.pending, e.atMs]), [
    ['Xin kiểm tra tiếng', true, false, 1000],
    ['Chào các điểm cầu', false, false, 1100],
  ]);
});

test('the log keeps the newest messages only', () => {
  let log = addSent([], S1, 'chair', 'x', 0);
  for (let i = 0; i < CHAT_KEEP + 5; i++) log = addReceived(log, { type: 'chat', from: CHAIR, to: 'all', text: `m${i}`, at_ms: i }, i, 's1');
  assert.equal(log.length, CHAT_KEEP);
  assert.equal(log.at(-1)?.text, `m${CHAT_KEEP + 4}`);
});

test('the history sent again after a rejoin does not show a message twice', () => {
  /** @type {import('../../js/protocol.js').ChatMessage} */
  const hello = { type: 'chat', from: CHAIR, to: 'all', text: 'Chào các điểm cầu', at_ms: 5 };
  let log = addReceived([], hello, 1100, 's1');
  log = addReceived(log, { ...hello }, 1150, 's1');
  assert.equal(log.length, 1);
  // The same words said again later are a new message.
  log = addReceived(log, { ...hello, at_ms: 9 }, 1900, 's1');
  assert.equal(log.length, 2);
});
