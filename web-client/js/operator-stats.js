/**
 * The operators' dashboard, decided: one row per expected participant (the roster says who
 * is expected and whether it is joined, waiting or left; the last `stats` message gives the
 * link figures of those whose media is connected), the alerts a row raises, how bad it is
 * (the default order: worst first), sorting by any column, and the meeting totals.
 *
 * Pure functions over protocol data and a `StatsHistory`; no DOM, no clock. The operator
 * view (`views/operator.js`) draws what these return.
 */

/** @typedef {import('./protocol.js').Role} Role */
/** @typedef {import('./protocol.js').SiteStateName} SiteStateName */
/** @typedef {import('./protocol.js').SiteStats} SiteStats */
/** @typedef {import('./protocol.js').StatsMessage} StatsMessage */
/** @typedef {import('./protocol.js').FloorMessage} FloorMessage */
/** @typedef {import('./roster.js').RosterEntry} RosterEntry */
/** @typedef {import('./stats-history.js').StatsHistory} StatsHistory */

/**
 * When a row is highlighted. Past 5 % loss video breaks up and speech drops syllables; past
 * 400 ms round trip people talk over each other. A floor holder whose microphone level stays
 * under 0.01 (about −40 dBFS: nobody speaking near it) for 5 s is likely muted by mistake or
 * unplugged, and the hall is waiting for it.
 */
export const LIMITS = { lossPct: 5, rttMs: 400, silentLevel: 0.01, silentMs: 5000 };

/** @typedef {'loss' | 'rtt' | 'silent'} Alert */

/**
 * @typedef {'severity' | 'name' | 'state' | 'node' | 'transport' | 'up' | 'down' | 'loss-up'
 *   | 'loss-down' | 'rtt' | 'jitter' | 'layer' | 'audio' | 'check'} Column
 */

/** @typedef {{column: Column, dir: 'asc' | 'desc'}} Sort */

/**
 * One participant as the dashboard shows it.
 * @typedef {object} OpsRow
 * @property {string} id
 * @property {string} name
 * @property {Role} role
 * @property {SiteStateName} state from the roster
 * @property {SiteStats | null} stats null while its media is not connected
 * @property {boolean} holdsFloor
 * @property {boolean} audioOnlyForced the operators stopped all video to it
 * @property {Alert[]} alerts
 * @property {number} severity 0 when all is well; larger is worse
 * @property {string | null} check its line-check verdict, when one came
 */

/** Every sortable column, in table order. */
export const COLUMNS = /** @type {const} */ ([
  'severity', 'name', 'state', 'node', 'transport', 'up', 'down', 'loss-up', 'loss-down', 'rtt', 'jitter', 'layer', 'audio', 'check',
]);

/** Each column's first direction: worst first (low bitrate, high loss, TURN, paused video…). */
export const WORST_FIRST = /** @type {Record<Column, 'asc' | 'desc'>} */ ({
  severity: 'desc', name: 'asc', state: 'asc', node: 'asc', transport: 'desc', up: 'asc', down: 'asc', 'loss-up': 'desc',
  'loss-down': 'desc', rtt: 'desc', jitter: 'desc', layer: 'asc', audio: 'asc', check: 'asc',
});

/** @type {Sort} */
export const DEFAULT_SORT = { column: 'severity', dir: 'desc' };

const LAYER_RANK = /** @type {Record<string, number>} */ ({ paused: 0, low: 1, mid: 2, high: 3 });
const CHECK_RANK = /** @type {Record<string, number>} */ ({ no_connection: 0, audio_only: 1, video: 2 });
const STATE_RANK = { left: 0, waiting: 1, joined: 2 };

/**
 * Whether a participant reaches the SFU through a TURN relay.
 * @param {SiteStats | null} s
 */
export function isRelayed(s) {
  return s?.candidate === 'relay' || s?.transport === 'relay';
}

/**
 * The alerts of a connected participant.
 * @param {SiteStats} s
 * @param {{holdsFloor: boolean, quietMs: number}} context `quietMs`: how long its audio
 *   level has stayed under `LIMITS.silentLevel`
 * @returns {Alert[]}
 */
export function alertsFor(s, { holdsFloor, quietMs }) {
  /** @type {Alert[]} */
  const alerts = [];
  if (Math.max(s.up_loss_pct ?? 0, s.down_loss_pct ?? 0) > LIMITS.lossPct) alerts.push('loss');
  if ((s.rtt_ms ?? 0) > LIMITS.rttMs) alerts.push('rtt');
  if (holdsFloor && quietMs >= LIMITS.silentMs) alerts.push('silent');
  return alerts;
}

