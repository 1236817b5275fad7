/**
 * The meeting totals over the operators' table: who is in, total bitrates, and how many
 * sites are behind TURN, losing packets, slow, silent on the floor or forced to audio only.
 * A figure that needs attention is marked (`data-warn`).
 */

import { getLanguage, t } from '../i18n/index.js';
import { formatters } from '../operator-stats.js';
import { h, setText } from './dom.js';

/** @typedef {import('../operator-stats.js').OpsTotals} OpsTotals */
/** @typedef {import('../operator-stats.js').Equipment} Equipment */

/**
 * The players' count and since when each watches (the operators' list of them).
 * @param {Equipment} totals
 */
export function viewersText(totals) {
  if (totals.viewers === 0) return '0';
  const since = totals.viewersSince.map((ms) => {
    const d = new Date(ms);
    return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  });
  return since.length ? `${totals.viewers} (${since.join(', ')})` : String(totals.viewers);
}

/**
 * @returns {{element: HTMLElement, update: (totals: OpsTotals, live: boolean, equipment?: Equipment) => void}}
 */
export function createOpsTotals() {
  /** @type {[string, string][]} */
  const items = [
    ['joined', t('ops.total.joined')],
    ['connected', t('ops.total.connected')],
    ['up', t('ops.total.up')],
    ['down', t('ops.total.down')],
    ['relay', t('ops.total.relay')],
    ['loss', t('ops.total.loss')],
    ['rtt', t('ops.total.rtt')],
    ['silent', t('ops.total.silent')],
    ['audio-only', t('ops.total.audioOnly')],
    ['viewers', t('ops.total.viewers')],
    ['feeds', t('ops.total.feeds')],
  ];
  /** @type {Record<string, HTMLElement>} */
  const values = {};
  const element = h('dl', { class: 'ops-totals', testid: 'ops-totals' }, ...items.map(([key, label]) => {
    values[key] = h('dd', {});
    return h('div', { class: 'ops-total', attrs: { 'data-total': key } }, h('dt', { text: label }), values[key]);
  }));

  /**
   * @param {OpsTotals} totals
   * @param {boolean} live a `stats` message is at hand (else bitrates are unknown)
   * @param {Equipment} [equipment] the hall's WHIP feeds and WHEP players
   */
  function update(totals, live, equipment = { viewers: 0, viewersSince: [], feeds: [] }) {
    const fmt = formatters(getLanguage());
    /** @type {Record<string, [string, boolean]>} */
    const shown = {
      joined: [`${totals.joined}/${totals.expected}`, false],
      connected: [live ? String(totals.connected) : '—', false],
      up: [fmt.mbps(totals.upKbps), false],
      down: [fmt.mbps(totals.downKbps), false],
      relay: [String(totals.relay), false],
      loss: [String(totals.loss), totals.loss > 0],
      rtt: [String(totals.rtt), totals.rtt > 0],
      silent: [String(totals.silent), totals.silent > 0],
      'audio-only': [String(totals.audioOnly), false],
      viewers: [viewersText(equipment), false],
      feeds: [equipment.feeds.length ? equipment.feeds.join(', ') : '—', false],
    };
    for (const [key, [text, warn]] of Object.entries(shown)) {
      setText(values[key], text);
      const box = /** @type {HTMLElement} */ (values[key].parentElement);
      if (warn) box.dataset.warn = 'true';
      else delete box.dataset.warn;
    }
  }

  return { element, update };
}
