/**
 * The pre-meeting line check, decided: what two `getStats()` readings of the loopback say
 * about the line (round trip, loss, send and receive bitrate), whether camera and microphone
 * work, the verdict, the UDP port to name when nothing connects, and the `check_result`
 * message. Contract: `notes/contract.md`, "Pre-meeting line check".
 *
 * Pure functions over plain stats objects (what `RTCStatsReport.values()` yields) and
 * numbers, so the rules are tested without a browser; `line-checker.js` runs the check and
 * feeds them real readings.
 */

import { checkResultMessage } from './messages.js';

/** @typedef {import('./protocol.js').CheckVerdict} CheckVerdict */
/** @typedef {import('./protocol.js').CheckResultMessage} CheckResultMessage */
/** @typedef {import('./protocol.js').Slot} Slot */

/** Timings of one check: ICE/DTLS must connect within `connectMs`; then warm up, then measure. */
export const CHECK_TIMING = {
  connectMs: 15_000,
  /** The encoder turns its upper layers on and the bandwidth estimate climbs first. */
  warmupMs: 2_000,
  measureMs: 8_000,
  /** How long to wait for the server's `check` ack before giving up. */
  ackMs: 10_000,
  sampleMs: 1_000,
};

/**
 * What a line needs for video: the loopback of the site's own high layer arrives at
 * `recvKbps` or more, with less loss and a shorter round trip than these.
 */
export const VIDEO_LIMITS = { recvKbps: 250, lossPct: 5, rttMs: 400 };

/**
 * A microphone whose level stays at or under this (linear, 1 = full scale; about −70 dBov)
 * is silent: unplugged, switched off in the system, or a dead input. Any room is louder.
 */
export const SILENCE_LEVEL = 0.0003;

/**
 * One `getStats()` report reduced to what the check needs. Counters are cumulative.
 * @typedef {object} CheckReading
 * @property {number} atMs when it was taken (the caller's clock)
 * @property {number | null} rttMs the selected candidate pair's current round trip
 * @property {number | null} rttTotalS the pair's `totalRoundTripTime`
 * @property {number | null} rttResponses the pair's `responsesReceived`
 * @property {number | null} availableKbps the pair's `availableOutgoingBitrate`
 * @property {number} lost `packetsLost` summed over the loopback slots
 * @property {number} received `packetsReceived` summed over the loopback slots
 * @property {number} bytesReceived `bytesReceived` summed over the loopback slots
 * @property {number} bytesSent `bytesSent` summed over every outbound encoding
 * @property {number | null} sourceFrames frames the camera delivered (`media-source`)
 * @property {number | null} framesSent video frames sent, all encodings
 * @property {number | null} audioLevel the microphone's level now (`media-source`)
 * @property {number | null} audioEnergy its `totalAudioEnergy`
 * @property {number | null} audioDuration its `totalSamplesDuration`
 */

/**
 * The figures of a measurement, as the `check_result` message carries them (null: unknown).
 * @typedef {object} LineFigures
 * @property {number | null} rtt_ms
 * @property {number | null} loss_pct
 * @property {number | null} send_kbps
 * @property {number | null} recv_kbps
 * @property {number | null} available_kbps the browser's estimate of the uplink (shown to the
 *   site only; not part of the message)
 */

