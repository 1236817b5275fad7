/**
 * Entry point of the diemcau browser client (loaded by `index.html` at `/` and `/join`).
 *
 * Owns the page shell: the header (meeting title, own site, VI/EN switch), the banner
 * (reconnecting, non-fatal server errors), the `<audio>` elements that play the receive
 * slots, and which view fills the page. The meeting logic lives in `session.js`; the views
 * in `views/` only read the session and call its actions.
 *
 * ## Test hooks (for end-to-end tests)
 *
 * `window.diemcau` is an object of getters, so it is always current:
 *   - `pc`        the `RTCPeerConnection`, or null before Join / after leaving
 *   - `role`      `'chair' | 'site' | 'operator'`, or null before `joined`
 *   - `state`     `'idle' | 'joining' | 'joined' | 'connected' | 'ended' | 'error'`;
 *                 `'connected'` exactly while `pc.connectionState === 'connected'`
 *   - `slots`     the last `slots` message's array (`[]` before one arrives)
 *   - `you`       `joined.you` (`{id, name, role}`), or null
 *   - `meeting`   `joined.meeting` (`{id, title}`), or null
 *   - `lastError` the last server `error` as `{code, message}` (code `media` for a local
 *                 WebRTC failure, `screen` when the screen could not be shared; with
 *                 `about: 'present'` when it refused our presentation), or null
 *   - `screen`    `'no-token' | 'join' | 'meeting' | 'left' | 'ended' | 'failed'`
 *   - `roster`    every site with `{id, name, role, state, mic?, camera?}`
 *   - `quality`   `'good' | 'fair' | 'poor' | 'connecting' | 'disconnected'`
 *   - `phase`     `'lobby' | 'open'` from the last `meeting_state`, or null before one
 *                 (the server's enum also has `'ended'`; `ended` follows it at once)
 *   - `locked`    the meeting is locked (last `meeting_state`), false before one
 *   - `floor`     the last `floor` message, or null
 *   - `grid`      the last `grid` message (chair), or null
 *   - `chat`      every `chat` message received, oldest first
 *   - `presenting` true exactly while the screen-share sender has a track
 *   - `endReason` `ended.reason` once the meeting is over for this page, else null
 *   - `lineCheck` this page's own line check: `{state: 'idle' | 'running' | 'done',
 *                 result}`, `result` the `check_result` it sent (`verdict`, `camera`, `mic`,
 *                 `rtt_ms`, `loss_pct`, `send_kbps`, `recv_kbps`) once done, else null;
 *                 also `failure` (why it could not run: `conflict`, `interrupted`, …) or null
 *   - `checks`    each site's last line check as the server reported it (`check_result`
 *                 with `site_id`, `at_ms`), by site id (`{}` before one)
 *   - `stats`     operator: the last `stats` message (`at_ms`, `totals`, `sites`), or null
 *                 (before one, and while the socket is down)
 *   - `recording` the meeting is being recorded (the last `recording` message)
 *
 * and two functions:
 *   - `send(msg)`          sends a protocol message object as it is through the signaling
 *                          socket, unchecked (to probe what the server refuses); returns
 *                          false when the socket is not open
 *   - `setMicEnabled(on)`  switches the microphone on or off, as the mic button does
 *
 * `data-testid`s: `join-button`, `leave-button`, `mic-toggle`, `camera-toggle`,
 * `end-meeting`, `confirm-end`, `site-tile` (with `data-site-id`, `data-state`),
 * `program-video`, `lang-switch`, `device-error`, `banner-error`; also `preview-video`,
 * `own-video`, `camera-select`, `mic-select`, `quality` (with `data-quality`),
 * `banner-reconnecting`, `screen-<screen>` on full-page messages.
 *
 * Chairing: `raise-hand` (site: raise / lower), `floor-banner`, `muted-banner`,
 * `video-stopped-banner`, `chair-notice` (allowed to speak / show video again),
 * `hand-waiting`, `lobby-notice` (site: with `lobby-preview`; chair: the lobby note),
 * `hand-queue` with `hand-row`s (`data-site-id`), each with `grant-floor` and `lower-hand`;
 * `revoke-floor` on the floor holders in it (all three with `data-site-id`).
 * Each chair grid tile (`site-tile`, `data-site-id`) has one worded quick button —
 * `grant-floor`, `revoke-floor` or, for a removed site, `tile-readmit` — and a row of icon
 * buttons, all visible on the tile (each with `data-site-id`, `aria-pressed` on toggles):
 * `lower-hand` (hand up only), `tile-mute` / `tile-unmute`, `tile-stop-video` /
 * `tile-allow-video`, `tile-spotlight`, `tile-listen` and `tile-cochair` (chair only),
 * `tile-remove` (then `confirm-remove` in the dialog). A co-chair has the same buttons on
 * the `site-row`s of its `site-list`. `open-meeting`, `lock-toggle`, `present-button` (with `own-screen`,
 * `presentation-video` previews), `grid-prev`, `grid-next`, `grid-page-size` (select),
 * `grid-rotate` (checkbox), `grid-rotate-interval` (select), `roster-counts`,
 * `rollcall-open` (toolbar) → `rollcall-panel` with `rollcall-row`s (`data-site-id`),
 * `rollcall-csv`, `rollcall-json`; `chat-panel` with `chat-to` (select), `chat-input`,
 * `chat-send`, `chat-message`s; `chat-toggle` (site: hide / show the messages).
 *
 * Recording: `recording-badge` in the header on every page while the meeting is recorded
 * ("Đang ghi hình"), `join-recording-notice` on the join page; `record-toggle` (chair,
 * co-chairs) starts and stops it.
 *
 * Line check (a site in the lobby): `line-check` (the button), `line-check-progress`,
 * `line-check-failure`, `line-check-result` (with `data-verdict`) listing `line-check-rtt`,
 * `line-check-loss`, `line-check-send`, `line-check-recv`, `line-check-camera`,
 * `line-check-mic`; `join-check-hint` on the join page. A site's last check is a
 * `check-badge` (`data-verdict`, `data-site-id`) on the chair's tiles, a co-chair's site
 * rows and the operator's roster rows (cell `data-col="check"`).
 *
 * Operator dashboard: `ops-totals` (items with `data-total`: `joined`, `connected`, `up`,
 * `down`, `relay`, `loss`, `rtt`, `silent`, `audio-only`); `ops-table` with an `ops-row` per
 * expected participant (`data-site-id`, `data-state` = `joined | waiting | left`,
 * `data-alert` = the alerts space-separated, `loss rtt silent`, absent when none: match
 * with `[data-alert~="loss"]`; `aria-selected`); its cells carry `data-col`: `severity`,
 * `name`, `state`, `transport`, `up`, `down`, `loss-up`, `loss-down`, `rtt`, `jitter`,
 * `layer`, `audio`, `check`, `spark` (holding the `ops-spark` SVG); header buttons
 * `ops-sort-<column>` (`aria-sort` on their `th`). Clicking a row opens `ops-detail`
 * (`data-site-id`) with `ops-notice-text`, `ops-send-notice`, `ops-reconnect` and
 * `ops-audio-only` (`aria-pressed`). A site (or the chair) shows each operator message as
 * an `operator-notice` until dismissed, and `audio-only-forced` while the operators have
 * switched it to audio only.
 */

