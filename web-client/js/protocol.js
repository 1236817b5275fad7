/**
 * The diemcau signaling protocol, version 1, as the browser speaks it.
 *
 * Owns: the JSDoc types of every message in `signaling/PROTOCOL.md`, the validation of
 * frames coming from the server (`parseServerMessage`) and the validation of frames we send
 * (`validateClientMessage`, `classifyClientFrame`, mirroring the server's error codes so the
 * shared fixtures test both sides the same way). The builders of client messages are in
 * `messages.js`.
 *
 * No DOM and no sockets here: `signaling.js` carries these messages over a WebSocket.
 * Unknown fields are ignored on purpose (a newer server may add some); unknown `type`s are
 * errors, as the protocol says.
 */

/** The protocol version this client speaks; sent in `join.v`. */
export const PROTOCOL_VERSION = 1;

/** The server refuses frames over 256 KiB, so we never send one. */
export const MAX_FRAME_BYTES = 256 * 1024;

/**
 * Largest request `id` (PROTOCOL.md "Request ids"): 2^53 − 1, the largest whole number a
 * JavaScript number holds exactly. The server echoes a request's id in the `error` refusing it.
 */
export const MAX_REQUEST_ID = Number.MAX_SAFE_INTEGER;

// ---------------------------------------------------------------------------------------
// Shared shapes

/** @typedef {'chair' | 'site' | 'operator'} Role */
/** @typedef {'waiting' | 'joined' | 'left'} SiteStateName */
/** @typedef {'low' | 'mid' | 'high'} Layer */
/** @typedef {'camera' | 'screen' | 'audio'} TrackName which of a source's tracks a slot carries */
/** @typedef {'lobby' | 'open' | 'ended'} Phase `ended` is possible on the wire, though `ended` follows it */

/**
 * One roster entry: a participating location.
 * @typedef {object} Site
 * @property {string} id
 * @property {string} name
 * @property {Role} role
 * @property {SiteStateName} state
 */

/**
 * @typedef {object} IceServer
 * @property {string | string[]} urls
 * @property {string} [username]
 * @property {string} [credential]
 */

/**
 * What one receive slot (a `recvonly` transceiver, by `mid`) carries now.
 * `site_id: null` (or absent) means the slot is idle.
 * @typedef {object} Slot
 * @property {string} mid
 * @property {'audio' | 'video'} kind
 * @property {string | null} [site_id]
 * @property {string | null} [name]
 * @property {Layer | null} [layer]
 * @property {TrackName | null} [track] absent from older servers: read it as `camera` for video
 */

/**
 * A raised hand: whose, and since when (server clock, Unix ms).
 * @typedef {{site_id: string, since_ms: number}} Hand
 */

// ---------------------------------------------------------------------------------------
// Client → server

/** @typedef {{type: 'join', v: number, token: string, resume?: string}} JoinMessage */
/** @typedef {{type: 'offer', sdp: string}} OfferMessage */
/** @typedef {{type: 'candidate', candidate: string, sdp_mid?: string | null}} CandidateMessage */
/** @typedef {{type: 'media_state', mic: boolean, camera: boolean}} MediaStateMessage */
/** @typedef {{type: 'ping', id: number}} PingMessage */
/** @typedef {{type: 'end_meeting'}} EndMeetingMessage */
/** @typedef {{type: 'leave'}} LeaveMessage */
/** @typedef {{type: 'raise_hand'}} RaiseHandMessage */
/** @typedef {{type: 'lower_hand', site_id?: string | null}} LowerHandMessage */
/** @typedef {{type: 'grant_floor', site_id: string}} GrantFloorMessage */
/** @typedef {{type: 'revoke_floor', site_id: string}} RevokeFloorMessage */
/** @typedef {{type: 'mute', site_id: string, muted: boolean}} MuteMessage */
/** @typedef {{type: 'stop_video', site_id: string, stopped: boolean}} StopVideoMessage */
/** @typedef {{type: 'spotlight', site_id: string | null}} SpotlightMessage */
/** @typedef {{type: 'listen', site_id: string, on: boolean}} ListenMessage */
/** @typedef {{type: 'remove_site', site_id: string}} RemoveSiteMessage */
/** @typedef {{type: 'readmit_site', site_id: string}} ReadmitSiteMessage */
/** @typedef {{type: 'reissue_link', site_id: string}} ReissueLinkMessage chair: revoke a leaked link, get a new one */
/** @typedef {{type: 'lock', locked: boolean}} LockMessage */
/** @typedef {{type: 'open_meeting'}} OpenMeetingMessage */
/** @typedef {{type: 'cochair', site_id: string, on: boolean}} CochairMessage */
/** @typedef {{type: 'present', on: boolean}} PresentMessage */
/** @typedef {{type: 'chat', to: string, text: string}} ChatSendMessage */
/** @typedef {{type: 'grid', page: number, page_size?: number | null}} GridRequestMessage */
/** @typedef {{type: 'notice', site_id: string, text: string}} NoticeSendMessage operator → one site */
/** @typedef {{type: 'reconnect', site_id: string}} ReconnectRequestMessage operator: the site joins again */
/** @typedef {{type: 'force_audio_only', site_id: string, on: boolean}} ForceAudioOnlyMessage operator */
/**
 * What this browser is and how it reaches the SFU, for the operators (strings ≤ 64 chars).
 * @typedef {{type: 'client_info', browser: string | null, candidate: string | null, transport: string | null}} ClientInfoMessage
 */
