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