import { errorMessage } from './error-text.js';
import { getLanguage, onLanguageChange, setLanguage, t } from './i18n/index.js';
import { Session } from './session.js';
import { tokenFromHash } from './token.js';
import { mountChair } from './views/chair.js';
import { h, setText } from './views/dom.js';
import { mountJoin } from './views/join.js';
import { mountMessage } from './views/message.js';
import { mountOperator } from './views/operator.js';
import { mountSite } from './views/site.js';

/** @typedef {{update: () => void, destroy: () => void}} View */
/** @typedef {import('./media.js').MediaSession} MediaSession */

const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
// `?relay=1` sends media only through TURN (see web-client/README.md).
const relayOnly = new URLSearchParams(location.search).get('relay') === '1';
const session = new Session({ token: tokenFromHash(location.hash), wsUrl, relayOnly });

// ---- shell -------------------------------------------------------------------------------

const brand = h('span', { class: 'brand' });
const meetingTitle = h('span', { class: 'top-title' });
const whoAmI = h('span', { class: 'top-site' });
const langVi = h('span', { text: 'VI' });
const langEn = h('span', { text: 'EN' });
const langSwitch = h('button', {
  class: 'lang',
  testid: 'lang-switch',
  on: { click: () => setLanguage(getLanguage() === 'vi' ? 'en' : 'vi') },
}, langVi, ' | ', langEn);
// The law requires telling every participant that the meeting is recorded: one mark in the
// header, so the join page, the chair's, the sites' and the operators' pages all carry it.
const recordingMark = h('span', { class: 'badge rec', testid: 'recording-badge', attrs: { role: 'status' } });
const header = h('header', { class: 'topbar' }, brand, meetingTitle, whoAmI, recordingMark, langSwitch);

