/**
 * The WebRTC side of a session: one `RTCPeerConnection` to the SFU, laid out exactly as
 * PROTOCOL.md "Media layout" says, so the SFU tells sending from receiving by order and
 * direction alone:
 *
 *   1. audio sendonly (microphone, or no track)
 *   2. video sendonly with three simulcast encodings q / h / f (camera, or no track)
 *   3. video sendonly with one encoding (the shared screen; no track until presenting)
 *   4. `receive.video` × video recvonly (receive slots)
 *   5. `receive.audio` × audio recvonly (receive slots)
 *
 * The send transceivers exist even without a track (an operator, a site with no camera, a
 * site not presenting), so the layout never changes and a device found later, or a shared
 * screen, is added with `replaceTrack`, without renegotiating. Each receive slot gets its own `MediaStream` at once (from the receiver's
 * track), keyed by `mid` after the offer: the server's `slots` message says which site a mid
 * carries. No DOM here.
 *
 * Lifecycle: construct → `start()` (offer sent through `send`) → `acceptAnswer(sdp)` →
 * media; `close()` at the end. Candidates found before the offer went out wait for it, since
 * the server refuses a candidate before an offer (`no_offer`).
 */

import { candidateMessage, offerMessage } from './messages.js';
import { readStats } from './quality.js';

/** @typedef {import('./protocol.js').ClientMessage} ClientMessage */
/** @typedef {import('./protocol.js').IceServer} IceServer */
/** @typedef {import('./quality.js').StatsSample} StatsSample */

/** The three simulcast encodings, low to high, with the rids the SFU maps to layers. */
export const SIMULCAST_ENCODINGS = [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'f', maxBitrate: 1_500_000 },
];

/**
 * Which camera encodings to keep sending when nobody receives more than `max`: `q` always
 * (a new subscriber gets a picture at once), `h` and `f` only when someone receives them.
 * @param {import('./protocol.js').LayerName} max
 * @returns {boolean[]} one flag per entry of {@link SIMULCAST_ENCODINGS}
 */
export function activeEncodings(max) {
  const rank = { none: 0, low: 0, mid: 1, high: 2 }[max];
  return SIMULCAST_ENCODINGS.map((_, i) => i <= rank);
}

/**
 * The screen share's one encoding: slides and documents change rarely, so few frames at a
 * good bitrate keep text sharp on a weak link.
 */
export const SCREEN_ENCODING = { maxFramerate: 5, maxBitrate: 1_200_000 };

/** @typedef {'audio' | 'video' | 'screen'} SendKind which send transceiver: mic, camera, screen */

/**
 * The codec list with one codec moved to the front, others kept in their order (so H264
 * stays as the fallback and RTX/RED/FEC entries remain).
 * @template {{mimeType: string}} C
 * @param {readonly C[]} codecs
 * @param {string} mimeType e.g. `video/VP8`
 * @returns {C[]}
 */
export function preferCodec(codecs, mimeType) {
  const wanted = mimeType.toLowerCase();
  const first = codecs.filter((c) => c.mimeType.toLowerCase() === wanted);
  const rest = codecs.filter((c) => c.mimeType.toLowerCase() !== wanted);
  return [...first, ...rest];
}

/**
 * Puts VP8 first on a video transceiver. Old browsers without `setCodecPreferences` or
 * capabilities keep their default order (Chromium's default is VP8 first anyway).
 * @param {RTCRtpTransceiver} transceiver
 */
function preferVp8(transceiver) {
  const caps = globalThis.RTCRtpReceiver?.getCapabilities?.('video')
    ?? globalThis.RTCRtpSender?.getCapabilities?.('video');
  if (!caps || typeof transceiver.setCodecPreferences !== 'function') return;
  try {
    transceiver.setCodecPreferences(preferCodec(caps.codecs, 'video/VP8'));
  } catch (e) {
    console.warn('diemcau: VP8 preference not applied', e);
  }
}

export class MediaSession {
  /** The peer connection; exposed for the test hook and stats. */
  pc;
  /** @type {RTCRtpTransceiver} */
  #audioOut;
  /** @type {RTCRtpTransceiver} */
  #videoOut;
  /** @type {RTCRtpTransceiver} */
  #screenOut;
  /** @type {{transceiver: RTCRtpTransceiver, kind: 'audio' | 'video', stream: MediaStream}[]} */
  #receivers = [];
  /** @type {(msg: ClientMessage) => void} */
  #send;
  #offerSent = false;
  /** @type {ClientMessage[]} */
  #pendingCandidates = [];
  /** @type {{lost: number, received: number} | null} */
  #lastTotals = null;

