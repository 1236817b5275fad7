/**
 * A site's meeting view: the main screen (the program, large), what the site is told about
 * its own standing (floor, muted by the chair, hand in the queue), the messages beside it,
 * and the toolbar (microphone, camera, raise hand, present while it has the floor); in the
 * lobby, the line check above the main screen. A site
 * the chair made co-chair also gets the hand queue and a list of sites with the chair's
 * controls, and keeps its main screen.
 */

import { t } from '../i18n/index.js';
import { createChatPanel } from './chat.js';
import { createConfirm } from './confirm.js';
import { h, setText } from './dom.js';
import { createHandQueue } from './hands.js';
import { createLineCheckPanel } from './line-check.js';
import { createMeetingControls } from './meeting-controls.js';
import { createSiteNotices } from './notices.js';
import { createOperatorNotices } from './operator-notices.js';
import { createProgram } from './program.js';
import { createSiteList } from './site-list.js';
import { createToolbar } from './toolbar.js';

/** @typedef {import('../session.js').Session} Session */
/** @typedef {{update: () => void, destroy: () => void}} View */

/** Whether the messages column is shown; kept when the view is mounted again. */
let chatShown = true;

/**
 * @param {HTMLElement} root
 * @param {Session} session
 * @returns {View}
 */
export function mountSite(root, session) {
  const notices = createSiteNotices(session);
  const fromOperators = createOperatorNotices(session);
  const program = createProgram(session);
  const lineCheck = createLineCheckPanel(session);
  const chat = createChatPanel(session);
  const confirm = createConfirm({ testid: 'confirm-remove' });
  const hands = createHandQueue(session);
  const sites = createSiteList(session, confirm);
  const cochairTitle = h('p', { class: 'cochair-title', text: t('meeting.cochair') });
  const moderation = h('div', { class: 'moderation' }, cochairTitle, hands.element, sites.element);
  const controls = createMeetingControls(session);
  /** Messages received while the column was hidden. */
  let seen = session.meetingState.chatLog.length;
  const chatToggle = h('button', {
    class: 'btn',
    testid: 'chat-toggle',
    on: {
      click: () => {
        chatShown = !chatShown;
        update();
      },
    },
  });
  const toolbar = createToolbar(session, {
    publishes: true,
    canEnd: () => session.isCochair,
    left: [controls.hand, controls.present],
    right: [controls.open, controls.lock, controls.record, chatToggle],
  });
  const side = h('aside', { class: 'meeting-side site-side' }, moderation, chat.element);
  const section = h('section', { class: 'meeting site' },
    h('div', { class: 'site-main' }, fromOperators.element, notices.element, lineCheck.element, program.element),
    side,
    toolbar.element,
    confirm.element,
  );
  root.append(section);

  function update() {
    const cochair = session.isCochair;
    moderation.hidden = !cochair;
    chat.element.hidden = !chatShown;
    side.hidden = !chatShown && !cochair;
    section.classList.toggle('with-side', !side.hidden);
    section.classList.toggle('compact-bar', cochair);
    const total = session.meetingState.chatLog.length;
    if (chatShown) seen = total;
    const unread = total - seen;
    setText(chatToggle, chatShown ? t('chat.hide') : unread > 0 ? t('chat.showUnread', { n: unread }) : t('chat.show'));
    chatToggle.classList.toggle('attention', !chatShown && unread > 0);
    chatToggle.setAttribute('aria-expanded', String(chatShown));

    fromOperators.update();
    notices.update();
    program.update();
    lineCheck.update();
    chat.update();
    if (cochair) {
      hands.update();
      sites.update();
    }
    controls.update();
    toolbar.update();
  }

  update();
  return { update, destroy: () => hands.destroy() };
}
