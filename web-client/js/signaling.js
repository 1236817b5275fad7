/**
 * `SignalingClient`: one WebSocket to the diemcau server, carrying protocol messages.
 *
 * Owns: the socket, JSON framing, validation of every frame both ways (through
 * `protocol.js`), dispatch of server messages to `on(type, fn)` listeners, and a periodic
 * `ping` that also detects a silently dead link (weak rural links often drop without a TCP
 * close, and the browser would then wait minutes before reporting it).
 *
 * Lifecycle: constructed → `open` event → messages → exactly one `close` event, after which
 * the client is spent; reconnecting means constructing a new one. No DOM here; the socket
 * class is injectable so node tests can run it against a fake.
 */

import { ProtocolError, parseServerMessage, validateClientMessage } from './protocol.js';
import { pingMessage } from './messages.js';

/** @typedef {import('./protocol.js').ServerMessage} ServerMessage */
/** @typedef {import('./protocol.js').ServerMessageType} ServerMessageType */
/** @typedef {import('./protocol.js').ClientMessage} ClientMessage */

/**
 * The part of the browser `WebSocket` this client uses; node tests implement just this.
 * @typedef {object} SocketLike
 * @property {number} readyState 1 when open, as `WebSocket.OPEN`
 * @property {(data: string) => void} send
 * @property {(code?: number, reason?: string) => void} close
 * @property {((ev: unknown) => void) | null} onopen
 * @property {((ev: {data: unknown}) => void) | null} onmessage
 * @property {((ev: {code?: number, reason?: string}) => void) | null} onclose
 * @property {((ev: unknown) => void) | null} onerror
 */

/** @typedef {new (url: string) => SocketLike} SocketConstructor */

/**
 * How the socket ended. `code` 4000 means our own ping watchdog gave up on the link.
 * @typedef {{code: number, reason: string, byUs: boolean}} CloseInfo
 */

/**
 * Event name → payload. Server message types carry the parsed message.
 * @typedef {{[K in ServerMessageType]: Extract<ServerMessage, {type: K}>}
 *   & {open: undefined, close: CloseInfo, protocol_error: ProtocolError}} SignalingEvents
 */

/** Close code used when the ping watchdog declares the link dead. */
export const DEAD_LINK_CLOSE_CODE = 4000;

const OPEN = 1;

export class SignalingClient {
  /** @type {SocketLike} */
  #ws;
  /** @type {Map<string, Set<(payload: any) => void>>} */
  #listeners = new Map();
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #pingTimer;
  /** The next `ping` or request id; one sequence, so an error's `id` names one message. */
  #nextId = 1;
  /** Pings sent and not yet answered; two unanswered pings mean the link is dead. */
  #unanswered = 0;
  #closed = false;
  #pingIntervalMs;
  /** Pongs received so far. */
  #pongs = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #probeTimer;

