/**
 * Presenting one's screen (PROTOCOL.md "Media layout", third transceiver): ask the browser
 * for a screen or window, mark the track as detail content so text stays sharp, put it on
 * the screen sender with `replaceTrack`, then tell the server with `present`.
 *
 * Lifecycle: idle → `start()` → presenting, waiting for the server's word → the next `floor`
 * names us presenter (confirmed) or an `error` comes (refused: the track is stopped) →
 * `stop()` (button, or the browser's own "Stop sharing", i.e. the track's `ended`) → idle.
 * A confirmed presentation also ends when a `floor` names someone else (the newest presenter
 * wins, or the floor was revoked): the track is stopped without telling the server again.
 * No DOM; the browser APIs come in through the constructor, so node tests drive it.
 */

import { presentMessage } from './messages.js';

/** @typedef {import('./protocol.js').ClientMessage} ClientMessage */
/** @typedef {import('./protocol.js').FloorMessage} FloorMessage */

/** What `getDisplayMedia` is asked for: a few frames per second suit slides and documents. */
export const DISPLAY_CONSTRAINTS = { video: { frameRate: 5 }, audio: false };

/** @typedef {'started' | 'cancelled' | 'failed'} StartOutcome */

export class ScreenShare {
  /** @type {MediaStreamTrack | null} the shared screen, while presenting */
  track = null;
  /** True between `present` sent and the server's answer. */
  #awaiting = false;
  /** @type {number | undefined} the request id of the `present` awaiting the server's word */
  #awaitingId;
  #getDisplayMedia;
  #attach;
  #send;
  #changed;

  /**
   * @param {object} options
   * @param {((constraints: typeof DISPLAY_CONSTRAINTS) => Promise<MediaStream>) | null} options.getDisplayMedia
   *   null when the browser cannot share a screen
   * @param {(track: MediaStreamTrack | null) => Promise<void>} options.attach puts the track
   *   (or none) on the screen sender
   * @param {(msg: ClientMessage) => unknown} options.send returns the message's request id
   *   when it gives one (then only an `error` echoing that id refuses the presentation)
   * @param {() => void} options.changed
   */
  constructor({ getDisplayMedia, attach, send, changed }) {
    this.#getDisplayMedia = getDisplayMedia;
    this.#attach = attach;
    this.#send = send;
    this.#changed = changed;
  }

  get supported() {
    return this.#getDisplayMedia !== null;
  }

  /** @returns {Promise<StartOutcome>} `cancelled` when the user closed the browser's picker */
  async start() {
    if (this.track) return 'started';
    if (!this.#getDisplayMedia) return 'failed';
    /** @type {MediaStream} */
    let stream;
    try {
      stream = await this.#getDisplayMedia(DISPLAY_CONSTRAINTS);
    } catch (e) {
      const name = typeof e === 'object' && e !== null && 'name' in e ? e.name : '';
      return name === 'NotAllowedError' || name === 'AbortError' ? 'cancelled' : 'failed';
    }
    const track = stream.getVideoTracks()[0];
    if (!track) return 'failed';
    if ('contentHint' in track) track.contentHint = 'detail';
    track.addEventListener('ended', () => {
      if (this.track === track) this.stop();
    });
    this.track = track;
    try {
      await this.#attach(track);
    } catch (e) {
      console.warn('diemcau: the screen could not be sent', e);
      this.#release();
      this.#changed();
      return 'failed';
    }
    if (this.track !== track) return 'failed'; // stopped while attaching
    this.#awaiting = true;
    const id = this.#send(presentMessage(true));
    this.#awaitingId = typeof id === 'number' ? id : undefined;
    this.#changed();
    return 'started';
  }

  /**
   * Stops presenting.
   * @param {{tell?: boolean}} [options] `tell: false` when the server already knows (it
   *   refused, or someone else presents now)
   */
  stop({ tell = true } = {}) {
    if (!this.track) return;
    this.#release();
    if (tell) this.#send(presentMessage(false));
    this.#changed();
  }

  /**
   * A `floor` message: confirms our presentation, or says it is over.
   * @param {FloorMessage} floor
   * @param {string | null} youId
   */
  onFloor(floor, youId) {
    if (!this.track) return;
    if (floor.presenter != null && floor.presenter === youId) {
      this.#awaiting = false;
    } else if (!this.#awaiting) {
      this.stop({ tell: false });
    }
  }

  /**
   * A server `error`: if it answers our `present`, the presentation is refused. An error
   * echoing another request's id is not about presenting; one without an id (a frame
   * dropped unread) may be.
   * @param {{id?: number}} [error]
   * @returns {boolean} whether the error was about presenting
   */
  onError(error = {}) {
    if (!this.track || !this.#awaiting) return false;
    if (error.id !== undefined && this.#awaitingId !== undefined && error.id !== this.#awaitingId) return false;
    this.stop({ tell: false });
    return true;
  }

  #release() {
    const track = /** @type {MediaStreamTrack} */ (this.track);
    this.track = null;
    this.#awaiting = false;
    track.stop();
    this.#attach(null).catch(() => {
      // The peer connection may be closed already; nothing is sent then anyway.
    });
  }
}
