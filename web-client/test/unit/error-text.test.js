/** The banner's words for a server error: a site refused for the node's capacity reads plain Vietnamese. */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { errorMessage } from '../../js/error-text.js';
import { setLanguage } from '../../js/i18n/index.js';

const full = { code: 'node_full', message: 'this server carries its limit of 420 connected sites; try again later' };

test('a site refused for capacity reads that the server is full, in Vietnamese, not the server text', () => {
  setLanguage('vi');
  const text = errorMessage(full);
  assert.match(text, /Máy chủ đã phục vụ đủ số điểm cầu tối đa/);
  assert.match(text, /tự vào lại/, 'says the page retries by itself');
  assert.ok(!text.includes('420') && !text.includes('connected sites'), text);
});

test('the same refusal in English', () => {
  setLanguage('en');
  assert.match(errorMessage(full), /as many sites as it can/);
  setLanguage('vi');
});

test('a code without words of its own shows the server message inside the generic text', () => {
  setLanguage('vi');
  const text = errorMessage({ code: 'no_such_code', message: 'chi tiết' });
  assert.ok(text.includes('chi tiết'), text);
});
