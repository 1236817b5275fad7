/**
 * The detail of one site for the operators, opened by clicking its row: larger charts of
 * the last five minutes (bitrate up and down, loss up and down, round trip), what its
 * browser reported (browser, candidate type, transport) and the SFU's figures (layer,
 * bandwidth estimate, NACK / PLI), and the actions: a message shown on its screen, a request
 * to reconnect, audio only on or off. The actions need its media connected (the server
 * refuses them otherwise), so they are disabled until then.
 */

import { getLanguage, t } from '../i18n/index.js';
import { formatters, isRelayed } from '../operator-stats.js';
import { MAX_NOTICE_CHARS } from '../protocol.js';
import { createChart, niceMax } from './chart.js';
import { h, setText } from './dom.js';
import { LAYER_LABEL } from './ops-table.js';

/** @typedef {import('../operator-stats.js').OpsRow} OpsRow */
/** @typedef {import('../stats-history.js').SampleRing} SampleRing */
/** @typedef {import('../session.js').Session} Session */

/** @param {number} ms */
const clock = (ms) => new Date(ms).toLocaleTimeString(getLanguage() === 'vi' ? 'vi-VN' : 'en-GB', { hour12: false });

/**
 * @param {Session} session
 * @param {{onClose: () => void}} options
 * @returns {{element: HTMLElement, update: (row: OpsRow | null, ring: SampleRing | null, endMs: number) => void}}
 */
