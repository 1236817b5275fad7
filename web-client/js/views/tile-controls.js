/**
 * The moderation controls of one site, on its tile in the chair's grid or on its row in a
 * co-chair's list: one worded quick button (give / take back the floor, or let a removed
 * site back in) and a row of icon buttons, each with its words as tooltip and accessible
 * name (lower hand, mute, stop video, spotlight, listen, co-chair, reissue link, remove). All
 * of them are on the tile itself, one click away. Which actions exist is `moderation.js`'s
 * decision; this file only draws and runs them. Removing and reissuing a link ask first.
 */

import { t } from '../i18n/index.js';
import { primaryAction, siteActions } from '../moderation.js';
import { h, rebuildIfChanged, setText } from './dom.js';
import { icon } from './icons.js';

/** @typedef {import('../session.js').Session} Session */
/** @typedef {import('../roster.js').RosterEntry} RosterEntry */
/** @typedef {import('../moderation.js').SiteAction} SiteAction */
/** @typedef {import('../moderation.js').SiteContext} SiteContext */
/** @typedef {ReturnType<typeof import('./confirm.js').createConfirm>} Confirm */

/**
 * What is known about a site for the moderation decisions.
 * @param {Session} session
 * @param {string} siteId
 * @returns {SiteContext}
 */
export function contextFor(session, siteId) {
  const ms = session.meetingState;
  return {
    floor: ms.floor,
    moderator: session.you?.role === 'chair' ? 'chair' : 'cochair',
    removed: ms.removed.has(siteId),
    listening: !ms.notListening.has(siteId),
  };
}

/**
 * Runs an action, asking first when it says so.
 * @param {Session} session
 * @param {Confirm} confirm
 * @param {SiteAction} action
 * @param {string} name the site's name, for the question
 */
export function runAction(session, confirm, action, name) {
  if (!action.confirm) {
    session.chairing.act(action.message);
    return;
  }
  const kind = action.confirm;
  confirm.ask({
    title: t(`confirm.${kind}Title`, { name }),
    body: t(`confirm.${kind}Body`),
    confirm: t(`confirm.${kind}`),
    onConfirm: () => session.chairing.act(action.message),
  });
}

/**
 * @param {Session} session
 * @param {Confirm} confirm the view's shared dialog (its confirming button is `confirm-remove`)
 * @returns {{quick: HTMLButtonElement, bar: HTMLElement, update: (site: RosterEntry) => void}}
 */
export function createSiteControls(session, confirm) {
  /** @type {SiteAction | null} */
  let quickAction = null;
  let name = '';

  const quick = h('button', { class: 'btn small quick', on: { click: () => quickAction && runAction(session, confirm, quickAction, name) } });
  const bar = h('div', { class: 'site-actions', attrs: { role: 'group' } });

  /** @param {RosterEntry} site */
  function update(site) {
    const ctx = contextFor(session, site.id);
    name = site.name;
    quickAction = primaryAction(site, ctx);
    quick.hidden = quickAction === null;
    if (quickAction) {
      setText(quick, t(quickAction.label));
      quick.dataset.testid = quickAction.testid;
      quick.dataset.siteId = site.id;
      quick.className = `btn small quick quick-${quickAction.id}`;
    }
    const actions = siteActions(site, ctx);
    bar.hidden = actions.length === 0;
    bar.setAttribute('aria-label', t('action.menu', { name: site.name }));
    rebuildIfChanged(bar, actions.map((a) => `${a.id}:${a.label}:${a.pressed ?? ''}`).join(','), () => actions.map((a) => {
      const label = t(a.label);
      const button = h('button', {
        class: `icon-btn${a.pressed ? ' on' : ''}${a.danger ? ' danger' : ''}`,
        testid: a.testid,
        attrs: { 'data-site-id': site.id, title: label, 'aria-label': label },
        on: { click: () => runAction(session, confirm, a, name) },
      });
      if (a.pressed !== undefined) button.setAttribute('aria-pressed', String(a.pressed));
      button.append(icon(/** @type {keyof typeof import('./icons.js').ICONS} */ (a.icon ?? 'star')));
      return button;
    }));
  }

  return { quick, bar, update };
}
