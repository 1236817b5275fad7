/**
 * The meeting the look script shows: a provincial hall and 24 communes of Lào Cai, in
 * mixed states, and the attendance report the stand-in HTTP API answers for it.
 */

const COMMUNES = [
  'Tả Van', 'Bản Hồ', 'Sa Pả', 'Tả Phìn', 'Mường Hoa', 'Hoàng Liên', 'Ngũ Chỉ Sơn', 'Thanh Bình',
  'Trung Chải', 'Mường Bo', 'Liên Minh', 'Bản Khoang', 'Tả Giàng Phình', 'Lao Chải', 'San Sả Hồ', 'Bát Xát',
  'Y Tý', 'A Mú Sung', 'Trịnh Tường', 'Bản Vược', 'Cốc San', 'Mường Hum', 'Dền Sáng', 'Nậm Pung',
];
const STATES = ['joined', 'joined', 'joined', 'joined', 'left', 'joined', 'waiting', 'joined'];

/** @type {import('./fake-server.js').FakeMeeting} */
export const MEETING = {
  meeting: { id: 'm-2f1c', title: 'Hội nghị trực tuyến giao ban tháng 11 năm 2025' },
  chair: { id: 'chair', name: 'Hội trường UBND tỉnh Lào Cai', role: 'chair', state: 'joined' },
  sites: COMMUNES.map((c, i) => ({ id: `s${i + 1}`, name: `UBND xã ${c}`, role: 'site', state: STATES[i % STATES.length] })),
};

/**
 * The JSON attendance report, with figures that vary by site.
 * @param {number} now
 */
export function attendanceReport(now) {
  const start = now - 75 * 60_000;
  const all = [MEETING.chair, ...MEETING.sites];
  return {
    meeting: MEETING.meeting,
    generated_at_ms: now,
    sites: all.map((s, i) => {
      const never = s.state === 'waiting';
      const joins = never ? 0 : 1 + (i % 3);
      return {
        site_id: s.id,
        name: s.name,
        role: s.role,
        state: s.state,
        joins,
        reconnects: Math.max(0, joins - 1),
        present_seconds: never ? 0 : 4500 - i * 97,
        first_joined_ms: never ? null : start + i * 20_000,
        last_left_ms: s.state === 'left' ? now - 600_000 : null,
        avg_loss_pct: never ? null : Math.round(((i * 37) % 60) / 10 * 10) / 10,
        avg_rtt_ms: never ? null : 35 + ((i * 53) % 260),
        sessions: never ? [] : [{ joined_ms: start + i * 20_000, left_ms: s.state === 'left' ? now - 600_000 : null }],
      };
    }),
  };
}

/** @param {ReturnType<typeof attendanceReport>} report */
export function attendanceCsv(report) {
  const head = 'site_id,name,role,state,joins,reconnects,present_seconds,avg_loss_pct,avg_rtt_ms';
  const rows = report.sites.map((s) => [s.site_id, `"${s.name}"`, s.role, s.state, s.joins, s.reconnects, s.present_seconds, s.avg_loss_pct ?? '', s.avg_rtt_ms ?? ''].join(','));
  // A byte-order mark first, as the real server writes it, so Excel reads the letters right.
  return `\uFEFF${[head, ...rows].join('\n')}\n`;
}