export function createOpsDetail(session, { onClose }) {
  const title = h('h2', { class: 'ops-detail-title' });
  const close = h('button', {
    class: 'btn small',
    text: t('banner.close'),
    attrs: { type: 'button', 'aria-label': t('ops.detail.close') },
    on: { click: () => onClose() },
  });

  /** @type {Record<string, HTMLElement>} */
  const facts = {};
  const factList = h('dl', { class: 'ops-facts' }, ...[
    ['state', t('ops.col.state')],
    ['browser', t('ops.detail.browser')],
    ['candidate', t('ops.detail.candidate')],
    ['transport', t('ops.detail.transport')],
    ['layer', t('ops.col.layer')],
    ['estimate', t('ops.detail.estimate')],
    ['repairs', t('ops.detail.repairs')],
  ].flatMap(([key, label]) => {
    facts[key] = h('dd', { attrs: { 'data-fact': key } });
    return [h('dt', { text: label }), facts[key]];
  }));

  const bitrate = chartBox(t('ops.chart.bitrate'), createChart({
    className: 'ops-chart', width: 300, height: 70,
    max: (ring) => niceMax(Math.max(ring.max('upKbps') || 0, ring.max('downKbps') || 0), 100),
    lines: [{ field: 'upKbps', className: 'up' }, { field: 'downKbps', className: 'down' }],
  }));
  const loss = chartBox(t('ops.chart.loss'), createChart({
    className: 'ops-chart', width: 300, height: 55, limits: [5],
    max: (ring) => niceMax(Math.max(ring.max('upLossPct') || 0, ring.max('downLossPct') || 0), 10),
    lines: [{ field: 'upLossPct', className: 'up' }, { field: 'downLossPct', className: 'loss' }],
  }));
  const rtt = chartBox(t('ops.chart.rtt'), createChart({
    className: 'ops-chart', width: 300, height: 55, limits: [400],
    max: (ring) => niceMax(ring.max('rttMs'), 500),
    lines: [{ field: 'rttMs', className: 'rtt' }],
  }));

  const notConnected = h('p', { class: 'ops-note', text: t('ops.notConnected') });
  const text = h('textarea', {
    class: 'chat-input',
    testid: 'ops-notice-text',
    attrs: { rows: '2', maxlength: String(MAX_NOTICE_CHARS), placeholder: t('ops.notice.placeholder'), 'aria-label': t('ops.notice.label') },
    on: { input: () => refreshButtons() },
  });
  const send = h('button', { class: 'btn small primary', testid: 'ops-send-notice', text: t('ops.notice.send'), attrs: { type: 'button' }, on: { click: () => sendNotice() } });
  const reconnect = h('button', { class: 'btn small', testid: 'ops-reconnect', text: t('ops.reconnect'), attrs: { type: 'button' }, on: { click: () => askReconnect() } });
  const audioOnly = h('button', { class: 'btn small', testid: 'ops-audio-only', attrs: { type: 'button', 'aria-pressed': 'false' }, on: { click: () => toggleAudioOnly() } });
  const status = h('p', { class: 'ops-action-status', attrs: { role: 'status' } });
  const actions = h('div', { class: 'ops-actions' },
    h('p', { class: 'panel-sub', text: t('ops.actions') }),
    notConnected,
    h('label', { class: 'ops-notice-label' }, h('span', { text: t('ops.notice.label') }), text),
    h('div', { class: 'ops-action-row' }, send),
    h('div', { class: 'ops-action-row' }, reconnect, audioOnly),
    status,
  );

  const element = h('section', { class: 'panel ops-detail', testid: 'ops-detail', attrs: { 'aria-label': t('ops.actions') } },
    h('div', { class: 'ops-detail-head' }, title, close),
    factList,
    h('p', { class: 'panel-sub', text: t('ops.chart.span') }),
    bitrate.element, loss.element, rtt.element,
    actions,
  );
  element.hidden = true;

  /** @type {OpsRow | null} */
  let current = null;
  /** @type {string | null} */
  let shownId = null;

  function refreshButtons() {
    const connected = current?.stats != null;
    send.disabled = !connected || text.value.trim() === '';
    reconnect.disabled = !connected;
    audioOnly.disabled = !connected;
  }

  function sendNotice() {
    const row = current;
    const message = text.value.trim();
    if (!row || message === '') return;
    if (session.sendNotice(row.id, message)) {
      text.value = '';
      setText(status, t('ops.notice.sent', { time: clock(Date.now()) }));
    } else {
      setText(status, t('ops.notice.failed'));
    }
    refreshButtons();
  }

  function askReconnect() {
    if (!current) return;
    const sent = session.askReconnect(current.id);
    setText(status, sent ? t('ops.reconnect.sent', { time: clock(Date.now()) }) : t('ops.notice.failed'));
  }

  function toggleAudioOnly() {
    if (!current) return;
    if (!session.forceAudioOnly(current.id, !current.audioOnlyForced)) setText(status, t('ops.notice.failed'));
  }

  /**
   * @param {OpsRow | null} row
   * @param {SampleRing | null} ring
   * @param {number} endMs
   */
  function update(row, ring, endMs) {
    current = row;
    element.hidden = row === null;
    if (!row) return;
    if (row.id !== shownId) {
      shownId = row.id;
      setText(status, '');
    }
    element.dataset.siteId = row.id;
    setText(title, row.name);
    const s = row.stats;
    const fmt = formatters(getLanguage());
    const state = t(`site.${row.state}`);
    setText(facts.state, row.state === 'joined' && !s ? `${state} · ${t('ops.noMedia')}` : state);
    setText(facts.browser, s?.browser ?? '—');
    setText(facts.candidate, s?.candidate ? `${s.candidate}${isRelayed(s) ? ` (${t('ops.turn')})` : ''}` : '—');
    facts.candidate.classList.toggle('ops-relay', isRelayed(s));
    setText(facts.transport, s?.transport ?? '—');
    setText(facts.layer, s?.layer ? LAYER_LABEL[s.layer]?.() ?? s.layer : '—');
    setText(facts.estimate, s?.estimate_kbps != null ? t('ops.kbps', { n: fmt.whole(s.estimate_kbps) }) : '—');
    setText(facts.repairs, s ? `${fmt.whole(s.nacks)} / ${fmt.whole(s.plis)}` : '—');

    bitrate.draw(ring, endMs, fmt.whole);
    loss.draw(ring, endMs, fmt.whole);
    rtt.draw(ring, endMs, fmt.whole);

    notConnected.hidden = s !== null;
    setText(audioOnly, row.audioOnlyForced ? t('ops.audioOnly.off') : t('ops.audioOnly.on'));
    audioOnly.setAttribute('aria-pressed', String(row.audioOnlyForced));
    audioOnly.classList.toggle('on', row.audioOnlyForced);
    refreshButtons();
  }

  return { element, update };
}

/**
 * A chart with its title and the value at its top.
 * @param {string} label
 * @param {ReturnType<typeof createChart>} chart
 */
function chartBox(label, chart) {
  const top = h('span', { class: 'ops-chart-top' });
  const element = h('figure', { class: 'ops-chart-box' },
    h('figcaption', {}, h('span', { text: label }), top),
    chart.element,
  );
  return {
    element,
    /**
     * @param {SampleRing | null} ring
     * @param {number} endMs
     * @param {(n: number) => string} format
     */
    draw(ring, endMs, format) {
      const max = chart.draw(ring, endMs);
      setText(top, ring ? t('ops.chart.top', { n: format(max) }) : '');
    },
  };
}