  /**
   * @param {object} options
   * @param {{video: number, audio: number}} options.receive receive slot counts from `joined`
   * @param {IceServer[]} options.iceServers from `joined.ice_servers`
   * @param {MediaStream | null} options.localStream camera/mic; null for an operator
   * @param {(msg: ClientMessage) => void} options.send carries `offer` and `candidate`
   * @param {(state: RTCPeerConnectionState) => void} [options.onConnectionState]
   * @param {RTCIceTransportPolicy} [options.iceTransportPolicy] `relay`: only through TURN
   */
  constructor({ receive, iceServers, localStream, send, onConnectionState, iceTransportPolicy = 'all' }) {
    this.#send = send;
    // max-bundle: the SFU has one UDP port, so one transport serves every slot.
    this.pc = new RTCPeerConnection({ iceServers, iceTransportPolicy, bundlePolicy: 'max-bundle' });
    this.pc.onicecandidate = (ev) => {
      const c = ev.candidate;
      this.#sendCandidate(c ? candidateMessage(c.candidate, c.sdpMid) : candidateMessage('', null));
    };
    this.pc.onconnectionstatechange = () => onConnectionState?.(this.pc.connectionState);

    const mic = localStream?.getAudioTracks()[0] ?? null;
    const camera = localStream?.getVideoTracks()[0] ?? null;
    const streams = localStream ? [localStream] : [];
    this.#audioOut = this.pc.addTransceiver(mic ?? 'audio', { direction: 'sendonly', streams });
    this.#videoOut = this.pc.addTransceiver(camera ?? 'video', {
      direction: 'sendonly',
      streams,
      sendEncodings: SIMULCAST_ENCODINGS.map((e) => ({ ...e })),
    });
    preferVp8(this.#videoOut);
    this.#screenOut = this.pc.addTransceiver('video', { direction: 'sendonly', sendEncodings: [{ ...SCREEN_ENCODING }] });
    preferVp8(this.#screenOut);
    for (let i = 0; i < receive.video; i++) this.#addReceiver('video');
    for (let i = 0; i < receive.audio; i++) this.#addReceiver('audio');
  }

  /** @param {'audio' | 'video'} kind */
  #addReceiver(kind) {
    const transceiver = this.pc.addTransceiver(kind, { direction: 'recvonly' });
    if (kind === 'video') preferVp8(transceiver);
    this.#receivers.push({ transceiver, kind, stream: new MediaStream([transceiver.receiver.track]) });
  }

  /** Creates the offer, applies it and sends it. */
  async start() {
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    const sdp = this.pc.localDescription?.sdp ?? offer.sdp ?? '';
    this.#send(offerMessage(sdp));
    this.#offerSent = true;
    for (const msg of this.#pendingCandidates.splice(0)) this.#send(msg);
  }

  /**
   * ICE restart: a new offer with fresh credentials on this peer connection (the network
   * changed, or ICE failed). The server answers it on the same connection.
   */
  async restartIce() {
    const offer = await this.pc.createOffer({ iceRestart: true });
    await this.pc.setLocalDescription(offer);
    this.#send(offerMessage(this.pc.localDescription?.sdp ?? offer.sdp ?? ''));
  }

  /** @param {string} sdp the server's `answer` */
  async acceptAnswer(sdp) {
    await this.pc.setRemoteDescription({ type: 'answer', sdp });
  }

  /** @param {ClientMessage} msg */
  #sendCandidate(msg) {
    if (this.#offerSent) this.#send(msg);
    else this.#pendingCandidates.push(msg);
  }

  /**
   * The stream of the receive slot with this mid, or null when no slot has it.
   * @param {string} mid
   * @returns {MediaStream | null}
   */
  streamForMid(mid) {
    return this.#receivers.find((r) => r.transceiver.mid === mid)?.stream ?? null;
  }

  /**
   * Every receive slot's mid, kind and stream (mids are known once the offer is applied).
   * @returns {{mid: string | null, kind: 'audio' | 'video', stream: MediaStream}[]}
   */
  receiveSlots() {
    return this.#receivers.map((r) => ({ mid: r.transceiver.mid, kind: r.kind, stream: r.stream }));
  }

  /**
   * Sends another device's track, a shared screen, or nothing, without renegotiation.
   * @param {SendKind} kind
   * @param {MediaStreamTrack | null} track
   */
  async replaceTrack(kind, track) {
    const out = kind === 'audio' ? this.#audioOut : kind === 'video' ? this.#videoOut : this.#screenOut;
    await out.sender.replaceTrack(track);
  }

  /** The track on the screen-share sender: non-null exactly while presenting. */
  get screenTrack() {
    return this.#screenOut.sender.track;
  }

  /**
   * Reads RTT and inbound loss since the previous call.
   * @returns {Promise<StatsSample>}
   */
  async sample() {
    const report = await this.pc.getStats();
    const sample = readStats(report.values(), this.#lastTotals);
    this.#lastTotals = sample.totals;
    return sample;
  }

  /**
   * Stops (or restarts) encoding camera layers nobody receives, as the SFU's `layers`
   * message says: a commune's uplink is not spent on a 720p layer no one watches.
   * @param {import('./protocol.js').LayerName} max
   */
  async setCameraLayers(max) {
    const sender = this.#videoOut.sender;
    const params = sender.getParameters();
    if (!params.encodings?.length) return;
    const want = activeEncodings(max);
    let changed = false;
    params.encodings.forEach((e, i) => {
      const on = want[i] ?? true;
      if (e.active !== on) {
        e.active = on;
        changed = true;
      }
    });
    if (changed) await sender.setParameters(params);
  }

  /** Ends the connection; local tracks are the caller's and stay open. */
  close() {
    this.pc.onicecandidate = null;
    this.pc.onconnectionstatechange = null;
    this.pc.close();
  }
}
