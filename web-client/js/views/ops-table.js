/**
 * The operators' table: one row per expected participant with its link figures, alerts and
 * a sparkline of the last five minutes, sortable by any column (worst first by default).
 *
 * Built for four hundred rows updated every second: a row and its cells are created once
 * and then only their text (in place, see `put`) and attributes change; rows move
 * only when the order changes, and the order is recomputed at most every `REORDER_MS` and
 * not within `STILL_MS` of the pointer moving over the table (a row must not jump away from
 * a click; a mouse merely resting there must not freeze the order). Every row's attributes
 * (`data-state`, `data-alert`) follow each update, but the cells and sparkline only of rows
 * on screen: a row scrolled out of view is brought up to date when it comes back.
 */

import { getLanguage, t } from '../i18n/index.js';
import { queuePosition } from '../floor.js';
import { COLUMNS, DEFAULT_SORT, formatters, isRelayed, levelPercent, nextSort, sortRows } from '../operator-stats.js';
import { createChart, niceMax } from './chart.js';
import { showCheck } from './check-badge.js';
import { h, rebuildIfChanged, syncChildren } from './dom.js';

/** @typedef {import('../operator-stats.js').OpsRow} OpsRow */
/** @typedef {import('../operator-stats.js').Column} Column */
/** @typedef {import('../operator-stats.js').Sort} Sort */
/** @typedef {import('../stats-history.js').StatsHistory} StatsHistory */
/** @typedef {import('../protocol.js').FloorMessage} FloorMessage */
/** @typedef {import('../session.js').Session} Session */

const REORDER_MS = 5000;
const STILL_MS = 2500;

/** Header labels (literal keys, so the i18n check sees them). */
const HEADERS = /** @type {Record<Column | 'spark', () => string>} */ ({
  severity: () => t('ops.col.severity'),
  name: () => t('ops.col.name'),
  state: () => t('ops.col.state'),
  node: () => t('ops.col.node'),
  transport: () => t('ops.col.transport'),
  up: () => t('ops.col.up'),
  down: () => t('ops.col.down'),
  'loss-up': () => t('ops.col.lossUp'),
  'loss-down': () => t('ops.col.lossDown'),
  rtt: () => t('ops.col.rtt'),
  jitter: () => t('ops.col.jitter'),
  layer: () => t('ops.col.layer'),
  audio: () => t('ops.col.audio'),
  check: () => t('ops.col.check'),
  spark: () => t('ops.col.spark'),
});

const NUMERIC = new Set(['up', 'down', 'loss-up', 'loss-down', 'rtt', 'jitter']);

/** @type {Record<string, () => string>} */
const ALERT_LABEL = { loss: () => t('ops.alert.loss'), rtt: () => t('ops.alert.rtt'), silent: () => t('ops.alert.silent') };
/** @type {Record<string, () => string>} */
export const LAYER_LABEL = {
  high: () => t('ops.layer.high'), mid: () => t('ops.layer.mid'), low: () => t('ops.layer.low'), paused: () => t('ops.layer.paused'),
};
/** @type {Record<string, () => string>} */
const STATE_LABEL = { joined: () => t('site.joined'), waiting: () => t('site.waiting'), left: () => t('site.left') };

/**
 * What one update shows, kept for rows that scroll into view later.
 * @typedef {{history: StatsHistory, endMs: number, selected: string | null, session: Session,
 *   rows: Map<string, OpsRow>, fmt: ReturnType<typeof formatters>, floor: FloorMessage | null,
 *   roster: Map<string, import('../roster.js').RosterEntry>}} Shown
 */

/** The order chosen, kept when the view is mounted again (a language switch). */
let currentSort = DEFAULT_SORT;

/**
 * The route as one short text: `relay/udp`, `host/udp`, `srflx/tcp`.
 * @param {import('../protocol.js').SiteStats | null} s
 */
export function routeText(s) {
  if (!s || (s.candidate == null && s.transport == null)) return '—';
  if (s.candidate == null) return /** @type {string} */ (s.transport);
  return s.transport && s.transport !== s.candidate ? `${s.candidate}/${s.transport}` : s.candidate;
}

