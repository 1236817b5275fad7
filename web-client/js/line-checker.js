/**
 * `LineChecker`: runs a site's pre-meeting line check (the rules are `line-check.js`'s).
 * Contract: `notes/contract.md`, "Pre-meeting line check".
 *
 * Lifecycle (`state`): idle → running → done; `start()` again from done runs a new check.
 * A check that cannot finish goes back to idle with `failure` saying why: the server refused
 * (`conflict`: the meeting is open; `no_offer`…), it never answered (`no_answer`), the
 * socket was down (`offline`) or went, or the meeting opened mid-check (`interrupted`).
 *
 * Steps while running:
 *   connecting  wait until the peer connection is connected, at most 15 s from the start
 *               (failed or timed out: verdict `no_connection`, with the server's UDP port)
 *   starting    `check on` sent; wait for the server's ack and the loopback slots
 *   warmup      ~2 s: the encoder turns on its upper layers, the estimate climbs
 *   measuring   ~8 s of readings of the loopback; then `check off` and `check_result`
 * Camera and microphone are judged from every reading, from the start.
 *
 * While the loopback may run (`check on` sent until it ended) `looping` is true and every
 * received sound is silenced (`mutes`), so the site never hears itself (echo).
 *
 * No DOM; the clock and the sleeps are injectable so tests run the whole check at once.
 */

import { checkMessage } from './messages.js';
import {
  CHECK_TIMING, buildCheckResult, devicesWorking, loopbackMids, measure, readCheckStats, silenced, udpPortFromSdp,
} from './line-check.js';

/** @typedef {import('./protocol.js').ClientMessage} ClientMessage */
/** @typedef {import('./protocol.js').CheckResultMessage} CheckResultMessage */
/** @typedef {import('./protocol.js').Slot} Slot */
/** @typedef {import('./line-check.js').CheckReading} CheckReading */
/** @typedef {import('./line-check.js').LineFigures} LineFigures */

/** @typedef {'idle' | 'running' | 'done'} LineCheckState */
/** @typedef {'connecting' | 'starting' | 'warmup' | 'measuring'} LineCheckStep */

/**
 * The part of `RTCPeerConnection` the check reads.
 * @typedef {{connectionState: string, remoteDescription: {sdp: string} | null,
 *   getStats: () => Promise<{values: () => Iterable<Record<string, any>>}>}} CheckedPeer
 */

/**
 * @typedef {object} LineCheckerDeps
 * @property {(msg: ClientMessage) => boolean} send through the signaling socket; false when closed
 * @property {() => CheckedPeer | null} pc the current peer connection
 * @property {() => {camera: MediaStreamTrack | null, mic: MediaStreamTrack | null}} tracks
 * @property {() => readonly Slot[]} slots the last `slots` message's
 * @property {() => string | null} ownId this participant's id
 * @property {() => void} changed something shown changed
 * @property {() => number} [now] ms clock
 * @property {(ms: number) => Promise<void>} [sleep]
 */

/** How often the waits look again. */
const POLL_MS = 250;
/** How long to wait for the slots naming the loopback after the ack. */
const SLOTS_WAIT_MS = 3_000;

/** Share of the progress bar each step ends at. */
const PROGRESS = { connecting: 0.1, starting: 0.15, warmup: 0.3, measuring: 1 };

export class LineChecker {
  /** @type {LineCheckState} */
  state = 'idle';
  /** @type {LineCheckStep | null} */
  step = null;
  /** 0..1 while running. */
  progress = 0;
  /** @type {CheckResultMessage | null} what the last check found (and sent) */
  result = null;
  /** @type {LineFigures | null} the last check's figures unrounded, with the uplink estimate */
  figures = null;
  /** @type {number | null} the server's UDP port, for a `no_connection` verdict */
  udpPort = null;
  /** @type {string | null} why the last check could not finish (an error code or see above) */
  failure = null;
  /** True from `check on` until the loopback ended: received sound is silenced. */
  looping = false;

  /** @type {Required<LineCheckerDeps>} */
  #deps;
  /** Bumped to cancel the running check. */
  #run = 0;
  #acked = false;
  #ended = false;
  /** @type {string | null} */
  #refused = null;

