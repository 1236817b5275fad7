/**
 * Roll call ("Điểm danh") for the chair and operators: every expected site with its live
 * state (from the roster) and the attendance figures of the server's report (joins,
 * reconnects, minutes present, average loss and RTT), refreshed every 10 seconds while the
 * panel is open, and the report saved as CSV or JSON. The panel covers the main area; a
 * toolbar button opens it. Fetching and shaping are `attendance.js`'s; this draws and saves.
 */

import { getLanguage, t } from '../i18n/index.js';
import { downloadName, fetchAttendance, fetchAttendanceFile, formatFigure, minutesUrl, rollCallRows } from '../attendance.js';
import { stateCounts } from '../roster.js';
import { h, rebuildIfChanged, setText } from './dom.js';

/** @typedef {import('../session.js').Session} Session */
/** @typedef {import('../attendance.js').AttendanceReport} AttendanceReport */
/** @typedef {import('../attendance.js').AttendanceFailure} AttendanceFailure */
/** @typedef {import('../attendance.js').AttendanceFormat} AttendanceFormat */

const REFRESH_MS = 10_000;

/** Open or closed, kept when the view is mounted again (a language switch). */
let wantOpen = false;

/** @type {import('../attendance.js').FetchLike} */
const browserFetch = (url, init) => fetch(url, init);

/**
 * @param {Session} session
 * @returns {{button: HTMLButtonElement, panel: HTMLElement, update: () => void, destroy: () => void}}
 */
export function createRollCall(session) {
  const button = h('button', {
    class: 'btn',
    testid: 'rollcall-open',
    text: t('rollcall.title'),
    attrs: { 'aria-expanded': 'false' },
    on: { click: () => (panel.hidden ? open() : close()) },
  });
  const summary = h('p', { class: 'rollcall-summary' });
  const status = h('p', { class: 'rollcall-status', attrs: { role: 'status' } });
  const csv = h('button', { class: 'btn small', testid: 'rollcall-csv', text: t('rollcall.csv'), on: { click: () => void download('csv') } });
  const json = h('button', { class: 'btn small', testid: 'rollcall-json', text: t('rollcall.json'), on: { click: () => void download('json') } });
  const minutes = h('button', { class: 'btn small', testid: 'minutes-open', text: t('rollcall.record'), on: { click: () => void openMinutes() } });
  const body = h('tbody');
  const columns = ['rollcall.site', 'rollcall.state', 'rollcall.joins', 'rollcall.reconnects', 'rollcall.minutes', 'rollcall.loss', 'rollcall.rtt'];
  const table = h('table', { class: 'roster rollcall-table' },
    h('thead', {}, h('tr', {}, ...columns.map((k, i) => h('th', { text: t(k), attrs: { scope: 'col', class: i > 1 ? 'num' : '' } })))),
    body,
  );
  const panel = h('section', { class: 'rollcall', testid: 'rollcall-panel', attrs: { 'aria-label': t('rollcall.title') } },
    h('div', { class: 'rollcall-head' },
      h('h2', { text: t('rollcall.title') }),
      summary,
      h('span', { class: 'spacer' }),
      csv, json, minutes,
      h('button', { class: 'btn small', text: t('banner.close'), attrs: { 'aria-label': t('rollcall.close') }, on: { click: () => close() } }),
    ),
    status,
    h('div', { class: 'rollcall-scroll' }, table),
  );
  panel.hidden = true;

  /** @type {AttendanceReport | null} */
  let report = null;
  /** @type {AttendanceFailure | null} */
  let failure = null;
  /** @type {number | null} local time of the last good fetch */
  let fetchedAt = null;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  let timer;
  let alive = true;

  async function refresh() {
    const id = session.meeting?.id;
    const token = session.token;
    if (!id || !token) return;
    const got = await fetchAttendance(browserFetch, id, token);
    if (!alive || panel.hidden) return;
    if (got.ok) {
      report = got.report;
      failure = null;
      fetchedAt = Date.now();
    } else {
      failure = got.failure;
    }
    update();
  }

  /** @param {AttendanceFormat} format */
  async function download(format) {
    const id = session.meeting?.id;
    const token = session.token;
    if (!id || !token) return;
    const got = await fetchAttendanceFile(browserFetch, id, token, format, getLanguage() === 'vi' ? 'vi' : 'en');
    if (!got.ok) {
      failure = got.failure;
      update();
      return;
    }
    const type = format === 'csv' ? 'text/csv;charset=utf-8' : 'application/json';
    const url = URL.createObjectURL(new Blob([got.bytes], { type }));
    const a = h('a', { attrs: { href: url, download: downloadName(id, format) } });
    a.hidden = true;
    document.body.append(a);
    a.click();
    a.remove();
    // Revoked later: some browsers read the blob after the click returns.
    setTimeout(() => URL.revokeObjectURL(url), 30_000);
  }

  /** The minutes (biên bản) in a new tab, from the server's page fetched with this page's token. */
  async function openMinutes() {
    const id = session.meeting?.id;
    const token = session.token;
    if (!id || !token) return;
    // Opened now, while the click still allows a new tab; filled once the page arrives.
    const tab = window.open('', '_blank');
    let res;
    try {
      res = await fetch(minutesUrl(id), { headers: { Authorization: `Bearer ${token}` } });
    } catch {
      res = null;
    }
    if (!res || !res.ok) {
      tab?.close();
      failure = !res ? 'network' : res.status === 401 || res.status === 403 ? 'unauthorized' : res.status === 404 ? 'not_found' : 'server';
      update();
      return;
    }
    const url = URL.createObjectURL(new Blob([await res.arrayBuffer()], { type: 'text/html;charset=utf-8' }));
    if (tab) tab.location.href = url;
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }

  function open() {
    wantOpen = true;
    panel.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    button.classList.add('active');
    clearInterval(timer);
    timer = setInterval(() => void refresh(), REFRESH_MS);
    void refresh();
    update();
  }

  function close() {
    wantOpen = false;
    panel.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    button.classList.remove('active');
    clearInterval(timer);
  }

  function update() {
    if (panel.hidden) return;
    const counts = stateCounts(session.roster);
    setText(summary, t('meeting.counts', counts));
    const lang = getLanguage();
    const time = new Intl.DateTimeFormat(lang === 'vi' ? 'vi-VN' : 'en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
    setText(status, failure ? t(`rollcall.failed.${failure}`)
      : fetchedAt ? t('rollcall.updated', { time: time.format(fetchedAt) }) : t('rollcall.loading'));
    status.classList.toggle('problem', failure !== null);
    const rows = rollCallRows(session.roster, report);
    rebuildIfChanged(body, JSON.stringify(rows), () => rows.map((r) => h('tr', { testid: 'rollcall-row', attrs: { 'data-site-id': r.id, 'data-state': r.state } },
      h('td', { text: r.name }),
      h('td', {}, h('span', { class: `badge state-${r.state}`, text: t(`site.${r.state}`) })),
      h('td', { class: 'num', text: formatFigure(r.joins, lang) }),
      h('td', { class: 'num', text: formatFigure(r.reconnects, lang) }),
      h('td', { class: 'num', text: formatFigure(r.minutes, lang) }),
      h('td', { class: 'num', text: formatFigure(r.lossPct, lang, 1) }),
      h('td', { class: 'num', text: formatFigure(r.rttMs, lang) }),
    )));
  }

  if (wantOpen) open();
  return {
    button,
    panel,
    update,
    destroy() {
      alive = false;
      clearInterval(timer);
    },
  };
}
