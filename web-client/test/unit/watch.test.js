import { test } from 'node:test';
import assert from 'node:assert/strict';
import { watchParams, refusalText } from '../../js/watch.js';

test('the watch link gives the meeting and the token, and a link missing either gives nothing', () => {
  assert.deepEqual(watchParams('#m=abc&t=eyJ.x.y'), { meeting: 'abc', token: 'eyJ.x.y' });
  assert.equal(watchParams('#m=abc'), null);
  assert.equal(watchParams(''), null);
});

test('a refused watch says why in Vietnamese, by status', () => {
  assert.match(refusalText(401), /hết hạn/);
  assert.match(refusalText(409), /kết thúc/);
  assert.match(refusalText(500), /mã 500/);
});

test('the operators see how many players watch, since when, and which hall feeds are live', async () => {
  const { equipmentOf } = await import('../../js/operator-stats.js');
  const none = equipmentOf(null);
  assert.deepEqual(none, { viewers: 0, viewersSince: [], feeds: [] });
  const stats = /** @type {any} */ ({
    type: 'stats', at_ms: 0, sites: [],
    totals: { expected: 3, joined: 1, up_kbps: 0, down_kbps: 0, viewers: 2, viewers_since_ms: [1, 2], feeds: ['chair-camera'] },
  });
  assert.deepEqual(equipmentOf(stats), { viewers: 2, viewersSince: [1, 2], feeds: ['chair-camera'] });
});
