/**
 * What a site is told about its own standing, above its main screen: it has the floor; the
 * chair muted it or stopped its video (its own buttons still work, but nobody hears or sees
 * it); the chair allowed it again (it decides when to switch on); its hand is in the queue;
 * its own link is too weak for the full picture (the SFU sends a lower layer, or audio only).
 */

import { t } from '../i18n/index.js';
import { h, setText } from './dom.js';

/** @typedef {import('../session.js').Session} Session */

/**
 * @param {Session} session
 * @returns {{element: HTMLElement, update: () => void}}
 */
export function createSiteNotices(session) {
  const floorHint = h('span', { class: 'notice-hint' });
  const floor = h('div', { class: 'notice floor', testid: 'floor-banner', attrs: { role: 'status' } },
    h('strong', { text: t('floor.youHave') }), floorHint);
  const muted = h('div', { class: 'notice muted', testid: 'muted-banner', attrs: { role: 'status' } },
    h('strong', { text: t('muted.byChair') }), h('span', { class: 'notice-hint', text: t('muted.byChairHint') }));
  const stopped = h('div', { class: 'notice muted', testid: 'video-stopped-banner', attrs: { role: 'status' } },
    h('strong', { text: t('videoStopped.byChair') }), h('span', { class: 'notice-hint', text: t('videoStopped.byChairHint') }));
  const noticeText = h('span');
  const notice = h('div', { class: 'notice info', testid: 'chair-notice', attrs: { role: 'status' } },
    noticeText,
    h('button', { class: 'btn small', text: t('notice.dismiss'), on: { click: () => session.dismissNotice() } }));
  const hand = h('div', { class: 'notice hand', testid: 'hand-waiting', attrs: { role: 'status' } });
  const weak = h('div', { class: 'notice muted', testid: 'weak-link-banner', attrs: { role: 'status' } });
  const element = h('div', { class: 'notices' }, floor, muted, stopped, notice, hand, weak);

  function update() {
    const own = session.own;
    floor.hidden = !session.holdsFloor;
    // Muted by the chair, the red note below says why nobody hears; no contradiction here.
    setText(floorHint, own?.muted ? '' : session.micOn ? t('floor.heard') : t('floor.micOff'));
    floorHint.hidden = Boolean(own?.muted);
    muted.hidden = !own?.muted;
    stopped.hidden = !own?.video_stopped;
    const n = session.meetingState.notice;
    notice.hidden = n === null;
    setText(noticeText, n ? t(`notice.${n}`) : '');
    const position = session.handPosition;
    hand.hidden = position === 0;
    setText(hand, position ? t('hand.waiting', { n: position }) : '');
    const reception = own?.reception;
    weak.hidden = reception !== 'reduced' && reception !== 'audio_only';
    setText(weak, reception === 'audio_only' ? t('weak.audioOnly') : reception === 'reduced' ? t('weak.reduced') : '');
    element.hidden = [floor, muted, stopped, notice, hand, weak].every((el) => el.hidden);
  }

  update();
  return { element, update };
}
