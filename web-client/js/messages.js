/**
 * Builders of the client messages of `signaling/PROTOCOL.md`: one small function per type,
 * so every message this client sends has one shape, the one the shared fixtures check.
 * Types and validation are in `protocol.js`.
 */

import { PROTOCOL_VERSION } from './protocol.js';

/** @typedef {import('./protocol.js').CandidateMessage} CandidateMessage */
/** @typedef {import('./protocol.js').CheckMessage} CheckMessage */
/** @typedef {import('./protocol.js').CheckResultMessage} CheckResultMessage */
/** @typedef {import('./protocol.js').ChatSendMessage} ChatSendMessage */
/** @typedef {import('./protocol.js').CochairMessage} CochairMessage */
/** @typedef {import('./protocol.js').EndMeetingMessage} EndMeetingMessage */
/** @typedef {import('./protocol.js').GrantFloorMessage} GrantFloorMessage */
/** @typedef {import('./protocol.js').GridRequestMessage} GridRequestMessage */
/** @typedef {import('./protocol.js').JoinMessage} JoinMessage */
/** @typedef {import('./protocol.js').LeaveMessage} LeaveMessage */
/** @typedef {import('./protocol.js').ListenMessage} ListenMessage */
/** @typedef {import('./protocol.js').LockMessage} LockMessage */
/** @typedef {import('./protocol.js').LowerHandMessage} LowerHandMessage */
/** @typedef {import('./protocol.js').MediaStateMessage} MediaStateMessage */
/** @typedef {import('./protocol.js').MuteMessage} MuteMessage */
/** @typedef {import('./protocol.js').OfferMessage} OfferMessage */
/** @typedef {import('./protocol.js').OpenMeetingMessage} OpenMeetingMessage */
/** @typedef {import('./protocol.js').PingMessage} PingMessage */
/** @typedef {import('./protocol.js').PresentMessage} PresentMessage */
/** @typedef {import('./protocol.js').RaiseHandMessage} RaiseHandMessage */
/** @typedef {import('./protocol.js').ReadmitSiteMessage} ReadmitSiteMessage */
/** @typedef {import('./protocol.js').RemoveSiteMessage} RemoveSiteMessage */
/** @typedef {import('./protocol.js').RevokeFloorMessage} RevokeFloorMessage */
/** @typedef {import('./protocol.js').SpotlightMessage} SpotlightMessage */
/** @typedef {import('./protocol.js').StopVideoMessage} StopVideoMessage */
/** @typedef {import('./protocol.js').NoticeSendMessage} NoticeSendMessage */
/** @typedef {import('./protocol.js').ReconnectRequestMessage} ReconnectRequestMessage */
/** @typedef {import('./protocol.js').ForceAudioOnlyMessage} ForceAudioOnlyMessage */
/** @typedef {import('./protocol.js').ClientInfoMessage} ClientInfoMessage */
/** @typedef {import('./protocol.js').RecordingRequestMessage} RecordingRequestMessage */

/**
 * @param {string} token the `t` fragment of the invite link
 * @param {string | null} [resume] `joined.resume` of the previous socket, to take its connection back
 * @returns {JoinMessage}
 */
export function joinMessage(token, resume = null) {
  return resume ? { type: 'join', v: PROTOCOL_VERSION, token, resume } : { type: 'join', v: PROTOCOL_VERSION, token };
}

/**
 * @param {string} sdp
 * @returns {OfferMessage}
 */
export function offerMessage(sdp) {
  return { type: 'offer', sdp };
}

/**
 * A trickled ICE candidate; `candidate: ""` marks the end of candidates. `sdp_mid` is left
 * out when unknown rather than sent as null, which every server version reads as absent.
 * @param {string} candidate
 * @param {string | null | undefined} sdpMid
 * @returns {CandidateMessage}
 */
export function candidateMessage(candidate, sdpMid) {
  return sdpMid == null ? { type: 'candidate', candidate } : { type: 'candidate', candidate, sdp_mid: sdpMid };
}

/**
 * @param {boolean} mic
 * @param {boolean} camera
 * @returns {MediaStateMessage}
 */
export function mediaStateMessage(mic, camera) {
  return { type: 'media_state', mic, camera };
}

/**
 * @param {number} id
 * @returns {PingMessage}
 */
export function pingMessage(id) {
  return { type: 'ping', id };
}

/** @returns {EndMeetingMessage} */
export function endMeetingMessage() {
  return { type: 'end_meeting' };
}

/** @returns {LeaveMessage} */
export function leaveMessage() {
  return { type: 'leave' };
}

/** @returns {RaiseHandMessage} */
export function raiseHandMessage() {
  return { type: 'raise_hand' };
}

/**
 * One's own hand when `siteId` is left out; the chair may lower any site's.
 * @param {string} [siteId]
 * @returns {LowerHandMessage}
 */
export function lowerHandMessage(siteId) {
  return siteId == null ? { type: 'lower_hand' } : { type: 'lower_hand', site_id: siteId };
}

/**
 * @param {string} siteId
 * @returns {GrantFloorMessage}
 */