const reconnecting = h('div', { class: 'banner info', testid: 'banner-reconnecting', attrs: { role: 'status' } });
const errorText = h('span');
const errorClose = h('button', { class: 'btn small', on: { click: () => session.dismissError() } });
const errorBanner = h('div', { class: 'banner error', testid: 'banner-error', attrs: { role: 'alert' } }, errorText, errorClose);
const main = h('main', { class: 'view' });
const audioSinks = h('div', { class: 'audio-sinks', attrs: { 'aria-hidden': 'true' } });

document.body.replaceChildren(header, reconnecting, errorBanner, main, audioSinks);

// ---- views -------------------------------------------------------------------------------

/** @type {View | null} */
let view = null;
let viewKey = '';

/** Which view the session needs now; a new key means a fresh mount. */
function wantedView() {
  if (session.screen === 'join' || (session.screen === 'meeting' && !session.you)) return 'join';
  if (session.screen === 'meeting') return `meeting-${session.you?.role}`;
  return `message-${session.screen}-${session.failure ?? ''}-${session.endReason ?? ''}`;
}

/** @param {string} key */
function mount(key) {
  view?.destroy();
  main.replaceChildren();
  viewKey = key;
  if (key === 'join') view = mountJoin(main, session);
  else if (key === 'meeting-chair') view = mountChair(main, session);
  else if (key === 'meeting-operator') view = mountOperator(main, session);
  else if (key === 'meeting-site') view = mountSite(main, session);
  else view = mountMessage(main, session);
}

function render() {
  const key = wantedView();
  if (key !== viewKey) mount(key);
  else view?.update();
  renderShell();
  syncAudio(session.media);
  silenceLoopback(session.media);
}

function renderShell() {
  document.documentElement.lang = getLanguage();
  document.title = session.meeting ? `${session.meeting.title} — ${t('app.documentTitle')}` : t('app.documentTitle');
  setText(brand, t('app.name'));
  // The join page shows title and site in large type already; the header repeats them
  // only once the page is about the meeting itself.
  const inHeader = session.screen !== 'join';
  setText(meetingTitle, inHeader ? session.meeting?.title ?? '' : '');
  const you = inHeader ? session.you : null;
  setText(whoAmI, you ? `${you.name} · ${t(`role.${you.role}`)}` : '');
  const recorded = (session.screen === 'join' || session.screen === 'meeting') && session.meetingState.recording;
  recordingMark.hidden = !recorded;
  setText(recordingMark, t('recording.on'));
  recordingMark.title = session.meetingState.recordingQuota ? t('recording.quota') : '';
  langVi.className = getLanguage() === 'vi' ? 'active' : '';
  langEn.className = getLanguage() === 'en' ? 'active' : '';
  langSwitch.title = t('lang.switchTitle');

  const live = session.screen === 'join' || session.screen === 'meeting';
  reconnecting.hidden = !(live && session.reconnecting);
  setText(reconnecting, t('banner.reconnecting'));
  const err = session.lastError;
  errorBanner.hidden = !err || !live;
  setText(errorText, err ? errorMessage(err) : '');
  setText(errorClose, t('banner.close'));
}

