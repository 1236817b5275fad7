/**
 * `MeetingState`: what the server says about the meeting beyond the roster and the slots —
 * its phase and lock (`meeting_state`), the floor, hands, spotlight and presenter (`floor`),
 * the chair's grid page (`grid`), text messages (`chat`) — plus what this page must remember
 * itself because the protocol does not report it back: which sites this chair removed (a
 * removed site's `site_state` just says `left`) and which it stopped listening to.
 *
 * Plain data and small methods; no sockets, no DOM, no timers (times are passed in). The
 * session owns one per stay in a meeting, kept across reconnects (the server resends the
 * current phase and floor after `joined`).
 */

import { addReceived, addSent } from './chat.js';
import { ServerClock, newHands } from './floor.js';

/** @typedef {import('./protocol.js').Phase} Phase */
/** @typedef {import('./protocol.js').FloorMessage} FloorMessage */
/** @typedef {import('./protocol.js').GridMessage} GridMessage */
/** @typedef {import('./protocol.js').ChatMessage} ChatMessage */
/** @typedef {import('./protocol.js').MeetingStateMessage} MeetingStateMessage */
/** @typedef {import('./protocol.js').SiteStateMessage} SiteStateMessage */
/** @typedef {import('./protocol.js').RecordingMessage} RecordingMessage */
/** @typedef {import('./protocol.js').ClientMessage} ClientMessage */
/** @typedef {import('./protocol.js').Role} Role */
/** @typedef {import('./chat.js').ChatEntry} ChatEntry */

/**
 * A passing note to this site about what the chair just allowed again: it may speak (its
 * microphone is its own to switch on), or its camera is shown again.
 * @typedef {'maySpeak' | 'videoAllowed'} ChairNotice
 */

export class MeetingState {
  /** @type {Phase | null} null until the first `meeting_state` */
  phase = null;
  locked = false;
  /** @type {number | null} */
  floorLimit = null;
  /** @type {FloorMessage | null} */
  floor = null;
  /** @type {GridMessage | null} */
  grid = null;
  /** @type {ChatMessage[]} every chat message received, oldest first */
  chat = [];
  /** @type {ChatEntry[]} received and sent, as shown */
  chatLog = [];
  clock = new ServerClock();
  /** @type {Set<string>} sites removed from this page and not readmitted since */
  removed = new Set();
  /** @type {Set<string>} sites the hall does not hear (chair's `listen` off) */
  notListening = new Set();
  /** @type {ChairNotice | null} */
  notice = null;
  /** The meeting is being recorded (last `recording`; off after a rejoin until told). */
  recording = false;
  /** @type {string | null} why the last recording stopped (`stopped`, `quota_reached`, …) */
  recordingStopped = null;
  /** The recordings near their disk quota (chair, co-chairs, operators are told). */
  recordingQuota = false;
  /** This site's own marks as last seen, to notice when the chair lifts them. */
  #own = { muted: false, videoStopped: false };
  /**
   * Whether a `floor` arrived on the current socket. Only then is a new hand "now": the first
   * `floor` after a (re)join also lists hands raised while we were away, which are older.
   */
  #floorOnSocket = false;

  /** @param {MeetingStateMessage} m */
  applyMeetingState(m) {
    this.phase = m.phase;
    this.locked = m.locked;
    this.floorLimit = m.floor_limit;
  }

  /**
   * @param {FloorMessage} m
   * @param {number} nowMs local clock when it arrived
   */
  applyFloor(m, nowMs) {
    if (this.#floorOnSocket) for (const hand of newHands(this.floor, m)) this.clock.observe(hand.since_ms, nowMs);
    this.#floorOnSocket = true;
    this.floor = m;
  }

  /** A new socket joined: what the server sends next describes the past as well. */
  rejoined() {
    this.#floorOnSocket = false;
    // The server says `recording` after `joined` only while it runs.
    this.recording = false;
  }

  /** @param {RecordingMessage} m */
  applyRecording(m) {
    this.recording = m.on;
    this.recordingStopped = m.on ? null : m.reason ?? null;
    this.recordingQuota = m.on && m.warning === 'quota';
  }

  /** @param {GridMessage} m */
  applyGrid(m) {
    this.grid = m;
  }

  /**
   * @param {ChatMessage} m
   * @param {number} nowMs
   * @param {string | null} youId
   */
  applyChat(m, nowMs, youId) {
    this.clock.observe(m.at_ms, nowMs);
    this.chat = [...this.chat, m].slice(-500);
    this.chatLog = addReceived(this.chatLog, m, this.clock.toLocal(m.at_ms), youId);
  }

  /**
   * @param {{id: string, name: string, role: Role}} you
   * @param {string} to
   * @param {string} text
   * @param {number} nowMs
   */
  addSentChat(you, to, text, nowMs) {
    this.chatLog = addSent(this.chatLog, you, to, text, nowMs);
  }

  /**
   * Any `site_state`: the server's `removed` and `heard` marks; a removed site that is back
   * is no longer marked removed; this site's own marks may raise a notice.
   * @param {SiteStateMessage} m
   * @param {string | null} youId
   */
  applySiteState(m, youId) {
    if (m.site.state === 'joined') this.removed.delete(m.site.id);
    // The server's word, when it gives it, beats what this page remembers doing.
    if (m.removed !== undefined) setMember(this.removed, m.site.id, m.removed);
    if (m.heard !== undefined) setMember(this.notListening, m.site.id, !m.heard);
    if (m.site.id !== youId) return;
    const muted = m.muted ?? false;
    const videoStopped = m.video_stopped ?? false;
    if (this.#own.muted && !muted) this.notice = 'maySpeak';
    else if (this.#own.videoStopped && !videoStopped) this.notice = 'videoAllowed';
    if ((muted && this.notice === 'maySpeak') || (videoStopped && this.notice === 'videoAllowed')) this.notice = null;
    this.#own = { muted, videoStopped };
  }

  /**
   * Remembers what a sent message changes that the server will not report back, and returns
   * how to undo it should the server refuse the message.
   * @param {ClientMessage} msg
   * @returns {(() => void) | null}
   */
  noteSent(msg) {
    if (msg.type === 'listen') {
      const was = !this.notListening.has(msg.site_id);
      setMember(this.notListening, msg.site_id, !msg.on);
      return () => setMember(this.notListening, msg.site_id, !was);
    }
    if (msg.type === 'remove_site' || msg.type === 'readmit_site') {
      const was = this.removed.has(msg.site_id);
      setMember(this.removed, msg.site_id, msg.type === 'remove_site');
      return () => setMember(this.removed, msg.site_id, was);
    }
    return null;
  }

  dismissNotice() {
    this.notice = null;
  }
}

/**
 * @param {Set<string>} set
 * @param {string} id
 * @param {boolean} member
 */
function setMember(set, id, member) {
  if (member) set.add(id);
  else set.delete(id);
}
