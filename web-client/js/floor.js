/**
 * The floor as a site or the chair reads it: who holds it, where a hand is in the queue, and
 * how long a hand has waited. Pure functions over `floor` messages, no DOM and no timers.
 *
 * Waiting times come from `hands[].since_ms`, the server's clock. A commune PC's clock can be
 * minutes off, so `ServerClock` estimates the difference from server timestamps that are
 * fresh when they arrive (a hand that just went up, a chat message just sent): the smallest
 * `local − server` seen is the best estimate, since network delay only ever adds to it.
 */

/** @typedef {import('./protocol.js').FloorMessage} FloorMessage */
/** @typedef {import('./protocol.js').Hand} Hand */

export class ServerClock {
  /** @type {number | null} local − server, ms; null until a fresh server timestamp was seen */
  #offsetMs = null;

  /**
   * Takes one server timestamp that was "now" on the server when it was sent.
   * @param {number} serverMs
   * @param {number} localMs `Date.now()` when it arrived
   */
  observe(serverMs, localMs) {
    const offset = localMs - serverMs;
    if (this.#offsetMs === null || offset < this.#offsetMs) this.#offsetMs = offset;
  }

  /** @returns {number} the estimated local − server difference; 0 before any estimate */
  get offsetMs() {
    return this.#offsetMs ?? 0;
  }

  /**
   * A server timestamp on the local clock.
   * @param {number} serverMs
   */
  toLocal(serverMs) {
    return serverMs + this.offsetMs;
  }
}

/**
 * How long a hand has been up, never negative.
 * @param {Hand} hand
 * @param {ServerClock} clock
 * @param {number} nowMs local clock
 */
export function handWaitMs(hand, clock, nowMs) {
  return Math.max(0, nowMs - clock.toLocal(hand.since_ms));
}

/**
 * `mm:ss`, minutes not capped at 59 (a hand up for 75 minutes reads `75:00`).
 * @param {number} ms
 */
export function formatWait(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const mm = Math.floor(total / 60);
  const ss = total % 60;
  return `${String(mm).padStart(2, '0')}:${String(ss).padStart(2, '0')}`;
}

/**
 * Hands in `next` that were not up in `prev`: their `since_ms` is "now" on the server, which
 * is what `ServerClock.observe` needs. Nothing is new in the first `floor` after joining.
 * @param {FloorMessage | null} prev
 * @param {FloorMessage} next
 * @returns {Hand[]}
 */
export function newHands(prev, next) {
  if (!prev) return [];
  const before = new Set(prev.hands.map((h) => h.site_id));
  return next.hands.filter((h) => !before.has(h.site_id));
}

/**
 * @param {FloorMessage | null} floor
 * @param {string | null | undefined} siteId
 */
export function holdsFloor(floor, siteId) {
  return Boolean(floor && siteId && floor.holders.includes(siteId));
}

/**
 * A hand's place in the queue, from 1; 0 when the site's hand is not up.
 * @param {FloorMessage | null} floor
 * @param {string | null | undefined} siteId
 */
export function queuePosition(floor, siteId) {
  if (!floor || !siteId) return 0;
  return floor.hands.findIndex((h) => h.site_id === siteId) + 1;
}