export function grantFloorMessage(siteId) {
  return { type: 'grant_floor', site_id: siteId };
}

/**
 * @param {string} siteId
 * @returns {RevokeFloorMessage}
 */
export function revokeFloorMessage(siteId) {
  return { type: 'revoke_floor', site_id: siteId };
}

/**
 * @param {string} siteId
 * @param {boolean} muted false allows the site again; it never switches its microphone on
 * @returns {MuteMessage}
 */
export function muteMessage(siteId, muted) {
  return { type: 'mute', site_id: siteId, muted };
}

/**
 * @param {string} siteId
 * @param {boolean} stopped
 * @returns {StopVideoMessage}
 */
export function stopVideoMessage(siteId, stopped) {
  return { type: 'stop_video', site_id: siteId, stopped };
}

/**
 * @param {string | null} siteId null clears the spotlight
 * @returns {SpotlightMessage}
 */
export function spotlightMessage(siteId) {
  return { type: 'spotlight', site_id: siteId };
}

/**
 * @param {string} siteId
 * @param {boolean} on whether the hall hears the site
 * @returns {ListenMessage}
 */
export function listenMessage(siteId, on) {
  return { type: 'listen', site_id: siteId, on };
}

/**
 * @param {string} siteId
 * @returns {RemoveSiteMessage}
 */
export function removeSiteMessage(siteId) {
  return { type: 'remove_site', site_id: siteId };
}

/**
 * The chair revokes a site's leaked link; the answer is a `link` with the new one.
 * @param {string} siteId
 * @returns {import('./protocol.js').ReissueLinkMessage}
 */
export function reissueLinkMessage(siteId) {
  return { type: 'reissue_link', site_id: siteId };
}

/**
 * @param {string} siteId
 * @returns {ReadmitSiteMessage}
 */
export function readmitSiteMessage(siteId) {
  return { type: 'readmit_site', site_id: siteId };
}

/**
 * @param {boolean} locked
 * @returns {LockMessage}
 */
export function lockMessage(locked) {
  return { type: 'lock', locked };
}

/**
 * @param {boolean} on
 * @returns {RecordingRequestMessage}
 */
export function recordingMessage(on) {
  return { type: 'recording', on };
}

/** @returns {OpenMeetingMessage} */
export function openMeetingMessage() {
  return { type: 'open_meeting' };
}

/**
 * @param {string} siteId
 * @param {boolean} on
 * @returns {CochairMessage}
 */
export function cochairMessage(siteId, on) {
  return { type: 'cochair', site_id: siteId, on };
}

/**
 * @param {boolean} on
 * @returns {PresentMessage}
 */
export function presentMessage(on) {
  return { type: 'present', on };
}

/**
 * @param {string} to `chair` (from a site), `all` or a site id (from the chair, co-chairs,
 *   operators)
 * @param {string} text
 * @returns {ChatSendMessage}
 */
export function chatMessage(to, text) {
  return { type: 'chat', to, text };
}

/**
 * @param {number} page from 0
 * @param {number} [pageSize] tiles per page; the server keeps its own when left out
 * @returns {GridRequestMessage}
 */
export function gridMessage(page, pageSize) {
  return pageSize == null ? { type: 'grid', page } : { type: 'grid', page, page_size: pageSize };
}

/**
 * Operator: a message shown to one site until it is dismissed.
 * @param {string} siteId
 * @param {string} text plain text, 1 to 500 characters
 * @returns {NoticeSendMessage}
 */
export function noticeMessage(siteId, text) {
  return { type: 'notice', site_id: siteId, text };
}

/**
 * Operator: the site drops its connection and joins again at once.
 * @param {string} siteId
 * @returns {ReconnectRequestMessage}
 */
export function reconnectMessage(siteId) {
  return { type: 'reconnect', site_id: siteId };
}

/**
 * Operator: the SFU sends the site no video at all (`on`), or normal video again.
 * @param {string} siteId
 * @param {boolean} on
 * @returns {ForceAudioOnlyMessage}
 */
export function forceAudioOnlyMessage(siteId, on) {
  return { type: 'force_audio_only', site_id: siteId, on };
}

/**
 * @param {string | null} browser e.g. `Chrome 109 (Windows 7)`
 * @param {string | null} candidate local candidate type of the selected pair
 * @param {string | null} transport `udp` or `tcp`
 * @returns {ClientInfoMessage}
 */
export function clientInfoMessage(browser, candidate, transport) {
  return { type: 'client_info', browser, candidate, transport };
}

/**
 * Starts (`on`) or stops the line check's loopback; the server allows it only in the lobby.
 * @param {boolean} on
 * @returns {CheckMessage}
 */
export function checkMessage(on) {
  return { type: 'check', on };
}

/**
 * A line check's outcome (`line-check.js` computes and rounds the figures).
 * @param {Omit<CheckResultMessage, 'type'>} result
 * @returns {CheckResultMessage}
 */
export function checkResultMessage({ verdict, camera, mic, rtt_ms, loss_pct, send_kbps, recv_kbps }) {
  return { type: 'check_result', verdict, camera, mic, rtt_ms, loss_pct, send_kbps, recv_kbps };
}