/** @typedef {{type: 'check', on: boolean}} CheckMessage start / stop the line check's loopback (lobby only) */
/** @typedef {{type: 'recording', on: boolean}} RecordingRequestMessage chair, co-chair: start / stop recording the program */
/** @typedef {'video' | 'audio_only' | 'no_connection'} CheckVerdict */
/**
 * A line check's outcome; figures are finite and ≥ 0, or null when unknown.
 * @typedef {object} CheckResultMessage
 * @property {'check_result'} type
 * @property {CheckVerdict} verdict
 * @property {boolean} camera
 * @property {boolean} mic
 * @property {number | null} rtt_ms
 * @property {number | null} loss_pct
 * @property {number | null} send_kbps
 * @property {number | null} recv_kbps
 */

/**
 * @typedef {JoinMessage | OfferMessage | CandidateMessage | MediaStateMessage | PingMessage
 *   | EndMeetingMessage | LeaveMessage | RaiseHandMessage | LowerHandMessage | GrantFloorMessage
 *   | RevokeFloorMessage | MuteMessage | StopVideoMessage | SpotlightMessage | ListenMessage
 *   | RemoveSiteMessage | ReadmitSiteMessage | ReissueLinkMessage | LockMessage | OpenMeetingMessage | CochairMessage
 *   | PresentMessage | ChatSendMessage | GridRequestMessage | NoticeSendMessage | ReconnectRequestMessage
 *   | ForceAudioOnlyMessage | ClientInfoMessage | CheckMessage | CheckResultMessage | RecordingRequestMessage} ClientMessage
 */

// ---------------------------------------------------------------------------------------
// Server → client

/**
 * @typedef {object} JoinedMessage
 * @property {'joined'} type
 * @property {number} v
 * @property {{id: string, title: string}} meeting
 * @property {{id: string, name: string, role: Role}} you
 * @property {Site[]} sites
 * @property {{video: number, audio: number}} receive
 * @property {IceServer[]} ice_servers
 * @property {string} [resume] secret a later socket presents in `join.resume`
 * @property {boolean} [resumed] true when this join took back the previous connection
 */
/** @typedef {{type: 'answer', sdp: string, id?: number}} AnswerMessage `id`: the offer's, when it had one */
/** @typedef {{type: 'slots', slots: Slot[]}} SlotsMessage */
/**
 * A roster entry changed. `muted`, `video_stopped` and `cochair` are the chair's doing (at the
 * SFU); absent (from an older server) they read as false.
 * @typedef {object} SiteStateMessage
 * @property {'site_state'} type
 * @property {Site} site
 * @property {boolean} [mic]
 * @property {boolean} [camera]
 * @property {boolean} [muted]
 * @property {boolean} [video_stopped]
 * @property {boolean} [cochair]
 * @property {boolean} [removed] removed by the chair
 * @property {boolean} [heard] whether the hall hears it (the chair's `listen`)
 * @property {'full' | 'reduced' | 'audio_only'} [reception] what its link lets it receive:
 *   `reduced`/`audio_only` only when its line is the cause
 * @property {boolean} [reduced_by_design] it gets less than offered, not because of its line
 * @property {boolean} [audio_only_forced] operators stopped all video to it
 */
/** @typedef {{type: 'pong', id: number}} PongMessage */
/** @typedef {{type: 'error', code: string, message: string, id?: number}} ErrorMessage `id`: the refused request's, when it had one */
/** @typedef {{type: 'ended', reason: string}} EndedMessage `reason`: `ended_by_chair`, `removed_by_chair` */
/** @typedef {{type: 'meeting_state', phase: Phase, locked: boolean, floor_limit: number}} MeetingStateMessage */
/**
 * @typedef {object} FloorMessage
 * @property {'floor'} type
 * @property {string[]} holders sites holding the floor, in grant order
 * @property {Hand[]} hands raised hands, oldest first
 * @property {string | null} [spotlight] site whose camera is spotlighted
 * @property {string | null} [presenter] site whose screen is on the program
 */
