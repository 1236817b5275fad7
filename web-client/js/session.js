/**
 * `Session`: one site's stay in a meeting, from opening the invite link to leaving. It ties
 * the signaling socket, the local devices and the peer connection together and holds what
 * the views show. No DOM here (views read the fields and call the actions).
 *
 * Lifecycle (`screen`):
 *   no-token                          the page was opened without `#t=…`
 *   join → (Join pressed) → meeting   the socket connects and sends `join` at once, so the
 *                                     meeting title shows and a bad token is caught before
 *                                     anyone presses the button; Join builds the peer
 *                                     connection and sends the offer
 *   meeting → left | ended | failed   leave, `ended`, or a join/fatal error
 * A closed socket (outside left/ended/failed) tears the peer connection down and repeats the
 * whole join every `reconnectDelayMs`; if Join had been pressed, media restarts by itself.
 * A join refused for good (bad link, `site_removed`, `locked`) is never retried by itself:
 * the page explains, and only the user's click tries again.
 *
 * Chairing: `meetingState` (phase, lock, floor, grid page, chat) follows the server's
 * messages; the actions send them (moderation and grid pages through `chairing`, a
 * `ChairActions`; `toggleHand`, `sendChat`). A shared screen is `screenShare`'s business; it stops when the
 * peer connection goes (a reconnect, leaving).
 *
 * Line check (lobby): `lineCheck` (a `LineChecker`) runs this site's check through the
 * server's loopback; `checks` keeps every site's last `check_result` as the server reports it.
 *
 * Operators: `stats` (the last `stats` message) and `statsHistory` (five minutes per site)
 * feed the dashboard; `sendNotice`, `askReconnect` and `forceAudioOnly` are its actions. Any
 * participant keeps the operators' `operatorNotices` until dismissed, obeys `reconnect` at
 * once (as a lost socket, without the wait), and reports `client_info` (`client-info.js`)
 * while its media is connected.
 *
 * `state` is the coarse value the end-to-end tests read through `window.diemcau`.
 */

import { ChairActions } from './chair-actions.js';
import { ClientInfoReporter } from './client-info.js';
import { listDevices, openLocalMedia, openTrack, problemsFor, stopStream } from './devices.js';
import { holdsFloor, queuePosition } from './floor.js';
import { LineChecker } from './line-checker.js';
import { MediaSession } from './media.js';
import { MeetingState } from './meeting-state.js';
import {
  chatMessage, endMeetingMessage, joinMessage, leaveMessage, lowerHandMessage, mediaStateMessage, raiseHandMessage,
} from './messages.js';
import { programLayout } from './program.js';
import { FATAL_ERROR_CODES, JOIN_ERROR_CODES, MAX_CHAT_CHARS } from './protocol.js';
import { connectionMark } from './quality.js';
import { applySiteState, chairId, screenSlot, videoMidFor } from './roster.js';
import { ScreenShare } from './screen-share.js';
import { SignalingClient } from './signaling.js';
import { StatsHistory } from './stats-history.js';
import { forceAudioOnlyMessage, noticeMessage, reconnectMessage } from './messages.js';
import { peekTokenRole } from './token.js';

/** @typedef {import('./protocol.js').JoinedMessage} JoinedMessage */
/** @typedef {import('./protocol.js').Slot} Slot */
/** @typedef {import('./protocol.js').ErrorMessage} ErrorMessage */
/** @typedef {import('./protocol.js').ClientMessage} ClientMessage */
/** @typedef {import('./protocol.js').CheckReportMessage} CheckReportMessage */
/** @typedef {import('./screen-share.js').StartOutcome} StartOutcome */
/** @typedef {import('./roster.js').RosterEntry} RosterEntry */
/** @typedef {import('./devices.js').DeviceProblem} DeviceProblem */
/** @typedef {import('./quality.js').ConnectionMark} ConnectionMark */
/** @typedef {import('./signaling.js').SocketConstructor} SocketConstructor */

/** @typedef {'idle' | 'joining' | 'joined' | 'connected' | 'ended' | 'error'} SessionState */
/** @typedef {'no-token' | 'join' | 'meeting' | 'left' | 'ended' | 'failed'} Screen */

/** Screens after which nothing reconnects. */
const TERMINAL_SCREENS = ['no-token', 'left', 'ended', 'failed'];

