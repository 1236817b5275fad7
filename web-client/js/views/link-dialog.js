/**
 * The chair's dialog for a reissued invite link: after `reissue_link` the server answers
 * `link`, and the chair must pass the new link to the real site by some other channel
 * (phone, official mail), so it is shown whole in a read-only field with a copy button,
 * and the dialog says the old link no longer works. Closing it forgets the link.
 */

import { t } from '../i18n/index.js';
import { h, setText } from './dom.js';

/** @typedef {import('../session.js').Session} Session */

/**
 * @param {Session} session
 * @returns {{element: HTMLDialogElement, update: () => void}}
 */
export function createLinkDialog(session) {
  const title = h('h2');
  const body = h('p', { text: t('link.body') });
  const field = h('input', { class: 'link-field', testid: 'reissued-link', attrs: { type: 'text', readonly: '', 'aria-label': t('link.body') } });
  const status = h('p', { class: 'link-status', attrs: { role: 'status' } });
  const copy = h('button', { class: 'btn primary', testid: 'copy-link', text: t('link.copy'), on: { click: () => void copyLink() } });
  const close = h('button', { class: 'btn', testid: 'close-link', text: t('link.close'), on: { click: () => element.close() } });
  const element = h('dialog', { class: 'confirm link-dialog', testid: 'link-dialog' },
    title, body, field, status, h('div', { class: 'dialog-buttons' }, close, copy));
  // Escape closes a dialog without the button: either way the link is forgotten.
  element.addEventListener('close', () => {
    if (session.issuedLink !== null) session.dismissLink();
  });
  /** The `seq` of the answer on show, so a re-render does not reopen it. */
  let shown = 0;

  async function copyLink() {
    field.select();
    try {
      await navigator.clipboard.writeText(field.value);
      setText(status, t('link.copied'));
    } catch {
      // No clipboard permission (plain http, old browser): the text is selected for Ctrl+C.
      setText(status, t('link.copyFailed'));
    }
  }

  function update() {
    const issued = session.issuedLink;
    if (!issued || issued.seq === shown) return;
    shown = issued.seq;
    setText(title, t('link.title', { name: issued.name }));
    field.value = issued.link;
    setText(status, '');
    if (!element.open) element.showModal();
    field.select();
  }

  return { element, update };
}