  /**
   * @param {string} url e.g. `wss://host/ws`
   * @param {SocketConstructor} [SocketImpl] defaults to the browser's `WebSocket`
   * @param {{pingIntervalMs?: number}} [options] ping period; 0 turns pings off
   */
  constructor(url, SocketImpl, options = {}) {
    const Impl = SocketImpl ?? /** @type {SocketConstructor} */ (/** @type {unknown} */ (globalThis.WebSocket));
    this.#pingIntervalMs = options.pingIntervalMs ?? 10_000;
    this.#ws = new Impl(url);
    this.#ws.onopen = () => {
      this.#startPings();
      this.#emit('open', undefined);
    };
    this.#ws.onmessage = (ev) => this.#receive(ev.data);
    this.#ws.onclose = (ev) => this.#finish({ code: ev.code ?? 1006, reason: ev.reason ?? '', byUs: false });
    // An error is always followed by a close event; the close carries the outcome.
    this.#ws.onerror = () => {};
  }

  /** True while frames can be sent. */
  get isOpen() {
    return !this.#closed && this.#ws.readyState === OPEN;
  }

  /**
   * Registers a listener; returns a function that removes it.
   * @template {keyof SignalingEvents} K
   * @param {K} type
   * @param {(payload: SignalingEvents[K]) => void} fn
   * @returns {() => void}
   */
  on(type, fn) {
    let set = this.#listeners.get(type);
    if (!set) {
      set = new Set();
      this.#listeners.set(type, set);
    }
    set.add(fn);
    return () => set.delete(fn);
  }

  /**
   * Sends one message. Returns false (and sends nothing) when the socket is not open; a
   * message that breaks the protocol throws, because that is a bug in this client.
   * @param {ClientMessage} msg
   * @returns {boolean}
   */
  send(msg) {
    validateClientMessage(msg);
    if (!this.isOpen) return false;
    this.#ws.send(JSON.stringify(msg));
    return true;
  }

  /**
   * Sends one message as a request: with a new `id`, which the server's `error` refusing it
   * echoes (PROTOCOL.md "Request ids"). Returns that id, or null (and sends nothing) when
   * the socket is not open.
   * @param {ClientMessage} msg
   * @returns {number | null}
   */
  request(msg) {
    if (!this.isOpen) return null;
    const id = this.#nextId++;
    this.send(/** @type {ClientMessage} */ ({ ...msg, id }));
    return id;
  }

  /**
   * Sends any value as JSON, unchecked: only for the test hook that probes what the server
   * refuses. Returns false when the socket is not open.
   * @param {unknown} msg
   * @returns {boolean}
   */
  sendUnchecked(msg) {
    if (!this.isOpen) return false;
    this.#ws.send(JSON.stringify(msg));
    return true;
  }

  /** Closes the socket; the `close` event follows at once. */
  close() {
    this.#finish({ code: 1000, reason: 'closed by client', byUs: true });
  }

  /** @param {unknown} data */
  #receive(data) {
    if (typeof data !== 'string') {
      this.#emit('protocol_error', new ProtocolError('bad_message', 'binary frame from server'));
      return;
    }
    /** @type {ServerMessage} */
    let msg;
    try {
      msg = parseServerMessage(data);
    } catch (e) {
      // A frame we cannot read is reported, not fatal: the next one may be fine.
      const err = e instanceof ProtocolError ? e : new ProtocolError('bad_message', String(e));
      this.#emit('protocol_error', err);
      return;
    }
    if (msg.type === 'pong') {
      this.#unanswered = 0;
      this.#pongs += 1;
    }
    this.#emit(msg.type, msg);
  }

  /**
   * Checks the link now: a ping that gets no answer within `timeoutMs` closes the socket as
   * dead (the media just stalled: the network may have changed under both).
   * @param {number} timeoutMs
   */
  probe(timeoutMs) {
    if (this.#closed || this.#probeTimer !== undefined) return;
    const answeredBefore = this.#pongs;
    this.send(pingMessage(this.#nextId++));
    this.#probeTimer = setTimeout(() => {
      this.#probeTimer = undefined;
      if (this.#pongs === answeredBefore) this.#finish({ code: DEAD_LINK_CLOSE_CODE, reason: 'no pong to a probe', byUs: true });
    }, timeoutMs);
  }

  #startPings() {
    if (this.#pingIntervalMs <= 0) return;
    this.#pingTimer = setInterval(() => {
      if (this.#unanswered >= 2) {
        this.#finish({ code: DEAD_LINK_CLOSE_CODE, reason: 'no pong from server', byUs: true });
        return;
      }
      this.#unanswered += 1;
      this.send(pingMessage(this.#nextId++));
    }, this.#pingIntervalMs);
  }

  /** @param {CloseInfo} info */
  #finish(info) {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#pingTimer);
    clearTimeout(this.#probeTimer);
    // Detach first: on a dead link the browser's own close event may come minutes later.
    this.#ws.onopen = this.#ws.onmessage = this.#ws.onclose = this.#ws.onerror = null;
    try {
      this.#ws.close(info.code === DEAD_LINK_CLOSE_CODE ? 4000 : 1000);
    } catch {
      // Closing an already failed socket can throw in some browsers; it is closed anyway.
    }
    this.#emit('close', info);
  }

  /**
   * @template {keyof SignalingEvents} K
   * @param {K} type
   * @param {SignalingEvents[K]} payload
   */
  #emit(type, payload) {
    for (const fn of [...(this.#listeners.get(type) ?? [])]) fn(payload);
  }
}