/**
 * @typedef {object} RowItem
 * @property {HTMLTableRowElement} element
 * @property {Record<Column | 'spark', HTMLTableCellElement>} cells
 * @property {HTMLElement} name
 * @property {HTMLElement} marks
 * @property {HTMLElement} stateBadge
 * @property {HTMLElement} noMedia
 * @property {HTMLElement} turn
 * @property {HTMLElement} route
 * @property {HTMLElement} levelFill
 * @property {HTMLElement} levelText
 * @property {HTMLElement} checkSlot the line-check badge (`check-badge.js`)
 * @property {HTMLElement} checkNone
 * @property {ReturnType<typeof createChart>} spark
 * @property {boolean} visible on screen: its cells and sparkline are kept current
 * @property {boolean} filled its cells were filled once
 */

/**
 * @param {object} options
 * @param {(siteId: string) => void} options.onSelect a row was clicked
 * @returns {{element: HTMLElement, update: (rows: OpsRow[], context: {history: StatsHistory,
 *   endMs: number, selected: string | null, session: Session}) => void, destroy: () => void}}
 */
export function createOpsTable({ onSelect }) {
  const body = h('tbody');
  /** @type {Map<Column, HTMLTableCellElement>} */
  const headers = new Map();
  const headRow = h('tr', {}, ...[...COLUMNS, /** @type {const} */ ('spark')].map((col) => {
    if (col === 'spark') return h('th', { class: 'ops-spark-col', text: HEADERS.spark(), attrs: { scope: 'col', 'data-col': col } });
    const button = h('button', {
      class: 'ops-sort',
      testid: `ops-sort-${col}`,
      attrs: { type: 'button', title: t('ops.sortBy', { column: HEADERS[col]() }) },
      on: { click: () => sortBy(col) },
    }, h('span', { text: HEADERS[col]() }), h('span', { class: 'ops-sort-mark', attrs: { 'aria-hidden': 'true' } }));
    const th = h('th', { class: NUMERIC.has(col) ? 'num' : '', attrs: { scope: 'col', 'data-col': col } }, button);
    headers.set(col, th);
    return th;
  }));
  const table = h('table', { class: 'ops-table', testid: 'ops-table' }, h('thead', {}, headRow), body);
  const element = h('div', { class: 'ops-scroll' }, table);

  /** @type {Map<string, RowItem>} */
  const items = new Map();
  /** @type {string[]} */
  let order = [];
  let orderedAt = -Infinity;
  let sortChanged = true;
  let pointerAt = -Infinity;
  for (const type of ['pointermove', 'pointerdown', 'wheel']) {
    element.addEventListener(type, () => { pointerAt = performance.now(); }, { passive: true });
  }

  const observer = typeof IntersectionObserver === 'function'
    ? new IntersectionObserver((entries) => {
      for (const e of entries) {
        const item = items.get(/** @type {HTMLElement} */ (e.target).dataset.siteId ?? '');
        if (!item) continue;
        const appeared = e.isIntersecting && !item.visible;
        item.visible = e.isIntersecting;
        if (appeared && last) refresh(item, last);
      }
    }, { root: element, rootMargin: '200px 0px' })
    : null;

  /** The last update, so rows that scroll into view are brought up to date at once. */
  /** @type {Shown | null} */
  let last = null;

  /** @param {Column} col */
  function sortBy(col) {
    currentSort = nextSort(currentSort, col);
    sortChanged = true;
    lastUpdate?.();
  }
  /** @type {(() => void) | null} */
  let lastUpdate = null;

  /** @param {string} id */
  function createRow(id) {
    const cells = /** @type {Record<Column | 'spark', HTMLTableCellElement>} */ ({});
    for (const col of [...COLUMNS, /** @type {const} */ ('spark')]) {
      cells[col] = h('td', { class: NUMERIC.has(col) ? 'num' : '', attrs: { 'data-col': col } });
    }
    const name = h('span', { class: 'ops-name' });
    const marks = h('span', { class: 'ops-marks' });
    cells.name.append(name, marks);
    const stateBadge = h('span', { class: 'badge' });
    const noMedia = h('span', { class: 'ops-sub', text: t('ops.noMedia') });
    cells.state.append(stateBadge, noMedia);
    const turn = h('span', { class: 'badge ops-turn', text: t('ops.turn') });
    const route = h('span');
    cells.transport.append(turn, route);
    const levelFill = h('span', { class: 'ops-level-fill' });
    const levelText = h('span', { class: 'visually-hidden' });
    cells.audio.append(h('span', { class: 'ops-level', attrs: { 'aria-hidden': 'true' } }, levelFill), levelText);
    const checkSlot = h('span');
    const checkNone = h('span', { text: '—' });
    cells.check.append(checkSlot, checkNone);
    const spark = createChart({
      className: 'ops-spark',
      testid: 'ops-spark',
      width: 120,
      height: 28,
      max: (ring) => niceMax(ring.max('downKbps'), 100),
      lines: [
        { field: 'downKbps', className: 'down' },
        { field: 'worstLossPct', className: 'loss', max: () => 20 },
      ],
    });
    cells.spark.append(spark.element);
    const element = h('tr', {
      class: 'ops-row',
      testid: 'ops-row',
      attrs: { 'data-site-id': id, tabindex: '0' },
      on: {
        click: () => onSelect(id),
        keydown: (ev) => {
          const key = /** @type {KeyboardEvent} */ (ev).key;
          if (key === 'Enter' || key === ' ') {
            ev.preventDefault();
            onSelect(id);
          }
        },
      },
    }, ...Object.values(cells));
    observer?.observe(element);
    return {
      element, cells, name, marks, stateBadge, noMedia, turn, route, levelFill, levelText, checkSlot, checkNone, spark,
      visible: observer === null, filled: false,
    };
  }

  /**
   * Brings a row's cells and sparkline up to date.
   * @param {RowItem} item
   * @param {Shown} shown
   */
  function refresh(item, shown) {
    const id = /** @type {string} */ (item.element.dataset.siteId);
    const row = shown.rows.get(id);
    if (!row) return;
    fillCells(item, row, shown.fmt, shown.floor, shown.roster.get(id));
    const check = shown.session.checks[id];
    showCheck(item.checkSlot, check);
    show(item.checkNone, !check);
    item.spark.draw(shown.history.ring(id), shown.endMs);
    item.filled = true;
  }

  /**
   * @param {OpsRow[]} rows
   * @param {{history: StatsHistory, endMs: number, selected: string | null, session: Session}} context
   */
  function update(rows, context) {
    lastUpdate = () => update(rows, context);
    const now = performance.now();
    const same = rows.length === order.length && rows.every((r) => items.has(r.id));
    if (sortChanged || !same || (now - orderedAt >= REORDER_MS && now - pointerAt >= STILL_MS)) {
      order = sortRows(rows, currentSort).map((r) => r.id);
      orderedAt = now;
      sortChanged = false;
    }
    for (const [col, th] of headers) {
      const on = col === currentSort.column;
      setAttr(th, 'aria-sort', on ? (currentSort.dir === 'asc' ? 'ascending' : 'descending') : 'none');
      put(/** @type {Element} */ (th.querySelector('.ops-sort-mark')), on ? (currentSort.dir === 'asc' ? '▲' : '▼') : '');
    }
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const [id, item] of items) if (!byId.has(id)) observer?.unobserve(item.element);
    /** @type {Shown} */
    const shown = {
      ...context,
      rows: byId,
      fmt: formatters(getLanguage()),
      floor: context.session.meetingState.floor,
      roster: new Map(context.session.roster.map((s) => [s.id, s])),
    };
    last = shown;
    for (const item of syncChildren(body, items, order, createRow)) {
      const id = /** @type {string} */ (item.element.dataset.siteId);
      markRow(item.element, /** @type {OpsRow} */ (byId.get(id)), id === context.selected);
      if (item.visible || !item.filled) refresh(item, shown);
    }
  }

  return {
    element,
    update,
    destroy: () => observer?.disconnect(),
  };
}

