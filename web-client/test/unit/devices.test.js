/** getUserMedia fallbacks and the advice for each failure. */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { openLocalMedia, problemsFor, reasonOf } from '../../js/devices.js';

/** @param {string} name */
const fail = (name) => new DOMException('x', name);

test('exception names map to reasons, old Chromium names included', () => {
  assert.equal(reasonOf(fail('NotAllowedError')), 'denied');
  assert.equal(reasonOf(fail('PermissionDeniedError')), 'denied');
  assert.equal(reasonOf(fail('NotFoundError')), 'notFound');
  assert.equal(reasonOf(fail('NotReadableError')), 'busy');
  assert.equal(reasonOf(fail('TrackStartError')), 'busy');
  assert.equal(reasonOf(fail('OverconstrainedError')), 'constraint');
  assert.equal(reasonOf(fail('SecurityError')), 'security');
  assert.equal(reasonOf(new TypeError('x')), 'unknown');
  assert.equal(reasonOf('weird'), 'unknown');
});

test('the same failure on both devices is one message', () => {
  assert.deepEqual(problemsFor(fail('NotAllowedError'), fail('NotAllowedError')),
    [{ kind: 'both', reason: 'denied', key: 'device.denied.both' }]);
  assert.deepEqual(problemsFor(fail('NotFoundError'), fail('NotReadableError')).map((p) => p.key),
    ['device.notFound.audio', 'device.busy.video']);
  assert.deepEqual(problemsFor(null, null), []);
});

/**
 * A fake `mediaDevices` where each device works or fails with a given exception name.
 * @param {{audio: string | null, video: string | null}} failures
 */
function fakeDevices(failures) {
  /** @type {string[]} */
  const calls = [];
  const devices = {
    /** @param {MediaStreamConstraints} c */
    async getUserMedia(c) {
      const kinds = ['audio', 'video'].filter((k) => c[/** @type {'audio' | 'video'} */ (k)]);
      calls.push(kinds.join('+'));
      for (const k of kinds) {
        const name = failures[/** @type {'audio' | 'video'} */ (k)];
        if (name) throw fail(name);
      }
      return /** @type {MediaStream} */ (/** @type {unknown} */ ({ kinds }));
    },
  };
  return { devices: /** @type {MediaDevices} */ (/** @type {unknown} */ (devices)), calls };
}

test('both devices working is one call and no problem', async () => {
  const { devices, calls } = fakeDevices({ audio: null, video: null });
  const r = await openLocalMedia({}, devices);
  assert.ok(r.stream);
  assert.deepEqual(r.problems, []);
  assert.deepEqual(calls, ['audio+video']);
});

test('no camera: joins with the microphone and says the camera is missing', async () => {
  const { devices, calls } = fakeDevices({ audio: null, video: 'NotFoundError' });
  const r = await openLocalMedia({}, devices);
  assert.deepEqual(/** @type {any} */ (r.stream).kinds, ['audio']);
  assert.deepEqual(r.problems.map((p) => p.key), ['device.notFound.video']);
  assert.deepEqual(calls, ['audio+video', 'audio']);
});

test('no microphone: joins with the camera', async () => {
  const { devices, calls } = fakeDevices({ audio: 'NotFoundError', video: null });
  const r = await openLocalMedia({}, devices);
  assert.deepEqual(/** @type {any} */ (r.stream).kinds, ['video']);
  assert.deepEqual(r.problems.map((p) => p.key), ['device.notFound.audio']);
  assert.deepEqual(calls, ['audio+video', 'audio', 'video']);
});

test('everything refused: joins to watch and listen', async () => {
  const { devices } = fakeDevices({ audio: 'NotAllowedError', video: 'NotAllowedError' });
  const r = await openLocalMedia({}, devices);
  assert.equal(r.stream, null);
  assert.deepEqual(r.problems.map((p) => p.key), ['device.denied.both']);
});

test('no mediaDevices at all (plain http) explains the insecure page', async () => {
  const r = await openLocalMedia({}, undefined);
  assert.equal(r.stream, null);
  assert.equal(r.problems.length, 1);
  assert.match(r.problems[0].key, /^device\.(insecure|unsupported)\.both$/);
});
