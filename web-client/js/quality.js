/**
 * The connection-quality mark shown to a site: good / fair / poor, or connecting /
 * disconnected while there is no media path.
 *
 * Pure functions over numbers and plain stats objects (what `RTCStatsReport.values()` yields),
 * so the thresholds are tested without a browser. `media.js` feeds them real `getStats()`.
 */

/** @typedef {'good' | 'fair' | 'poor'} QualityMark */
/** @typedef {QualityMark | 'connecting' | 'disconnected'} ConnectionMark */

/**
 * One reading of the link.
 * @typedef {object} StatsSample
 * @property {number | null} rttMs round-trip time to the SFU, null when unknown
 * @property {number | null} lossRatio share of inbound packets lost since the last sample
 * @property {{lost: number, received: number}} totals cumulative inbound counters, fed back
 *   as `previous` next time so the loss is measured over the last interval only
 */

/**
 * Limits for each mark. Interactive speech stays comfortable under ~150 ms and ~2 % loss;
 * past ~400 ms or ~8 % people talk over each other and video freezes.
 */
export const QUALITY_LIMITS = {
  good: { rttMs: 150, lossRatio: 0.02 },
  fair: { rttMs: 400, lossRatio: 0.08 },
};

/**
 * The mark for a reading. Unknown numbers count as fine: missing data is not bad news.
 * @param {{rttMs: number | null, lossRatio: number | null}} sample
 * @returns {QualityMark}
 */
export function qualityMark({ rttMs, lossRatio }) {
  const rtt = rttMs ?? 0;
  const loss = lossRatio ?? 0;
  if (rtt <= QUALITY_LIMITS.good.rttMs && loss <= QUALITY_LIMITS.good.lossRatio) return 'good';
  if (rtt <= QUALITY_LIMITS.fair.rttMs && loss <= QUALITY_LIMITS.fair.lossRatio) return 'fair';
  return 'poor';
}

/**
 * The mark for the whole connection, from `RTCPeerConnection.connectionState` and the last
 * reading (null before the first one).
 * @param {string} connectionState
 * @param {{rttMs: number | null, lossRatio: number | null} | null} sample
 * @returns {ConnectionMark}
 */
export function connectionMark(connectionState, sample) {
  if (connectionState === 'connected') return sample ? qualityMark(sample) : 'good';
  if (connectionState === 'disconnected' || connectionState === 'failed' || connectionState === 'closed') {
    return 'disconnected';
  }
  return 'connecting';
}

const MARK_ORDER = /** @type {QualityMark[]} */ (['good', 'fair', 'poor']);

/**
 * The mark a site's page shows: its browser's own reading, no better than what the SFU's
 * evidence says of the same line (`reception` `reduced`: fair at best, `audio_only`: poor).
 * The weak-line banner shows on that evidence, so with it the page never says "Kết nối: Tốt"
 * beside "Đường truyền của bạn đang yếu": one verdict on the line, the SFU's.
 * @param {ConnectionMark} mark
 * @param {string | undefined} reception the site's own `reception`
 * @returns {ConnectionMark}
 */
export function shownMark(mark, reception) {
  const floor = reception === 'audio_only' ? 'poor' : reception === 'reduced' ? 'fair' : 'good';
  const at = MARK_ORDER.indexOf(/** @type {QualityMark} */ (mark));
  if (at < 0) return mark;
  return MARK_ORDER[Math.max(at, MARK_ORDER.indexOf(floor))];
}

/**
 * Reads RTT and inbound loss out of a stats report.
 * @param {Iterable<Record<string, any>>} stats e.g. `(await pc.getStats()).values()`
 * @param {{lost: number, received: number} | null} previous the last sample's `totals`
 * @returns {StatsSample}
 */
export function readStats(stats, previous) {
  /** @type {number | null} */
  let rttMs = null;
  let lost = 0;
  let received = 0;
  for (const s of stats) {
    if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded'
        && typeof s.currentRoundTripTime === 'number') {
      rttMs = s.currentRoundTripTime * 1000;
    } else if (s.type === 'remote-inbound-rtp' && rttMs === null && typeof s.roundTripTime === 'number') {
      // Fallback when the ICE pair has no RTT yet: the RTCP-measured one.
      rttMs = s.roundTripTime * 1000;
    } else if (s.type === 'inbound-rtp') {
      lost += Math.max(0, s.packetsLost ?? 0);
      received += s.packetsReceived ?? 0;
    }
  }
  const dLost = lost - (previous?.lost ?? 0);
  const dReceived = received - (previous?.received ?? 0);
  const total = dLost + dReceived;
  // Counters restart when transceivers are renegotiated; a negative delta is not a reading.
  const lossRatio = total > 0 && dLost >= 0 && dReceived >= 0 ? dLost / total : null;
  return { rttMs, lossRatio, totals: { lost, received } };
}
