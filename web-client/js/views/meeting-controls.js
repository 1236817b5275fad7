/**
 * The meeting-wide buttons of the toolbar: Present screen (chair, co-chair, a floor holder),
 * Raise / Lower hand (sites), and for the chair and co-chairs Open the meeting (while in the
 * lobby), Lock / Unlock and Record / Stop recording. Each hides when it does not apply, so a commune sees only what
 * it can use.
 */

import { t } from '../i18n/index.js';
import { lockMessage, openMeetingMessage, recordingMessage } from '../messages.js';
import { h, setText } from './dom.js';

/** @typedef {import('../session.js').Session} Session */

/**
 * @param {Session} session
 * @returns {{hand: HTMLButtonElement, present: HTMLButtonElement, open: HTMLButtonElement,
 *   lock: HTMLButtonElement, record: HTMLButtonElement, update: () => void}}
 */
export function createMeetingControls(session) {
  const hand = h('button', { class: 'btn toggle hand-toggle', testid: 'raise-hand', on: { click: () => session.toggleHand() } });
  const present = h('button', {
    class: 'btn present',
    testid: 'present-button',
    on: {
      click: () => {
        if (session.screenShare.track) session.stopPresenting();
        else void session.startPresenting();
      },
    },
  });
  const open = h('button', { class: 'btn primary', testid: 'open-meeting', text: t('meeting.open'), on: { click: () => session.chairing.act(openMeetingMessage()) } });
  const lock = h('button', { class: 'btn', testid: 'lock-toggle', on: { click: () => session.chairing.act(lockMessage(!session.meetingState.locked)) } });
  const record = h('button', { class: 'btn record-toggle', testid: 'record-toggle', on: { click: () => session.chairing.act(recordingMessage(!session.meetingState.recording)) } });

  function update() {
    const ms = session.meetingState;
    const isSite = session.you?.role === 'site';
    hand.hidden = !isSite || session.holdsFloor;
    const up = session.handPosition > 0;
    setText(hand, up ? t('hand.lower') : t('hand.raise'));
    hand.setAttribute('aria-pressed', String(up));
    hand.classList.toggle('raised', up);

    const sharing = session.screenShare.track !== null;
    present.hidden = !sharing && !session.mayPresent;
    setText(present, sharing ? t('present.stop') : t('present.start'));
    present.setAttribute('aria-pressed', String(sharing));
    present.classList.toggle('on', sharing);

    open.hidden = !session.canModerate || ms.phase !== 'lobby';
    lock.hidden = !session.canModerate;
    setText(lock, ms.locked ? t('meeting.unlock') : t('meeting.lock'));
    lock.setAttribute('aria-pressed', String(ms.locked));
    lock.classList.toggle('on', ms.locked);

    record.hidden = !session.canModerate;
    setText(record, ms.recording ? t('recording.stop') : t('recording.start'));
    record.setAttribute('aria-pressed', String(ms.recording));
    record.classList.toggle('on', ms.recording);
  }

  update();
  return { hand, present, open, lock, record, update };
}