const QUALITY_INTERVAL_MS = 2000;
/** Longest wait between two reconnect attempts. */
export const RECONNECT_MAX_MS = 15_000;
/** A peer connection `disconnected` this long gets an ICE restart. */
const ICE_RESTART_AFTER_MS = 1500;
/** How long a probe of the socket waits for its pong when the media stalls. */
const PROBE_TIMEOUT_MS = 2000;

/**
 * Wait before reconnect attempt `attempt` (0 first): `firstMs` doubling each time up to
 * [RECONNECT_MAX_MS], times a random factor of 0.75–1.25 so that hundreds of sites dropped
 * by the same outage do not all come back in the same second.
 * @param {number} attempt
 * @param {number} firstMs
 * @param {() => number} random in [0, 1)
 */
export function reconnectDelay(attempt, firstMs, random) {
  const base = Math.min(firstMs * 2 ** Math.min(attempt, 16), RECONNECT_MAX_MS);
  return Math.round(base * (0.75 + 0.5 * random()));
}

export class Session {
  /** @type {Screen} */
  screen = 'join';
  /** @type {JoinedMessage['meeting'] | null} */
  meeting = null;
  /** @type {JoinedMessage['you'] | null} */
  you = null;
  /** @type {RosterEntry[]} */
  roster = [];
  /** @type {Slot[]} */
  slots = [];
  /** @type {MediaSession | null} */
  media = null;
  /** @type {MediaStream | null} Camera and microphone; null for an operator or when nothing works. */
  local = null;
  /** @type {DeviceProblem[]} */
  problems = [];
  /** @type {{audio: MediaDeviceInfo[], video: MediaDeviceInfo[]}} */
  devices = { audio: [], video: [] };
  /** @type {{audio: string | null, video: string | null}} Device ids in use, for the selects. */
  chosen = { audio: null, video: null };
  /**
   * The last `error` from the server (or `media` for a local WebRTC failure); the banner
   * shows it unless it ended the session. `about: 'present'` when it refused our
   * presentation. Cleared by `dismissError`.
   * @type {{code: string, message: string, about?: 'present'} | null}
   */
  lastError = null;
  /** @type {string | null} `ended.reason`, once the meeting is over for us */
  endReason = null;
  /** Phase, lock, floor, grid page, chat: what the server says about the meeting. */
  meetingState = new MeetingState();
  /** @type {string | null} The join/fatal error code behind the `failed` screen. */
  failure = null;
  /** True between a lost socket and the next `joined`. */
  reconnecting = false;
  /** True once the user pressed Join (media is wanted, and restored after a reconnect). */
  entered = false;
  /** @type {RTCPeerConnectionState} */
  pcState = 'new';
  /** @type {ConnectionMark} */
  quality = 'connecting';
  /** What the user wants; a track that appears later (retry, switch) follows it. */
  micWanted = true;
  cameraWanted = true;
  /** @type {import('./protocol.js').StatsMessage | null} Operators: the last `stats`, null while offline. */
  stats = null;
  /** @type {import('./protocol.js').NodeMessage | null} Operators: the last `node`, null while offline. */
  node = null;
  /** @type {import('./protocol.js').NodeMessage | null} Operators: the `node` before it (drops rising?). */
  nodePrevious = null;
  /** Operators: the last five minutes of `stats` per site, for the charts and alerts. */
  statsHistory = new StatsHistory();
  /** @type {{id: number, text: string}[]} Messages from the operators, shown until dismissed. */
  operatorNotices = [];
  /**
   * Chair: the new invite link from the last `link` answer (to `reissue_link`), shown in a
   * dialog until dismissed; `seq` tells the view a second answer is a new dialog.
   * @type {{siteId: string, name: string, link: string, seq: number} | null}
   */
  issuedLink = null;