/**
 * @typedef {object} ChatMessage
 * @property {'chat'} type
 * @property {{id: string, name: string, role: Role}} from
 * @property {string} to `chair`, `all` or the receiving site's id
 * @property {string} text plain text: render with `textContent` only
 * @property {number} at_ms server clock, Unix ms
 */
/** @typedef {{type: 'grid', page: number, pages: number, page_size: number, sites: string[]}} GridMessage */
/** @typedef {'none' | 'low' | 'mid' | 'high'} LayerName */
/** @typedef {{type: 'layers', camera: LayerName}} LayersMessage the highest camera layer anyone receives */
/**
 * One participant's live link figures in `stats` ("up": site → SFU, "down": SFU → site).
 * Figures the server cannot measure are null.
 * @typedef {object} SiteStats
 * @property {string} site_id
 * @property {number} up_kbps
 * @property {number} down_kbps
 * @property {number | null} up_loss_pct
 * @property {number | null} down_loss_pct
 * @property {number | null} rtt_ms
 * @property {number | null} jitter_ms
 * @property {string | null} layer best layer it receives: `high`, `mid`, `low`, `paused`
 * @property {number | null} estimate_kbps
 * @property {number | null} audio_level loudest microphone level in the last second, 0..1
 * @property {string | null} transport `udp`, `tcp` or `relay`
 * @property {string | null} candidate local candidate type: `host`, `srflx`, `prflx`, `relay`
 * @property {string | null} browser
 * @property {number} nacks
 * @property {number} plis
 * @property {number} [dropped] media packets the SFU dropped from it (over budget, malformed)
 * @property {boolean} audio_only_forced
 * @property {string} [node] the node whose SFU holds its connection (a cluster only)
 */
/**
 * Operators only, about once a second: every participant whose media is connected.
 * @typedef {object} StatsMessage
 * @property {'stats'} type
 * @property {number} at_ms server clock, Unix ms
 * @property {{expected: number, joined: number, up_kbps: number, down_kbps: number,
 *   viewers?: number, viewers_since_ms?: number[], feeds?: string[]}} totals
 *   `viewers`: WHEP players watching, with since when; `feeds`: WHIP publications live
 * @property {SiteStats[]} sites
 */
/**
 * Operators only, about once a second: this node's own figures (every meeting on it).
 * @typedef {object} NodeMessage
 * @property {'node'} type
 * @property {number} at_ms server clock, Unix ms
 * @property {number} sites connected on the node
 * @property {number} sites_per_node the join after this many is refused (`node_full`)
 * @property {number} refused_capacity joins refused for capacity since the server started
 * @property {number} [socket_drops] datagrams the kernel dropped at the media socket since it was bound
 */
/** @typedef {{type: 'notice', from: string, text: string}} NoticeMessage from the operators: plain text */
/** @typedef {{type: 'reconnect'}} ReconnectMessage drop the connection and join again at once */
/** @typedef {{type: 'link', site_id: string, link: string, id?: number}} LinkMessage to the chair after `reissue_link`: the site's new invite link */
/** @typedef {{type: 'draining', seconds: number}} DrainingMessage the server shuts down: no new join, this socket closes within `seconds` */
/** @typedef {{type: 'check', on: boolean}} CheckAckMessage the loopback is routed (`on`), or the check ended */
/**
 * The meeting is being recorded (`on`), or no longer is: `reason` says why it stopped
 * (`stopped`, `quota_reached`, `failed`, `ended`); `warning` `quota` near the disk quota.
 * @typedef {{type: 'recording', on: boolean, since_ms?: number, reason?: string, warning?: string}} RecordingMessage
 */
/**
 * A site's last line check, to chair, co-chairs, operators and the site itself.
 * @typedef {Omit<CheckResultMessage, 'type'> & {type: 'check_result', site_id: string, at_ms: number}} CheckReportMessage
 */

/**
 * @typedef {JoinedMessage | AnswerMessage | SlotsMessage | SiteStateMessage | PongMessage
 *   | ErrorMessage | EndedMessage | MeetingStateMessage | FloorMessage | ChatMessage
 *   | GridMessage | LayersMessage | StatsMessage | NoticeMessage | ReconnectMessage | CheckAckMessage
 *   | CheckReportMessage | DrainingMessage | LinkMessage | NodeMessage | RecordingMessage} ServerMessage
 */

