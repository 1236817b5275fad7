/**
 * One site's tile in the chair's grid: its video when a receive slot carries it, otherwise
 * its name on a plain background, with its state (waiting / joined / left) and device marks.
 */

import { t } from '../i18n/index.js';
import { h, setText, setVideo, videoElement } from './dom.js';

/** @typedef {import('../roster.js').RosterEntry} RosterEntry */

/**
 * @param {string} siteId
 * @returns {{element: HTMLElement, update: (site: RosterEntry, stream: MediaStream | null) => void}}
 */
export function createTile(siteId) {
  const video = videoElement({ class: 'tile-video' });
  const name = h('span', { class: 'tile-name' });
  const state = h('span', { class: 'badge' });
  const micOff = h('span', { class: 'badge warn' });
  const cameraOff = h('span', { class: 'badge warn' });
  const element = h('div', { class: 'tile', testid: 'site-tile', attrs: { 'data-site-id': siteId } },
    video,
    h('div', { class: 'tile-caption' }, name, state, micOff, cameraOff),
  );

  /**
   * @param {RosterEntry} site
   * @param {MediaStream | null} stream
   */
  function update(site, stream) {
    element.dataset.state = site.state;
    element.classList.toggle('has-video', stream !== null);
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
  }

  return { element, update };
}
