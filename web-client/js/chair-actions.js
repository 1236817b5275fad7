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

/**
 * Actions remembered for a refusal. The server refuses within a round trip, so only the
 * newest few can still be refused; an older one is forgotten rather than kept for ever.
 */
const MAX_AWAITED = 64;

export class ChairActions {
  /** Whether the grid turns its pages by itself, and how many seconds a page stays. */
  rotation = { on: false, seconds: 20 };
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #timer;
  /**
   * What to undo if the server refuses an action, by the action's request id (the `error`
   * refusing it echoes that id), oldest first.
   * @type {Map<number, () => void>}
   */
  #awaited = new Map();
  #send;
  #request;
  #state;
  #changed;

  /**
   * @param {object} options
   * @param {(msg: ClientMessage) => boolean} options.send false when the socket is closed
   * @param {(msg: ClientMessage) => number | null} options.request sends with a request id
   *   and returns it; null when the socket is closed
   * @param {() => MeetingState} options.state the session's current meeting state
   * @param {() => void} options.changed
   */
  constructor({ send, request, state, changed }) {
    this.#send = send;
    this.#request = request;
    this.#state = state;
    this.#changed = changed;
  }

  /**
   * Sends a moderation action and notes what the server will not report back.
   * @param {ClientMessage} msg
   * @returns {number | null} its request id; null when the socket is closed (nothing sent)
   */
  act(msg) {
    const id = this.#request(msg);
    if (id === null) return null;
    const undo = this.#state().noteSent(msg);
    if (undo) {
      this.#awaited.set(id, undo);
      if (this.#awaited.size > MAX_AWAITED) this.#awaited.delete(this.#awaited.keys().next().value ?? id);
    }
    this.#changed();
    return id;
  }

  /**
   * An `error` arrived. The action whose request id it carries did not happen: its note is
   * undone. An error without an id, or with another message's, concerns no action.
   * @param {{id?: number}} error
   */
  refused(error) {
    if (error.id === undefined) return;
    const undo = this.#awaited.get(error.id);
    this.#awaited.delete(error.id);
    undo?.();
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
