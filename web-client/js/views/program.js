/**
 * A site's main screen: the program as `program.js` lays it out (the shared screen, the
 * spotlighted site or the chair large; the other speaking cameras in a strip beside it), the
 * site's own picture in the strip (or in a corner when the strip is empty), and what it is
 * sharing when it presents. In the lobby, before the chair opens the meeting, the site sees
 * its own picture large and a note that it is waiting.
 */

import { t } from '../i18n/index.js';
import { h, setText, setVideo, syncChildren, videoElement } from './dom.js';

/** @typedef {import('../session.js').Session} Session */
/** @typedef {import('../protocol.js').Slot} Slot */

/**
 * @param {Session} session
 * @returns {{element: HTMLElement, update: () => void}}
 */
export function createProgram(session) {
  const main = videoElement({ class: 'program-video', testid: 'program-video' });
  const caption = h('div', { class: 'program-caption' });
  const waiting = h('p', { class: 'program-empty', text: t('meeting.waitingForChair') });
  const program = h('div', { class: 'program large' }, main, waiting, caption);

  const own = videoElement({ class: 'own-video mirror', testid: 'own-video' });
  const ownBox = h('div', { class: 'own strip-item', attrs: { 'aria-label': t('meeting.you') } }, own, h('span', { class: 'own-label', text: t('meeting.you') }));
  const myScreen = videoElement({ class: 'own-video', testid: 'own-screen' });
  const myScreenBox = h('div', { class: 'own strip-item presenting' }, myScreen, h('span', { class: 'own-label', text: t('present.you') }));
  const others = h('div', { class: 'strip-others' });
  const strip = h('div', { class: 'strip' }, others, myScreenBox, ownBox);

  const lobbyVideo = videoElement({ class: 'program-video mirror', testid: 'lobby-preview' });
  const lobby = h('div', { class: 'program large lobby' },
    lobbyVideo,
    h('div', { class: 'lobby-notice', testid: 'lobby-notice', attrs: { role: 'status' } },
      h('strong', { text: t('lobby.waiting') }),
      h('span', { text: t('lobby.hint') }),
    ),
  );

  const element = h('div', { class: 'stage' }, program, lobby, strip);
  /** @type {Map<string, {element: HTMLElement, video: HTMLVideoElement, name: HTMLElement}>} */
  const items = new Map();
  /** @type {MediaStream | null} the shared screen as a stream, made once per track */
  let screenStream = null;

  /** @param {string} mid */
  function createItem(mid) {
    const video = videoElement({ class: 'own-video', attrs: { 'data-mid': mid } });
    const name = h('span', { class: 'own-label' });
    return { element: h('div', { class: 'strip-item' }, video, name), video, name };
  }

  /** @param {Slot} slot */
  const label = (slot) => (slot.track === 'screen' ? t('present.of', { name: slot.name ?? '' }) : slot.name ?? '');

  function update() {
    const inLobby = session.meetingState.phase === 'lobby';
    const hasCamera = session.cameraTrack !== null;
    lobby.hidden = !inLobby;
    program.hidden = inLobby;
    setVideo(lobbyVideo, inLobby && hasCamera ? session.local : null);

    const { main: slot, side } = inLobby ? { main: null, side: [] } : session.programLayout();
    const stream = session.streamForSlot(slot);
    setVideo(main, stream);
    main.hidden = stream === null;
    main.dataset.track = slot?.track ?? 'camera';
    waiting.hidden = stream !== null;
    setText(caption, slot ? label(slot) : '');
    caption.hidden = !slot?.name;

    const shown = syncChildren(others, items, side.map((s) => s.mid), createItem);
    shown.forEach((item, i) => {
      setVideo(item.video, session.streamForSlot(side[i]));
      setText(item.name, label(side[i]));
    });

    setVideo(own, hasCamera && !inLobby ? session.local : null);
    ownBox.hidden = !hasCamera || inLobby;
    const screen = session.screenShare.track;
    if (screenStream?.getVideoTracks()[0] !== screen) screenStream = screen ? new MediaStream([screen]) : null;
    setVideo(myScreen, screenStream);
    myScreenBox.hidden = screen === null;
    // With nothing beside the program, the own picture sits in the corner of it.
    element.classList.toggle('with-strip', side.length > 0 || screen !== null);
  }

  update();
  return { element, update };
}
