/**
 * The roster (every expected site with its state and devices) and what the receive slots
 * show, as pure functions over protocol data, so the views stay dumb and this is tested
 * without a browser.
 */

/** @typedef {import('./protocol.js').Site} Site */
/** @typedef {import('./protocol.js').Slot} Slot */
/** @typedef {import('./protocol.js').SiteStateMessage} SiteStateMessage */

import { isCameraSlot } from './program.js';

/**
 * A roster entry: the site plus its device state when the server has told it, and what the
 * chair did to it (`muted`, `video_stopped` at the SFU; `cochair` right).
 * @typedef {Site & {mic?: boolean, camera?: boolean, muted?: boolean, video_stopped?: boolean,
 *   cochair?: boolean, reception?: 'full' | 'reduced' | 'audio_only', reduced_by_design?: boolean,
 *   audio_only_forced?: boolean}} RosterEntry
 */

/**
 * The roster after a `site_state` message: the entry replaced in place, or appended when the
 * site is new (a site added to the meeting while it runs). Device state not in the message
 * is kept from before; the chair's marks are always in it (false when an older server
 * leaves them out).
 * @param {readonly RosterEntry[]} roster
 * @param {SiteStateMessage} msg
 * @returns {RosterEntry[]}
 */
export function applySiteState(roster, msg) {
  const old = roster.find((s) => s.id === msg.site.id);
  /** @type {RosterEntry} */
  const entry = {
    ...msg.site,
    mic: msg.mic ?? old?.mic,
    camera: msg.camera ?? old?.camera,
    muted: msg.muted ?? false,
    video_stopped: msg.video_stopped ?? false,
    cochair: msg.cochair ?? false,
  };
  const reception = msg.reception ?? old?.reception;
  if (reception) entry.reception = reception;
  // Less than offered by design (the first ramp): told in every `site_state` of a server
  // that knows it, with the reception it qualifies.
  const byDesign = msg.reception === undefined ? old?.reduced_by_design : msg.reduced_by_design;
  if (byDesign) entry.reduced_by_design = true;
  // The operators' switch: told in every `site_state` by a server that has it.
  if (msg.audio_only_forced !== undefined) entry.audio_only_forced = msg.audio_only_forced;
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
 * The mid of the video slot carrying a site's camera (not its shared screen), or null.
 * @param {readonly Slot[]} slots
 * @param {string} siteId
 * @returns {string | null}
 */
export function videoMidFor(slots, siteId) {
  return slots.find((s) => isCameraSlot(s) && s.site_id === siteId)?.mid ?? null;
}

/**
 * The video slot carrying a shared screen, or null.
 * @param {readonly Slot[]} slots
 * @returns {Slot | null}
 */
export function screenSlot(slots) {
  return slots.find((s) => s.kind === 'video' && s.site_id != null && s.track === 'screen') ?? null;
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

/**
 * Sites (not the chair, not operators) by state, for the compact roster line.
 * @param {readonly Site[]} roster
 * @returns {{joined: number, waiting: number, left: number}}
 */
export function stateCounts(roster) {
  const counts = { joined: 0, waiting: 0, left: 0 };
  for (const s of roster) if (s.role === 'site') counts[s.state] += 1;
  return counts;
}