  /** @type {string | null} */
  #token;
  #linkSeq = 0;
  #wsUrl;
  /** @type {SocketConstructor | undefined} */
  #SocketImpl;
  #reconnectDelayMs;
  /** Reconnect attempts since the last `joined`. */
  #attempts = 0;
  /** @type {() => number} */
  #random;
  /** @type {string | null} `joined.resume`: lets the next socket take this connection back. */
  #resume = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #iceTimer;
  /** @type {SignalingClient | null} */
  #signaling = null;
  #joinedOnSocket = false;
  /** @type {{video: number, audio: number}} Receive slot counts from the last `joined`. */
  #receive = { video: 0, audio: 0 };
  /**
   * ICE servers from `joined`, in the server's order. The browser gathers from all of them
   * and prefers direct UDP, then TURN over UDP, TCP, TLS (candidate priorities do that).
   * @type {import('./protocol.js').IceServer[]}
   */
  #iceServers = [];
  /** Only relayed candidates (`?relay=1`). */
  #relayOnly = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #reconnectTimer;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #qualityTimer;
  /** @type {Promise<void> | null} */
  #opening = null;
  /** @type {Set<() => void>} */
  #listeners = new Set();
  /** @type {ClientInfoReporter | null} reports browser and route while `media` is up */
  #clientInfo = null;
  /** @type {RTCPeerConnection | null} the peer connection `#clientInfo` reports on */
  #clientInfoPc = null;
  #noticeSeq = 0;
  #notifyQueued = false;
  /** The screen share (presenting). */
  screenShare;
  /** Moderation actions and the grid pages (chair, co-chairs). */
  chairing = new ChairActions({
    send: (msg) => this.#signaling?.send(msg) ?? false,
    request: (msg) => this.#signaling?.request(msg) ?? null,
    state: () => this.meetingState,
    changed: () => this.#changed(),
  });
  /** The pre-meeting line check of this site's own line (`line-checker.js`). */
  lineCheck = new LineChecker({
    send: (msg) => this.#signaling?.send(msg) ?? false,
    pc: () => this.media?.pc ?? null,
    tracks: () => ({ camera: this.cameraTrack, mic: this.micTrack }),
    slots: () => this.slots,
    ownId: () => this.you?.id ?? null,
    changed: () => this.#changed(),
  });
  /** @type {Record<string, CheckReportMessage>} each site's last line check, by site id */
  checks = {};

  /**
   * @param {object} options
   * @param {string | null} options.token from the URL fragment
   * @param {string} options.wsUrl e.g. `wss://host/ws`
   * @param {SocketConstructor} [options.SocketImpl] for tests
   * @param {number} [options.reconnectDelayMs] first reconnect delay (then doubling, with jitter)
   * @param {() => number} [options.random] jitter source (tests pin it)
   * @param {((c: {video: {frameRate: number}, audio: boolean}) => Promise<MediaStream>) | null} [options.getDisplayMedia]
   *   defaults to the browser's; null where screens cannot be shared
   * @param {boolean} [options.relayOnly] media only through the TURN servers of `joined`
   *   (the page's `?relay=1`): tests and the diagnosis of a firewalled site
   */
  constructor({ token, wsUrl, SocketImpl, reconnectDelayMs = 1000, random = Math.random, getDisplayMedia, relayOnly = false }) {
    this.#random = random;
    this.#token = token;
    this.#relayOnly = relayOnly;
    this.#wsUrl = wsUrl;
    this.#SocketImpl = SocketImpl;
    this.#reconnectDelayMs = reconnectDelayMs;
    const devices = globalThis.navigator?.mediaDevices;
    const display = getDisplayMedia !== undefined
      ? getDisplayMedia
      : typeof devices?.getDisplayMedia === 'function' ? (/** @type {any} */ c) => devices.getDisplayMedia(c) : null;
    this.screenShare = new ScreenShare({
      getDisplayMedia: display,
      attach: async (track) => {
        if (!this.media) throw new Error('no peer connection');
        await this.media.replaceTrack('screen', track);
      },
      send: (msg) => this.#signaling?.request(msg),
      changed: () => this.#changed(),
    });
  }

