/**
 * The site's line check panel, shown while the meeting is in the lobby: the button, the
 * progress while it runs, and the result in plain words with the figures (round trip, loss,
 * send and receive rate, camera and microphone). It is on the lobby screen, after Join,
 * because the check needs the peer connection Join builds; in the lobby nobody sees or hears
 * the site yet, so joining early costs nothing. The join page only says where to find it.
 */

import { t } from '../i18n/index.js';
import { checkFigures } from './check-badge.js';
import { h, rebuildIfChanged, setText } from './dom.js';

/** @typedef {import('../session.js').Session} Session */

/**
 * @param {Session} session
 * @returns {{element: HTMLElement, update: () => void}}
 */
export function createLineCheckPanel(session) {
  const button = h('button', { class: 'btn primary', testid: 'line-check', on: { click: () => void session.startLineCheck() } });
  const stepText = h('span', { class: 'line-check-step' });
  const bar = h('progress', { attrs: { max: '1', 'aria-label': t('check.title') } });
  const progress = h('div', { class: 'line-check-progress', testid: 'line-check-progress', attrs: { role: 'status' } }, stepText, bar);
  const failure = h('p', { class: 'line-check-failure', testid: 'line-check-failure', attrs: { role: 'alert' } });
  const verdict = h('strong', { class: 'line-check-verdict' });
  const hint = h('p', { class: 'line-check-hint' });
  const figures = h('dl', { class: 'line-check-figures' });
  const result = h('div', { class: 'line-check-result', testid: 'line-check-result', attrs: { role: 'status' } }, verdict, hint, figures);
  const element = h('section', { class: 'line-check', attrs: { 'aria-label': t('check.title') } },
    h('div', { class: 'line-check-head' },
      h('div', {}, h('h2', { class: 'line-check-title', text: t('check.title') }), h('p', { class: 'line-check-intro', text: t('check.intro') })),
      button,
    ),
    progress,
    failure,
    result,
  );

  function update() {
    const check = session.lineCheck;
    const running = check.state === 'running';
    element.hidden = session.meetingState.phase !== 'lobby' || session.you?.role === 'operator';
    element.dataset.state = check.state;
    button.disabled = running || !session.media;
    setText(button, check.state === 'done' ? t('check.again') : t('check.button'));

    progress.hidden = !running;
    bar.value = check.progress;
    setText(stepText, check.step ? t(`check.step.${check.step}`) : '');

    failure.hidden = check.failure === null || running;
    const why = check.failure ?? '';
    setText(failure, ['conflict', 'interrupted', 'offline', 'no_answer'].includes(why) ? t(`check.failed.${why}`) : t('check.failed'));

    const r = check.state === 'done' ? check.result : null;
    result.hidden = r === null;
    if (!r) return;
    result.dataset.verdict = r.verdict;
    const port = check.udpPort;
    setText(verdict, r.verdict !== 'no_connection' ? t(`check.verdict.${r.verdict}`)
      : port !== null ? t('check.verdict.no_connection', { port }) : t('check.verdict.no_connection.noPort'));
    setText(hint, t(`check.hint.${r.verdict}`));
    const rows = checkFigures(r, check.figures?.available_kbps ?? null);
    rebuildIfChanged(figures, JSON.stringify(rows), () => rows.map((row) => h('div', {},
      h('dt', { text: row.label }),
      h('dd', { text: row.value, testid: `line-check-${row.id}`, attrs: { 'data-figure': row.id } }),
    )));
  }

  update();
  return { element, update };
}