/** @typedef {ServerMessage['type']} ServerMessageType */

/** Every server message type, for dispatch tables and checks. */
export const SERVER_TYPES = /** @type {const} */ ([
  'joined', 'answer', 'slots', 'site_state', 'pong', 'error', 'ended',
  'meeting_state', 'floor', 'chat', 'grid', 'layers',
  'stats', 'notice', 'reconnect', 'check', 'check_result', 'draining', 'link', 'node',
  'recording',
]);

/** Every client message type. */
export const CLIENT_TYPES = /** @type {const} */ ([
  'join', 'offer', 'candidate', 'media_state', 'ping', 'end_meeting', 'leave',
  'raise_hand', 'lower_hand', 'grant_floor', 'revoke_floor', 'mute', 'stop_video', 'spotlight',
  'listen', 'remove_site', 'readmit_site', 'lock', 'open_meeting', 'cochair', 'present', 'chat', 'grid',
  'notice', 'reconnect', 'force_audio_only', 'client_info', 'check', 'check_result', 'reissue_link',
  'recording',
]);

/** Longest chat text, in characters (Unicode code points, as the server counts). */
export const MAX_CHAT_CHARS = 1000;

/** Longest operator notice, in characters. */
export const MAX_NOTICE_CHARS = 500;

/** Longest `client_info` string, in characters. */
export const MAX_INFO_CHARS = 64;

/**
 * Error codes after which the join itself failed: the link cannot be used as it is, so the
 * client shows an explanation instead of retrying.
 */
export const JOIN_ERROR_CODES = /** @type {const} */ ([
  'invalid_token', 'token_expired', 'unknown_meeting', 'site_removed', 'unsupported_version', 'locked',
  'link_revoked',
]);

/** Error codes after which the server closes this session (PROTOCOL.md "Errors", fatal). */
export const FATAL_ERROR_CODES = /** @type {const} */ (['replaced', 'link_revoked']);

// ---------------------------------------------------------------------------------------
// Validation helpers

/** Thrown when a frame does not follow the protocol; `code` uses the server's error codes. */
export class ProtocolError extends Error {
  /**
   * @param {string} code one of `bad_json`, `bad_message`, `unknown_type`, `too_large`,
   *   `unsupported_version`
   * @param {string} message what is wrong, for logs and tests
   */
  constructor(code, message) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
  }
}

/**
 * @param {unknown} value
 * @returns {value is Record<string, unknown>}
 */
function isObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks one field and names it in the error, so a broken server is easy to diagnose.
 * @param {Record<string, unknown>} obj
 * @param {string} field
 * @param {(value: unknown) => boolean} ok
 * @param {string} expected human description, e.g. "a string"
 * @param {string} where message type or path, for the error text
 */
function need(obj, field, ok, expected, where) {
  if (!ok(obj[field])) {
    throw new ProtocolError('bad_message', `${where}.${field} must be ${expected}`);
  }
}

