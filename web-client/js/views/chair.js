/**
 * The chair's meeting view. Main area: the lobby note until the meeting is opened, a shared
 * screen when one is on the program, the grid page bar, and a tile for each site of the
 * current grid page (`grid.sites`, pinned sites first: floor holders, then raised hands),
 * each with its marks and moderation controls; the roll call covers this area when opened.
 * Beside it: the chair's own camera (what every site sees), the compact roster counts, the
 * hand queue and the messages. Toolbar: devices, present, open, lock, roll call, hall
 * equipment (the OBS/WHIP dialog, `equipment.js`), end. A reissued site link (`link`) opens
 * its own dialog.
 *
 * Before the first `grid` message (or from a server without grid pages) every expected
 * site gets a tile, in roster order.
 */

import { t } from '../i18n/index.js';
import { siteMarks } from '../moderation.js';
import { stateCounts } from '../roster.js';
import { createChatPanel } from './chat.js';
import { createConfirm } from './confirm.js';
import { createEquipmentPanel } from './equipment.js';
import { h, setText, setVideo, syncChildren, videoElement } from './dom.js';
import { createGridPager } from './grid-pager.js';
import { createHandQueue } from './hands.js';
import { createLinkDialog } from './link-dialog.js';
import { createMeetingControls } from './meeting-controls.js';
import { createOperatorNotices } from './operator-notices.js';
import { createRollCall } from './rollcall.js';
import { contextFor, createSiteControls } from './tile-controls.js';
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
  const confirm = createConfirm({ testid: 'confirm-remove' });
  const linkDialog = createLinkDialog(session);
  const fromOperators = createOperatorNotices(session);
  const lobbyNote = h('div', { class: 'notice info chair-lobby', testid: 'lobby-notice', attrs: { role: 'status' }, text: t('lobby.chair') });
  const lockedNote = h('div', { class: 'notice locked', testid: 'locked-notice', text: t('meeting.locked') });
  const screen = videoElement({ class: 'program-video', testid: 'presentation-video' });
  const screenCaption = h('div', { class: 'program-caption' });
  const screenBox = h('div', { class: 'program presentation' }, screen, screenCaption);
  const pager = createGridPager(session);
  const grid = h('div', { class: 'grid', attrs: { 'aria-label': t('meeting.sites') } });
  const empty = h('p', { class: 'grid-empty', text: t('grid.empty') });
  const own = videoElement({ class: 'program-video mirror', testid: 'program-video' });
  const ownScreenVideo = videoElement({ class: 'program-video', testid: 'own-screen' });
  const ownScreenBox = h('div', { class: 'program own-presentation' }, ownScreenVideo, h('span', { class: 'own-label', text: t('present.you') }));
  const counts = h('p', { class: 'attendance', testid: 'roster-counts' });
  const hands = createHandQueue(session);
  const chat = createChatPanel(session);
  const rollcall = createRollCall(session);
  const equipment = createEquipmentPanel(session);
  const controls = createMeetingControls(session);
  const toolbar = createToolbar(session, {
    publishes: true,
    canEnd: true,
    left: [controls.present],
    right: [controls.open, controls.lock, controls.record, rollcall.button, equipment.button],
  });
  /** @type {Map<string, ReturnType<typeof createTile>>} */
  const tiles = new Map();
  /** @type {MediaStream | null} the chair's own shared screen as a stream, made once per track */
  let ownScreen = null;

  root.append(h('section', { class: 'meeting chair compact-bar' },
    h('div', { class: 'meeting-main' }, fromOperators.element, lobbyNote, lockedNote, screenBox, pager.element, grid, empty),
    rollcall.panel,
    h('aside', { class: 'meeting-side' },
      h('p', { class: 'label', text: t('meeting.program') }),
      h('div', { class: 'program small' }, own),
      ownScreenBox,
      counts,
      hands.element,
      chat.element,
    ),
    toolbar.element,
    confirm.element,
    linkDialog.element,
    equipment.element,
  ));

  /** The sites the grid shows now: the server's page, else every expected site. */
  function gridSiteIds() {
    const page = session.meetingState.grid;
    if (page) return page.sites.filter((id) => id !== session.you?.id);
    return session.roster.filter((s) => s.id !== session.you?.id && s.role !== 'operator').map((s) => s.id);
  }

  /** @param {string} id */
  const createSiteTile = (id) => createTile(id, createSiteControls(session, confirm));

  function update() {
    const ms = session.meetingState;
    lobbyNote.hidden = ms.phase !== 'lobby';
    lockedNote.hidden = !ms.locked;
    // A site's shared screen large over the grid; the chair's own, small beside its camera.
    const presentation = session.presentation();
    setVideo(screen, presentation.stream);
    screenBox.hidden = presentation.stream === null;
    setText(screenCaption, t('present.of', { name: presentation.slot?.name ?? '' }));
    const track = session.screenShare.track;
    if (ownScreen?.getVideoTracks()[0] !== track) ownScreen = track ? new MediaStream([track]) : null;
    setVideo(ownScreenVideo, ownScreen);
    ownScreenBox.hidden = ownScreen === null;

    setVideo(own, session.cameraTrack ? session.local : null);
    setText(counts, t('meeting.counts', stateCounts(session.roster)));

    const ids = gridSiteIds().filter((id) => session.roster.some((s) => s.id === id));
    for (const tile of syncChildren(grid, tiles, ids, createSiteTile)) {
      const id = /** @type {string} */ (tile.element.dataset.siteId);
      const site = /** @type {import('../roster.js').RosterEntry} */ (session.roster.find((s) => s.id === id));
      tile.update(site, session.streamForSite(id), siteMarks(site, contextFor(session, id)), session.checks[id]);
    }
    empty.hidden = ids.length > 0;

    fromOperators.update();
    pager.update();
    hands.update();
    chat.update();
    rollcall.update();
    equipment.update();
    controls.update();
    toolbar.update();
    linkDialog.update();
  }

  update();
  return {
    update,
    destroy() {
      hands.destroy();
      rollcall.destroy();
    },
  };
}