  /** @returns {SessionState} */
  get state() {
    if (this.screen === 'ended') return 'ended';
    if (this.screen === 'failed') return 'error';
    if (this.screen === 'left' || this.screen === 'no-token') return 'idle';
    if (!this.#joinedOnSocket) return this.#signaling || this.reconnecting ? 'joining' : 'idle';
    return this.pcState === 'connected' ? 'connected' : 'joined';
  }

  /** True once `joined` arrived on the current socket (the Join button may be pressed). */
  get isJoined() {
    return this.#joinedOnSocket;
  }

  get micTrack() {
    return this.local?.getAudioTracks()[0] ?? null;
  }

  get cameraTrack() {
    return this.local?.getVideoTracks()[0] ?? null;
  }

  get micOn() {
    return Boolean(this.micTrack?.enabled);
  }

  get cameraOn() {
    return Boolean(this.cameraTrack?.enabled);
  }

  /** The invite token, which is also this page's credential for the attendance API. */
  get token() {
    return this.#token;
  }

  /** This participant's own roster entry (with the chair's marks), or null. */
  get own() {
    const id = this.you?.id;
    return id ? this.roster.find((s) => s.id === id) ?? null : null;
  }

  /** A site the chair made co-chair: it moderates too. */
  get isCochair() {
    return this.you?.role === 'site' && Boolean(this.own?.cochair);
  }

  /** Whether this page may grant the floor, mute sites and so on. */
  get canModerate() {
    return this.you?.role === 'chair' || this.isCochair;
  }

  get holdsFloor() {
    return holdsFloor(this.meetingState.floor, this.you?.id);
  }

  /** This site's place in the hand queue, from 1; 0 when its hand is down. */
  get handPosition() {
    return queuePosition(this.meetingState.floor, this.you?.id);
  }

  /** Whether the present button is offered: chair, co-chair, or a floor holder. */
  get mayPresent() {
    return this.screenShare.supported && (this.canModerate || this.holdsFloor);
  }

  /** The operators stopped all video to this site (it still sends and hears). */
  get audioOnlyForced() {
    return Boolean(this.own?.audio_only_forced);
  }

  /** True exactly while the screen sender has a track. */
  get presenting() {
    return Boolean(this.media?.screenTrack);
  }

  /**
   * Calls `fn` (batched, once per turn) whenever anything shown may have changed.
   * @param {() => void} fn
   */
  onChange(fn) {
    this.#listeners.add(fn);
  }

  /** Opens the page: connects and joins, and opens the devices unless this is an operator. */
  start() {
    this.meetingState = new MeetingState();
    this.endReason = null;
    if (!this.#token) {
      this.screen = 'no-token';
      this.#changed();
      return;
    }
    this.screen = 'join';
    if (peekTokenRole(this.#token) !== 'operator') void this.openDevices();
    this.#connect();
  }

  /** The Join button: builds the peer connection and sends the offer. */
  enter() {
    if (!this.#joinedOnSocket || this.entered) return;
    this.entered = true;
    this.screen = 'meeting';
    this.#startMedia();
    this.#changed();
  }

  /** Leaves the meeting; the page then offers to join again. */
  leave() {
    this.#signaling?.send(leaveMessage());
    this.screen = 'left';
    this.#teardown();
    this.#changed();
  }

  /**
   * Starts over from the join page (after leaving, or to take the link back after
   * `replaced`); with `enter`, media starts as soon as the server accepts the join.
   * @param {{enter?: boolean}} [options]
   */
  rejoin({ enter = false } = {}) {
    this.failure = null;
    this.lastError = null;
    this.entered = enter;
    this.start();
    if (enter) this.screen = 'meeting';
    this.#changed();
  }

  /** Chair only: ends the meeting for everyone (the server answers with `ended`). */
  endMeeting() {
    this.#signaling?.send(endMeetingMessage());
  }

  toggleMic() {
    this.setMicEnabled(!this.micOn);
  }

  /**
   * Switches the microphone on or off, as the toolbar button does. The chair's mute at the
   * SFU is separate: switching on here never overrides it.
   * @param {boolean} on
   */
  setMicEnabled(on) {
    const track = this.micTrack;
    if (!track) return;
    this.micWanted = on;
    track.enabled = on;
    if (on && this.meetingState.notice === 'maySpeak') this.meetingState.dismissNotice();
    this.#sendMediaState();
    this.#changed();
  }

  toggleCamera() {
    const track = this.cameraTrack;
    if (!track) return;
    this.cameraWanted = !track.enabled;
    track.enabled = this.cameraWanted;
    this.#sendMediaState();
    this.#changed();
  }

  dismissError() {
    this.lastError = null;
    this.#changed();
  }

  dismissNotice() {
    this.meetingState.dismissNotice();
    this.#changed();
  }

  /** Chair: the new-link dialog was closed. */
  dismissLink() {
    this.issuedLink = null;
    this.#changed();
  }

  /** @param {number} id */
  dismissOperatorNotice(id) {
    this.operatorNotices = this.operatorNotices.filter((n) => n.id !== id);
    this.#changed();
  }

  /**
   * Operator: a message shown to one site until it is dismissed.
   * @param {string} siteId
   * @param {string} text
   * @returns {boolean} false when it could not be sent
   */
  sendNotice(siteId, text) {
    return this.#signaling?.send(noticeMessage(siteId, text)) ?? false;
  }

  /**
   * Operator: the site drops its connection and joins again at once.
   * @param {string} siteId
   */
  askReconnect(siteId) {
    return this.#signaling?.send(reconnectMessage(siteId)) ?? false;
  }

  /**
   * Operator: the SFU sends the site no video (`on`), or video again.
   * @param {string} siteId
   * @param {boolean} on
   */
  forceAudioOnly(siteId, on) {
    return this.#signaling?.send(forceAudioOnlyMessage(siteId, on)) ?? false;
  }

  /**
   * Sends a protocol message as it is, unchecked (the test hook `send`): tests use it to see
   * what the server refuses too. Returns false when the socket is not open.
   * @param {unknown} msg
   */
  sendRaw(msg) {
    return this.#signaling?.sendUnchecked(msg) ?? false;
  }

  /** Raises or lowers this site's own hand. */
  toggleHand() {
    this.#signaling?.send(this.handPosition > 0 ? lowerHandMessage() : raiseHandMessage());
  }

  /**
   * Sends a text message; it shows in the log at once.
   * @param {string} to `chair`, `all` or a site id
   * @param {string} text
   * @returns {boolean} false when it could not be sent (offline, or empty)
   */
  sendChat(to, text) {
    const you = this.you;
    if (!you || text.trim() === '' || [...text].length > MAX_CHAT_CHARS) return false;
    if (!this.#signaling?.send(chatMessage(to, text))) return false;
    this.meetingState.addSentChat(you, to, text, Date.now());
    this.#changed();
    return true;
  }

  /**
   * Starts presenting this PC's screen (or a window).
   * @returns {Promise<StartOutcome>}
   */
  async startPresenting() {
    const outcome = await this.screenShare.start();
    if (outcome === 'failed') {
      this.lastError = { code: 'screen', message: 'the screen could not be shared' };
      this.#changed();
    }
    return outcome;
  }

  stopPresenting() {
    this.screenShare.stop();
  }

  /**
   * Checks this site's line before the meeting (lobby only): camera, microphone, and the
   * loopback of its own picture and sound through the SFU. Progress and result are on
   * `lineCheck`; the result also goes to the chair and the operators.
   * @returns {Promise<void>}
   */
  startLineCheck() {
    return this.lineCheck.start();
  }

  /**
   * The stream showing a site's camera, when a video slot carries it.
   * @param {string} siteId
   * @returns {MediaStream | null}
   */
  streamForSite(siteId) {
    const mid = videoMidFor(this.slots, siteId);
    return mid && this.media ? this.media.streamForMid(mid) : null;
  }

  /**
   * @param {Slot | null} slot
   * @returns {MediaStream | null}
   */
  streamForSlot(slot) {
    return slot && this.media ? this.media.streamForMid(slot.mid) : null;
  }

  /**
   * The program as a site shows it (`program.js`): one slot large, the others beside it.
   * @returns {{main: Slot | null, side: Slot[]}}
   */
  programLayout() {
    return programLayout(this.slots, this.meetingState.floor, chairId(this.roster));
  }

  /**
   * What shows large, with its stream (the operator's small program view).
   * @returns {{slot: Slot | null, stream: MediaStream | null}}
   */
  program() {
    const slot = this.programLayout().main;
    return { slot, stream: this.streamForSlot(slot) };
  }

  /** The shared screen on the program, if one is forwarded to us. */
  presentation() {
    const slot = screenSlot(this.slots);
    return { slot, stream: this.streamForSlot(slot) };
  }

  /**
   * Opens (or reopens, for Try again) camera and microphone; what works replaces what the
   * peer connection sends.
   * @returns {Promise<void>}
   */
  openDevices() {
    if (!this.#opening) {
      this.#opening = this.#openDevices().finally(() => {
        this.#opening = null;
      });
    }
    return this.#opening;
  }

  async #openDevices() {
    // Release the old devices first: many old webcams cannot be opened twice.
    stopStream(this.local);
    this.local = null;
    const choice = { audioDeviceId: this.chosen.audio, videoDeviceId: this.chosen.video };
    let { stream, problems } = await openLocalMedia(choice);
    if (problems.some((p) => p.reason === 'constraint') && (choice.audioDeviceId || choice.videoDeviceId)) {
      // A chosen device is gone (unplugged): fall back to the default devices.
      stopStream(stream);
      ({ stream, problems } = await openLocalMedia({}));
    }
    if (TERMINAL_SCREENS.includes(this.screen) || this.you?.role === 'operator') {
      stopStream(stream);
      return;
    }
    this.local = stream;
    this.problems = problems;
    await this.#useLocalTracks();
    this.devices = await listDevices();
    this.#changed();
  }

  /**
   * Switches to another camera or microphone.
   * @param {'audio' | 'video'} kind
   * @param {string} deviceId
   */
  async chooseDevice(kind, deviceId) {
    const old = kind === 'audio' ? this.micTrack : this.cameraTrack;
    old?.stop();
    try {
      const track = await openTrack(kind, deviceId);
      const others = this.local?.getTracks().filter((t) => t.kind !== kind) ?? [];
      // A new stream object, so every <video> showing it re-attaches.
      this.local = new MediaStream([...others, track]);
      this.chosen[kind] = deviceId;
      this.problems = this.problems.filter((p) => p.kind !== kind && p.kind !== 'both');
    } catch (e) {
      const others = this.local?.getTracks().filter((t) => t.kind !== kind) ?? [];
      this.local = others.length > 0 ? new MediaStream(others) : null;
      const fresh = kind === 'audio' ? problemsFor(e, null) : problemsFor(null, e);
      this.problems = [...this.problems.filter((p) => p.kind !== kind && p.kind !== 'both'), ...fresh];
    }
    await this.#useLocalTracks();
    this.#changed();
  }

  /** Applies the wanted on/off state and hands the local tracks to the peer connection. */
  async #useLocalTracks() {
    const mic = this.micTrack;
    const camera = this.cameraTrack;
    if (mic) mic.enabled = this.micWanted;
    if (camera) camera.enabled = this.cameraWanted;
    this.chosen = {
      audio: mic?.getSettings().deviceId ?? this.chosen.audio,
      video: camera?.getSettings().deviceId ?? this.chosen.video,
    };
    if (this.media) {
      await this.media.replaceTrack('audio', mic);
      await this.media.replaceTrack('video', camera);
      this.#sendMediaState();
    }
  }

  #connect() {
    clearTimeout(this.#reconnectTimer);
    /** @type {SignalingClient} */
    let sig;
    try {
      sig = new SignalingClient(this.#wsUrl, this.#SocketImpl);
    } catch (e) {
      console.error('diemcau: cannot open the signaling socket', e);
      this.#scheduleReconnect();
      return;
    }
    this.#signaling = sig;
    this.#joinedOnSocket = false;
    const token = /** @type {string} */ (this.#token);
    sig.on('open', () => sig.send(joinMessage(token, this.media ? this.#resume : null)));
    sig.on('joined', (m) => this.#onJoined(m));
    sig.on('answer', (m) => {
      this.media?.acceptAnswer(m.sdp).catch((e) => this.#mediaFailed(e));
    });
    sig.on('slots', (m) => {
      this.slots = m.slots;
      this.#changed();
    });
    sig.on('site_state', (m) => {
      this.roster = applySiteState(this.roster, m);
      this.meetingState.applySiteState(m, this.you?.id ?? null);
      this.#changed();
    });
    sig.on('meeting_state', (m) => {
      this.meetingState.applyMeetingState(m);
      this.#changed();
    });
    sig.on('floor', (m) => {
      this.meetingState.applyFloor(m, Date.now());
      this.screenShare.onFloor(m, this.you?.id ?? null);
      this.#changed();
    });
    sig.on('grid', (m) => {
      this.meetingState.applyGrid(m);
      this.#changed();
    });
    sig.on('recording', (m) => {
      this.meetingState.applyRecording(m);
      this.#changed();
    });
    sig.on('layers', (m) => {
      this.media?.setCameraLayers(m.camera).catch((e) => console.warn('diemcau: cannot change camera layers:', e));
    });
    sig.on('chat', (m) => {
      this.meetingState.applyChat(m, Date.now(), this.you?.id ?? null);
      this.#changed();
    });
    sig.on('check', (m) => this.lineCheck.onCheck(m.on));
    sig.on('check_result', (m) => {
      this.checks = { ...this.checks, [m.site_id]: m };
      this.#changed();
    });
    sig.on('node', (m) => {
      this.nodePrevious = this.node;
      this.node = m;
      this.#changed();
    });
    sig.on('stats', (m) => {
      this.stats = m;
      this.statsHistory.add(m);
      this.#changed();
    });
    sig.on('notice', (m) => {
      this.#noticeSeq += 1;
      this.operatorNotices = [...this.operatorNotices, { id: this.#noticeSeq, text: m.text }].slice(-5);
      this.#changed();
    });
    sig.on('link', (m) => {
      this.#linkSeq += 1;
      const name = this.roster.find((s) => s.id === m.site_id)?.name ?? m.site_id;
      this.issuedLink = { siteId: m.site_id, name, link: m.link, seq: this.#linkSeq };
      this.#changed();
    });
    sig.on('reconnect', () => {
      // The server dropped this connection (or the operators want a fresh one): no resume.
      this.#resume = null;
      this.#reconnectNow();
    });
    // The server shuts down: say so (banner `error.draining`); the socket closes within
    // `seconds` and the usual reconnect loop finds the restarted server.
    sig.on('draining', (m) => {
      this.lastError = { code: 'draining', message: `the server stops within ${m.seconds} s` };
      this.#changed();
    });
    sig.on('error', (m) => this.#onError(m));
    sig.on('ended', (m) => {
      this.endReason = m.reason;
      this.screen = 'ended';
      this.#teardown();
      this.#changed();
    });
    sig.on('protocol_error', (e) => console.warn('diemcau: unreadable frame from server:', e.message));
    sig.on('close', () => this.#onClose(sig));
    this.#changed();
  }

  /** @param {JoinedMessage} m */
  #onJoined(m) {
    this.#joinedOnSocket = true;
    this.#attempts = 0;
    this.#resume = m.resume || null;
    this.meetingState.rejoined();
    this.reconnecting = false;
    this.meeting = m.meeting;
    this.you = m.you;
    this.roster = m.sites;
    this.#receive = m.receive;
    this.#iceServers = m.ice_servers;
    if (m.resumed && this.media) {
      // The same peer connection carries on (its slots come again). The socket was lost,
      // perhaps with the address under it: ICE starts over on the same connection. While
      // the new pair is checked the old one keeps carrying media, so this costs nothing if
      // the path still works, and saves the seconds until the browser notices it does not.
      this.#restartIce();
      this.#changed();
      return;
    }
    this.slots = [];
    if (m.you.role === 'operator') {
      // The operator publishes nothing, whatever the token peek guessed.
      stopStream(this.local);
      this.local = null;
      this.problems = [];
    } else if (!this.local && !this.#opening && this.problems.length === 0) {
      void this.openDevices();
    }
    if (this.entered) this.#startMedia();
    else this.#stopMedia();
    this.#changed();
  }

  /** A new offer with fresh ICE credentials on the same peer connection. */
  #restartIce() {
    clearTimeout(this.#iceTimer);
    const media = this.media;
    if (!media || !this.#joinedOnSocket) return;
    media.restartIce().catch((e) => this.#mediaFailed(e));
  }

  #startMedia() {
    this.media?.close();
    this.media = null;
    this.pcState = 'new';
    try {
      this.media = new MediaSession({
        receive: this.#receive,
        iceServers: this.#iceServers,
        iceTransportPolicy: this.#relayOnly ? 'relay' : 'all',
        localStream: this.local,
        // Through whichever socket holds the session now: a resumed one carries on.
        send: (msg) => this.#signaling?.send(msg),
        onConnectionState: (s) => this.#onConnectionState(s),
      });
    } catch (e) {
      this.#mediaFailed(e);
      return;
    }
    const media = this.media;
    media.start().then(() => this.#sendMediaState(), (e) => this.#mediaFailed(e));
    clearInterval(this.#qualityTimer);
    this.#qualityTimer = setInterval(() => void this.#sampleQuality(media), QUALITY_INTERVAL_MS);
  }

  /** @param {RTCPeerConnectionState} s */
  #onConnectionState(s) {
    this.pcState = s;
    this.quality = connectionMark(s, null);
    if (s === 'connected') this.#reportClientInfo();
    clearTimeout(this.#iceTimer);
    if (s === 'failed') {
      // ICE gave up (the network changed under us): new credentials on the same
      // connection; without a socket, the resumed join does it.
      this.#restartIce();
    } else if (s === 'disconnected') {
      // Media stalled: if the socket died with it (a new address), find out in 2 s rather
      // than at the next unanswered pings, so the site resumes before the SFU gives up.
      this.#signaling?.probe(PROBE_TIMEOUT_MS);
      this.#iceTimer = setTimeout(() => {
        if (this.pcState === 'disconnected') this.#restartIce();
      }, ICE_RESTART_AFTER_MS);
    }
    this.#changed();
  }

  /** Tells the server this browser and its route to the SFU, once per peer connection. */
  #reportClientInfo() {
    const pc = this.media?.pc;
    if (!pc) return;
    if (this.#clientInfo && this.#clientInfoPc === pc) {
      void this.#clientInfo.check();
      return;
    }
    this.#clientInfo?.stop();
    this.#clientInfoPc = pc;
    this.#clientInfo = new ClientInfoReporter({
      getStats: () => pc.getStats(),
      send: (msg) => this.#signaling?.send(msg) ?? false,
      userAgent: globalThis.navigator?.userAgent ?? '',
      iceTransport: pc.getSenders()[0]?.transport?.iceTransport ?? null,
    });
    this.#clientInfo.start();
  }

  /**
   * The operators asked this site to join again: drop the peer connection and the socket as
   * a lost link does, and reconnect at once rather than after the usual delay.
   */
  #reconnectNow() {
    this.#signaling?.close(); // → #onClose: media dropped, a reconnect scheduled
    if (!this.#signaling && this.reconnecting) this.#connect();
  }

  /** @param {MediaSession} media */
  async #sampleQuality(media) {
    if (media !== this.media || media.pc.connectionState !== 'connected') return;
    try {
      const sample = await media.sample();
      const mark = connectionMark(media.pc.connectionState, sample);
      if (mark !== this.quality) {
        this.quality = mark;
        this.#changed();
      }
    } catch (e) {
      console.warn('diemcau: getStats failed', e);
    }
  }

  /** @param {unknown} e */
  #mediaFailed(e) {
    console.error('diemcau: media setup failed', e);
    this.lastError = { code: 'media', message: e instanceof Error ? e.message : String(e) };
    this.#changed();
  }

  #sendMediaState() {
    if (this.media && this.#joinedOnSocket) this.#signaling?.send(mediaStateMessage(this.micOn, this.cameraOn));
  }

  /** @param {ErrorMessage} m */
  #onError(m) {
    const joinFailed = !this.#joinedOnSocket && /** @type {readonly string[]} */ (JOIN_ERROR_CODES).includes(m.code);
    const aboutPresent = this.screenShare.onError(m);
    this.lastError = aboutPresent ? { code: m.code, message: m.message, about: 'present' } : { code: m.code, message: m.message };
    this.chairing.refused(m);
    this.lineCheck.onError(m.code);
    if (joinFailed || /** @type {readonly string[]} */ (FATAL_ERROR_CODES).includes(m.code)) {
      this.failure = m.code;
      this.screen = 'failed';
      this.#teardown();
    }
    this.#changed();
  }

  /** @param {SignalingClient} sig */
  #onClose(sig) {
    if (sig !== this.#signaling) return;
    this.#signaling = null;
    this.#joinedOnSocket = false;
    this.stats = null;
    this.node = null;
    this.nodePrevious = null;
    if (TERMINAL_SCREENS.includes(this.screen)) return;
    // With a resume secret the media stays up: the next socket takes the connection back.
    if (!this.#resume) this.#stopMedia();
    this.reconnecting = true;
    this.#scheduleReconnect();
    this.#changed();
  }

  #scheduleReconnect() {
    clearTimeout(this.#reconnectTimer);
    const delay = reconnectDelay(this.#attempts, this.#reconnectDelayMs, this.#random);
    this.#attempts += 1;
    this.#reconnectTimer = setTimeout(() => this.#connect(), delay);
  }

  #stopMedia() {
    clearInterval(this.#qualityTimer);
    clearTimeout(this.#iceTimer);
    this.#clientInfo?.stop();
    this.#clientInfo = null;
    this.lineCheck.abort();
    // The server drops a presentation with the connection; start it again by hand.
    this.screenShare.stop({ tell: false });
    this.media?.close();
    this.media = null;
    this.slots = [];
    this.pcState = 'new';
    this.quality = 'connecting';
  }

  /** Ends everything: socket, peer connection, devices (the camera light goes off). */
  #teardown() {
    clearTimeout(this.#reconnectTimer);
    this.#resume = null;
    this.chairing.stop();
    this.#stopMedia();
    const sig = this.#signaling;
    this.#signaling = null;
    this.#joinedOnSocket = false;
    sig?.close();
    stopStream(this.local);
    this.local = null;
    this.entered = false;
    this.reconnecting = false;
  }

  #changed() {
    if (this.#notifyQueued) return;
    this.#notifyQueued = true;
    queueMicrotask(() => {
      this.#notifyQueued = false;
      for (const fn of this.#listeners) fn();
    });
  }
}
