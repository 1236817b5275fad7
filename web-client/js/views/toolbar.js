/**
 * The bar under every meeting view: microphone and camera toggles, the view's own buttons
 * (raise hand, present, open, lock, roll call…), the connection-quality mark, Leave, and for
 * the chair (and co-chairs) End meeting with its confirmation dialog.
 */

import { t } from '../i18n/index.js';
import { shownMark } from '../quality.js';
import { h, setText } from './dom.js';

/** @typedef {import('../session.js').Session} Session */

/**
 * @param {Session} session
 * @param {object} options
 * @param {boolean} options.publishes the operator publishes nothing
 * @param {boolean | (() => boolean)} options.canEnd the chair may end the meeting, and a
 *   site while it is co-chair
 * @param {Node[]} [options.left] after the device toggles
 * @param {Node[]} [options.right] before End meeting and Leave
 * @returns {{element: HTMLElement, update: () => void}}
 */
export function createToolbar(session, { publishes, canEnd, left = [], right = [] }) {
  const mic = h('button', { class: 'btn toggle', testid: 'mic-toggle', on: { click: () => session.toggleMic() } });
  const camera = h('button', { class: 'btn toggle', testid: 'camera-toggle', on: { click: () => session.toggleCamera() } });
  const quality = h('span', { class: 'quality', testid: 'quality', attrs: { role: 'status' } });
  const leave = h('button', { class: 'btn leave', testid: 'leave-button', text: t('meeting.leave'), on: { click: () => session.leave() } });
  const end = canEnd ? createEndMeeting(session) : null;

  const element = h('footer', { class: 'toolbar' },
    publishes && mic,
    publishes && camera,
    ...left,
    quality,
    h('span', { class: 'spacer' }),
    ...right,
    end?.button,
    leave,
    end?.dialog,
  );

  function update() {
    const hasMic = session.micTrack !== null;
    mic.disabled = !hasMic;
    setText(mic, !hasMic ? t('meeting.noMic') : session.micOn ? t('meeting.micOn') : t('meeting.micOff'));
    mic.classList.toggle('off', !session.micOn);
    mic.setAttribute('aria-pressed', String(!session.micOn));

    const hasCamera = session.cameraTrack !== null;
    camera.disabled = !hasCamera;
    setText(camera, !hasCamera ? t('meeting.noCamera') : session.cameraOn ? t('meeting.cameraOn') : t('meeting.cameraOff'));
    camera.classList.toggle('off', !session.cameraOn);
    camera.setAttribute('aria-pressed', String(!session.cameraOn));

    // Short on the bar; the full sentence for screen readers and on hover.
    // The SFU's verdict on the line caps the browser's own (see `shownMark`).
    const shown = shownMark(session.quality, session.own?.reception);
    const mark = t(`quality.${shown}`);
    setText(quality, t('quality.short', { mark }));
    quality.title = t('quality.label', { mark });
    quality.setAttribute('aria-label', quality.title);
    quality.className = `quality quality-${shown}`;
    quality.dataset.quality = shown;
    if (end) end.button.hidden = typeof canEnd === 'function' ? !canEnd() : !canEnd;
  }

  update();
  return { element, update };
}

/**
 * The End meeting button and its dialog: ending cannot be undone (every link stops
 * working), so it always asks first.
 * @param {Session} session
 */
function createEndMeeting(session) {
  const dialog = h('dialog', { class: 'confirm' });
  const cancel = h('button', { class: 'btn', text: t('meeting.cancel'), on: { click: () => dialog.close() } });
  const confirm = h('button', {
    class: 'btn danger',
    testid: 'confirm-end',
    text: t('meeting.confirmEnd'),
    on: {
      click: () => {
        dialog.close();
        session.endMeeting();
      },
    },
  });
  dialog.append(
    h('h2', { text: t('meeting.confirmEndTitle') }),
    h('p', { text: t('meeting.confirmEndBody') }),
    h('div', { class: 'dialog-buttons' }, cancel, confirm),
  );
  const button = h('button', {
    class: 'btn danger',
    testid: 'end-meeting',
    text: t('meeting.endMeeting'),
    on: {
      click: () => {
        dialog.showModal();
        // Focus the safe choice, so an Enter key press does not end the meeting.
        cancel.focus();
      },
    },
  });
  return { button, dialog };
}
