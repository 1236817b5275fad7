/** `stats` messages for the operator dashboard tests (a helper module, no tests in it). */

/**
 * A `stats` site entry with defaults.
 * @param {string} id
 * @param {Partial<import('../../js/protocol.js').SiteStats>} [over]
 * @returns {import('../../js/protocol.js').SiteStats}
 */
export function site(id, over = {}) {
  return {
    site_id: id, up_kbps: 500, down_kbps: 900, up_loss_pct: 0, down_loss_pct: 0, rtt_ms: 40, jitter_ms: 5,
    layer: 'high', estimate_kbps: 2000, audio_level: 0.2, transport: 'udp', candidate: 'host', browser: 'Chrome 120',
    nacks: 0, plis: 0, audio_only_forced: false, ...over,
  };
}

/**
 * @param {number} atMs
 * @param {import('../../js/protocol.js').SiteStats[]} sites
 * @returns {import('../../js/protocol.js').StatsMessage}
 */
export function stats(atMs, sites) {
  return { type: 'stats', at_ms: atMs, totals: { expected: 4, joined: sites.length, up_kbps: 0, down_kbps: 0 }, sites };
}
