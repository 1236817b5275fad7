/**
 * The operator's view: the roster as a table (name, role, state, microphone, camera) and the
 * main screen small beside it. The operator publishes nothing, so the toolbar has only the
 * connection mark and Leave.
 */

import { t } from '../i18n/index.js';
import { attendance } from '../roster.js';
import { h, setText, setVideo, videoElement } from './dom.js';
import { createToolbar } from './toolbar.js';

/** @typedef {import('../session.js').Session} Session */
/** @typedef {import('../roster.js').RosterEntry} RosterEntry */
/** @typedef {{update: () => void, destroy: () => void}} View */

/**
 * @param {HTMLElement} root
 * @param {Session} session
 * @returns {View}
 */
export function mountOperator(root, session) {
  const body = h('tbody');
  const table = h('table', { class: 'roster', testid: 'roster' },
    h('caption', { text: t('meeting.roster') }),
    h('thead', {}, h('tr', {},
      ...['roster.name', 'roster.role', 'roster.state', 'roster.mic', 'roster.camera'].map((k) => h('th', { text: t(k), attrs: { scope: 'col' } })),
    )),
    body,
  );
  const program = videoElement({ class: 'program-video', testid: 'program-video' });
  const count = h('p', { class: 'attendance' });
  const toolbar = createToolbar(session, { publishes: false, canEnd: false });

  root.append(h('section', { class: 'meeting operator' },
    h('div', { class: 'meeting-main scroll' }, table),
    h('aside', { class: 'meeting-side' },
      h('p', { class: 'label', text: t('meeting.program') }),
      h('div', { class: 'program small' }, program),
      count,
    ),
    toolbar.element,
  ));

  function update() {
    const { stream } = session.program();
    setVideo(program, stream);
    const { joined, total } = attendance(session.roster);
    setText(count, t('meeting.sitesJoined', { joined, total }));
    // A table of a few hundred rows is cheap to rebuild, and only text is in it.
    body.replaceChildren(...session.roster.map(row));
    toolbar.update();
  }

  update();
  return { update, destroy() {} };
}

/**
 * @param {RosterEntry} site
 * @returns {HTMLTableRowElement}
 */
function row(site) {
  /** @param {boolean | undefined} on */
  const device = (on) => (site.state !== 'joined' || on === undefined ? t('roster.unknown') : on ? t('roster.on') : t('roster.off'));
  return h('tr', { testid: 'roster-row', attrs: { 'data-site-id': site.id, 'data-state': site.state } },
    h('td', { text: site.name }),
    h('td', { text: t(`role.${site.role}`) }),
    h('td', {}, h('span', { class: `badge state-${site.state}`, text: t(`site.${site.state}`) })),
    h('td', { text: device(site.mic) }),
    h('td', { text: device(site.camera) }),
  );
}
