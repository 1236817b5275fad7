/**
 * Roll call ("điểm danh"): the attendance report of `GET /api/v1/meetings/{id}/attendance`
 * (JSON) and `…/attendance.csv`, fetched with the page's own invite token as a bearer
 * credential (chair and operator tokens are accepted), checked, and joined with the live
 * roster into the rows the panel shows. No DOM: `fetch` is passed in, so this is tested in
 * node; `views/rollcall.js` draws the rows and saves the files.
 */

/** @typedef {import('./roster.js').RosterEntry} RosterEntry */
/** @typedef {import('./protocol.js').SiteStateName} SiteStateName */

/**
 * @typedef {object} AttendanceSite
 * @property {string} site_id
 * @property {string} name
 * @property {string} role
 * @property {string} state
 * @property {number} joins
 * @property {number} reconnects
 * @property {number} present_seconds
 * @property {number | null} first_joined_ms
 * @property {number | null} last_left_ms
 * @property {number | null} avg_loss_pct
 * @property {number | null} avg_rtt_ms
 * @property {{joined_ms: number, left_ms: number | null}[]} sessions
 */

/**
 * @typedef {object} AttendanceReport
 * @property {{id: string, title: string}} meeting
 * @property {number} generated_at_ms
 * @property {AttendanceSite[]} sites
 */

/**
 * Why a fetch gave nothing, for a plain message: the link is not accepted (401/403), the
 * server has no such report (404), the network failed, the server failed (other status), or
 * the answer was not the expected shape.
 * @typedef {'unauthorized' | 'not_found' | 'network' | 'server' | 'bad_data'} AttendanceFailure
 */

/** @typedef {'json' | 'csv'} AttendanceFormat */

/**
 * The minimal `fetch` this module needs (the browser's, or a fake in tests).
 * @typedef {(url: string, init: {headers: Record<string, string>}) => Promise<{ok: boolean,
 *   status: number, text: () => Promise<string>, arrayBuffer: () => Promise<ArrayBuffer>}>} FetchLike
 */

/**
 * @param {string} meetingId
 * @param {AttendanceFormat} format
 * @param {'vi' | 'en'} [lang] the CSV's language: `vi` asks for Vietnamese headers, local
 *   times and `;` separators (what a Vietnamese-locale Excel opens); English otherwise
 */
export function attendanceUrl(meetingId, format, lang) {
  const base = `/api/v1/meetings/${encodeURIComponent(meetingId)}/attendance`;
  if (format !== 'csv') return base;
  return lang === 'vi' ? `${base}.csv?lang=vi` : `${base}.csv`;
}

/**
 * The minutes (biên bản) page of a meeting, printable A4 HTML in Vietnamese.
 * @param {string} meetingId
 */
export function minutesUrl(meetingId) {
  return `/api/v1/meetings/${encodeURIComponent(meetingId)}/minutes.html`;
}

/**
 * The saved file's name, e.g. `diem-danh-m-2f1c.csv`.
 * @param {string} meetingId
 * @param {AttendanceFormat} format
 */
export function downloadName(meetingId, format) {
  const safe = meetingId.replace(/[^\w.-]+/g, '_');
  return `diem-danh-${safe}.${format}`;
}

/**
 * Fetches one form of the report, as the response and its failure reason.
 * @param {FetchLike} fetchFn
 * @param {string} meetingId
 * @param {string} token the page's invite token
 * @param {AttendanceFormat} format
 * @param {'vi' | 'en'} [lang]
 * @returns {Promise<{ok: true, res: Awaited<ReturnType<FetchLike>>} | {ok: false, failure: AttendanceFailure}>}
 */
async function request(fetchFn, meetingId, token, format, lang) {
  let res;
  try {
    res = await fetchFn(attendanceUrl(meetingId, format, lang), {
      headers: { Authorization: `Bearer ${token}`, Accept: format === 'csv' ? 'text/csv' : 'application/json' },
    });
  } catch {
    return { ok: false, failure: 'network' };
  }
  if (res.status === 401 || res.status === 403) return { ok: false, failure: 'unauthorized' };
  if (res.status === 404) return { ok: false, failure: 'not_found' };
  if (!res.ok) return { ok: false, failure: 'server' };
  return { ok: true, res };
}

/**
 * Fetches one form of the report as text.
 * @param {FetchLike} fetchFn
 * @param {string} meetingId
 * @param {string} token the page's invite token
 * @param {AttendanceFormat} format
 * @returns {Promise<{ok: true, text: string} | {ok: false, failure: AttendanceFailure}>}
 */
export async function fetchAttendanceText(fetchFn, meetingId, token, format) {
  const got = await request(fetchFn, meetingId, token, format);
  if (!got.ok) return got;
  try {
    return { ok: true, text: await got.res.text() };
  } catch {
    return { ok: false, failure: 'network' };
  }
}

