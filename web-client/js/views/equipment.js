/**
 * The chair's "Thiết bị hội trường (OBS/WHIP)" dialog: one button issues, with this page's
 * own invite token, a WHIP token for the hall's mixer or OBS (it then publishes in place of
 * this page's camera) and a watch link for viewers outside the meeting (WHEP); the dialog
 * shows the server URL and the bearer token with copy buttons, when they expire (local time),
 * the OBS settings in a few lines, and the watch link. A dialog like the reissued link's: the
 * chair copies a credential out and closes it; Escape closes it, Tab walks its fields.
 *
 * The tokens stay in this module while the page lives (closing and reopening, or a language
 * switch, shows them again); a new press issues new ones, and the old ones keep working until
 * they expire (media tokens are short-lived, not revocable).
 */

import { getLanguage, t } from '../i18n/index.js';
import { formatExpiry, issueMediaToken } from '../media-tokens.js';
import { h, setText } from './dom.js';

/** @typedef {import('../session.js').Session} Session */
/** @typedef {import('../media-tokens.js').MediaToken} MediaToken */

/** @type {import('../media-tokens.js').PostLike} */
const browserFetch = (url, init) => fetch(url, init);

/**
 * The last tokens issued on this page, by meeting id.
 * @type {Map<string, {camera: MediaToken, viewer: MediaToken}>}
 */
const issuedFor = new Map();

/**
 * A read-only field with its label and a copy button.
 * @param {string} id element id (for the label)
 * @param {string} testid
 * @param {string} label
 * @param {(text: string) => void} copied called after a copy, with what to announce
 */
function copyField(id, testid, label, copied) {
  const input = h('input', { class: 'link-field', testid, attrs: { id, type: 'text', readonly: '', spellcheck: 'false' } });
  const copy = h('button', {
    class: 'btn small',
    testid: `${testid}-copy`,
    text: t('link.copy'),
    attrs: { type: 'button', 'aria-label': t('equipment.copyOf', { what: label }) },
    on: {
      click: async () => {
        input.select();
        try {
          await navigator.clipboard.writeText(input.value);
          copied(t('equipment.copied', { what: label }));
        } catch {
          // No clipboard permission (plain http, old browser): the text is selected for Ctrl+C.
          copied(t('link.copyFailed'));
        }
      },
    },
  });
  const element = h('div', { class: 'equipment-field' },
    h('label', { text: label, attrs: { for: id } }),
    h('div', { class: 'equipment-row' }, input, copy));
  return { element, input };
}

/**
 * @param {Session} session
 * @returns {{button: HTMLButtonElement, element: HTMLDialogElement, update: () => void}}
 */
export function createEquipmentPanel(session) {
  const button = h('button', {
    class: 'btn',
    testid: 'equipment-open',
    text: t('equipment.button'),
    attrs: { 'aria-haspopup': 'dialog', title: t('equipment.title') },
    on: { click: () => open() },
  });
  const status = h('p', { class: 'link-status', testid: 'equipment-status', attrs: { role: 'status' } });
  const announce = (/** @type {string} */ text) => {
    status.classList.remove('problem');
    setText(status, text);
  };
  const issue = h('button', { class: 'btn primary', testid: 'equipment-issue', text: t('equipment.issue'), on: { click: () => void issueTokens() } });
  const url = copyField('equipment-url', 'whip-url', t('equipment.server'), announce);
  const token = copyField('equipment-token', 'whip-token', t('equipment.token'), announce);
  const expiry = h('p', { class: 'equipment-expiry', testid: 'whip-expiry' });
  const watch = copyField('equipment-watch', 'watch-link', t('equipment.watchLink'), announce);
  const watchExpiry = h('p', { class: 'equipment-expiry', testid: 'watch-expiry' });
  const result = h('div', { class: 'equipment-result', testid: 'equipment-result' },
    url.element,
    token.element,
    expiry,
    h('h3', { text: t('equipment.obsTitle') }),
    h('ol', { class: 'equipment-steps' },
      h('li', { text: t('equipment.obsService') }),
      h('li', { text: t('equipment.obsServer') }),
      h('li', { text: t('equipment.obsToken') }),
      h('li', { text: t('equipment.obsOutput') }),
    ),
    h('h3', { text: t('equipment.watchTitle') }),
    h('p', { text: t('equipment.watchBody') }),
    watch.element,
    watchExpiry,
  );
  result.hidden = true;
  const close = h('button', { class: 'btn', testid: 'equipment-close', text: t('link.close'), on: { click: () => element.close() } });
  const element = h('dialog', { class: 'confirm equipment-dialog', testid: 'equipment-panel', attrs: { 'aria-labelledby': 'equipment-title' } },
    h('h2', { text: t('equipment.title'), attrs: { id: 'equipment-title' } }),
    h('p', { text: t('equipment.body') }),
    h('p', { class: 'equipment-warning', text: t('equipment.warning') }),
    h('div', { class: 'dialog-buttons start' }, issue),
    status,
    result,
    h('div', { class: 'dialog-buttons' }, close),
  );
  element.addEventListener('close', () => button.focus());
  const lang = () => (getLanguage() === 'vi' ? 'vi' : 'en');
  /** A request is under way (a second press waits for it). */
  let busy = false;

  function open() {
    setText(status, '');
    show();
    if (!element.open) element.showModal();
    issue.focus();
  }

  async function issueTokens() {
    const id = session.meeting?.id;
    const own = session.token;
    if (!id || !own || busy) return;
    // Not `disabled`: a disabled button drops the keyboard focus to the page.
    busy = true;
    issue.setAttribute('aria-disabled', 'true');
    announce(t('equipment.issuing'));
    const camera = await issueMediaToken(browserFetch, id, own, 'chair-camera');
    const viewer = camera.ok ? await issueMediaToken(browserFetch, id, own, 'viewer') : camera;
    busy = false;
    issue.removeAttribute('aria-disabled');
    if (!camera.ok || !viewer.ok) {
      const failure = !camera.ok ? camera.failure : !viewer.ok ? viewer.failure : 'server';
      setText(status, t(`equipment.failed.${failure}`));
      status.classList.add('problem');
      return;
    }
    issuedFor.set(id, { camera: camera.issued, viewer: viewer.issued });
    show();
    announce(t('equipment.issued', { time: formatExpiry(camera.issued.expiresAt, lang()) }));
  }

  /** Fills the fields from the last tokens issued for this meeting. */
  function show() {
    const got = issuedFor.get(session.meeting?.id ?? '');
    result.hidden = !got;
    setText(issue, got ? t('equipment.reissue') : t('equipment.issue'));
    if (!got) return;
    url.input.value = got.camera.url;
    token.input.value = got.camera.token;
    setText(expiry, t('equipment.expires', { time: formatExpiry(got.camera.expiresAt, lang()) }));
    watch.input.value = got.viewer.watchLink ?? '';
    setText(watchExpiry, t('equipment.expires', { time: formatExpiry(got.viewer.expiresAt, lang()) }));
  }

  function update() {
    // The meeting ended: nothing can be published any more, so nothing is offered.
    button.hidden = session.meetingState.phase === 'ended';
  }

  update();
  return { button, element, update };
}
