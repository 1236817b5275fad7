/**
 * A site's last line check as the chair, co-chairs and operators see it: a small verdict
 * mark (`checkBadge`) whose tooltip gives the time and the figures; and the figures in
 * plain words (`checkFigures`), which the site's own result panel lists too.
 */

import { getLanguage, t } from '../i18n/index.js';
import { h, rebuildIfChanged } from './dom.js';

/** @typedef {import('../protocol.js').CheckResultMessage} CheckResultMessage */
/** @typedef {import('../protocol.js').CheckReportMessage} CheckReportMessage */

/** @param {number} n */
function number(n) {
  return n.toLocaleString(getLanguage() === 'vi' ? 'vi-VN' : 'en-GB', { maximumFractionDigits: 1 });
}

/**
 * @param {number | null} n
 * @param {string} unitKey `check.ms`, `check.pct`, `check.kbps`
 */
function withUnit(n, unitKey) {
  return n === null ? t('check.unknown') : t(unitKey, { n: number(n) });
}

/**
 * The figures of a result, labelled, in display order.
 * @param {Omit<CheckResultMessage, 'type'>} r
 * @param {number | null} [availableKbps] the uplink estimate, known to the site itself only
 * @returns {{id: string, label: string, value: string}[]}
 */
export function checkFigures(r, availableKbps = null) {
  const works = (/** @type {boolean} */ ok) => (ok ? t('check.works') : t('check.broken'));
  const rows = [
    { id: 'rtt', label: t('check.rtt'), value: withUnit(r.rtt_ms, 'check.ms') },
    { id: 'loss', label: t('check.loss'), value: withUnit(r.loss_pct, 'check.pct') },
    { id: 'send', label: t('check.send'), value: withUnit(r.send_kbps, 'check.kbps') },
    { id: 'recv', label: t('check.recv'), value: withUnit(r.recv_kbps, 'check.kbps') },
  ];
  if (availableKbps !== null) rows.push({ id: 'available', label: t('check.available'), value: withUnit(Math.round(availableKbps), 'check.kbps') });
  rows.push({ id: 'camera', label: t('check.camera'), value: works(r.camera) }, { id: 'mic', label: t('check.mic'), value: works(r.mic) });
  return rows;
}

/**
 * The mark for a site's last check, or null when it has none.
 * @param {CheckReportMessage | null | undefined} result
 * @returns {HTMLElement | null}
 */
export function checkBadge(result) {
  if (!result) return null;
  const time = new Date(result.at_ms).toLocaleTimeString(getLanguage() === 'vi' ? 'vi-VN' : 'en-GB', { hour: '2-digit', minute: '2-digit' });
  const f = Object.fromEntries(checkFigures(result).map((x) => [x.id, x.value]));
  const title = t('check.summary', { time, rtt: f.rtt, loss: f.loss, send: f.send, recv: f.recv, camera: f.camera, mic: f.mic });
  // A device that does not work is worth seeing without hovering.
  const broken = [result.camera ? '' : t('check.camera'), result.mic ? '' : t('check.mic')].filter((x) => x !== '');
  const devices = broken.length > 0 ? ` · ${broken.join(', ')} ✗` : '';
  return h('span', {
    class: `badge check-badge check-${result.verdict}`,
    testid: 'check-badge',
    text: `${t(`check.short.${result.verdict}`)}${devices}`,
    attrs: { 'data-verdict': result.verdict, 'data-site-id': result.site_id, title, 'aria-label': title },
  });
}

/**
 * Shows a site's last check in `slot` (a span kept in a tile or a row), rebuilt only when
 * the result changed; the slot is hidden while the site has none.
 * @param {HTMLElement} slot
 * @param {CheckReportMessage | null | undefined} result
 */
export function showCheck(slot, result) {
  slot.hidden = !result;
  rebuildIfChanged(slot, result ? `${result.site_id}:${result.at_ms}:${result.verdict}` : '', () => {
    const badge = checkBadge(result);
    return badge ? [badge] : [];
  });
}
