/**
 * One site's tile in the chair's grid: its video when a receive slot carries it, otherwise
 * its name on a plain background, with its state (waiting / joined / left), device marks,
 * the chair's marks (hand, floor, muted, video stopped, co-chair, removed), its last line
 * check and, for the chair, the site's moderation controls.
 */

import { t } from '../i18n/index.js';
import { showCheck } from './check-badge.js';
import { h, rebuildIfChanged, setText, setVideo, videoElement } from './dom.js';

/** @typedef {import('../roster.js').RosterEntry} RosterEntry */
/** @typedef {import('../moderation.js').SiteMark} SiteMark */
/** @typedef {import('../protocol.js').CheckReportMessage} CheckReportMessage */

/**
 * @param {string} siteId
 * @param {{quick: HTMLElement, bar: HTMLElement, update: (site: RosterEntry) => void} | null} [controls]
 * @returns {{element: HTMLElement, update: (site: RosterEntry, stream: MediaStream | null, marks?: SiteMark[], check?: CheckReportMessage | null) => void}}
 */
export function createTile(siteId, controls = null) {
  const video = videoElement({ class: 'tile-video' });
  const name = h('span', { class: 'tile-name' });
  const state = h('span', { class: 'badge' });
  const micOff = h('span', { class: 'badge warn' });
  const cameraOff = h('span', { class: 'badge warn' });
  const check = h('span', { class: 'check-slot' });
  const marks = h('div', { class: 'tile-marks' });
  const element = h('div', { class: 'tile', testid: 'site-tile', attrs: { 'data-site-id': siteId } },
    video,
    h('div', { class: 'tile-top' }, marks, controls?.quick),
    h('div', { class: 'tile-caption' }, name, state, micOff, cameraOff, check),
    controls?.bar,
  );
  element.classList.toggle('has-actions', controls !== null);

  /**
   * @param {RosterEntry} site
   * @param {MediaStream | null} stream
   * @param {SiteMark[]} [siteMarks]
   * @param {CheckReportMessage | null} [checkResult] the site's last line check
   */
  function update(site, stream, siteMarks = [], checkResult = null) {
    element.dataset.state = site.state;
    element.classList.toggle('has-video', stream !== null);
    element.classList.toggle('has-floor', siteMarks.some((m) => m.key === 'mark.floor'));
    element.classList.toggle('hand-up', siteMarks.some((m) => m.key === 'mark.hand'));
    element.classList.toggle('removed', siteMarks.some((m) => m.key === 'mark.removed'));
    setVideo(video, stream);
    video.hidden = stream === null;
    setText(name, site.name);
    setText(state, t(`site.${site.state}`));
    state.className = `badge state-${site.state}`;
    const here = site.state === 'joined';
    micOff.hidden = !here || site.mic !== false;
    setText(micOff, t('site.micOff'));
    cameraOff.hidden = !here || site.camera !== false;
    setText(cameraOff, t('site.cameraOff'));
    rebuildIfChanged(marks, siteMarks.map((m) => m.key).join(','), () => siteMarks.map((m) => h('span', {
      class: `badge mark mark-${m.tone}`,
      text: t(m.key),
      attrs: { 'data-mark': m.key.replace('mark.', '') },
    })));
    showCheck(check, checkResult);
    controls?.update(site);
  }

  return { element, update };
}
