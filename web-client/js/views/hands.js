/**
 * The hand queue for the chair and co-chairs: the sites holding the floor (with Take back)
 * out of the floor limit, then the raised hands oldest first with how long each has waited
 * (mm:ss, ticking every second), Give the floor and Lower hand.
 */

import { t } from '../i18n/index.js';
import { formatWait, handWaitMs } from '../floor.js';
import { grantFloorMessage, lowerHandMessage, revokeFloorMessage } from '../messages.js';
import { h, rebuildIfChanged, setText } from './dom.js';

/** @typedef {import('../session.js').Session} Session */

/**
 * @param {Session} session
 * @returns {{element: HTMLElement, update: () => void, destroy: () => void}}
 */
export function createHandQueue(session) {
  const holdersTitle = h('h3', { class: 'panel-sub' });
  const holders = h('ul', { class: 'floor-holders' });
  const queueTitle = h('h3', { class: 'panel-sub' });
  const queue = h('ol', { class: 'hand-list' });
  const element = h('section', { class: 'panel hands', testid: 'hand-queue', attrs: { 'aria-label': t('hands.title') } },
    h('h2', { class: 'panel-title', text: t('hands.title') }),
    holdersTitle, holders, queueTitle, queue,
  );
  /** @type {Map<string, HTMLElement>} the wait text of each hand row */
  const waits = new Map();

  /** @param {string} id */
  const nameOf = (id) => session.roster.find((s) => s.id === id)?.name ?? id;

  function tick() {
    const floor = session.meetingState.floor;
    const now = Date.now();
    for (const hand of floor?.hands ?? []) {
      const el = waits.get(hand.site_id);
      if (el) setText(el, t('hands.waited', { time: formatWait(handWaitMs(hand, session.meetingState.clock, now)) }));
    }
  }

  function update() {
    const { floor, floorLimit } = session.meetingState;
    const holderIds = floor?.holders ?? [];
    const hands = floor?.hands ?? [];
    setText(holdersTitle, floorLimit == null
      ? t('hands.holdersNoLimit', { count: holderIds.length })
      : t('hands.holders', { count: holderIds.length, limit: floorLimit }));
    setText(queueTitle, t('hands.queue', { count: hands.length }));

    rebuildIfChanged(holders, holderIds.map((id) => `${id}=${nameOf(id)}`).join('\n'), () => (holderIds.length === 0
      ? [h('li', { class: 'empty', text: t('hands.noHolders') })]
      : holderIds.map((id) => h('li', { class: 'holder-row', attrs: { 'data-site-id': id } },
        h('span', { class: 'row-name', text: nameOf(id) }),
        h('button', {
          class: 'btn small',
          testid: 'revoke-floor',
          text: t('action.revoke'),
          attrs: { 'data-site-id': id },
          on: { click: () => session.chairing.act(revokeFloorMessage(id)) },
        }),
      ))));

    rebuildIfChanged(queue, hands.map((x) => `${x.site_id}=${nameOf(x.site_id)}`).join('\n'), () => {
      waits.clear();
      if (hands.length === 0) return [h('li', { class: 'empty', text: t('hands.empty') })];
      return hands.map((hand) => {
        const id = hand.site_id;
        const wait = h('span', { class: 'wait' });
        waits.set(id, wait);
        return h('li', { class: 'hand-row', testid: 'hand-row', attrs: { 'data-site-id': id } },
          h('span', { class: 'row-name', text: nameOf(id) }),
          wait,
          h('span', { class: 'row-buttons' },
            h('button', {
              class: 'btn small primary',
              testid: 'grant-floor',
              text: t('action.grant'),
              attrs: { 'data-site-id': id },
              on: { click: () => session.chairing.act(grantFloorMessage(id)) },
            }),
            h('button', {
              class: 'btn small',
              testid: 'lower-hand',
              text: t('action.lowerHand'),
              attrs: { 'data-site-id': id },
              on: { click: () => session.chairing.act(lowerHandMessage(id)) },
            }),
          ),
        );
      });
    });
    tick();
  }

  const timer = setInterval(tick, 1000);
  update();
  return { element, update, destroy: () => clearInterval(timer) };
}
