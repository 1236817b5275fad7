/**
 * The roster (every expected site with its state and devices) and what the receive slots
 * show, as pure functions over protocol data, so the views stay dumb and this is tested
 * without a browser.
 */

/** @typedef {import('./protocol.js').Site} Site */
/** @typedef {import('./protocol.js').Slot} Slot */
/** @typedef {import('./protocol.js').SiteStateMessage} SiteStateMessage */

/**
 * A roster entry: the site plus its device state when the server has told it.
 * @typedef {Site & {mic?: boolean, camera?: boolean}} RosterEntry
 */

/**
 * The roster after a `site_state` message: the entry replaced in place, or appended when the
 * site is new (a site added to the meeting while it runs). Device state not in the message
 * is kept from before.
 * @param {readonly RosterEntry[]} roster
 * @param {SiteStateMessage} msg
 * @returns {RosterEntry[]}
 */
export function applySiteState(roster, msg) {
  const old = roster.find((s) => s.id === msg.site.id);
  /** @type {RosterEntry} */
  const entry = { ...msg.site, mic: msg.mic ?? old?.mic, camera: msg.camera ?? old?.camera };
  if (!old) return [...roster, entry];
  return roster.map((s) => (s.id === msg.site.id ? entry : s));
}

/**
 * The chair's site id, or null when the roster has no chair.
 * @param {readonly Site[]} roster
 * @returns {string | null}
 */
export function chairId(roster) {
  return roster.find((s) => s.role === 'chair')?.id ?? null;
}

/**
 * The mid of the video slot carrying a site, or null.
 * @param {readonly Slot[]} slots
 * @param {string} siteId
 * @returns {string | null}
 */
export function videoMidFor(slots, siteId) {
  return slots.find((s) => s.kind === 'video' && s.site_id === siteId)?.mid ?? null;
}

/**
 * What a site shows large: the slot carrying the chair, else the first busy video slot
 * (a floor holder while the chair's camera is off), else null.
 * @param {readonly Slot[]} slots
 * @param {string | null} chair
 * @returns {Slot | null}
 */
export function programSlot(slots, chair) {
  const busy = slots.filter((s) => s.kind === 'video' && s.site_id != null);
  return busy.find((s) => s.site_id === chair) ?? busy[0] ?? null;
}

/**
 * Counts for the chair's header: joined sites out of expected sites, the chair itself and
 * operators not counted.
 * @param {readonly Site[]} roster
 * @returns {{joined: number, total: number}}
 */
export function attendance(roster) {
  const sites = roster.filter((s) => s.role === 'site');
  return { joined: sites.filter((s) => s.state === 'joined').length, total: sites.length };
}
