/**
 * Full-page messages: no invitation link, left, ended (by the chair, or this site removed
 * by it), and a join that failed (bad or expired link, meeting gone, site removed, meeting
 * locked, link taken over by another window). Each says what happened and, where something
 * can be done, offers the one button that does it: trying again is always the user's click,
 * never a loop that hammers the server.
 */

import { hasKey, t } from '../i18n/index.js';
import { h } from './dom.js';

/** @typedef {import('../session.js').Session} Session */
/** @typedef {{update: () => void, destroy: () => void}} View */

/**
 * @param {HTMLElement} root
 * @param {Session} session
 * @returns {View}
 */
export function mountMessage(root, session) {
  const { title, body, action } = content(session);
  root.append(h('section', { class: 'message', testid: `screen-${session.screen}` },
    h('h1', { text: title }),
    h('p', { text: body }),
    action && h('button', { class: 'btn primary huge', text: action.label, on: { click: action.run } }),
  ));
  return { update() {}, destroy() {} };
}

/**
 * @param {Session} session
 * @returns {{title: string, body: string, action: {label: string, run: () => void} | null}}
 */
function content(session) {
  switch (session.screen) {
    case 'no-token':
      return { title: t('noToken.title'), body: t('noToken.body'), action: null };
    case 'left':
      return { title: t('left.title'), body: t('left.body'), action: { label: t('left.rejoin'), run: () => session.rejoin() } };
    case 'ended':
      return session.endReason === 'removed_by_chair'
        ? { title: t('ended.removed.title'), body: t('ended.removed.body'), action: null }
        : { title: t('ended.title'), body: t('ended.body'), action: null };
    default: {
      const code = session.failure ?? 'invalid_token';
      const key = hasKey(`failed.${code}.title`) ? code : 'invalid_token';
      const action = code === 'replaced'
        ? { label: t('failed.useHere'), run: () => session.rejoin({ enter: true }) }
        : code === 'unsupported_version'
          ? { label: t('failed.reload'), run: () => location.reload() }
          : code === 'site_removed' || code === 'locked'
            ? { label: t('failed.retry'), run: () => session.rejoin() }
            : null;
      return { title: t(`failed.${key}.title`), body: t(`failed.${key}.body`), action };
    }
  }
}
