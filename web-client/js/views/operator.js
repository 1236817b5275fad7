/**
 * The operator's view: the live dashboard of every expected site (`ops-table.js`) under the
 * meeting totals, the detail of the site clicked (`ops-detail.js`: charts and actions)
 * beside it above the main screen (small), the compact roster counts and the messages; the
 * roll call covers the table when opened. The operator publishes nothing, so the toolbar
 * has the connection mark, Roll call and Leave.
 *
 * The figures come from the server's `stats` messages (about once a second, kept five
 * minutes in `session.statsHistory`); who is expected, and in which state, from the roster.
 * `operator-stats.js` decides rows, alerts and order; the parts here only draw them.
 */

import { t } from '../i18n/index.js';
import { buildRows, equipmentOf, totalsOf } from '../operator-stats.js';
import { stateCounts } from '../roster.js';
import { createChatPanel } from './chat.js';
import { h, setText, setVideo, videoElement } from './dom.js';
import { createOpsDetail } from './ops-detail.js';
import { createOpsTable } from './ops-table.js';
import { createOpsNode } from './ops-node.js';
import { createOpsTotals } from './ops-totals.js';
import { createRollCall } from './rollcall.js';
import { createToolbar } from './toolbar.js';

/** @typedef {import('../session.js').Session} Session */
/** @typedef {{update: () => void, destroy: () => void}} View */

/** The site whose detail is open, kept when the view is mounted again (a language switch). */
/** @type {string | null} */
let selected = null;

/**
 * @param {HTMLElement} root
 * @param {Session} session
 * @returns {View}
 */
export function mountOperator(root, session) {
  const totals = createOpsTotals();
  const node = createOpsNode();
  const status = h('p', { class: 'ops-status', attrs: { role: 'status' } });
  const table = createOpsTable({
    onSelect: (id) => {
      selected = selected === id ? null : id;
      update();
    },
  });
  const detail = createOpsDetail(session, {
    onClose: () => {
      selected = null;
      update();
    },
  });
  const program = videoElement({ class: 'program-video', testid: 'program-video' });
  const count = h('p', { class: 'attendance', testid: 'roster-counts' });
  const chat = createChatPanel(session);
  const rollcall = createRollCall(session);
  const toolbar = createToolbar(session, { publishes: false, canEnd: false, right: [rollcall.button] });

  root.append(h('section', { class: 'meeting operator' },
    h('div', { class: 'meeting-main ops-main' },
      h('div', { class: 'ops-head' }, h('h2', { class: 'visually-hidden', text: t('ops.title') }), totals.element, node.element),
      status,
      table.element,
    ),
    rollcall.panel,
    h('aside', { class: 'meeting-side' },
      detail.element,
      h('p', { class: 'label', text: t('meeting.program') }),
      h('div', { class: 'program small' }, program),
      count,
      chat.element,
    ),
    toolbar.element,
  ));

  function update() {
    const { stream } = session.program();
    setVideo(program, stream);
    setText(count, t('meeting.counts', stateCounts(session.roster)));

    const stats = session.stats;
    const history = session.statsHistory;
    const rows = buildRows(session.roster, stats, {
      floor: session.meetingState.floor,
      history,
      verdict: (id) => session.checks[id]?.verdict ?? null,
    });
    if (selected && !rows.some((r) => r.id === selected)) selected = null;
    totals.update(totalsOf(rows, stats), stats !== null, equipmentOf(stats));
    node.update(session.node, session.nodePrevious);
    setText(status, stats ? t('ops.hint') : t('ops.noStats'));
    const endMs = stats?.at_ms ?? history.newestAt;
    table.update(rows, { history, endMs, selected, session });
    const row = rows.find((r) => r.id === selected) ?? null;
    detail.update(row, row ? history.ring(row.id) : null, endMs);

    chat.update();
    rollcall.update();
    toolbar.update();
  }

  update();
  return {
    update,
    destroy() {
      table.destroy();
      rollcall.destroy();
    },
  };
}