/**
 * How bad a row is, for the default order. A row with an alert always comes before one
 * without: a silent floor holder first (the whole meeting waits for it), then by how heavy
 * the loss and how long the round trip. Then a site that dropped out, one joined without
 * media, video paused for lack of bandwidth; a site not yet in ranks low but above healthy
 * ones.
 * @param {{state: SiteStateName, stats: SiteStats | null, alerts: readonly Alert[]}} row
 */
export function severityOf({ state, stats, alerts }) {
  if (state === 'left') return 30;
  if (state === 'waiting') return 10;
  if (!stats) return 20;
  let score = alerts.length > 0 ? 30 : 0;
  if (alerts.includes('silent')) score += 50;
  score += Math.min(60, Math.max(stats.up_loss_pct ?? 0, stats.down_loss_pct ?? 0) * 4);
  score += Math.min(40, Math.max(0, ((stats.rtt_ms ?? 0) - 150) / 10));
  score += Math.min(10, Math.max(0, ((stats.jitter_ms ?? 0) - 30) / 5));
  if (stats.layer === 'paused' && !stats.audio_only_forced) score += 15;
  else if (stats.layer === 'low') score += 3;
  // In steps of 5: small wobbles of healthy links must not reshuffle the table every time
  // it is re-sorted (ties go by name, which is stable).
  return Math.floor(score / 5) * 5;
}

/**
 * The dashboard rows: every expected participant (not operators), in roster order.
 * @param {readonly RosterEntry[]} roster
 * @param {StatsMessage | null} stats the last `stats` message
 * @param {object} [context]
 * @param {FloorMessage | null} [context.floor]
 * @param {StatsHistory | null} [context.history]
 * @param {(siteId: string) => string | null} [context.verdict] a site's line-check verdict
 * @returns {OpsRow[]}
 */
export function buildRows(roster, stats, { floor = null, history = null, verdict } = {}) {
  /** @type {Map<string, SiteStats>} */
  const byId = new Map((stats?.sites ?? []).map((s) => [s.site_id, s]));
  const holders = new Set(floor?.holders ?? []);
  return roster.filter((site) => site.role !== 'operator').map((site) => {
    const s = site.state === 'joined' ? byId.get(site.id) ?? null : null;
    const holdsFloor = holders.has(site.id);
    const quietMs = history?.ring(site.id)?.quietMs('audioLevel', LIMITS.silentLevel) ?? 0;
    const alerts = s ? alertsFor(s, { holdsFloor, quietMs }) : [];
    return {
      id: site.id,
      name: site.name,
      role: site.role,
      state: site.state,
      stats: s,
      holdsFloor,
      // `site_state` says it the moment it changes; `stats` up to a second later.
      audioOnlyForced: Boolean(site.audio_only_forced ?? s?.audio_only_forced),
      alerts,
      severity: severityOf({ state: site.state, stats: s, alerts }),
      check: verdict?.(site.id) ?? null,
    };
  });
}

/**
 * How a row sorts in a column; null (unknown) always sorts last.
 * @param {OpsRow} row
 * @param {Column} column
 * @returns {number | string | null}
 */
export function sortValue(row, column) {
  const s = row.stats;
  switch (column) {
    case 'severity': return row.severity;
    case 'name': return row.name;
    case 'state': return row.state === 'joined' && s ? 3 : STATE_RANK[row.state];
    case 'node': return s?.node ?? null;
    case 'transport': return s ? (isRelayed(s) ? 4 : 0) + (s.transport === 'tcp' ? 2 : 0) + (s.candidate === 'srflx' || s.candidate === 'prflx' ? 1 : 0) : null;
    case 'up': return s?.up_kbps ?? null;
    case 'down': return s?.down_kbps ?? null;
    case 'loss-up': return s?.up_loss_pct ?? null;
    case 'loss-down': return s?.down_loss_pct ?? null;
    case 'rtt': return s?.rtt_ms ?? null;
    case 'jitter': return s?.jitter_ms ?? null;
    case 'layer': return s?.layer != null ? LAYER_RANK[s.layer] ?? null : null;
    case 'audio': return s?.audio_level ?? null;
    case 'check': return row.check != null ? CHECK_RANK[row.check] ?? null : null;
    default: return null;
  }
}

const collator = new Intl.Collator('vi', { numeric: true, sensitivity: 'base' });

/**
 * The rows in the order of `sort`; unknown values last, ties worst first, then by name.
 * @param {readonly OpsRow[]} rows
 * @param {Sort} sort
 * @returns {OpsRow[]}
 */
