/** The invite token from the URL fragment, and its role hint. */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { peekTokenRole, tokenFromHash } from '../../js/token.js';

/** @param {object} claims */
function jwt(claims) {
  const b64 = (/** @type {string} */ s) => Buffer.from(s).toString('base64url');
  return `${b64('{"alg":"HS256"}')}.${b64(JSON.stringify(claims))}.c2ln`;
}

test('the token is the t parameter of the fragment', () => {
  assert.equal(tokenFromHash('#t=abc.def.ghi'), 'abc.def.ghi');
  assert.equal(tokenFromHash('t=abc'), 'abc');
  assert.equal(tokenFromHash('#x=1&t=abc'), 'abc');
  assert.equal(tokenFromHash(''), null);
  assert.equal(tokenFromHash('#t='), null);
  assert.equal(tokenFromHash('#other'), null);
});

test('the role claim is peeked without verification, and junk gives null', () => {
  assert.equal(peekTokenRole(jwt({ mid: 'm1', sid: 'op', role: 'operator' })), 'operator');
  assert.equal(peekTokenRole(jwt({ mid: 'm1', sid: 's1', role: 'site', name: 'Xã Tả Van' })), 'site');
  assert.equal(peekTokenRole(jwt({ role: 'admin' })), null);
  assert.equal(peekTokenRole('eyJhbGciOiJIUzI1NiJ9.eyJtIjoibTEifQ.c2lnbmF0dXJl'), null);
  assert.equal(peekTokenRole('not-a-jwt'), null);
  assert.equal(peekTokenRole('a.%%%.c'), null);
});
