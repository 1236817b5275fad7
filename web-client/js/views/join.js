/**
 * The join page: the site sees itself, can pick camera and microphone, reads the meeting
 * title and its own site name, and presses one big button. Device problems are explained in
 * plain words with a Try again button; joining works without devices too.
 */

import { t } from '../i18n/index.js';
import { h, setText, setVideo, videoElement } from './dom.js';
import { createMicMeter } from './meter.js';

/** @typedef {import('../session.js').Session} Session */
/** @typedef {{update: () => void, destroy: () => void}} View */

/**
 * @param {HTMLElement} root
 * @param {Session} session
 * @returns {View}
 */
export function mountJoin(root, session) {
  const preview = videoElement({ class: 'preview mirror', testid: 'preview-video' });
  const noPreview = h('p', { class: 'preview-empty', text: t('join.noPreview') });
  const meter = createMicMeter(t('join.micLevel'));
  const cameraSelect = h('select', { testid: 'camera-select', on: { change: () => void session.chooseDevice('video', cameraSelect.value) } });
  const micSelect = h('select', { testid: 'mic-select', on: { change: () => void session.chooseDevice('audio', micSelect.value) } });
  const problems = h('div', { class: 'device-error', testid: 'device-error', attrs: { role: 'alert' } });
  const retry = h('button', { class: 'btn', text: t('device.retry'), on: { click: () => void session.openDevices() } });
  const cameraField = h('label', { class: 'field' }, h('span', { text: t('join.camera') }), cameraSelect);
  const micField = h('label', { class: 'field' }, h('span', { text: t('join.microphone') }), micSelect);
  const devicePanel = h('div', { class: 'join-devices' },
    h('div', { class: 'preview-box' }, preview, noPreview),
    meter.element,
    cameraField,
    micField,
    h('div', { class: 'device-problems' }, problems, retry),
  );

  const title = h('h1', { class: 'meeting-title' });
  const siteName = h('p', { class: 'site-name' });
  const role = h('p', { class: 'role' });
  const hint = h('p', { class: 'hint' });
  // The line check runs after Join, in the lobby (`views/line-check.js`); say so here.
  const checkHint = h('p', { class: 'join-check-hint', testid: 'join-check-hint', text: t('check.joinHint') });
  // Told before entering, as the law requires: the meeting is being recorded.
  const recorded = h('p', { class: 'join-recording', testid: 'join-recording-notice', text: t('recording.joinNotice') });
  const join = h('button', { class: 'btn primary huge', testid: 'join-button', on: { click: () => session.enter() } });
  const info = h('div', { class: 'join-info' },
    h('p', { class: 'label', text: t('join.meeting') }),
    title,
    h('p', { class: 'label', text: t('join.yourSite') }),
    siteName,
    role,
    hint,
    recorded,
    join,
    checkHint,
  );

  const section = h('section', { class: 'join' }, devicePanel, info);
  root.append(section);

  function update() {
    const joined = session.isJoined && session.you !== null;
    const operator = session.you?.role === 'operator';
    setText(title, joined ? session.meeting?.title ?? '' : t('join.connecting'));
    setText(siteName, session.you?.name ?? '');
    setText(role, session.you ? `${t('join.yourRole')}: ${t(`role.${session.you.role}`)}` : '');
    setText(hint, operator ? t('join.operatorHint') : t('join.hint'));
    join.disabled = !joined;
    recorded.hidden = !session.meetingState.recording;
    checkHint.hidden = operator || session.meetingState.phase !== 'lobby';
    setText(join, joined ? t('join.button') : t('join.buttonWaiting'));

    devicePanel.hidden = operator;
    section.classList.toggle('solo', operator);
    setVideo(preview, session.cameraTrack ? session.local : null);
    noPreview.hidden = session.cameraTrack !== null;
    meter.setStream(session.local);
    fillSelect(cameraSelect, session.devices.video, session.chosen.video, 'device.unnamedCamera');
    fillSelect(micSelect, session.devices.audio, session.chosen.audio, 'device.unnamedMic');
    cameraField.hidden = session.devices.video.length === 0;
    micField.hidden = session.devices.audio.length === 0;

    problems.replaceChildren(...session.problems.map((p) => h('p', { text: t(p.key) })));
    problems.hidden = session.problems.length === 0;
    retry.hidden = session.problems.length === 0;
  }

  update();
  return { update, destroy: () => meter.destroy() };
}

/**
 * Refills a device select when the list changed, keeping the current choice selected.
 * @param {HTMLSelectElement} select
 * @param {MediaDeviceInfo[]} devices
 * @param {string | null} chosen
 * @param {string} unnamedKey i18n key for devices without a label
 */
function fillSelect(select, devices, chosen, unnamedKey) {
  const ids = devices.map((d) => d.deviceId).join('\n');
  if (select.dataset.ids !== ids) {
    select.dataset.ids = ids;
    select.replaceChildren(...devices.map((d, i) => h('option', {
      text: d.label || t(unnamedKey, { n: i + 1 }),
      attrs: { value: d.deviceId },
    })));
  }
  if (chosen && select.value !== chosen) select.value = chosen;
}