export function sortRows(rows, sort) {
  const sign = sort.dir === 'asc' ? 1 : -1;
  /** @param {number | string} a @param {number | string} b */
  const cmp = (a, b) => (typeof a === 'string' && typeof b === 'string' ? collator.compare(a, b) : Number(a) - Number(b));
  return [...rows].sort((x, y) => {
    const a = sortValue(x, sort.column);
    const b = sortValue(y, sort.column);
    if (a === null || b === null) {
      if (a !== b) return a === null ? 1 : -1;
    } else {
      const c = cmp(a, b);
      if (c !== 0) return sign * c;
    }
    return y.severity - x.severity || collator.compare(x.name, y.name);
  });
}

/**
 * The order after a click on a column header: the same column flips, another starts worst
 * first.
 * @param {Sort} current
 * @param {Column} column
 * @returns {Sort}
 */
export function nextSort(current, column) {
  if (current.column === column) return { column, dir: current.dir === 'asc' ? 'desc' : 'asc' };
  return { column, dir: WORST_FIRST[column] };
}

/**
 * @typedef {object} OpsTotals
 * @property {number} expected participants expected (not operators)
 * @property {number} joined in the meeting (roster)
 * @property {number} connected media connected
 * @property {number} waiting
 * @property {number} left
 * @property {number | null} upKbps sum of what the sites send, null before any `stats`
 * @property {number | null} downKbps sum of what the SFU sends them
 * @property {number} relay through TURN
 * @property {number} loss rows over the loss limit
 * @property {number} rtt rows over the round-trip limit
 * @property {number} silent silent floor holders
 * @property {number} audioOnly forced to audio only
 */

/**
 * The meeting totals over the top of the table.
 * @param {readonly OpsRow[]} rows
 * @param {StatsMessage | null} stats
 * @returns {OpsTotals}
 */
export function totalsOf(rows, stats) {
  /** @param {(r: OpsRow) => boolean} f */
  const count = (f) => rows.filter(f).length;
  return {
    expected: stats?.totals.expected ?? rows.length,
    joined: count((r) => r.state === 'joined'),
    connected: stats ? stats.totals.joined : count((r) => r.stats !== null),
    waiting: count((r) => r.state === 'waiting'),
    left: count((r) => r.state === 'left'),
    upKbps: stats?.totals.up_kbps ?? null,
    downKbps: stats?.totals.down_kbps ?? null,
    relay: count((r) => isRelayed(r.stats)),
    loss: count((r) => r.alerts.includes('loss')),
    rtt: count((r) => r.alerts.includes('rtt')),
    silent: count((r) => r.alerts.includes('silent')),
    audioOnly: count((r) => r.audioOnlyForced),
  };
}

/**
 * @typedef {object} Equipment
 * @property {number} viewers WHEP players watching the program
 * @property {number[]} viewersSince since when each watches (Unix ms), oldest first
 * @property {string[]} feeds WHIP publications live (`chair-camera`, `presentation`)
 */

/**
 * The hall's equipment from the last `stats`: players watching, feeds publishing.
 * @param {StatsMessage | null} stats
 * @returns {Equipment}
 */
export function equipmentOf(stats) {
  return {
    viewers: stats?.totals.viewers ?? 0,
    viewersSince: stats?.totals.viewers_since_ms ?? [],
    feeds: stats?.totals.feeds ?? [],
  };
}

/**
 * A microphone level (linear, 0..1) as a meter width in percent, on a decibel scale from
 * −60 dBFS (empty) to 0 (full): speech at −30 dBFS shows half full.
 * @param {number | null} level
 */
export function levelPercent(level) {
  if (level === null || !(level > 0)) return 0;
  const db = 20 * Math.log10(Math.min(1, level));
  return Math.round(Math.max(0, Math.min(100, ((db + 60) / 60) * 100)));
}

/**
 * Number formatting for the table, in the page's language (`vi` groups with dots).
 * @param {string} locale `vi` or `en`
 */
export function formatters(locale) {
  const whole = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
  const one = new Intl.NumberFormat(locale, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const none = '—';
  return {
    /** @param {number | null | undefined} n */
    whole: (n) => (n == null ? none : whole.format(n)),
    /** @param {number | null | undefined} n */
    oneDecimal: (n) => (n == null ? none : one.format(n)),
    /** kbit/s as Mbit/s with one decimal. @param {number | null | undefined} n */
    mbps: (n) => (n == null ? none : one.format(n / 1000)),
  };
}
