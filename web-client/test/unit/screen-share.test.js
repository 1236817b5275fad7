/** Presenting: the track goes on the screen sender, `present` follows; refusals and takeovers stop it. */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DISPLAY_CONSTRAINTS, ScreenShare } from '../../js/screen-share.js';

class FakeTrack extends EventTarget {
  kind = 'video';
  contentHint = '';
  stopped = false;
  stop() {
    this.stopped = true;
  }
  end() {
    this.dispatchEvent(new Event('ended'));
  }
}

function setup({ refuse = /** @type {string | null} */ (null) } = {}) {
  const track = new FakeTrack();
  /** @type {any[]} */
  const sent = [];
  /** @type {(FakeTrack | null)[]} */
  const attached = [];
  /** @type {unknown[]} */
  const asked = [];
  const share = new ScreenShare({
    getDisplayMedia: async (c) => {
      asked.push(c);
      if (refuse) throw Object.assign(new Error(refuse), { name: refuse });
      return /** @type {any} */ ({ getVideoTracks: () => [track] });
    },
    attach: async (t) => {
      attached.push(/** @type {any} */ (t));
    },
    send: (m) => sent.push(m),
    changed: () => {},
  });
  return { share, track, sent, attached, asked };
}

/**
 * @param {string | null} presenter
 * @returns {import('../../js/protocol.js').FloorMessage}
 */
const floor = (presenter) => ({ type: 'floor', holders: ['s1'], hands: [], spotlight: null, presenter });

test('presenting asks for 5 frames/s, marks detail, replaces the track, then sends present', async () => {
  const { share, track, sent, attached, asked } = setup();
  assert.equal(await share.start(), 'started');
  assert.deepEqual(asked, [DISPLAY_CONSTRAINTS]);
  assert.deepEqual(DISPLAY_CONSTRAINTS.video, { frameRate: 5 });
  assert.equal(track.contentHint, 'detail');
  assert.deepEqual(attached, [track]);
  assert.deepEqual(sent, [{ type: 'present', on: true }]);
  assert.equal(share.track, track);
});

test('the browser’s own Stop sharing ends it and tells the server', async () => {
  const { share, track, sent, attached } = setup();
  await share.start();
  share.onFloor(floor('s1'), 's1');
  track.end();
  assert.equal(share.track, null);
  assert.deepEqual(attached, [track, null]);
  assert.deepEqual(sent.at(-1), { type: 'present', on: false });
});

test('an error answering present stops the track without another present', async () => {
  const { share, track, sent } = setup();
  await share.start();
  assert.equal(share.onError(), true);
  assert.ok(track.stopped);
  assert.equal(share.track, null);
  assert.deepEqual(sent, [{ type: 'present', on: true }]);
  assert.equal(share.onError(), false, 'later errors are not about presenting');
});

test('once confirmed, errors are not ours, and another presenter ends ours quietly', async () => {
  const { share, track, sent } = setup();
  await share.start();
  share.onFloor(floor(null), 's1');
  assert.equal(share.track, track, 'a floor from before our present does not stop it');
  share.onFloor(floor('s1'), 's1');
  assert.equal(share.onError(), false);
  share.onFloor(floor('s4'), 's1');
  assert.ok(track.stopped);
  assert.deepEqual(sent, [{ type: 'present', on: true }]);
});

test('closing the browser picker is a cancel, not a failure', async () => {
  const { share, sent } = setup({ refuse: 'NotAllowedError' });
  assert.equal(await share.start(), 'cancelled');
  assert.deepEqual(sent, []);
  const other = setup({ refuse: 'NotReadableError' });
  assert.equal(await other.share.start(), 'failed');
});

test('with request ids only the error echoing our present’s id refuses it', async () => {
  const track = new FakeTrack();
  /** @type {any[]} */
  const sent = [];
  const share = new ScreenShare({
    getDisplayMedia: async () => /** @type {any} */ ({ getVideoTracks: () => [track] }),
    attach: async () => {},
    send: (m) => {
      sent.push(m);
      return 40 + sent.length;
    },
    changed: () => {},
  });
  await share.start();
  assert.deepEqual(sent, [{ type: 'present', on: true }]);
  assert.equal(share.onError({ id: 7 }), false, 'another request’s refusal (a chat, a mute)');
  assert.equal(share.track, track, 'still presenting, awaiting the server’s word');
  assert.equal(share.onError({ id: 41 }), true);
  assert.ok(track.stopped);
});
