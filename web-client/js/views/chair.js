/**
 * The chair's meeting view: a grid with a tile for every expected site (from `joined.sites`,
 * kept current by `site_state`), showing video where a receive slot carries that site, and
 * beside it the chair's own camera (what every site sees as the main screen) and attendance.
 */

import { t } from '../i18n/index.js';
import { attendance } from '../roster.js';
import { h, setText, setVideo, videoElement } from './dom.js';
import { createTile } from './tile.js';
import { createToolbar } from './toolbar.js';

/** @typedef {import('../session.js').Session} Session */
/** @typedef {{update: () => void, destroy: () => void}} View */

/**
 * @param {HTMLElement} root
 * @param {Session} session
 * @returns {View}
 */
export function mountChair(root, session) {
  const grid = h('div', { class: 'grid', attrs: { 'aria-label': t('meeting.sites') } });
  const own = videoElement({ class: 'program-video mirror', testid: 'program-video' });
  const count = h('p', { class: 'attendance' });
  const toolbar = createToolbar(session, { publishes: true, canEnd: true });
  /** @type {Map<string, ReturnType<typeof createTile>>} */
  const tiles = new Map();

  root.append(h('section', { class: 'meeting chair' },
    h('div', { class: 'meeting-main' }, grid),
    h('aside', { class: 'meeting-side' },
      h('p', { class: 'label', text: t('meeting.program') }),
      h('div', { class: 'program small' }, own),
      count,
    ),
    toolbar.element,
  ));

  function update() {
    setVideo(own, session.cameraTrack ? session.local : null);
    const { joined, total } = attendance(session.roster);
    setText(count, t('meeting.sitesJoined', { joined, total }));

    const others = session.roster.filter((s) => s.id !== session.you?.id && s.role !== 'operator');
    const seen = new Set();
    /** @type {Element | null} */
    let prev = null;
    for (const site of others) {
      seen.add(site.id);
      let tile = tiles.get(site.id);
      if (!tile) {
        tile = createTile(site.id);
        tiles.set(site.id, tile);
      }
      tile.update(site, session.streamForSite(site.id));
      // Keep the roster's order, moving a tile only when it is out of place.
      /** @type {Element | null} */
      const expected = prev ? prev.nextElementSibling : grid.firstElementChild;
      if (expected !== tile.element) grid.insertBefore(tile.element, expected);
      prev = tile.element;
    }
    for (const [id, tile] of tiles) {
      if (!seen.has(id)) {
        tile.element.remove();
        tiles.delete(id);
      }
    }
    toolbar.update();
  }

  update();
  return { update, destroy() {} };
}
