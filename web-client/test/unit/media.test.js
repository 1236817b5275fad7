/** The parts of the media layout that need no browser: codec order and simulcast encodings. */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { SCREEN_ENCODING, SIMULCAST_ENCODINGS, activeEncodings, preferCodec } from '../../js/media.js';

test('VP8 moves first and every other codec keeps its place', () => {
  const codecs = [
    { mimeType: 'video/H264', sdpFmtpLine: 'profile-level-id=42e01f' },
    { mimeType: 'video/rtx' },
    { mimeType: 'video/VP9' },
    { mimeType: 'video/vp8' },
    { mimeType: 'video/AV1' },
  ];
  assert.deepEqual(preferCodec(codecs, 'video/VP8').map((c) => c.mimeType),
    ['video/vp8', 'video/H264', 'video/rtx', 'video/VP9', 'video/AV1']);
  assert.deepEqual(preferCodec([], 'video/VP8'), []);
});

test('simulcast encodings are q, h, f from low to high, as PROTOCOL.md names them', () => {
  assert.deepEqual(SIMULCAST_ENCODINGS, [
    { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
    { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
    { rid: 'f', maxBitrate: 1_500_000 },
  ]);
});

test('the screen share sends one encoding at 5 frames/s and 1.2 Mbit/s, as PROTOCOL.md says', () => {
  assert.deepEqual(SCREEN_ENCODING, { maxFramerate: 5, maxBitrate: 1_200_000 });
});

test('camera layers above what anyone receives are switched off, the lowest never', () => {
  assert.deepEqual(activeEncodings('none'), [true, false, false]);
  assert.deepEqual(activeEncodings('low'), [true, false, false]);
  assert.deepEqual(activeEncodings('mid'), [true, true, false]);
  assert.deepEqual(activeEncodings('high'), [true, true, true]);
});
