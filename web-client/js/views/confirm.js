/**
 * A yes/no dialog for actions that cannot be taken back (ending the meeting, removing a
 * site). The safe choice has the focus, so an Enter key press does nothing harmful.
 */

import { t } from '../i18n/index.js';
import { h, setText } from './dom.js';

/**
 * @param {{testid: string}} options `data-testid` of the confirming button
 * @returns {{element: HTMLDialogElement, ask: (q: {title: string, body: string, confirm: string,
 *   onConfirm: () => void}) => void}}
 */
export function createConfirm({ testid }) {
  const title = h('h2');
  const body = h('p');
  /** @type {() => void} */
  let onConfirm = () => {};
  const element = h('dialog', { class: 'confirm' });
  const cancel = h('button', { class: 'btn', text: t('meeting.cancel'), on: { click: () => element.close() } });
  const confirm = h('button', {
    class: 'btn danger',
    testid,
    on: {
      click: () => {
        element.close();
        onConfirm();
      },
    },
  });
  element.append(title, body, h('div', { class: 'dialog-buttons' }, cancel, confirm));

  /** @param {{title: string, body: string, confirm: string, onConfirm: () => void}} q */
  function ask(q) {
    setText(title, q.title);
    setText(body, q.body);
    setText(confirm, q.confirm);
    onConfirm = q.onConfirm;
    element.showModal();
    cancel.focus();
  }

  return { element, ask };
}
