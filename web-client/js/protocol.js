/**
 * The diemcau signaling protocol, version 1, as the browser speaks it.
 *
 * Owns: the JSDoc types of every message in `signaling/PROTOCOL.md`, the validation of
 * frames coming from the server (`parseServerMessage`), the validation of frames we send
 * (`validateClientMessage`, `classifyClientFrame`, mirroring the server's error codes so the
 * shared fixtures test both sides the same way) and the builders of client messages.
 *
 * No DOM and no sockets here: `signaling.js` carries these messages over a WebSocket.
 * Unknown fields are ignored on purpose (a newer server may add some); unknown `type`s are
 * errors, as the protocol says.
 */

/** The protocol version this client speaks; sent in `join.v`. */
export const PROTOCOL_VERSION = 1;

/** The server refuses frames over 256 KiB, so we never send one. */
export const MAX_FRAME_BYTES = 256 * 1024;

// ---------------------------------------------------------------------------------------
// Shared shapes

/** @typedef {'chair' | 'site' | 'operator'} Role */
/** @typedef {'waiting' | 'joined' | 'left'} SiteStateName */
/** @typedef {'low' | 'mid' | 'high'} Layer */

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
 */

// ---------------------------------------------------------------------------------------
// Client → server

/** @typedef {{type: 'join', v: number, token: string}} JoinMessage */
/** @typedef {{type: 'offer', sdp: string}} OfferMessage */
/** @typedef {{type: 'candidate', candidate: string, sdp_mid?: string | null}} CandidateMessage */
/** @typedef {{type: 'media_state', mic: boolean, camera: boolean}} MediaStateMessage */
/** @typedef {{type: 'ping', id: number}} PingMessage */
/** @typedef {{type: 'end_meeting'}} EndMeetingMessage */
/** @typedef {{type: 'leave'}} LeaveMessage */

/**
 * @typedef {JoinMessage | OfferMessage | CandidateMessage | MediaStateMessage | PingMessage
 *   | EndMeetingMessage | LeaveMessage} ClientMessage
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
 */
/** @typedef {{type: 'answer', sdp: string}} AnswerMessage */
/** @typedef {{type: 'slots', slots: Slot[]}} SlotsMessage */
/** @typedef {{type: 'site_state', site: Site, mic?: boolean, camera?: boolean}} SiteStateMessage */
/** @typedef {{type: 'pong', id: number}} PongMessage */
/** @typedef {{type: 'error', code: string, message: string}} ErrorMessage */
/** @typedef {{type: 'ended', reason: string}} EndedMessage */

/**
 * @typedef {JoinedMessage | AnswerMessage | SlotsMessage | SiteStateMessage | PongMessage
 *   | ErrorMessage | EndedMessage} ServerMessage
 */

/** @typedef {ServerMessage['type']} ServerMessageType */

/** Every server message type, for dispatch tables and checks. */
export const SERVER_TYPES = /** @type {const} */ ([
  'joined', 'answer', 'slots', 'site_state', 'pong', 'error', 'ended',
]);

/** Every client message type. */
export const CLIENT_TYPES = /** @type {const} */ ([
  'join', 'offer', 'candidate', 'media_state', 'ping', 'end_meeting', 'leave',
]);

/**
 * Error codes after which the join itself failed: the link cannot be used as it is, so the
 * client shows an explanation instead of retrying.
 */
export const JOIN_ERROR_CODES = /** @type {const} */ ([
  'invalid_token', 'token_expired', 'unknown_meeting', 'site_removed', 'unsupported_version',
]);

/** Error codes after which the server closes this session (PROTOCOL.md "Errors", fatal). */
export const FATAL_ERROR_CODES = /** @type {const} */ (['replaced']);

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
  },
  answer(m) {
    need(m, 'sdp', isString, 'a string', 'answer');
  },
  slots(m) {
    checkArray(m.slots, 'slots.slots', checkSlot);
  },
  site_state(m) {
    checkSite(m.site, 'site_state.site');
    need(m, 'mic', isOptBool, 'a boolean', 'site_state');
    need(m, 'camera', isOptBool, 'a boolean', 'site_state');
  },
  pong(m) {
    need(m, 'id', isUint, 'a number', 'pong');
  },
  error(m) {
    need(m, 'code', isString, 'a string', 'error');
    need(m, 'message', isString, 'a string', 'error');
  },
  ended(m) {
    need(m, 'reason', isString, 'a string', 'ended');
  },
};

/**
 * Field checks per client message type, the same rules the server applies.
 * @type {Record<ClientMessage['type'], (msg: Record<string, unknown>) => void>}
 */
const CLIENT_CHECKS = {
  join(m) {
    need(m, 'v', isUint, 'a number', 'join');
    need(m, 'token', isString, 'a string', 'join');
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

// ---------------------------------------------------------------------------------------
// Builders of client messages

/**
 * @param {string} token the `t` fragment of the invite link
 * @returns {JoinMessage}
 */
export function joinMessage(token) {
  return { type: 'join', v: PROTOCOL_VERSION, token };
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
