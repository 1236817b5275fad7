/**
 * A site's meeting view: the main screen (the chair's video, large), the site's own picture
 * small in a corner, and the toolbar. Nothing else competes for attention on a hall's screen.
 */

import { t } from '../i18n/index.js';
import { h, setText, setVideo, videoElement } from './dom.js';
import { createToolbar } from './toolbar.js';

/** @typedef {import('../session.js').Session} Session */
/** @typedef {{update: () => void, destroy: () => void}} View */

/**
 * @param {HTMLElement} root
 * @param {Session} session
 * @returns {View}
 */
export function mountSite(root, session) {
  const program = videoElement({ class: 'program-video', testid: 'program-video' });
  const caption = h('div', { class: 'program-caption' });
  const waiting = h('p', { class: 'program-empty', text: t('meeting.waitingForChair') });
  const own = videoElement({ class: 'own-video mirror', testid: 'own-video' });
  const ownBox = h('div', { class: 'own', attrs: { 'aria-label': t('meeting.you') } }, own, h('span', { class: 'own-label', text: t('meeting.you') }));
  const toolbar = createToolbar(session, { publishes: true, canEnd: false });

  root.append(h('section', { class: 'meeting site' },
    h('div', { class: 'program large' }, program, waiting, caption, ownBox),
    toolbar.element,
  ));

  function update() {
    const { slot, stream } = session.program();
    setVideo(program, stream);
    program.hidden = stream === null;
    waiting.hidden = stream !== null;
    setText(caption, slot?.name ?? '');
    caption.hidden = !slot?.name;
    setVideo(own, session.cameraTrack ? session.local : null);
    ownBox.hidden = session.cameraTrack === null;
    toolbar.update();
  }

  update();
  return { update, destroy() {} };
}