/**
 * The row's own attributes, kept current on every row: state, alerts, selection.
 * @param {HTMLTableRowElement} element
 * @param {OpsRow} row
 * @param {boolean} selected
 */
function markRow(element, row, selected) {
  setAttr(element, 'data-state', row.state);
  setAttr(element, 'data-alert', row.alerts.length > 0 ? row.alerts.join(' ') : null);
  setAttr(element, 'aria-selected', selected ? 'true' : 'false');
  element.classList.toggle('selected', selected);
  element.classList.toggle('no-media', row.stats === null);
}

/**
 * @param {RowItem} item
 * @param {OpsRow} row
 * @param {ReturnType<typeof formatters>} fmt
 * @param {FloorMessage | null} floor
 * @param {import('../roster.js').RosterEntry | undefined} site
 */
function fillCells(item, row, fmt, floor, site) {
  const { cells } = item;
  const s = row.stats;

  put(cells.severity, row.alerts.map((a) => ALERT_LABEL[a]()).join(' · '));
  put(item.name, row.name);
  const position = queuePosition(floor, row.id);
  const here = row.state === 'joined';
  const marks = [
    row.holdsFloor && ['mark-floor', t('ops.floor')],
    position > 0 && ['mark-hand', `${t('mark.hand')} (${t('roster.handPosition', { n: position })})`],
    row.audioOnlyForced && ['mark-info', t('ops.forced')],
    site?.muted && ['mark-off', t('mark.muted')],
    site?.video_stopped && ['mark-off', t('mark.videoStopped')],
    here && site?.mic === false && ['mark-warn', t('site.micOff')],
    here && site?.camera === false && ['mark-warn', t('site.cameraOff')],
    // The SFU's verdict: by the line (an alarm) or by design (calm), as on the chair's grid.
    here && site?.reception === 'reduced' && ['mark-warn', t('mark.reduced')],
    here && site?.reception === 'audio_only' && !row.audioOnlyForced && ['mark-warn', t('mark.audioOnly')],
    here && site?.reduced_by_design && ['mark-info', t('mark.byDesign')],
  ].filter((m) => Array.isArray(m));
  rebuildIfChanged(item.marks, JSON.stringify(marks), () => marks.map(([cls, text]) => h('span', { class: `badge ${cls}`, text })));

  put(item.stateBadge, STATE_LABEL[row.state]());
  const badgeClass = `badge state-${row.state}`;
  if (item.stateBadge.className !== badgeClass) item.stateBadge.className = badgeClass;
  show(item.noMedia, here && s === null);

  show(item.turn, isRelayed(s));
  put(item.route, routeText(s));
  put(cells.up, fmt.whole(s?.up_kbps));
  put(cells.down, fmt.whole(s?.down_kbps));
  put(cells['loss-up'], fmt.oneDecimal(s?.up_loss_pct));
  put(cells['loss-down'], fmt.oneDecimal(s?.down_loss_pct));
  put(cells.rtt, fmt.whole(s?.rtt_ms));
  put(cells.node, s?.node ?? '—');
  put(cells.jitter, fmt.whole(s?.jitter_ms));
  const lossy = (/** @type {number | null | undefined} */ v) => (v ?? 0) > 5;
  cells['loss-up'].classList.toggle('bad', lossy(s?.up_loss_pct));
  cells['loss-down'].classList.toggle('bad', lossy(s?.down_loss_pct));
  cells.rtt.classList.toggle('bad', (s?.rtt_ms ?? 0) > 400);
  put(cells.layer, s?.layer ? LAYER_LABEL[s.layer]?.() ?? s.layer : '—');
  cells.layer.classList.toggle('bad', s?.layer === 'paused' && !row.audioOnlyForced);
  const level = s?.audio_level ?? null;
  const width = `${levelPercent(level)}%`;
  if (item.levelFill.style.width !== width) item.levelFill.style.width = width;
  item.levelFill.parentElement?.classList.toggle('silent', row.alerts.includes('silent'));
  put(item.levelText, level === null ? '—' : level.toFixed(2));
  setAttr(cells.audio, 'title', level === null ? null : level.toFixed(2));
}

/**
 * Sets an element's text by changing its text node in place: a new node would make the
 * browser restyle the cell, where new characters only need layout (this runs for every
 * visible cell every second).
 * @param {Element} el
 * @param {string} text
 */
function put(el, text) {
  const node = el.firstChild;
  if (node instanceof Text && node === el.lastChild) {
    if (node.data !== text) node.data = text;
  } else if (el.textContent !== text) {
    el.textContent = text;
  }
}

/**
 * @param {HTMLElement} el
 * @param {boolean} visible
 */
function show(el, visible) {
  if (el.hidden === visible) el.hidden = !visible;
}

/**
 * @param {Element} el
 * @param {string} name
 * @param {string | null} value null removes it
 */
function setAttr(el, name, value) {
  if (value === null) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
  } else if (el.getAttribute(name) !== value) {
    el.setAttribute(name, value);
  }
}