// ---- sound -------------------------------------------------------------------------------

/** @type {MediaSession | null} */
let audioFor = null;

/**
 * One `<audio autoplay>` per audio receive slot, kept outside the views so that switching
 * views or language never interrupts the sound. What a slot carries is the SFU's business
 * (it forwards only who may be heard), so every slot simply plays, except the line check's
 * loopback (`silenceLoopback`).
 * @param {MediaSession | null} media
 */
function syncAudio(media) {
  if (media === audioFor) return;
  audioFor = media;
  const sinks = (media?.receiveSlots() ?? []).filter((s) => s.kind === 'audio').map((s) => {
    const audio = h('audio', { attrs: { 'data-mid': s.mid ?? '' } });
    audio.autoplay = true;
    audio.srcObject = s.stream;
    audio.play().catch(() => {
      // Blocked only without a click on the page; Join is a click, so this is rare.
    });
    return audio;
  });
  audioSinks.replaceChildren(...sinks);
}

/**
 * Keeps the line check's loopback silent: a site's own sound coming back is echo. The
 * elements carry the slot's stream; which mid that is, the peer connection knows (the mids
 * are assigned only after the offer, later than the elements are made).
 * @param {MediaSession | null} media
 */
function silenceLoopback(media) {
  const mids = new Map((media?.receiveSlots() ?? []).map((s) => [s.stream, s.mid]));
  for (const audio of audioSinks.querySelectorAll('audio')) {
    const mid = audio.srcObject instanceof MediaStream ? mids.get(audio.srcObject) ?? null : null;
    const silent = session.lineCheck.mutes(mid);
    if (audio.muted !== silent) audio.muted = silent;
  }
}

// ---- wiring ------------------------------------------------------------------------------

session.onChange(render);
onLanguageChange(() => {
  viewKey = ''; // every string in the views changes: mount afresh
  render();
});
// A new invite link pasted into the same tab changes only the fragment: start afresh.
window.addEventListener('hashchange', () => location.reload());

Object.defineProperty(window, 'diemcau', {
  configurable: true,
  value: {
    get pc() { return session.media?.pc ?? null; },
    get role() { return session.you?.role ?? null; },
    get state() { return session.state; },
    get reconnecting() { return session.reconnecting; },
    get slots() { return session.slots; },
    get you() { return session.you; },
    get meeting() { return session.meeting; },
    get lastError() { return session.lastError; },
    get screen() { return session.screen; },
    get roster() { return session.roster; },
    get quality() { return session.quality; },
    get phase() { return session.meetingState.phase; },
    get locked() { return session.meetingState.locked; },
    get floor() { return session.meetingState.floor; },
    get grid() { return session.meetingState.grid; },
    get chat() { return session.meetingState.chat; },
    get presenting() { return session.presenting; },
    get endReason() { return session.endReason; },
    get lineCheck() {
      const c = session.lineCheck;
      return { state: c.state, result: c.result, failure: c.failure };
    },
    get checks() { return session.checks; },
    get stats() { return session.stats; },
    get recording() { return session.meetingState.recording; },
    /** @param {unknown} msg */
    send: (msg) => session.sendRaw(msg),
    /** @param {boolean} on */
    setMicEnabled: (on) => session.setMicEnabled(Boolean(on)),
  },
});

session.start();
render();
