/**
 * What the operators tell a site (or the chair hall), above its main screen: their messages
 * (`notice`), each shown large until someone at the site presses the button, and while they
 * have switched it to audio only, a banner saying so (it still hears the meeting and is
 * still seen and heard; only the picture it receives stops).
 */

import { t } from '../i18n/index.js';
import { h, setText, syncChildren } from './dom.js';

/** @typedef {import('../session.js').Session} Session */

/**
 * @param {Session} session
 * @returns {{element: HTMLElement, update: () => void}}
 */
export function createOperatorNotices(session) {
  const list = h('div', { class: 'operator-notices' });
  const audioOnly = h('div', { class: 'notice audio-only-forced', testid: 'audio-only-forced', attrs: { role: 'status' } },
    h('strong', { text: t('audioOnlyForced.title') }),
    h('span', { class: 'notice-hint', text: t('audioOnlyForced.hint') }));
  const element = h('div', { class: 'notices' }, list, audioOnly);
  /** @type {Map<string, {element: HTMLElement}>} */
  const shown = new Map();

  /** @param {string} key */
  function create(key) {
    const id = Number(key);
    const text = h('p', { class: 'operator-notice-text' });
    const element = h('div', { class: 'notice operator-notice', testid: 'operator-notice', attrs: { role: 'alert' } },
      h('div', { class: 'operator-notice-body' }, h('strong', { text: t('operatorNotice.title') }), text),
      h('button', { class: 'btn', text: t('notice.dismiss'), attrs: { type: 'button' }, on: { click: () => session.dismissOperatorNotice(id) } }));
    setText(text, session.operatorNotices.find((n) => n.id === id)?.text ?? '');
    return { element };
  }

  function update() {
    syncChildren(list, shown, session.operatorNotices.map((n) => String(n.id)), create);
    audioOnly.hidden = !session.audioOnlyForced;
    element.hidden = shown.size === 0 && audioOnly.hidden;
  }

  update();
  return { element, update };
}
