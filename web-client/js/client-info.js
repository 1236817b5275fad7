/**
 * `client_info`: every participant tells the server which browser it runs and how its media
 * reaches the SFU (the local candidate type and protocol of the selected candidate pair), so
 * the operators see at once who is on an old browser or behind TURN.
 *
 * `browserName` and `selectedRoute` are pure (a user-agent string, plain stats objects).
 * `ClientInfoReporter` runs while a peer connection is up: it reads `getStats()` once media
 * connects (again a moment later while no pair is selected yet), whenever the browser says
 * the selected pair changed, and every `POLL_MS` for browsers that do not say; it sends
 * only what differs from what it sent last.
 */

import { clientInfoMessage } from './messages.js';
import { MAX_INFO_CHARS } from './protocol.js';

/** @typedef {import('./protocol.js').ClientInfoMessage} ClientInfoMessage */

/** How often the selected pair is looked at when the browser does not announce changes. */
export const POLL_MS = 10_000;
/** Right after connecting the pair may not be reported yet: look again this soon. */
const RETRY_MS = 1_000;
const RETRIES = 5;

const WINDOWS = /** @type {Record<string, string>} */ ({ '10.0': '10/11', '6.3': '8.1', '6.2': '8', '6.1': '7', '6.0': 'Vista', '5.1': 'XP' });

/**
 * Browser name and major version, with the system when the user agent says it: e.g.
 * `Chrome 109 (Windows 7)`, `Edge 120 (Windows 10/11)`, `Firefox 115 (Linux)`.
 * @param {string} userAgent
 * @returns {string | null}
 */
export function browserName(userAgent) {
  const ua = userAgent ?? '';
  /** @type {[RegExp, string][]} */
  const browsers = [
    [/\bEdg(?:e|A|iOS)?\/(\d+)/, 'Edge'],
    [/\bOPR\/(\d+)/, 'Opera'],
    [/\bYaBrowser\/(\d+)/, 'Yandex'],
    [/\bcoc_coc_browser\/(\d+)/, 'Cốc Cốc'],
    [/\bSamsungBrowser\/(\d+)/, 'Samsung Internet'],
    [/\bFirefox\/(\d+)/, 'Firefox'],
    [/\bHeadlessChrome\/(\d+)/, 'Chrome headless'],
    [/\bChromium\/(\d+)/, 'Chromium'],
    [/\b(?:Chrome|CriOS)\/(\d+)/, 'Chrome'],
    [/\bVersion\/(\d+)[\d.]* (?:Mobile\/\S+ )?Safari\//, 'Safari'],
  ];
  let name = null;
  for (const [re, label] of browsers) {
    const m = re.exec(ua);
    if (m) {
      name = `${label} ${m[1]}`;
      break;
    }
  }
  if (!name) return null;
  const system = systemName(ua);
  const full = system ? `${name} (${system})` : name;
  return [...full].length <= MAX_INFO_CHARS ? full : [...full].slice(0, MAX_INFO_CHARS).join('');
}

/** @param {string} ua */
function systemName(ua) {
  const win = /Windows NT (\d+\.\d+)/.exec(ua);
  if (win) return `Windows ${WINDOWS[win[1]] ?? win[1]}`;
  if (/Android/.test(ua)) return 'Android';
  if (/iPhone|iPad/.test(ua)) return 'iOS';
  if (/Mac OS X/.test(ua)) return 'macOS';
  if (/CrOS/.test(ua)) return 'ChromeOS';
  if (/Linux/.test(ua)) return 'Linux';
  return null;
}

/**
 * The local candidate type and protocol of the selected candidate pair, from a stats report.
 * Through TURN, the protocol is the one to the TURN server (`relayProtocol`; TLS counts as
 * `tcp`), since that is the leg a firewall decides on.
 * @param {Iterable<Record<string, any>>} stats e.g. `(await pc.getStats()).values()`
 * @returns {{candidate: string | null, transport: string | null}}
 */
export function selectedRoute(stats) {
  const all = [...stats];
  const byId = new Map(all.map((s) => [s.id, s]));
  const transport = all.find((s) => s.type === 'transport' && s.selectedCandidatePairId);
  const pair = (transport ? byId.get(transport.selectedCandidatePairId) : undefined)
    // Firefox has no transport entry but marks the pair `selected`.
    ?? all.find((s) => s.type === 'candidate-pair' && s.selected === true)
    ?? all.find((s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded');
  const local = pair ? byId.get(pair.localCandidateId) : undefined;
  if (!local) return { candidate: null, transport: null };
  const candidate = typeof local.candidateType === 'string' ? local.candidateType : null;
  let protocol = candidate === 'relay' && typeof local.relayProtocol === 'string' ? local.relayProtocol : local.protocol;
  if (protocol === 'tls') protocol = 'tcp';
  return { candidate, transport: protocol === 'udp' || protocol === 'tcp' ? protocol : null };
}

export class ClientInfoReporter {
  #getStats;
  #send;
  #browser;
  /** @type {string | null} what was sent last, as JSON */
  #sent = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #retry;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #poll;
  #retries = 0;
  #stopped = false;
  /** @type {(() => void) | null} */
  #unlisten = null;

  /**
   * @param {object} options
   * @param {() => Promise<{values(): Iterable<Record<string, any>>}>} options.getStats
   * @param {(msg: ClientInfoMessage) => boolean | void} options.send
   * @param {string} options.userAgent
   * @param {EventTarget | null} [options.iceTransport] fires `selectedcandidatepairchange`
   */
  constructor({ getStats, send, userAgent, iceTransport = null }) {
    this.#getStats = getStats;
    this.#send = send;
    this.#browser = browserName(userAgent);
    if (iceTransport) {
      const fn = () => void this.check();
      iceTransport.addEventListener('selectedcandidatepairchange', fn);
      this.#unlisten = () => iceTransport.removeEventListener('selectedcandidatepairchange', fn);
    }
  }

  /** Media just connected: report now, and keep an eye on the pair. */
  start() {
    this.#retries = 0;
    void this.check();
    clearInterval(this.#poll);
    this.#poll = setInterval(() => void this.check(), POLL_MS);
  }

  stop() {
    this.#stopped = true;
    clearTimeout(this.#retry);
    clearInterval(this.#poll);
    this.#unlisten?.();
  }

  /** Reads the selected pair and sends it when it changed. */
  async check() {
    if (this.#stopped) return;
    /** @type {{candidate: string | null, transport: string | null}} */
    let route;
    try {
      route = selectedRoute((await this.#getStats()).values());
    } catch {
      return; // the peer connection closed under us
    }
    if (this.#stopped) return;
    if (route.candidate === null && this.#retries < RETRIES) {
      // Not selected yet: look again shortly (after a few tries, send what is known).
      this.#retries += 1;
      clearTimeout(this.#retry);
      this.#retry = setTimeout(() => void this.check(), RETRY_MS);
      return;
    }
    const msg = clientInfoMessage(this.#browser, route.candidate, route.transport);
    const key = JSON.stringify(msg);
    if (key === this.#sent) return;
    if (this.#send(msg) !== false) this.#sent = key;
  }
}