/** @param {unknown} v */
const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * Reads one stats report. Inbound counters are summed over the slots whose mid is in
 * `loopbackMids` (the slots carrying the site's own camera and sound); when none is known,
 * or the browser does not report mids, over every inbound stream (in the lobby the loopback
 * is all a site receives).
 * @param {Iterable<Record<string, any>>} stats
 * @param {number} atMs
 * @param {readonly string[]} [loopbackMids]
 * @returns {CheckReading}
 */
export function readCheckStats(stats, atMs, loopbackMids = []) {
  const mids = new Set(loopbackMids);
  /** @type {Record<string, any>[]} */
  const pairs = [];
  /** @type {string | null} */
  let selectedId = null;
  /** @type {number | null} */
  let remoteRtt = null;
  /** @type {CheckReading} */
  const r = {
    atMs, rttMs: null, rttTotalS: null, rttResponses: null, availableKbps: null,
    lost: 0, received: 0, bytesReceived: 0, bytesSent: 0,
    sourceFrames: null, framesSent: null, audioLevel: null, audioEnergy: null, audioDuration: null,
  };
  for (const s of stats) {
    if (s.type === 'transport' && typeof s.selectedCandidatePairId === 'string') {
      selectedId = s.selectedCandidatePairId;
    } else if (s.type === 'candidate-pair') {
      pairs.push(s);
    } else if (s.type === 'remote-inbound-rtp' && num(s.roundTripTime) !== null) {
      remoteRtt = s.roundTripTime * 1000;
    } else if (s.type === 'inbound-rtp') {
      if (mids.size > 0 && s.mid !== undefined && !mids.has(s.mid)) continue;
      r.lost += Math.max(0, num(s.packetsLost) ?? 0);
      r.received += num(s.packetsReceived) ?? 0;
      r.bytesReceived += num(s.bytesReceived) ?? 0;
    } else if (s.type === 'outbound-rtp') {
      r.bytesSent += num(s.bytesSent) ?? 0;
      const frames = num(s.framesSent) ?? num(s.framesEncoded);
      if (s.kind === 'video' && frames !== null) r.framesSent = (r.framesSent ?? 0) + frames;
    } else if (s.type === 'media-source' && s.kind === 'video' && num(s.frames) !== null) {
      r.sourceFrames = (r.sourceFrames ?? 0) + s.frames;
    } else if (s.type === 'media-source' && s.kind === 'audio') {
      r.audioLevel = num(s.audioLevel) ?? r.audioLevel;
      r.audioEnergy = num(s.totalAudioEnergy) ?? r.audioEnergy;
      r.audioDuration = num(s.totalSamplesDuration) ?? r.audioDuration;
    }
  }
  const pair = pairs.find((p) => p.id === selectedId)
    ?? pairs.find((p) => p.selected === true)
    ?? pairs.find((p) => p.nominated && p.state === 'succeeded');
  if (pair) {
    const rtt = num(pair.currentRoundTripTime);
    r.rttMs = rtt === null ? null : rtt * 1000;
    r.rttTotalS = num(pair.totalRoundTripTime);
    r.rttResponses = num(pair.responsesReceived);
    const available = num(pair.availableOutgoingBitrate);
    r.availableKbps = available === null ? null : available / 1000;
  }
  // Firefox's pairs carry no round trip; the RTCP-measured one stands in.
  if (r.rttMs === null) r.rttMs = remoteRtt;
  return r;
}

/**
 * A counter's growth between two readings, or null when it is unknown or went backwards
 * (counters restart when the peer connection is rebuilt).
 * @param {number | null} a
 * @param {number | null} b
 */
function growth(a, b) {
  return a === null || b === null || b < a ? null : b - a;
}

/**
 * The line's figures between two readings (the first taken after the warm-up).
 * The round trip is the mean over the window when the pair reports totals, else the last one.
 * @param {CheckReading} first
 * @param {CheckReading} last
 * @returns {LineFigures}
 */
export function measure(first, last) {
  const secs = (last.atMs - first.atMs) / 1000;
  /** @param {number | null} bytes */
  const kbps = (bytes) => (bytes === null || secs <= 0 ? null : (bytes * 8) / 1000 / secs);
  const lost = growth(first.lost, last.lost);
  const received = growth(first.received, last.received);
  const packets = lost === null || received === null ? 0 : lost + received;
  const rttTotal = growth(first.rttTotalS, last.rttTotalS);
  const responses = growth(first.rttResponses, last.rttResponses);
  const rttMean = rttTotal !== null && responses ? (rttTotal / responses) * 1000 : null;
  return {
    rtt_ms: rttMean ?? last.rttMs ?? first.rttMs,
    loss_pct: packets > 0 ? ((lost ?? 0) / packets) * 100 : null,
    send_kbps: kbps(growth(first.bytesSent, last.bytesSent)),
    recv_kbps: kbps(growth(first.bytesReceived, last.bytesReceived)),
    available_kbps: last.availableKbps,
  };
}

/**
 * The verdict. Not connected (within `CHECK_TIMING.connectMs`, or failed): `no_connection`.
 * Connected: `video` when the loopback arrived fast enough, with little loss and a short
 * round trip; an unknown round trip does not count against it (some browsers do not
 * report one), unknown bitrate or loss do. Otherwise `audio_only`.
 * @param {boolean} connected
 * @param {Pick<LineFigures, 'rtt_ms' | 'loss_pct' | 'recv_kbps'>} figures
 * @returns {CheckVerdict}
 */
export function verdict(connected, { rtt_ms, loss_pct, recv_kbps }) {
  if (!connected) return 'no_connection';
  const fast = recv_kbps !== null && recv_kbps >= VIDEO_LIMITS.recvKbps;
  const clean = loss_pct !== null && loss_pct < VIDEO_LIMITS.lossPct;
  const quick = rtt_ms === null || rtt_ms < VIDEO_LIMITS.rttMs;
  return fast && clean && quick ? 'video' : 'audio_only';
}

/**
 * @param {MediaStreamTrack | null | undefined} track
 * @returns {boolean} live, switched on, and its source delivering (`muted` means it is not)
 */
function working(track) {
  return Boolean(track && track.readyState === 'live' && track.enabled && !track.muted);
}

/**
 * Whether camera and microphone work, from the readings taken during the check.
 * Camera: its track is live and frames arrived (from the camera, or sent) between the first
 * and the last reading. Microphone: its track is live and its level rose above silence at a
 * reading, or on average over the check. Where the browser counts no frames or reports no
 * level, the track's word is taken.
 * @param {readonly CheckReading[]} readings oldest first
 * @param {{camera: MediaStreamTrack | null, mic: MediaStreamTrack | null}} tracks
 * @returns {{camera: boolean, mic: boolean}}
 */
export function devicesWorking(readings, tracks) {
  const first = readings[0];
  const last = readings[readings.length - 1];
  const frames = first && last ? [growth(first.sourceFrames, last.sourceFrames), growth(first.framesSent, last.framesSent)] : [];
  const counted = frames.filter((n) => n !== null);
  const framesArrived = counted.length === 0 || counted.some((n) => n > 0);
  const levels = readings.map((r) => r.audioLevel).filter((v) => v !== null);
  const energy = first && last ? growth(first.audioEnergy, last.audioEnergy) : null;
  const duration = first && last ? growth(first.audioDuration, last.audioDuration) : null;
  if (energy !== null && duration) levels.push(Math.sqrt(energy / duration));
  const heard = levels.length === 0 || Math.max(...levels) > SILENCE_LEVEL;
  return { camera: working(tracks.camera) && framesArrived, mic: working(tracks.mic) && heard };
}

/**
 * The server's UDP port, from the `a=candidate` lines of its SDP answer (the SFU has one).
 * @param {string | null | undefined} sdp
 * @returns {number | null}
 */
export function udpPortFromSdp(sdp) {
  for (const line of (sdp ?? '').split(/\r?\n/)) {
    // a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type>
    const m = /^a=candidate:\S+ \d+ (\S+) \d+ \S+ (\d+) typ /i.exec(line.trim());
    if (m && m[1].toLowerCase() === 'udp') {
      const port = Number(m[2]);
      if (port > 0 && port <= 0xffff) return port;
    }
  }
  return null;
}

/**
 * @param {number | null} v
 * @param {number} digits
 * @returns {number | null} rounded, or null when not a finite number ≥ 0 (the server refuses those)
 */
function figure(v, digits) {
  if (v === null || !Number.isFinite(v) || v < 0) return null;
  const scale = 10 ** digits;
  return Math.round(v * scale) / scale;
}

/**
 * The `check_result` message for a check's outcome. The figures are rounded (whole ms and
 * kbit/s, loss to a tenth of a percent); a check that never connected carries no figures.
 * @param {{connected: boolean, camera: boolean, mic: boolean, figures: LineFigures | null}} outcome
 * @returns {CheckResultMessage}
 */
export function buildCheckResult({ connected, camera, mic, figures }) {
  const f = connected && figures ? figures : { rtt_ms: null, loss_pct: null, send_kbps: null, recv_kbps: null };
  const rounded = {
    rtt_ms: figure(f.rtt_ms, 0),
    loss_pct: figure(f.loss_pct, 1),
    send_kbps: figure(f.send_kbps, 0),
    recv_kbps: figure(f.recv_kbps, 0),
  };
  return checkResultMessage({ verdict: verdict(connected, rounded), camera, mic, ...rounded });
}

/**
 * The mids of the receive slots carrying this site's own camera and sound (the loopback).
 * @param {readonly Slot[]} slots
 * @param {string | null | undefined} ownId
 * @returns {string[]}
 */
export function loopbackMids(slots, ownId) {
  return ownId ? slots.filter((s) => s.site_id === ownId).map((s) => s.mid) : [];
}

/**
 * Whether the `<audio>` of a receive slot must stay silent: a site never plays its own sound
 * back (echo), and while a check is on every slot is silent, since the loopback may start
 * before the `slots` message naming it arrives.
 * @param {readonly Slot[]} slots
 * @param {string | null | undefined} ownId
 * @param {boolean} checking
 * @param {string | null} mid
 */
export function silenced(slots, ownId, checking, mid) {
  return checking || (mid !== null && loopbackMids(slots, ownId).includes(mid));
}
