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
 *
 * `state` is the coarse value the end-to-end tests read through `window.diemcau`.
 */

import { listDevices, openLocalMedia, openTrack, problemsFor, stopStream } from './devices.js';
import { MediaSession } from './media.js';
import { FATAL_ERROR_CODES, JOIN_ERROR_CODES, endMeetingMessage, joinMessage, leaveMessage, mediaStateMessage } from './protocol.js';
import { connectionMark } from './quality.js';
import { applySiteState, chairId, programSlot, videoMidFor } from './roster.js';
import { SignalingClient } from './signaling.js';
import { peekTokenRole } from './token.js';

/** @typedef {import('./protocol.js').JoinedMessage} JoinedMessage */
/** @typedef {import('./protocol.js').Slot} Slot */
/** @typedef {import('./protocol.js').ErrorMessage} ErrorMessage */
/** @typedef {import('./roster.js').RosterEntry} RosterEntry */
/** @typedef {import('./devices.js').DeviceProblem} DeviceProblem */
/** @typedef {import('./quality.js').ConnectionMark} ConnectionMark */
/** @typedef {import('./signaling.js').SocketConstructor} SocketConstructor */

/** @typedef {'idle' | 'joining' | 'joined' | 'connected' | 'ended' | 'error'} SessionState */
/** @typedef {'no-token' | 'join' | 'meeting' | 'left' | 'ended' | 'failed'} Screen */

/** Screens after which nothing reconnects. */
const TERMINAL_SCREENS = ['no-token', 'left', 'ended', 'failed'];

const QUALITY_INTERVAL_MS = 2000;

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
   * shows it unless it ended the session. Cleared by `dismissError`.
   * @type {{code: string, message: string} | null}
   */
  lastError = null;
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

  /** @type {string | null} */
  #token;
  #wsUrl;
  /** @type {SocketConstructor | undefined} */
  #SocketImpl;
  #reconnectDelayMs;
  /** @type {SignalingClient | null} */
  #signaling = null;
  #joinedOnSocket = false;
  /** @type {{video: number, audio: number}} Receive slot counts from the last `joined`. */
  #receive = { video: 0, audio: 0 };
  /** @type {import('./protocol.js').IceServer[]} */
  #iceServers = [];
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #reconnectTimer;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #qualityTimer;
  /** @type {Promise<void> | null} */
  #opening = null;
  /** @type {Set<() => void>} */
  #listeners = new Set();
  #notifyQueued = false;

  /**
   * @param {object} options
   * @param {string | null} options.token from the URL fragment
   * @param {string} options.wsUrl e.g. `wss://host/ws`
   * @param {SocketConstructor} [options.SocketImpl] for tests
   * @param {number} [options.reconnectDelayMs]
   */
  constructor({ token, wsUrl, SocketImpl, reconnectDelayMs = 3000 }) {
    this.#token = token;
    this.#wsUrl = wsUrl;
    this.#SocketImpl = SocketImpl;
    this.#reconnectDelayMs = reconnectDelayMs;
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

  /**
   * Calls `fn` (batched, once per turn) whenever anything shown may have changed.
   * @param {() => void} fn
   */
  onChange(fn) {
    this.#listeners.add(fn);
  }

  /** Opens the page: connects and joins, and opens the devices unless this is an operator. */
  start() {
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
    const track = this.micTrack;
    if (!track) return;
    this.micWanted = !track.enabled;
    track.enabled = this.micWanted;
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

  /**
   * The stream showing a site, when a video slot carries it.
   * @param {string} siteId
   * @returns {MediaStream | null}
   */
  streamForSite(siteId) {
    const mid = videoMidFor(this.slots, siteId);
    return mid && this.media ? this.media.streamForMid(mid) : null;
  }

  /**
   * What a site shows large: the chair, or whoever the server forwards instead.
   * @returns {{slot: Slot | null, stream: MediaStream | null}}
   */
  program() {
    const slot = programSlot(this.slots, chairId(this.roster));
    return { slot, stream: slot && this.media ? this.media.streamForMid(slot.mid) : null };
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
    sig.on('open', () => sig.send(joinMessage(token)));
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
      this.#changed();
    });
    sig.on('error', (m) => this.#onError(m));
    sig.on('ended', () => {
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
    this.reconnecting = false;
    this.meeting = m.meeting;
    this.you = m.you;
    this.roster = m.sites;
    this.slots = [];
    this.#receive = m.receive;
    this.#iceServers = m.ice_servers;
    if (m.you.role === 'operator') {
      // The operator publishes nothing, whatever the token peek guessed.
      stopStream(this.local);
      this.local = null;
      this.problems = [];
    } else if (!this.local && !this.#opening && this.problems.length === 0) {
      void this.openDevices();
    }
    if (this.entered) this.#startMedia();
    this.#changed();
  }

  #startMedia() {
    this.media?.close();
    this.media = null;
    this.pcState = 'new';
    try {
      const sig = this.#signaling;
      this.media = new MediaSession({
        receive: this.#receive,
        iceServers: this.#iceServers,
        localStream: this.local,
        send: (msg) => sig?.send(msg),
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
    if (s === 'failed') {
      // ICE gave up (the network changed under us): start over with a fresh join.
      this.#signaling?.close();
    }
    this.#changed();
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
    this.lastError = { code: m.code, message: m.message };
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
    if (TERMINAL_SCREENS.includes(this.screen)) return;
    this.#stopMedia();
    this.reconnecting = true;
    this.#scheduleReconnect();
    this.#changed();
  }

  #scheduleReconnect() {
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => this.#connect(), this.#reconnectDelayMs);
  }

  #stopMedia() {
    clearInterval(this.#qualityTimer);
    this.media?.close();
    this.media = null;
    this.slots = [];
    this.pcState = 'new';
    this.quality = 'connecting';
  }

  /** Ends everything: socket, peer connection, devices (the camera light goes off). */
  #teardown() {
    clearTimeout(this.#reconnectTimer);
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
