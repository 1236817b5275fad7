/**
 * `StatsHistory`: the last five minutes of the server's `stats` messages, per site, for the
 * operators' charts and for rules that need a span of time ("silent for 5 s while holding
 * the floor").
 *
 * Each site has a `SampleRing`: a fixed ring of `HISTORY_SAMPLES` slots (one per second at
 * the server's pace) in typed arrays, so four hundred sites update every second without
 * allocating. A figure the server sent as null is kept as NaN. Times are the server's
 * (`at_ms`), so nothing here reads a clock: the newest sample is "now".
 *
 * Invariants: samples in a ring are in strictly increasing time; none is older than
 * `HISTORY_MS` before the newest `stats` message; a site with no sample left has no ring.
 */

/** @typedef {import('./protocol.js').StatsMessage} StatsMessage */
/** @typedef {import('./protocol.js').SiteStats} SiteStats */

/** How far back the charts go. */
export const HISTORY_MS = 5 * 60_000;

/** Ring size: five minutes of one sample a second. */
export const HISTORY_SAMPLES = 300;

/** The figures kept per sample, and where each comes from in a `stats` site entry. */
export const SAMPLE_FIELDS = /** @type {const} */ ({
  upKbps: 'up_kbps',
  downKbps: 'down_kbps',
  upLossPct: 'up_loss_pct',
  downLossPct: 'down_loss_pct',
  rttMs: 'rtt_ms',
  jitterMs: 'jitter_ms',
  audioLevel: 'audio_level',
});

/**
 * A kept figure: one of `SAMPLE_FIELDS`, or `worstLossPct`, the larger of the two losses
 * (what the row sparkline shows: either direction breaks the meeting for someone).
 * @typedef {keyof typeof SAMPLE_FIELDS | 'worstLossPct'} SampleField
 */

const FIELD_NAMES = /** @type {SampleField[]} */ ([...Object.keys(SAMPLE_FIELDS), 'worstLossPct']);

export class SampleRing {
  /** @type {Float64Array} sample times, server ms */
  #at;
  /** @type {Record<SampleField, Float64Array>} */
  #columns;
  /** Index of the oldest sample. */
  #start = 0;
  /** How many samples are held. */
  length = 0;

  /** @param {number} capacity */
  constructor(capacity = HISTORY_SAMPLES) {
    this.#at = new Float64Array(capacity);
    this.#columns = /** @type {Record<SampleField, Float64Array>} */ (
      Object.fromEntries(FIELD_NAMES.map((f) => [f, new Float64Array(capacity)])));
  }

  get capacity() {
    return this.#at.length;
  }

  /**
   * Adds a sample; a sample not newer than the newest is ignored (a repeated message).
   * @param {number} atMs
   * @param {Partial<Record<SampleField, number | null>>} values missing and null read as NaN
   * @returns {boolean} whether it was added
   */
  push(atMs, values) {
    if (this.length > 0 && atMs <= this.newestAt) return false;
    const cap = this.capacity;
    let slot;
    if (this.length < cap) {
      slot = (this.#start + this.length) % cap;
      this.length += 1;
    } else {
      slot = this.#start;
      this.#start = (this.#start + 1) % cap;
    }
    this.#at[slot] = atMs;
    for (const f of FIELD_NAMES) this.#columns[f][slot] = values[f] ?? NaN;
    return true;
  }

  /**
   * Drops samples taken before `cutoffMs`.
   * @param {number} cutoffMs
   */
  trimBefore(cutoffMs) {
    while (this.length > 0 && this.#at[this.#start] < cutoffMs) {
      this.#start = (this.#start + 1) % this.capacity;
      this.length -= 1;
    }
  }

  /** @param {number} i from 0 (oldest) to `length - 1` (newest) */
  #slot(i) {
    return (this.#start + i) % this.capacity;
  }

  /**
   * The time of the i-th oldest sample.
   * @param {number} i
   */
  timeAt(i) {
    return this.#at[this.#slot(i)];
  }

  /**
   * A figure of the i-th oldest sample (NaN when unknown).
   * @param {SampleField} field
   * @param {number} i
   */
  valueAt(field, i) {
    return this.#columns[field][this.#slot(i)];
  }

  get newestAt() {
    return this.length > 0 ? this.timeAt(this.length - 1) : NaN;
  }

  /**
   * The largest known value of a figure, or NaN when none is known.
   * @param {SampleField} field
   */
  max(field) {
    let max = NaN;
    for (let i = 0; i < this.length; i++) {
      const v = this.valueAt(field, i);
      if (!Number.isNaN(v) && (Number.isNaN(max) || v > max)) max = v;
    }
    return max;
  }

  /**
   * How long, up to the newest sample, a figure has stayed under `limit` without a break:
   * from the oldest sample of that unbroken run to the newest (0 when the newest is not
   * under it). An unknown value counts as under; a gap between samples longer than
   * `maxGapMs` breaks the run (the site was away).
   * @param {SampleField} field
   * @param {number} limit
   * @param {number} [maxGapMs]
   */
  quietMs(field, limit, maxGapMs = 3000) {
    let first = -1;
    for (let i = this.length - 1; i >= 0; i--) {
      const v = this.valueAt(field, i);
      if (v >= limit) break;
      if (first >= 0 && this.timeAt(first) - this.timeAt(i) > maxGapMs) break;
      first = i;
    }
    return first < 0 ? 0 : this.newestAt - this.timeAt(first);
  }
}

/**
 * The figures of one `stats` site entry, as a ring sample.
 * @param {SiteStats} s
 * @returns {Record<SampleField, number | null>}
 */
export function sampleOf(s) {
  const sample = /** @type {Record<SampleField, number | null>} */ (Object.fromEntries(
    Object.entries(SAMPLE_FIELDS).map(([f, key]) => [f, s[/** @type {keyof SiteStats} */ (key)] ?? null])));
  const losses = [s.up_loss_pct, s.down_loss_pct].filter((v) => v != null);
  sample.worstLossPct = losses.length > 0 ? Math.max(.../** @type {number[]} */ (losses)) : null;
  return sample;
}

export class StatsHistory {
  /** @type {Map<string, SampleRing>} */
  #rings = new Map();
  /** The newest message's `at_ms`, or NaN before one. */
  newestAt = NaN;
  #capacity;

  /** @param {number} [capacity] samples kept per site */
  constructor(capacity = HISTORY_SAMPLES) {
    this.#capacity = capacity;
  }

  /**
   * Adds one `stats` message: a sample for every site in it, and drops what is now older
   * than five minutes.
   * @param {StatsMessage} msg
   */
  add(msg) {
    if (msg.at_ms > this.newestAt || Number.isNaN(this.newestAt)) this.newestAt = msg.at_ms;
    for (const site of msg.sites) {
      let ring = this.#rings.get(site.site_id);
      if (!ring) {
        ring = new SampleRing(this.#capacity);
        this.#rings.set(site.site_id, ring);
      }
      ring.push(msg.at_ms, sampleOf(site));
    }
    const cutoff = this.newestAt - HISTORY_MS;
    for (const [id, ring] of this.#rings) {
      ring.trimBefore(cutoff);
      if (ring.length === 0) this.#rings.delete(id);
    }
  }

  /**
   * @param {string} siteId
   * @returns {SampleRing | null}
   */
  ring(siteId) {
    return this.#rings.get(siteId) ?? null;
  }

  /** Forgets everything (a new meeting on this page). */
  clear() {
    this.#rings.clear();
    this.newestAt = NaN;
  }
}