/** @param {unknown} v */
const isString = (v) => typeof v === 'string';
/** @param {unknown} v */
const isBool = (v) => typeof v === 'boolean';
/** @param {unknown} v */
const isUint = (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
/** @param {unknown} v */
const isOptBool = (v) => v === undefined || typeof v === 'boolean';
/** @param {unknown} v */
const isOptString = (v) => v === undefined || v === null || typeof v === 'string';
/** @param {unknown} v */
const isRole = (v) => v === 'chair' || v === 'site' || v === 'operator';
/** @param {unknown} v */
const isSiteState = (v) => v === 'waiting' || v === 'joined' || v === 'left';
/** @param {unknown} v */
const isOptLayer = (v) => v === undefined || v === null || v === 'low' || v === 'mid' || v === 'high';
/** @param {unknown} v */
const isOptTrack = (v) => v === undefined || v === null || v === 'camera' || v === 'screen' || v === 'audio';
/** @param {unknown} v */
const isPhase = (v) => v === 'lobby' || v === 'open' || v === 'ended';
/** @param {unknown} v */
const isStrings = (v) => Array.isArray(v) && v.every(isString);
/** @param {unknown} v */
const isFigure = (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
/** @param {unknown} v */
const isOptFigure = (v) => v === null || v === undefined || isFigure(v);
/**
 * An unsigned integer that fits the server's field (`u16`, `u32`).
 * @param {number} max
 */
const uintUpTo = (max) => (/** @type {unknown} */ v) => isUint(v) && /** @type {number} */ (v) <= max;
const isU16 = uintUpTo(0xffff);
const isU32 = uintUpTo(0xffff_ffff);
/** @param {unknown} v */
const isOptU16 = (v) => v === undefined || v === null || isU16(v);
/** @param {unknown} v a request id (`isUint` stops at `MAX_REQUEST_ID`), or none */
const isOptRequestId = (v) => v === undefined || isUint(v);
const REQUEST_ID = `a whole number from 0 to ${MAX_REQUEST_ID}`;

/**
 * @param {unknown} site
 * @param {string} where
 */
function checkSite(site, where) {
  if (!isObject(site)) throw new ProtocolError('bad_message', `${where} must be an object`);
  need(site, 'id', isString, 'a string', where);
  need(site, 'name', isString, 'a string', where);
  need(site, 'role', isRole, 'chair, site or operator', where);
  need(site, 'state', isSiteState, 'waiting, joined or left', where);
}

/**
 * @param {unknown} server
 * @param {string} where
 */
function checkIceServer(server, where) {
  if (!isObject(server)) throw new ProtocolError('bad_message', `${where} must be an object`);
  const urls = server.urls;
  const ok = typeof urls === 'string' || (Array.isArray(urls) && urls.every(isString));
  if (!ok) throw new ProtocolError('bad_message', `${where}.urls must be a string or strings`);
  need(server, 'username', (v) => v === undefined || isString(v), 'a string', where);
  need(server, 'credential', (v) => v === undefined || isString(v), 'a string', where);
}

/**
 * @param {unknown} slot
 * @param {string} where
 */
function checkSlot(slot, where) {
  if (!isObject(slot)) throw new ProtocolError('bad_message', `${where} must be an object`);
  need(slot, 'mid', isString, 'a string', where);
  need(slot, 'kind', (v) => v === 'audio' || v === 'video', 'audio or video', where);
  need(slot, 'site_id', isOptString, 'a string or null', where);
  need(slot, 'name', isOptString, 'a string or null', where);
  need(slot, 'layer', isOptLayer, 'low, mid, high or null', where);
  need(slot, 'track', isOptTrack, 'camera, screen, audio or null', where);
}

/**
 * @param {unknown} hand
 * @param {string} where
 */
function checkHand(hand, where) {
  if (!isObject(hand)) throw new ProtocolError('bad_message', `${where} must be an object`);
  need(hand, 'site_id', isString, 'a string', where);
  need(hand, 'since_ms', isUint, 'a number', where);
}

/**
 * @param {unknown} value
 * @param {string} where
 * @param {(item: unknown, where: string) => void} checkItem
 */
function checkArray(value, where, checkItem) {
  if (!Array.isArray(value)) throw new ProtocolError('bad_message', `${where} must be an array`);
  value.forEach((item, i) => checkItem(item, `${where}[${i}]`));
}

/**
 * Field checks per server message type. Each throws `ProtocolError` on the first problem.
 * @type {Record<ServerMessageType, (msg: Record<string, unknown>) => void>}
 */
const SERVER_CHECKS = {
  joined(m) {
    need(m, 'v', isUint, 'a number', 'joined');
    if (!isObject(m.meeting)) throw new ProtocolError('bad_message', 'joined.meeting must be an object');
    need(m.meeting, 'id', isString, 'a string', 'joined.meeting');
    need(m.meeting, 'title', isString, 'a string', 'joined.meeting');
    if (!isObject(m.you)) throw new ProtocolError('bad_message', 'joined.you must be an object');
    need(m.you, 'id', isString, 'a string', 'joined.you');
    need(m.you, 'name', isString, 'a string', 'joined.you');
    need(m.you, 'role', isRole, 'chair, site or operator', 'joined.you');
    checkArray(m.sites, 'joined.sites', checkSite);
    if (!isObject(m.receive)) throw new ProtocolError('bad_message', 'joined.receive must be an object');
    need(m.receive, 'video', isUint, 'a count', 'joined.receive');
    need(m.receive, 'audio', isUint, 'a count', 'joined.receive');
    checkArray(m.ice_servers, 'joined.ice_servers', checkIceServer);
    need(m, 'resume', (v) => v === undefined || isString(v), 'a string', 'joined');
    need(m, 'resumed', isOptBool, 'a boolean', 'joined');
  },
  answer(m) {
    need(m, 'sdp', isString, 'a string', 'answer');
    need(m, 'id', isOptRequestId, REQUEST_ID, 'answer');
  },
  slots(m) {
    checkArray(m.slots, 'slots.slots', checkSlot);
  },
  site_state(m) {
    checkSite(m.site, 'site_state.site');
    need(m, 'mic', isOptBool, 'a boolean', 'site_state');
    need(m, 'camera', isOptBool, 'a boolean', 'site_state');
    need(m, 'muted', isOptBool, 'a boolean', 'site_state');
    need(m, 'video_stopped', isOptBool, 'a boolean', 'site_state');
    need(m, 'cochair', isOptBool, 'a boolean', 'site_state');
    need(m, 'removed', isOptBool, 'a boolean', 'site_state');
    need(m, 'heard', isOptBool, 'a boolean', 'site_state');
    need(m, 'reception', (v) => v === undefined || ['full', 'reduced', 'audio_only'].includes(/** @type {string} */ (v)), 'full, reduced or audio_only', 'site_state');
    need(m, 'reduced_by_design', isOptBool, 'a boolean', 'site_state');
    need(m, 'audio_only_forced', isOptBool, 'a boolean', 'site_state');
  },
  pong(m) {
    need(m, 'id', isUint, 'a number', 'pong');
  },
  error(m) {
    need(m, 'code', isString, 'a string', 'error');
    need(m, 'message', isString, 'a string', 'error');
    need(m, 'id', isOptRequestId, REQUEST_ID, 'error');
  },
  ended(m) {
    need(m, 'reason', isString, 'a string', 'ended');
  },
  draining(m) {
    need(m, 'seconds', isUint, 'a number of seconds', 'draining');
  },
  recording(m) {
    need(m, 'on', isBool, 'a boolean', 'recording');
    need(m, 'since_ms', (v) => v === undefined || isUint(v), 'a number', 'recording');
    need(m, 'reason', (v) => v === undefined || isString(v), 'a string', 'recording');
    need(m, 'warning', (v) => v === undefined || isString(v), 'a string', 'recording');
  },
  meeting_state(m) {
    need(m, 'phase', isPhase, 'lobby, open or ended', 'meeting_state');
    need(m, 'locked', isBool, 'a boolean', 'meeting_state');
    need(m, 'floor_limit', isU16, 'a count', 'meeting_state');
  },
  floor(m) {
    need(m, 'holders', isStrings, 'an array of strings', 'floor');
    checkArray(m.hands, 'floor.hands', checkHand);
    need(m, 'spotlight', isOptString, 'a string or null', 'floor');
    need(m, 'presenter', isOptString, 'a string or null', 'floor');
  },
  chat(m) {
    if (!isObject(m.from)) throw new ProtocolError('bad_message', 'chat.from must be an object');
    need(m.from, 'id', isString, 'a string', 'chat.from');
    need(m.from, 'name', isString, 'a string', 'chat.from');
    need(m.from, 'role', isRole, 'chair, site or operator', 'chat.from');
    need(m, 'to', isString, 'a string', 'chat');
    need(m, 'text', isString, 'a string', 'chat');
    need(m, 'at_ms', isUint, 'a number', 'chat');
  },
  grid(m) {
    need(m, 'page', isU32, 'a page index', 'grid');
    need(m, 'pages', isU32, 'a count', 'grid');
    need(m, 'page_size', isU16, 'a count', 'grid');
    need(m, 'sites', isStrings, 'an array of strings', 'grid');
  },
  layers(m) {
    need(m, 'camera', (v) => ['none', 'low', 'mid', 'high'].includes(/** @type {string} */ (v)), 'none, low, mid or high', 'layers');
  },
  stats(m) {
    need(m, 'at_ms', isUint, 'a number', 'stats');
    if (!isObject(m.totals)) throw new ProtocolError('bad_message', 'stats.totals must be an object');
    for (const f of ['expected', 'joined']) need(m.totals, f, isUint, 'a count', 'stats.totals');
    for (const f of ['up_kbps', 'down_kbps']) need(m.totals, f, isFigure, 'a number', 'stats.totals');
    if (m.totals.viewers !== undefined) need(m.totals, 'viewers', isUint, 'a count', 'stats.totals');
    checkArray(m.sites, 'stats.sites', checkSiteStats);
  },
  node(m) {
    for (const f of ['at_ms', 'sites', 'sites_per_node', 'refused_capacity']) need(m, f, isUint, 'a count', 'node');
    if (m.socket_drops !== undefined) need(m, 'socket_drops', isUint, 'a count', 'node');
  },
  notice(m) {
    need(m, 'from', isString, 'a string', 'notice');
    need(m, 'text', isString, 'a string', 'notice');
  },
  reconnect() {},
  link(m) {
    need(m, 'site_id', isString, 'a string', 'link');
    need(m, 'link', isString, 'a string', 'link');
    need(m, 'id', isOptRequestId, REQUEST_ID, 'link');
  },
  check(m) {
    need(m, 'on', isBool, 'a boolean', 'check');
  },
  check_result(m) {
    need(m, 'site_id', isString, 'a string', 'check_result');
    need(m, 'at_ms', isUint, 'a number', 'check_result');
    checkCheckResult(m);
  },
};

/**
 * The outcome fields of `check_result`, the same both ways.
 * @param {Record<string, unknown>} m
 */
function checkCheckResult(m) {
  need(m, 'verdict', (v) => v === 'video' || v === 'audio_only' || v === 'no_connection', 'video, audio_only or no_connection', 'check_result');
  need(m, 'camera', isBool, 'a boolean', 'check_result');
  need(m, 'mic', isBool, 'a boolean', 'check_result');
  for (const f of ['rtt_ms', 'loss_pct', 'send_kbps', 'recv_kbps']) need(m, f, isOptFigure, 'a number ≥ 0 or null', 'check_result');
}

/**
 * Strings (transport, candidate, layer) are not held to today's values: one new value from
 * a newer server must not blank the operators' whole dashboard.
 * @param {unknown} s
 * @param {string} where
 */
function checkSiteStats(s, where) {
  if (!isObject(s)) throw new ProtocolError('bad_message', `${where} must be an object`);
  need(s, 'site_id', isString, 'a string', where);
  for (const f of ['up_kbps', 'down_kbps']) need(s, f, isFigure, 'a number', where);
  for (const f of ['up_loss_pct', 'down_loss_pct', 'rtt_ms', 'jitter_ms', 'estimate_kbps', 'audio_level']) {
    need(s, f, isOptFigure, 'a number or null', where);
  }
  for (const f of ['layer', 'transport', 'candidate', 'browser', 'node']) need(s, f, isOptString, 'a string or null', where);
  for (const f of ['nacks', 'plis', 'dropped']) need(s, f, (v) => v === undefined || isUint(v), 'a count', where);
  need(s, 'audio_only_forced', isOptBool, 'a boolean', where);
}

/**
 * The checks of the client messages that name one site (`site_id: string`), plus a boolean
 * field when the message has one.
 * @param {string} type
 * @param {string} [flag]
 * @returns {(m: Record<string, unknown>) => void}
 */
function siteAction(type, flag) {
  return (m) => {
    need(m, 'site_id', isString, 'a string', type);
    if (flag) need(m, flag, isBool, 'a boolean', type);
  };
}

/**
 * Field checks per client message type, the same rules the server applies.
 * @type {Record<ClientMessage['type'], (msg: Record<string, unknown>) => void>}
 */
const CLIENT_CHECKS = {
  join(m) {
    need(m, 'v', isUint, 'a number', 'join');
    need(m, 'token', isString, 'a string', 'join');
    need(m, 'resume', (v) => v === undefined || isString(v), 'a string', 'join');
    if (m.v !== PROTOCOL_VERSION) {
      throw new ProtocolError('unsupported_version', `join.v is ${m.v}, this side speaks ${PROTOCOL_VERSION}`);
    }
  },
  offer(m) {
    need(m, 'sdp', isString, 'a string', 'offer');
  },
  candidate(m) {
    need(m, 'candidate', isString, 'a string', 'candidate');
    need(m, 'sdp_mid', isOptString, 'a string or null', 'candidate');
  },
  media_state(m) {
    need(m, 'mic', isBool, 'a boolean', 'media_state');
    need(m, 'camera', isBool, 'a boolean', 'media_state');
  },
  ping(m) {
    need(m, 'id', isUint, 'a number', 'ping');
  },
  end_meeting() {},
  leave() {},
  raise_hand() {},
  lower_hand(m) {
    need(m, 'site_id', isOptString, 'a string or null', 'lower_hand');
  },
  grant_floor: siteAction('grant_floor'),
  revoke_floor: siteAction('revoke_floor'),
  mute: siteAction('mute', 'muted'),
  stop_video: siteAction('stop_video', 'stopped'),
  spotlight(m) {
    need(m, 'site_id', isOptString, 'a string or null', 'spotlight');
  },
  listen: siteAction('listen', 'on'),
  remove_site: siteAction('remove_site'),
  readmit_site: siteAction('readmit_site'),
  reissue_link: siteAction('reissue_link'),
  lock(m) {
    need(m, 'locked', isBool, 'a boolean', 'lock');
  },
  open_meeting() {},
  cochair: siteAction('cochair', 'on'),
  present(m) {
    need(m, 'on', isBool, 'a boolean', 'present');
  },
  chat(m) {
    need(m, 'to', isString, 'a string', 'chat');
    need(m, 'text', isString, 'a string', 'chat');
    const text = /** @type {string} */ (m.text);
    // The server's order: an empty text is refused before a long one.
    if (text.trim() === '') throw new ProtocolError('bad_message', 'chat text is empty');
    const chars = [...text].length;
    if (chars > MAX_CHAT_CHARS) {
      throw new ProtocolError('too_large', `chat text is ${chars} characters, at most ${MAX_CHAT_CHARS} allowed`);
    }
  },
  grid(m) {
    need(m, 'page', isU32, 'a page index', 'grid');
    need(m, 'page_size', isOptU16, 'a count or null', 'grid');
  },
  notice(m) {
    need(m, 'site_id', isString, 'a string', 'notice');
    need(m, 'text', isString, 'a string', 'notice');
    const text = /** @type {string} */ (m.text);
    if (text.trim() === '') throw new ProtocolError('bad_message', 'notice text is empty');
    const chars = [...text].length;
    if (chars > MAX_NOTICE_CHARS) {
      throw new ProtocolError('too_large', `notice text is ${chars} characters, at most ${MAX_NOTICE_CHARS} allowed`);
    }
  },
  reconnect: siteAction('reconnect'),
  force_audio_only: siteAction('force_audio_only', 'on'),
  client_info(m) {
    for (const f of ['browser', 'candidate', 'transport']) {
      need(m, f, isOptString, 'a string or null', 'client_info');
      const v = m[f];
      if (typeof v === 'string' && [...v].length > MAX_INFO_CHARS) {
        throw new ProtocolError('too_large', `client_info ${f} is longer than ${MAX_INFO_CHARS} characters`);
      }
    }
  },
  check(m) {
    need(m, 'on', isBool, 'a boolean', 'check');
  },
  check_result: checkCheckResult,
  recording(m) {
    need(m, 'on', isBool, 'a boolean', 'recording');
  },
};

/**
 * Parses JSON text into an object with a string `type`, or throws a `ProtocolError`.
 * @param {string} text
 * @returns {Record<string, unknown> & {type: string}}
 */
function parseEnvelope(text) {
  /** @type {unknown} */
  let value;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ProtocolError('bad_json', `frame is not JSON: ${e instanceof Error ? e.message : e}`);
  }
  if (!isObject(value)) throw new ProtocolError('bad_message', 'frame is not a JSON object');
  if (typeof value.type !== 'string') throw new ProtocolError('bad_message', 'frame has no string "type"');
  return /** @type {Record<string, unknown> & {type: string}} */ (value);
}

// ---------------------------------------------------------------------------------------
// Public validation API

/**
 * Parses one text frame from the server into a typed message.
 * @param {string} text
 * @returns {ServerMessage}
 * @throws {ProtocolError} with a message naming the bad field
 */
export function parseServerMessage(text) {
  const msg = parseEnvelope(text);
  const check = SERVER_CHECKS[/** @type {ServerMessageType} */ (msg.type)];
  if (!Object.hasOwn(SERVER_CHECKS, msg.type) || !check) {
    throw new ProtocolError('unknown_type', `unknown server message type "${msg.type}"`);
  }
  check(msg);
  return /** @type {ServerMessage} */ (/** @type {unknown} */ (msg));
}

/**
 * Checks an object we are about to send (or a fixture) against the client rules.
 * @param {unknown} value
 * @returns {ClientMessage}
 * @throws {ProtocolError}
 */
export function validateClientMessage(value) {
  if (!isObject(value)) throw new ProtocolError('bad_message', 'message is not an object');
  if (typeof value.type !== 'string') throw new ProtocolError('bad_message', 'message has no string "type"');
  // Before the type, as the server checks it (its error then carries no id).
  need(value, 'id', isOptRequestId, REQUEST_ID, value.type);
  const type = /** @type {ClientMessage['type']} */ (value.type);
  if (!Object.hasOwn(CLIENT_CHECKS, type)) {
    throw new ProtocolError('unknown_type', `unknown client message type "${value.type}"`);
  }
  CLIENT_CHECKS[type](value);
  return /** @type {ClientMessage} */ (/** @type {unknown} */ (value));
}

/**
 * Classifies a raw client frame the way the server would: `null` when it is acceptable,
 * otherwise the error code the server answers with.
 * @param {string} text
 * @returns {string | null}
 */
export function classifyClientFrame(text) {
  if (new TextEncoder().encode(text).length > MAX_FRAME_BYTES) return 'too_large';
  try {
    validateClientMessage(parseEnvelope(text));
    return null;
  } catch (e) {
    if (e instanceof ProtocolError) return e.code;
    throw e;
  }
}
