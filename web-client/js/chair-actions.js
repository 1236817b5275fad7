/**
 * `ChairActions`: what the chair (or a co-chair) sends beyond a plain message — moderation
 * actions whose effect the page must remember itself (undone if the server refuses them),
 * and the grid pages with their automatic rotation timer. No DOM; the session owns one and
 * passes it the socket's `send`.
 *
 * Lifecycle: created with the session; `stop()` when the session ends (the timer stops).
 */

import { nextPage } from './grid-pages.js';
import { gridMessage } from './messages.js';

/** @typedef {import('./protocol.js').ClientMessage} ClientMessage */
/** @typedef {import('./meeting-state.js').MeetingState} MeetingState */

/** How long after an action an `error` is still taken as its answer. */
const ANSWER_WINDOW_MS = 10_000;

export class ChairActions {
  /** Whether the grid turns its pages by itself, and how many seconds a page stays. */
  rotation = { on: false, seconds: 20 };
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #timer;
  /** @type {{undo: () => void, at: number} | null} */
  #pendingUndo = null;
  #send;
  #state;
  #changed;

  /**
   * @param {object} options
   * @param {(msg: ClientMessage) => boolean} options.send false when the socket is closed
   * @param {() => MeetingState} options.state the session's current meeting state
   * @param {() => void} options.changed
   */
  constructor({ send, state, changed }) {
    this.#send = send;
    this.#state = state;
    this.#changed = changed;
  }

  /**
   * Sends a moderation action and notes what the server will not report back.
   * @param {ClientMessage} msg
   */
  act(msg) {
    if (!this.#send(msg)) return;
    const undo = this.#state().noteSent(msg);
    this.#pendingUndo = undo ? { undo, at: Date.now() } : null;
    this.#changed();
  }

  /** An `error` arrived: it answers the last action, which therefore did not happen. */
  refused() {
    if (this.#pendingUndo && Date.now() - this.#pendingUndo.at < ANSWER_WINDOW_MS) this.#pendingUndo.undo();
    this.#pendingUndo = null;
  }

  /**
   * @param {number} page
   * @param {number} [pageSize]
   */
  showGridPage(page, pageSize) {
    this.#send(gridMessage(page, pageSize));
    if (this.rotation.on) this.#start(); // the chosen page stays a full interval
  }

  /**
   * @param {boolean} on
   * @param {number} [seconds]
   */
  setRotation(on, seconds = this.rotation.seconds) {
    this.rotation = { on, seconds };
    clearInterval(this.#timer);
    if (on) this.#start();
    this.#changed();
  }

  stop() {
    clearInterval(this.#timer);
    this.rotation = { ...this.rotation, on: false };
  }

  #start() {
    clearInterval(this.#timer);
    this.#timer = setInterval(() => {
      const grid = this.#state().grid;
      if (!grid || grid.pages <= 1) return;
      this.#send(gridMessage(nextPage(grid.page, grid.pages), grid.page_size));
    }, this.rotation.seconds * 1000);
  }
}