  /** @param {LineCheckerDeps} deps */
  constructor(deps) {
    this.#deps = {
      now: () => Date.now(),
      sleep: (ms) => new Promise((ok) => setTimeout(ok, ms)),
      ...deps,
    };
  }

  /**
   * Starts a check unless one runs. Resolves when it has finished (or given up).
   * @returns {Promise<void>}
   */
  start() {
    if (this.state === 'running') return Promise.resolve();
    const run = ++this.#run;
    this.state = 'running';
    this.step = 'connecting';
    this.progress = 0;
    this.result = null;
    this.figures = null;
    this.udpPort = null;
    this.failure = null;
    this.#deps.changed();
    return this.#check(run).catch((e) => {
      console.error('diemcau: the line check failed', e);
      if (run === this.#run) this.#giveUp('failed');
    });
  }

  /**
   * The server's `check`: the ack (`on`), or the end of the loopback.
   * @param {boolean} on
   */
  onCheck(on) {
    if (on) this.#acked = true;
    else {
      this.#ended = true;
      this.looping = false;
    }
    this.#deps.changed();
  }

  /**
   * A server error: while the check waits for its ack, it is the answer to `check on`.
   * @param {string} code
   * @returns {boolean} whether it was about the check
   */
  onError(code) {
    if (this.state !== 'running' || this.step !== 'starting' || this.#acked) return false;
    this.#refused = code;
    return true;
  }

  /** The socket or the peer connection went: a running check is lost. */
  abort() {
    this.looping = false;
    if (this.state === 'running') {
      this.#run++;
      this.#giveUp('interrupted');
    }
  }

  /**
   * Whether the `<audio>` of the receive slot with this mid must stay silent.
   * @param {string | null} mid
   */
  mutes(mid) {
    return silenced(this.#deps.slots(), this.#deps.ownId(), this.looping, mid);
  }

  /** @param {number} run */
  async #check(run) {
    const { now, sleep } = this.#deps;
    const alive = () => run === this.#run;
    const started = now();
    /** @type {CheckReading[]} */
    const readings = [];

    // connecting
    for (;;) {
      const pc = this.#deps.pc();
      await this.#read(pc, readings);
      if (!alive()) return;
      if (pc?.connectionState === 'connected') break;
      const waited = now() - started;
      if (pc?.connectionState === 'failed' || waited >= CHECK_TIMING.connectMs) {
        this.udpPort = udpPortFromSdp(pc?.remoteDescription?.sdp);
        this.#finish({ connected: false, figures: null, readings });
        return;
      }
      this.#progress(PROGRESS.connecting * (waited / CHECK_TIMING.connectMs));
      await sleep(POLL_MS);
      if (!alive()) return;
    }

    // starting
    this.step = 'starting';
    this.#acked = false;
    this.#ended = false;
    this.#refused = null;
    if (!this.#deps.send(checkMessage(true))) {
      this.#giveUp('offline');
      return;
    }
    this.looping = true;
    this.#progress(PROGRESS.connecting);
    const asked = now();
    while (!this.#acked && this.#refused === null && !this.#ended && now() - asked < CHECK_TIMING.ackMs) {
      await sleep(POLL_MS);
      if (!alive()) return;
    }
    if (this.#refused !== null || this.#ended || !this.#acked) {
      if (!this.#acked && this.#refused === null) this.#deps.send(checkMessage(false));
      this.#giveUp(this.#refused ?? (this.#ended ? 'interrupted' : 'no_answer'));
      return;
    }
    const acked = now();
    while (this.#loopback().length === 0 && now() - acked < SLOTS_WAIT_MS) {
      await sleep(POLL_MS);
      if (!alive()) return;
    }

    // warmup
    this.step = 'warmup';
    const warm = now();
    while (now() - warm < CHECK_TIMING.warmupMs) {
      this.#progress(PROGRESS.starting + (PROGRESS.warmup - PROGRESS.starting) * ((now() - warm) / CHECK_TIMING.warmupMs));
      await sleep(POLL_MS);
      if (!alive()) return;
      if (this.#ended) break;
    }

    // measuring
    this.step = 'measuring';
    const from = readings.length;
    // Fixed for the window: counters summed over other slots would not compare.
    const mids = this.#loopback();
    const measuring = now();
    for (;;) {
      await this.#read(this.#deps.pc(), readings, mids);
      if (!alive()) return;
      if (this.#ended) {
        this.#giveUp('interrupted');
        return;
      }
      const elapsed = now() - measuring;
      this.#progress(PROGRESS.warmup + (1 - PROGRESS.warmup) * Math.min(1, elapsed / CHECK_TIMING.measureMs));
      if (elapsed >= CHECK_TIMING.measureMs) break;
      await sleep(Math.min(CHECK_TIMING.sampleMs, CHECK_TIMING.measureMs - elapsed));
      if (!alive()) return;
    }
    this.#deps.send(checkMessage(false));
    this.looping = false;
    const measured = readings.slice(from);
    const figures = measured.length >= 2 ? measure(measured[0], measured[measured.length - 1]) : null;
    this.#finish({ connected: true, figures, readings });
  }

  /** The mids of the slots carrying the loopback now. */
  #loopback() {
    return loopbackMids(this.#deps.slots(), this.#deps.ownId());
  }

  /**
   * Adds a reading of `pc`'s stats; none when there is no peer connection or it cannot say.
   * @param {CheckedPeer | null} pc
   * @param {CheckReading[]} readings
   * @param {readonly string[]} [mids] the loopback slots (none before the check is on)
   */
  async #read(pc, readings, mids = []) {
    if (!pc) return;
    try {
      const report = await pc.getStats();
      readings.push(readCheckStats(report.values(), this.#deps.now(), mids));
    } catch (e) {
      console.warn('diemcau: getStats failed during the line check', e);
    }
  }

  /**
   * Judges the devices, builds and sends the result.
   * @param {{connected: boolean, figures: LineFigures | null, readings: CheckReading[]}} outcome
   */
  #finish({ connected, figures, readings }) {
    const devices = devicesWorking(readings, this.#deps.tracks());
    this.result = buildCheckResult({ connected, ...devices, figures });
    this.figures = figures;
    this.#deps.send(this.result);
    this.state = 'done';
    this.step = null;
    this.progress = 1;
    this.#deps.changed();
  }

  /** @param {string} why */
  #giveUp(why) {
    this.looping = false;
    this.state = 'idle';
    this.step = null;
    this.progress = 0;
    this.failure = why;
    this.#deps.changed();
  }

  /** @param {number} p */
  #progress(p) {
    this.progress = p;
    this.#deps.changed();
  }
}
