/**
 * What a site (or an operator) shows: the program layout chosen from the receive slots and
 * the `floor` message. Pure; `views/program.js` draws it.
 *
 * Large: the shared screen when one is on the program; else the spotlighted site's camera;
 * else the chair's camera; else the first camera that arrives. Beside it: every other camera
 * the server forwards, the chair first, then the floor holders in grant order, then the rest.
 */

/** @typedef {import('./protocol.js').Slot} Slot */
/** @typedef {import('./protocol.js').FloorMessage} FloorMessage */

/**
 * A video slot carrying a camera: `track` says so, or is absent (an older server sends only
 * cameras).
 * @param {Slot} slot
 */
export function isCameraSlot(slot) {
  return slot.kind === 'video' && slot.site_id != null && (slot.track == null || slot.track === 'camera');
}

/**
 * @param {readonly Slot[]} slots
 * @param {FloorMessage | null} floor
 * @param {string | null} chair the chair's site id
 * @returns {{main: Slot | null, side: Slot[]}}
 */
export function programLayout(slots, floor, chair) {
  const screen = slots.find((s) => s.kind === 'video' && s.site_id != null && s.track === 'screen') ?? null;
  const cameras = slots.filter(isCameraSlot);
  /** @param {string | null | undefined} id */
  const cameraOf = (id) => (id ? cameras.find((s) => s.site_id === id) ?? null : null);
  const main = screen ?? cameraOf(floor?.spotlight) ?? cameraOf(chair) ?? cameras[0] ?? null;
  const order = [chair, ...(floor?.holders ?? []), floor?.spotlight ?? null];
  /** @param {Slot} s */
  const rank = (s) => {
    const i = order.indexOf(s.site_id ?? null);
    return i === -1 ? order.length : i;
  };
  const side = cameras.filter((s) => s !== main).map((s, i) => ({ s, i }))
    .sort((a, b) => rank(a.s) - rank(b.s) || a.i - b.i)
    .map(({ s }) => s);
  return { main, side };
}
