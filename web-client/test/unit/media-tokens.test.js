/** The chair's hall-equipment tokens: the request, the refusals by status, the answer's shape. */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { formatExpiry, issueMediaToken, mediaTokensUrl, parseMediaToken } from '../../js/media-tokens.js';

const CAMERA = { role: 'chair-camera', token: 'eyJ.a.b', url: 'https://hop.example.vn/whip/v1/m-1', expires_at: 1_796_000_000 };
const VIEWER = { role: 'viewer', token: 'eyJ.c.d', url: 'https://hop.example.vn/whep/v1/m-1', expires_at: 1_796_000_000, watch_link: 'https://hop.example.vn/watch#m=m-1&t=eyJ.c.d' };

/**
 * A fake fetch answering one status and body, recording the calls.
 * @param {number} status
 * @param {string} body
 */
function fakeFetch(status, body) {
  /** @type {{url: string, init: {method: string, headers: Record<string, string>, body: string}}[]} */
  const calls = [];
  /** @type {import('../../js/media-tokens.js').PostLike} */
  const fn = async (url, init) => {
    calls.push({ url, init });
    return { ok: status >= 200 && status < 300, status, text: async () => body };
  };
  return { fn, calls };
}

test('the request posts the role with the page token as bearer to the meeting path', async () => {
  const { fn, calls } = fakeFetch(201, JSON.stringify(CAMERA));
  const got = await issueMediaToken(fn, 'm 1/x', 'chair-token', 'chair-camera');
  assert.deepEqual(got, {
    ok: true,
    issued: { role: 'chair-camera', token: 'eyJ.a.b', url: CAMERA.url, expiresAt: 1_796_000_000, watchLink: null },
  });
  assert.equal(calls.length, 1);
  assert.equal(calls[0].url, '/api/v1/meetings/m%201%2Fx/media-tokens');
  assert.equal(calls[0].url, mediaTokensUrl('m 1/x'));
  assert.equal(calls[0].init.method, 'POST');
  assert.equal(calls[0].init.headers.Authorization, 'Bearer chair-token');
  assert.deepEqual(JSON.parse(calls[0].init.body), { role: 'chair-camera' });
});

test('a viewer token carries its watch link', async () => {
  const { fn } = fakeFetch(201, JSON.stringify(VIEWER));
  const got = await issueMediaToken(fn, 'm-1', 't', 'viewer');
  assert.ok(got.ok);
  assert.equal(got.issued.watchLink, VIEWER.watch_link);
});

test('each refusal status names its reason, and a failed network is not a server fault', async () => {
  for (const [status, failure] of [[401, 'unauthorized'], [403, 'forbidden'], [404, 'not_found'], [409, 'ended'], [500, 'server'], [422, 'server']]) {
    const { fn } = fakeFetch(/** @type {number} */ (status), '{"error":{"code":"x","message":"y"}}');
    assert.deepEqual(await issueMediaToken(fn, 'm-1', 't', 'chair-camera'), { ok: false, failure }, String(status));
  }
  /** @type {import('../../js/media-tokens.js').PostLike} */
  const down = async () => {
    throw new TypeError('Failed to fetch');
  };
  assert.deepEqual(await issueMediaToken(down, 'm-1', 't', 'chair-camera'), { ok: false, failure: 'network' });
});

test('an answer of the wrong shape or for another role is bad data, never shown', async () => {
  for (const body of ['not json', '[]', JSON.stringify({ ...CAMERA, role: 'viewer' }), JSON.stringify({ ...CAMERA, token: '' }),
    JSON.stringify({ ...CAMERA, url: 'javascript:alert(1)' }), JSON.stringify({ ...CAMERA, expires_at: '1' })]) {
    const { fn } = fakeFetch(201, body);
    assert.deepEqual(await issueMediaToken(fn, 'm-1', 't', 'chair-camera'), { ok: false, failure: 'bad_data' }, body);
  }
  assert.throws(() => parseMediaToken({ ...VIEWER, watch_link: undefined }, 'viewer'), /watch_link/);
});

test('the expiry is written in the given time zone, date and time', () => {
  // 2026-12-07 10:00:00 UTC is 17:00 in Hà Nội.
  const at = Date.UTC(2026, 11, 7, 10, 0, 0) / 1000;
  const vi = formatExpiry(at, 'vi', 'Asia/Ho_Chi_Minh');
  assert.match(vi, /17:00/);
  assert.match(vi, /07\/12\/2026/);
  assert.match(formatExpiry(at, 'en', 'UTC'), /07\/12\/2026.*10:00/);
});