/**
 * Fetches one form of the report byte for byte, for saving: the server's CSV starts with a
 * byte-order mark so that Excel reads Vietnamese letters right, and decoding it as text
 * would drop that mark.
 * @param {FetchLike} fetchFn
 * @param {string} meetingId
 * @param {string} token
 * @param {AttendanceFormat} format
 * @param {'vi' | 'en'} [lang] the CSV's language
 * @returns {Promise<{ok: true, bytes: ArrayBuffer} | {ok: false, failure: AttendanceFailure}>}
 */
export async function fetchAttendanceFile(fetchFn, meetingId, token, format, lang) {
  const got = await request(fetchFn, meetingId, token, format, lang);
  if (!got.ok) return got;
  try {
    return { ok: true, bytes: await got.res.arrayBuffer() };
  } catch {
    return { ok: false, failure: 'network' };
  }
}

/**
 * Fetches and checks the JSON report.
 * @param {FetchLike} fetchFn
 * @param {string} meetingId
 * @param {string} token
 * @returns {Promise<{ok: true, report: AttendanceReport} | {ok: false, failure: AttendanceFailure}>}
 */
export async function fetchAttendance(fetchFn, meetingId, token) {
  const got = await fetchAttendanceText(fetchFn, meetingId, token, 'json');
  if (!got.ok) return got;
  try {
    return { ok: true, report: parseAttendance(JSON.parse(got.text)) };
  } catch {
    return { ok: false, failure: 'bad_data' };
  }
}

/** @param {unknown} v */
const isObj = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
/** @param {unknown} v */
const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
/** @param {unknown} v */
const isOptNum = (v) => v === null || v === undefined || isNum(v);

/**
 * Checks the report's shape; throws on the first field that is wrong.
 * @param {unknown} value
 * @returns {AttendanceReport}
 */
export function parseAttendance(value) {
  const fail = (/** @type {string} */ what) => {
    throw new TypeError(`attendance report: ${what}`);
  };
  if (!isObj(value)) return fail('not an object');
  const v = /** @type {Record<string, any>} */ (value);
  if (!isObj(v.meeting) || typeof v.meeting.id !== 'string') fail('meeting.id');
  if (!Array.isArray(v.sites)) fail('sites');
  for (const [i, s] of v.sites.entries()) {
    if (!isObj(s) || typeof s.site_id !== 'string' || typeof s.name !== 'string') fail(`sites[${i}]`);
    for (const f of ['joins', 'reconnects', 'present_seconds']) if (!isNum(s[f])) fail(`sites[${i}].${f}`);
    for (const f of ['first_joined_ms', 'last_left_ms', 'avg_loss_pct', 'avg_rtt_ms']) if (!isOptNum(s[f])) fail(`sites[${i}].${f}`);
  }
  return /** @type {AttendanceReport} */ (v);
}

/**
 * One line of the roll call.
 * @typedef {object} RollCallRow
 * @property {string} id
 * @property {string} name
 * @property {string} role
 * @property {SiteStateName} state live, from the roster when the site is in it
 * @property {number | null} joins null until a report arrived
 * @property {number | null} reconnects
 * @property {number | null} minutes minutes present, rounded
 * @property {number | null} lossPct
 * @property {number | null} rttMs
 */

/**
 * The roll call: every expected site of the roster (operators left out) in roster order,
 * with the report's figures; sites only the report knows come last.
 * @param {readonly RosterEntry[]} roster
 * @param {AttendanceReport | null} report
 * @returns {RollCallRow[]}
 */
export function rollCallRows(roster, report) {
  const figures = new Map((report?.sites ?? []).map((s) => [s.site_id, s]));
  /**
   * @param {string} id
   * @param {string} name
   * @param {string} role
   * @param {SiteStateName} state
   * @returns {RollCallRow}
   */
  const row = (id, name, role, state) => {
    const f = figures.get(id);
    return {
      id, name, role, state,
      joins: f?.joins ?? null,
      reconnects: f?.reconnects ?? null,
      minutes: f ? Math.round(f.present_seconds / 60) : null,
      lossPct: f?.avg_loss_pct ?? null,
      rttMs: f?.avg_rtt_ms ?? null,
    };
  };
  const listed = roster.filter((s) => s.role !== 'operator');
  const known = new Set(listed.map((s) => s.id));
  const extra = (report?.sites ?? []).filter((s) => !known.has(s.site_id) && s.role !== 'operator');
  /** @param {string} s @returns {SiteStateName} */
  const stateOf = (s) => (s === 'joined' || s === 'left' ? s : 'waiting');
  return [
    ...listed.map((s) => row(s.id, s.name, s.role, s.state)),
    ...extra.map((s) => row(s.site_id, s.name, s.role, stateOf(s.state))),
  ];
}

/**
 * A figure for the table: `—` when unknown, else the number in the language's style
 * (Vietnamese writes a decimal comma).
 * @param {number | null} n
 * @param {'vi' | 'en'} lang
 * @param {number} [digits] decimals kept at most
 */
export function formatFigure(n, lang, digits = 0) {
  if (n === null || !Number.isFinite(n)) return '—';
  return new Intl.NumberFormat(lang === 'vi' ? 'vi-VN' : 'en-GB', { maximumFractionDigits: digits }).format(n);
}
