/**
 * The bar over the chair's grid: Previous / "Page 2/7" / Next, the page size (9, 16, 25),
 * and the automatic rotation with its interval. Every choice becomes a `grid` request; the
 * page shown is always the server's last `grid` message.
 */

import { t } from '../i18n/index.js';
import { ROTATE_SECONDS, pageForSize, pageLabel, pageMoves, pageSizeChoices } from '../grid-pages.js';
import { h, rebuildIfChanged, setText } from './dom.js';

/** @typedef {import('../session.js').Session} Session */

/**
 * @param {Session} session
 * @returns {{element: HTMLElement, update: () => void}}
 */
export function createGridPager(session) {
  const grid = () => session.meetingState.grid;
  const prev = h('button', {
    class: 'btn small arrow',
    testid: 'grid-prev',
    text: '‹',
    attrs: { 'aria-label': t('grid.prev'), title: t('grid.prev') },
    on: { click: () => { const g = grid(); if (g) session.chairing.showGridPage(g.page - 1, g.page_size); } },
  });
  const label = h('span', { class: 'grid-page', attrs: { 'aria-live': 'polite' } });
  const next = h('button', {
    class: 'btn small arrow',
    testid: 'grid-next',
    text: '›',
    attrs: { 'aria-label': t('grid.next'), title: t('grid.next') },
    on: { click: () => { const g = grid(); if (g) session.chairing.showGridPage(g.page + 1, g.page_size); } },
  });
  const size = h('select', {
    testid: 'grid-page-size',
    on: {
      change: () => {
        const g = grid();
        const n = Number(size.value);
        session.chairing.showGridPage(g ? pageForSize(g.page, g.page_size, n) : 0, n);
      },
    },
  });
  const rotate = h('input', {
    testid: 'grid-rotate',
    attrs: { type: 'checkbox' },
    on: { change: () => session.chairing.setRotation(rotate.checked) },
  });
  const every = h('select', {
    testid: 'grid-rotate-interval',
    on: { change: () => session.chairing.setRotation(session.chairing.rotation.on, Number(every.value)) },
  }, ...ROTATE_SECONDS.map((s) => h('option', { text: t('grid.seconds', { n: s }), attrs: { value: String(s) } })));

  const element = h('div', { class: 'grid-pager', attrs: { role: 'toolbar', 'aria-label': t('meeting.sites') } },
    prev, label, next,
    h('label', { class: 'pager-field' }, h('span', { text: t('grid.pageSize') }), size),
    h('span', { class: 'pager-field' },
      h('label', { class: 'pager-field check' }, rotate, h('span', { text: t('grid.rotate') })),
      h('label', { class: 'pager-field' }, h('span', { class: 'visually-hidden', text: t('grid.rotateEvery') }), every)),
  );

  function update() {
    const g = grid();
    const { page, pages } = g ? pageLabel(g.page, g.pages) : { page: 1, pages: 1 };
    setText(label, t('grid.page', { page, pages }));
    const moves = g ? pageMoves(g.page, g.pages) : { prev: false, next: false };
    prev.disabled = !moves.prev;
    next.disabled = !moves.next;
    const choices = pageSizeChoices(g?.page_size ?? null);
    rebuildIfChanged(size, choices.join(','), () => choices.map((n) => h('option', { text: t('grid.pageSizeOption', { n }), attrs: { value: String(n) } })));
    const current = String(g?.page_size ?? choices[0]);
    if (size.value !== current) size.value = current;
    size.disabled = !g;
    rotate.disabled = !g || g.pages <= 1;
    rotate.checked = session.chairing.rotation.on;
    if (every.value !== String(session.chairing.rotation.seconds)) every.value = String(session.chairing.rotation.seconds);
  }

  update();
  return { element, update };
}
