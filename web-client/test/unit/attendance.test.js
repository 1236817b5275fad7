/** Roll call: the attendance API with the bearer token, the report's shape, the rows. */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  attendanceUrl, downloadName, fetchAttendance, fetchAttendanceFile, fetchAttendanceText, formatFigure, rollCallRows,
} from '../../js/attendance.js';

const REPORT = {
  meeting: { id: 'm-2f1c', title: 'Giao ban' },
  generated_at_ms: 1_795_404_800_000,
  sites: [
    { site_id: 'chair', name: 'Hội trường', role: 'chair', state: 'joined', joins: 1, reconnects: 0, present_seconds: 3600, first_joined_ms: 1, last_left_ms: null, avg_loss_pct: 0.1, avg_rtt_ms: 12, sessions: [{ joined_ms: 1, left_ms: null }] },
    { site_id: 's1', name: 'UBND xã Tả Van', role: 'site', state: 'left', joins: 3, reconnects: 2, present_seconds: 1250, first_joined_ms: 5, last_left_ms: 9, avg_loss_pct: 2.35, avg_rtt_ms: 180.4, sessions: [] },
    { site_id: 's9', name: 'UBND xã Mới', role: 'site', state: 'waiting', joins: 0, reconnects: 0, present_seconds: 0, first_joined_ms: null, last_left_ms: null, avg_loss_pct: null, avg_rtt_ms: null, sessions: [] },
  ],
};

/** @type {import('../../js/roster.js').RosterEntry[]} */
const ROSTER = [
  { id: 'chair', name: 'Hội trường', role: 'chair', state: 'joined' },
  { id: 's1', name: 'UBND xã Tả Van', role: 'site', state: 'joined' },
  { id: 's2', name: 'UBND xã Bản Hồ', role: 'site', state: 'waiting' },
  { id: 'op', name: 'Kỹ thuật', role: 'operator', state: 'joined' },
];

/**
 * A fake fetch answering one status and body, recording the calls.
 * @param {number} status
 * @param {string} body
 */
function fakeFetch(status, body) {
  /** @type {{url: string, headers: Record<string, string>}[]} */
  const calls = [];
  /** @type {import('../../js/attendance.js').FetchLike} */
  const fn = async (url, init) => {
    calls.push({ url, headers: init.headers });
    const bytes = new TextEncoder().encode(body);
    return {
      ok: status >= 200 && status < 300,
      status,
      text: async () => new TextDecoder().decode(bytes),
      arrayBuffer: async () => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    };
  };
  return { fn, calls };
}

test('urls and file names follow the meeting id', () => {
  assert.equal(attendanceUrl('m-2f1c', 'json'), '/api/v1/meetings/m-2f1c/attendance');
  assert.equal(attendanceUrl('m-2f1c', 'csv'), '/api/v1/meetings/m-2f1c/attendance.csv');
  assert.equal(attendanceUrl('a/b', 'json'), '/api/v1/meetings/a%2Fb/attendance');
  assert.equal(downloadName('m-2f1c', 'csv'), 'diem-danh-m-2f1c.csv');
  assert.equal(downloadName('m-2f1c', 'json'), 'diem-danh-m-2f1c.json');
});

test('the report is fetched with the page’s own token as bearer', async () => {
  const { fn, calls } = fakeFetch(200, JSON.stringify(REPORT));
  const got = await fetchAttendance(fn, 'm-2f1c', 'tok.en.sig');
  assert.ok(got.ok);
  assert.equal(calls[0].url, '/api/v1/meetings/m-2f1c/attendance');
  assert.equal(calls[0].headers.Authorization, 'Bearer tok.en.sig');
});

test('failures become a reason for a plain message', async () => {
  /** @param {number} status @param {string} [body] */
  const reason = async (status, body = '{}') => {
    const got = await fetchAttendance(fakeFetch(status, body).fn, 'm', 't');
    return got.ok ? 'ok' : got.failure;
  };
  assert.equal(await reason(401), 'unauthorized');
  assert.equal(await reason(403), 'unauthorized');
  assert.equal(await reason(404), 'not_found');
  assert.equal(await reason(500), 'server');
  assert.equal(await reason(200, 'not json'), 'bad_data');
  assert.equal(await reason(200, '{"meeting":{"id":"m"},"sites":[{"site_id":"s1","name":"x","joins":"3"}]}'), 'bad_data');
  const offline = await fetchAttendance(async () => { throw new TypeError('Failed to fetch'); }, 'm', 't');
  assert.deepEqual(offline, { ok: false, failure: 'network' });
});

test('the CSV is fetched as text with the same credential', async () => {
  const { fn, calls } = fakeFetch(200, 'site_id,name\ns1,UBND xã Tả Van\n');
  const got = await fetchAttendanceText(fn, 'm-2f1c', 'tok', 'csv');
  assert.deepEqual(got, { ok: true, text: 'site_id,name\ns1,UBND xã Tả Van\n' });
  assert.equal(calls[0].url, '/api/v1/meetings/m-2f1c/attendance.csv');
  assert.equal(calls[0].headers.Authorization, 'Bearer tok');
});

test('a saved file keeps the bytes, byte-order mark included (Excel needs it for Vietnamese)', async () => {
  const csv = '\uFEFFsite_id,name\ns1,UBND xã Tả Van\n';
  const { fn } = fakeFetch(200, csv);
  const got = await fetchAttendanceFile(fn, 'm-2f1c', 'tok', 'csv');
  assert.ok(got.ok);
  if (!got.ok) return;
  assert.deepEqual([...new Uint8Array(got.bytes).slice(0, 3)], [0xef, 0xbb, 0xbf]);
  const denied = await fetchAttendanceFile(fakeFetch(403, '').fn, 'm', 't', 'json');
  assert.deepEqual(denied, { ok: false, failure: 'unauthorized' });
});

test('rows list every expected site with live state and the report’s figures', () => {
  const rows = rollCallRows(ROSTER, REPORT);
  assert.deepEqual(rows.map((r) => r.id), ['chair', 's1', 's2', 's9'], 'operators out, report-only sites last');
  const s1 = rows[1];
  assert.equal(s1.state, 'joined', 'the live roster wins over the report');
  assert.deepEqual([s1.joins, s1.reconnects, s1.minutes, s1.lossPct, s1.rttMs], [3, 2, 21, 2.35, 180.4]);
  assert.deepEqual([rows[2].joins, rows[2].minutes], [null, null], 'no figures yet for s2');
  assert.deepEqual(rollCallRows(ROSTER, null).map((r) => r.joins), [null, null, null]);
});

test('figures read in the language’s style', () => {
  assert.equal(formatFigure(2.35, 'vi', 1), '2,4');
  assert.equal(formatFigure(2.35, 'en', 1), '2.4');
  assert.equal(formatFigure(180.4, 'vi'), '180');
  assert.equal(formatFigure(null, 'vi'), '—');
});
