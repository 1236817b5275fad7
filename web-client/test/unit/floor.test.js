/** Hand queue arithmetic: waiting times on a skewed clock, queue positions, mm:ss. */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ServerClock, formatWait, handWaitMs, holdsFloor, newHands, queuePosition } from '../../js/floor.js';

/** @type {import('../../js/protocol.js').FloorMessage} */
const FLOOR = {
  type: 'floor',
  holders: ['s2'],
  hands: [{ site_id: 's5', since_ms: 1_000_000 }, { site_id: 's1', since_ms: 1_030_000 }],
  spotlight: null,
  presenter: null,
};

test('waits read mm:ss with minutes past an hour', () => {
  assert.equal(formatWait(0), '00:00');
  assert.equal(formatWait(59_999), '00:59');
  assert.equal(formatWait(65_000), '01:05');
  assert.equal(formatWait(75 * 60_000 + 3000), '75:03');
  assert.equal(formatWait(-5000), '00:00');
});

test('without any estimate the local clock is trusted', () => {
  const clock = new ServerClock();
  assert.equal(handWaitMs(FLOOR.hands[0], clock, 1_065_000), 65_000);
});

test('a PC clock five minutes fast still shows the true wait', () => {
  const clock = new ServerClock();
  const skew = 5 * 60_000;
  // A hand went up at server time 1_100_000 and reached us 80 ms later.
  clock.observe(1_100_000, 1_100_000 + skew + 80);
  // A later, slower message must not spoil the estimate.
  clock.observe(1_200_000, 1_200_000 + skew + 900);
  assert.equal(clock.offsetMs, skew + 80);
  const wait = handWaitMs({ site_id: 's9', since_ms: 1_100_000 }, clock, 1_160_000 + skew);
  assert.equal(formatWait(wait), '00:59');
});

test('a clock behind the server never shows a negative wait', () => {
  const clock = new ServerClock();
  assert.equal(handWaitMs({ site_id: 's9', since_ms: 2_000_000 }, clock, 1_000_000), 0);
});

test('only hands that went up since the last floor message are fresh', () => {
  assert.deepEqual(newHands(null, FLOOR), [], 'the first message after joining says nothing about now');
  const next = { ...FLOOR, hands: [...FLOOR.hands, { site_id: 's7', since_ms: 1_090_000 }] };
  assert.deepEqual(newHands(FLOOR, next).map((h) => h.site_id), ['s7']);
});

test('queue position counts from 1 and holders are known', () => {
  assert.equal(queuePosition(FLOOR, 's5'), 1);
  assert.equal(queuePosition(FLOOR, 's1'), 2);
  assert.equal(queuePosition(FLOOR, 's2'), 0);
  assert.equal(queuePosition(null, 's2'), 0);
  assert.ok(holdsFloor(FLOOR, 's2'));
  assert.ok(!holdsFloor(FLOOR, 's5'));
  assert.ok(!holdsFloor(null, 's2'));
});
