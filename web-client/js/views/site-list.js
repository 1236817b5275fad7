/**
 * A co-chair's list of sites with their marks and moderation controls: the co-chair keeps
 * its own main screen, so it gets the chair's controls as a compact list rather than a grid.
 */

import { t } from '../i18n/index.js';
import { isModeratable, siteMarks } from '../moderation.js';
import { showCheck } from './check-badge.js';
import { h, rebuildIfChanged, setText, syncChildren } from './dom.js';
import { contextFor, createSiteControls } from './tile-controls.js';

/** @typedef {import('../session.js').Session} Session */
/** @typedef {ReturnType<typeof import('./confirm.js').createConfirm>} Confirm */

/**
 * @param {Session} session
 * @param {Confirm} confirm
 * @returns {{element: HTMLElement, update: () => void}}
 */
export function createSiteList(session, confirm) {
  const list = h('ul', { class: 'site-list', testid: 'site-list' });
  const element = h('section', { class: 'panel', attrs: { 'aria-label': t('meeting.siteControls') } },
    h('h2', { class: 'panel-title', text: t('meeting.siteControls') }),
    list,
  );
  /** @type {Map<string, {element: HTMLElement, update: () => void}>} */
  const rows = new Map();

  /** @param {string} id */
  function createRow(id) {
    const name = h('span', { class: 'row-name' });
    const state = h('span', { class: 'badge' });
    const marks = h('span', { class: 'row-marks' });
    const check = h('span', { class: 'check-slot' });
    const controls = createSiteControls(session, confirm);
    const element = h('li', { class: 'site-row', testid: 'site-row', attrs: { 'data-site-id': id } },
      h('div', { class: 'site-row-head' }, h('div', { class: 'site-row-text' }, name, state, marks, check), controls.quick),
      controls.bar,
    );
    return {
      element,
      update() {
        const site = session.roster.find((s) => s.id === id);
        if (!site) return;
        element.dataset.state = site.state;
        setText(name, site.name);
        setText(state, t(`site.${site.state}`));
        state.className = `badge state-${site.state}`;
        const m = siteMarks(site, contextFor(session, id));
        rebuildIfChanged(marks, m.map((x) => x.key).join(','), () => m.map((x) => h('span', { class: `badge mark mark-${x.tone}`, text: t(x.key) })));
        showCheck(check, session.checks[id]);
        controls.update(site);
      },
    };
  }

  function update() {
    const ids = session.roster.filter((s) => isModeratable(s) && s.id !== session.you?.id).map((s) => s.id);
    for (const row of syncChildren(list, rows, ids, createRow)) row.update();
  }

  update();
  return { element, update };
}
