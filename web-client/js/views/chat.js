/**
 * The messages panel: what arrived and what this page sent (oldest first, the newest in
 * view), whom to write to, and a box to write in. Every text goes in with `textContent`
 * only: messages are typed by people at other sites.
 */

import { getLanguage, t } from '../i18n/index.js';
import { recipients } from '../chat.js';
import { MAX_CHAT_CHARS } from '../protocol.js';
import { h, rebuildIfChanged, setText } from './dom.js';

/** @typedef {import('../session.js').Session} Session */
/** @typedef {import('../chat.js').ChatEntry} ChatEntry */

/**
 * @param {Session} session
 * @returns {{element: HTMLElement, update: () => void}}
 */
export function createChatPanel(session) {
  const list = h('ol', { class: 'chat-list', attrs: { 'aria-live': 'polite' } });
  const to = h('select', { class: 'chat-to', testid: 'chat-to', attrs: { 'aria-label': t('chat.to') } });
  const input = h('textarea', {
    class: 'chat-input',
    testid: 'chat-input',
    attrs: { rows: '2', maxlength: String(MAX_CHAT_CHARS), placeholder: t('chat.placeholder'), 'aria-label': t('chat.placeholder') },
  });
  const send = h('button', { class: 'btn small primary', testid: 'chat-send', text: t('chat.send'), attrs: { type: 'submit' } });
  const problem = h('p', { class: 'chat-problem', attrs: { role: 'alert' } });
  problem.hidden = true;
  const form = h('form', { class: 'chat-form' },
    h('label', { class: 'chat-to-label' }, h('span', { text: t('chat.to') }), to),
    input,
    h('div', { class: 'chat-form-row' }, problem, send),
  );
  const element = h('section', { class: 'panel chat', testid: 'chat-panel', attrs: { 'aria-label': t('chat.title') } },
    h('h2', { class: 'panel-title', text: t('chat.title') }),
    list,
    form,
  );

  function submit() {
    const text = input.value;
    if (text.trim() === '') return;
    if (session.sendChat(to.value, text)) {
      input.value = '';
      problem.hidden = true;
    } else {
      setText(problem, t('chat.notSent'));
      problem.hidden = false;
    }
    syncSend();
  }

  function syncSend() {
    send.disabled = input.value.trim() === '';
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submit();
  });
  input.addEventListener('input', syncSend);
  input.addEventListener('keydown', (ev) => {
    // Enter sends, Shift+Enter starts a new line.
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      submit();
    }
  });

  /** @param {string} target */
  function toLabel(target) {
    if (target === 'all') return t('chat.toAll');
    if (target === 'chair') return t('chat.toChair');
    if (target === session.you?.id) return t('chat.toYou');
    return session.roster.find((s) => s.id === target)?.name ?? target;
  }

  const time = new Intl.DateTimeFormat(getLanguage() === 'vi' ? 'vi-VN' : 'en-GB', { hour: '2-digit', minute: '2-digit' });

  /** @param {ChatEntry} e */
  function item(e) {
    const from = e.own ? t('chat.you') : e.from.name;
    return h('li', { class: `chat-message${e.own ? ' own' : ''}${e.to !== 'all' && e.to !== 'chair' ? ' private' : ''}`, testid: 'chat-message' },
      h('div', { class: 'chat-meta' },
        h('span', { class: 'chat-who', text: t('chat.fromTo', { from, to: toLabel(e.to) }) }),
        h('span', { class: 'chat-time', text: e.pending ? t('chat.sending') : time.format(e.atMs) }),
      ),
      h('p', { class: 'chat-text', text: e.text }),
    );
  }

  function update() {
    const you = session.you;
    const options = you ? recipients(you.role, session.isCochair, session.roster, you.id) : [];
    const keep = to.value;
    rebuildIfChanged(to, options.map((o) => `${o.to}=${o.name ?? ''}`).join('\n'),
      () => options.map((o) => h('option', { text: o.name ?? toLabel(o.to), attrs: { value: o.to } })));
    if (keep && to.value !== keep && options.some((o) => o.to === keep)) to.value = keep;
    to.disabled = options.length <= 1;
    const log = session.meetingState.chatLog;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    rebuildIfChanged(list, `${log.length}:${log.filter((e) => e.pending).length}:${log.at(-1)?.atMs ?? ''}:${log.at(0)?.atMs ?? ''}`, () => (log.length === 0
      ? [h('li', { class: 'empty', text: t('chat.empty') })]
      : log.map(item)));
    if (atBottom) list.scrollTop = list.scrollHeight;
    syncSend();
  }

  update();
  return { element, update };
}
