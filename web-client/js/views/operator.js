/**
 * The operator's view: the roster as a table (name, role, state, microphone, camera, hand,
 * floor, and what the chair did: muted, video stopped), the main screen small beside it,
 * the messages (to everyone or one site) and the roll call. The operator publishes nothing,
 * so the toolbar has the connection mark, Roll call and Leave.
 */

import { t } from '../i18n/index.js';
import { holdsFloor, queuePosition } from '../floor.js';
import { stateCounts } from '../roster.js';
import { createChatPanel } from './chat.js';
import { h, setText, setVideo, videoElement } from './dom.js';
import { createRollCall } from './rollcall.js';
import { createToolbar } from './toolbar.js';

/** @typedef {import('../session.js').Session} Session */
/** @typedef {import('../roster.js').RosterEntry} RosterEntry */
/** @typedef {import('../protocol.js').FloorMessage} FloorMessage */
/** @typedef {{update: () => void, destroy: () => void}} View */

const COLUMNS = [
  'roster.name', 'roster.role', 'roster.state', 'roster.mic', 'roster.camera',
  'roster.hand', 'roster.floor', 'roster.muted', 'roster.videoStopped',
];

/**
 * @param {HTMLElement} root
 * @param {Session} session
 * @returns {View}
 */
export function mountOperator(root, session) {
  const body = h('tbody');
  const table = h('table', { class: 'roster', testid: 'roster' },
    h('caption', { text: t('meeting.roster') }),
    h('thead', {}, h('tr', {}, ...COLUMNS.map((k) => h('th', { text: t(k), attrs: { scope: 'col' } })))),
    body,
  );
  const program = videoElement({ class: 'program-video', testid: 'program-video' });
  const count = h('p', { class: 'attendance', testid: 'roster-counts' });
  const chat = createChatPanel(session);
  const rollcall = createRollCall(session);
  const toolbar = createToolbar(session, { publishes: false, canEnd: false, right: [rollcall.button] });

  root.append(h('section', { class: 'meeting operator' },
    h('div', { class: 'meeting-main scroll' }, table),
    rollcall.panel,
    h('aside', { class: 'meeting-side' },
      h('p', { class: 'label', text: t('meeting.program') }),
      h('div', { class: 'program small' }, program),
      count,
      chat.element,
    ),
    toolbar.element,
  ));

  function update() {
    const { stream } = session.program();
    setVideo(program, stream);
    setText(count, t('meeting.counts', stateCounts(session.roster)));
    // A table of a few hundred rows is cheap to rebuild, and only text is in it.
    const floor = session.meetingState.floor;
    body.replaceChildren(...session.roster.map((s) => row(s, floor)));
    chat.update();
    rollcall.update();
    toolbar.update();
  }

  update();
  return { update, destroy: () => rollcall.destroy() };
}

/**
 * @param {RosterEntry} site
 * @param {FloorMessage | null} floor
 * @returns {HTMLTableRowElement}
 */
function row(site, floor) {
  const here = site.state === 'joined';
  /** @param {boolean | undefined} on */
  const device = (on) => (!here || on === undefined ? t('roster.unknown') : on ? t('roster.on') : t('roster.off'));
  /** @param {boolean | undefined} yes */
  const flag = (yes) => (yes ? t('roster.yes') : t('roster.unknown'));
  const position = queuePosition(floor, site.id);
  const moderated = site.role === 'site';
  return h('tr', { testid: 'roster-row', attrs: { 'data-site-id': site.id, 'data-state': site.state } },
    h('td', { text: site.name }),
    h('td', { text: t(`role.${site.role}`) }),
    h('td', {}, h('span', { class: `badge state-${site.state}`, text: t(`site.${site.state}`) })),
    h('td', { text: device(site.mic) }),
    h('td', { text: device(site.camera) }),
    h('td', { attrs: { 'data-col': 'hand' }, text: position ? t('roster.handPosition', { n: position }) : t('roster.unknown') }),
    h('td', { attrs: { 'data-col': 'floor' }, text: flag(holdsFloor(floor, site.id)) }),
    h('td', { attrs: { 'data-col': 'muted' }, text: moderated ? flag(site.muted) : t('roster.unknown') }),
    h('td', { attrs: { 'data-col': 'video-stopped' }, text: moderated ? flag(site.video_stopped) : t('roster.unknown') }),
  );
}
