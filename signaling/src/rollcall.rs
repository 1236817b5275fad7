//! Roll call (điểm danh): which expected sites joined, when they joined and left (each
//! reconnect counted), how long they were present, and a summary of their link quality.
//!
//! [`RollCall`] is pure record keeping fed by the meeting; [`Attendance`] is the exported
//! record (JSON through the API, CSV through [`to_csv`]); [`crate::store`] keeps the latest
//! record on disk, one file per meeting, so it survives the end of the meeting and restarts.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::protocol::{MeetingInfo, Presence, Role};

/// One stay of a site in the meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Stay {
    /// When its media connected, Unix milliseconds.
    pub joined_ms: u64,
    /// When it left; `None` while present.
    pub left_ms: Option<u64>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Record {
    stays: Vec<Stay>,
    loss_sum: f64,
    loss_samples: u64,
    rtt_sum: f64,
    rtt_samples: u64,
}

/// Live attendance of one meeting (kept in the data directory across restarts).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct RollCall {
    records: HashMap<String, Record>,
}

/// One site's line of the roll call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SiteAttendance {
    /// Site id.
    pub site_id: String,
    /// Display name.
    pub name: String,
    /// `chair`, `site` or `operator`.
    pub role: String,
    /// `waiting` (never joined), `joined` or `left`.
    pub state: String,
    /// Times its media connected.
    pub joins: u32,
    /// Joins after the first.
    pub reconnects: u32,
    /// Total time present, seconds.
    pub present_seconds: u64,
    /// First join, Unix milliseconds.
    pub first_joined_ms: Option<u64>,
    /// Last departure, Unix milliseconds.
    pub last_left_ms: Option<u64>,
    /// Mean packet loss of what the SFU received from it, percent.
    pub avg_loss_pct: Option<f64>,
    /// Mean round-trip time to it, milliseconds.
    pub avg_rtt_ms: Option<f64>,
    /// Every stay.
    pub sessions: Vec<Stay>,
}

/// The roll call of a meeting, as exported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attendance {
    /// The meeting.
    #[schema(value_type = Object)]
    pub meeting: MeetingInfo,
    /// When this record was made, Unix milliseconds.
    pub generated_at_ms: u64,
    /// Every expected site, in roster order.
    pub sites: Vec<SiteAttendance>,
}

/// An expected site as the roll call needs it.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// Site id.
    pub id: &'a str,
    /// Display name.
    pub name: &'a str,
    /// Role.
    pub role: Role,
    /// Presence now.
    pub presence: Presence,
}

impl RollCall {
    /// An empty roll call.
    pub fn new() -> Self {
        Self::default()
    }

    /// `site`'s media connected at `now_ms`.
    pub fn joined(&mut self, site: &str, now_ms: u64) {
        let r = self.records.entry(site.to_owned()).or_default();
        if r.stays.last().is_some_and(|s| s.left_ms.is_none()) {
            return;
        }
        r.stays.push(Stay {
            joined_ms: now_ms,
            left_ms: None,
        });
    }

    /// Whether `site` is in the meeting now (its last stay is open).
    pub fn is_present(&self, site: &str) -> bool {
        self.records
            .get(site)
            .and_then(|r| r.stays.last())
            .is_some_and(|s| s.left_ms.is_none())
    }

    /// Whether `site` ever joined.
    pub fn ever_joined(&self, site: &str) -> bool {
        self.records.get(site).is_some_and(|r| !r.stays.is_empty())
    }

    /// `site` left at `now_ms`.
    pub fn left(&mut self, site: &str, now_ms: u64) {
        if let Some(stay) = self.records.get_mut(site).and_then(|r| r.stays.last_mut()) {
            if stay.left_ms.is_none() {
                stay.left_ms = Some(now_ms.max(stay.joined_ms));
            }
        }
    }

    /// A link-quality sample for `site`: loss of what the SFU receives (percent) and RTT.
    pub fn quality(&mut self, site: &str, loss_pct: Option<f64>, rtt_ms: Option<f64>) {
        let Some(r) = self.records.get_mut(site) else {
            return;
        };
        if let Some(l) = loss_pct.filter(|l| l.is_finite()) {
            r.loss_sum += l;
            r.loss_samples += 1;
        }
        if let Some(t) = rtt_ms.filter(|t| t.is_finite()) {
            r.rtt_sum += t;
            r.rtt_samples += 1;
        }
    }

    /// The record as of `now_ms`.
    pub fn report(
        &self,
        meeting: MeetingInfo,
        expected: &[Expected<'_>],
        now_ms: u64,
    ) -> Attendance {
        let sites = expected
            .iter()
            .map(|e| {
                let empty = Record::default();
                let r = self.records.get(e.id).unwrap_or(&empty);
                let present_ms: u64 = r
                    .stays
                    .iter()
                    .map(|s| s.left_ms.unwrap_or(now_ms).saturating_sub(s.joined_ms))
                    .sum();
                let joins = r.stays.len() as u32;
                SiteAttendance {
                    site_id: e.id.to_owned(),
                    name: e.name.to_owned(),
                    role: e.role.as_str().to_owned(),
                    state: e.presence.as_str().to_owned(),
                    joins,
                    reconnects: joins.saturating_sub(1),
                    present_seconds: present_ms / 1000,
                    first_joined_ms: r.stays.first().map(|s| s.joined_ms),
                    last_left_ms: r.stays.iter().rev().find_map(|s| s.left_ms),
                    avg_loss_pct: (r.loss_samples > 0)
                        .then(|| round2(r.loss_sum / r.loss_samples as f64)),
                    avg_rtt_ms: (r.rtt_samples > 0)
                        .then(|| round2(r.rtt_sum / r.rtt_samples as f64)),
                    sessions: r.stays.clone(),
                }
            })
            .collect();
        Attendance {
            meeting,
            generated_at_ms: now_ms,
            sites,
        }
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn utc(ms: Option<u64>) -> String {
    ms.and_then(|ms| {
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
    })
    .and_then(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .ok()
    })
    .unwrap_or_default()
}

/// Spreadsheets run cells that start with these as formulas; a leading quote keeps a site
/// name like "=HYPERLINK(...)" inert.
fn inert(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

/// The roll call as CSV (UTF-8 with a byte-order mark so spreadsheet programs read the
/// Vietnamese names right), one line per expected site.
pub fn to_csv(a: &Attendance) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "site_id",
        "name",
        "role",
        "state",
        "joins",
        "reconnects",
        "minutes_present",
        "first_joined_utc",
        "last_left_utc",
        "avg_loss_pct",
        "avg_rtt_ms",
    ];
    w.write_record(header).expect("writing to memory");
    for s in &a.sites {
        let opt = |v: Option<f64>| v.map(|v| format!("{v:.2}")).unwrap_or_default();
        w.write_record([
            inert(&s.site_id),
            inert(&s.name),
            s.role.clone(),
            s.state.clone(),
            s.joins.to_string(),
            s.reconnects.to_string(),
            format!("{:.1}", s.present_seconds as f64 / 60.0),
            utc(s.first_joined_ms),
            utc(s.last_left_ms),
            opt(s.avg_loss_pct),
            opt(s.avg_rtt_ms),
        ])
        .expect("writing to memory");
    }
    let body = String::from_utf8(w.into_inner().expect("flushing to memory"))
        .expect("csv of strings is UTF-8");
    format!("\u{feff}{body}")
}

/// The roll call for Vietnamese offices: Vietnamese headers and words, times in Hà Nội's
/// local time (UTC+7, written with its offset), UTF-8 with a byte-order mark.
///
/// Why `;` and decimal commas: Excel opens a double-clicked `.csv` with the list separator
/// of the Windows region, and Vietnamese (vi-VN) uses `,` as its decimal mark, hence `;` as
/// its list separator; a `,`-separated file lands in one column there, and `1.5` reads as a
/// number with a thousands dot. The mark makes Excel read UTF-8 (without it the names come
/// out as mojibake); a `sep=;` first line is not used because Excel then ignores the mark.
/// A spreadsheet in an English locale should use the English CSV ([`to_csv`]).
pub fn to_csv_vi(a: &Attendance) -> String {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(Vec::new());
    let header = [
        "Mã điểm cầu",
        "Tên điểm cầu",
        "Vai trò",
        "Trạng thái",
        "Số lần vào",
        "Số lần vào lại",
        "Số phút có mặt",
        "Vào lần đầu (giờ Việt Nam)",
        "Rời lần cuối (giờ Việt Nam)",
        "Mất gói trung bình (%)",
        "Trễ khứ hồi trung bình (ms)",
    ];
    w.write_record(header).expect("writing to memory");
    let comma = |v: String| v.replace('.', ",");
    for s in &a.sites {
        let opt = |v: Option<f64>| v.map(|v| comma(format!("{v:.2}"))).unwrap_or_default();
        let local = |ms: Option<u64>| ms.map(crate::vntime::stamp).unwrap_or_default();
        w.write_record([
            inert(&s.site_id),
            inert(&s.name),
            role_vi(&s.role).to_owned(),
            state_vi(&s.state).to_owned(),
            s.joins.to_string(),
            s.reconnects.to_string(),
            comma(format!("{:.1}", s.present_seconds as f64 / 60.0)),
            local(s.first_joined_ms),
            local(s.last_left_ms),
            opt(s.avg_loss_pct),
            opt(s.avg_rtt_ms),
        ])
        .expect("writing to memory");
    }
    let body = String::from_utf8(w.into_inner().expect("flushing to memory"))
        .expect("csv of strings is UTF-8");
    format!("\u{feff}{body}")
}

/// A role's Vietnamese name.
pub fn role_vi(role: &str) -> &'static str {
    match role {
        "chair" => "Chủ trì",
        "operator" => "Kỹ thuật",
        _ => "Điểm cầu",
    }
}

/// A presence's Vietnamese name.
pub fn state_vi(state: &str) -> &'static str {
    match state {
        "joined" => "Đang tham dự",
        "left" => "Đã rời",
        _ => "Chưa vào",
    }
}

/// Where a meeting's roll call is kept.
pub fn file_for(data_dir: &Path, meeting_id: &str) -> PathBuf {
    data_dir
        .join("attendance")
        .join(format!("{meeting_id}.json"))
}

/// Reads a stored roll call.
pub fn load(path: &Path) -> Option<Attendance> {
    crate::durable::read(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> MeetingInfo {
        MeetingInfo {
            id: "m1".into(),
            title: "Giao ban".into(),
        }
    }

    fn expected(p1: Presence, p2: Presence) -> Vec<Expected<'static>> {
        vec![
            Expected {
                id: "chair",
                name: "Hội trường",
                role: Role::Chair,
                presence: Presence::Joined,
            },
            Expected {
                id: "s1",
                name: "UBND xã Tả Van",
                role: Role::Site,
                presence: p1,
            },
            Expected {
                id: "s2",
                name: "=cmd|'/c calc'!A1",
                role: Role::Site,
                presence: p2,
            },
        ]
    }

    #[test]
    fn join_leave_rejoin_counts_a_reconnect_and_sums_presence() {
        let mut rc = RollCall::new();
        rc.joined("s1", 1_000);
        rc.joined("s1", 5_000); // still present: not a second stay
        rc.left("s1", 61_000);
        rc.joined("s1", 100_000);
        rc.quality("s1", Some(2.0), Some(40.0));
        rc.quality("s1", Some(4.0), Some(60.0));
        rc.quality("s1", Some(f64::NAN), None);
        let a = rc.report(
            info(),
            &expected(Presence::Joined, Presence::Waiting),
            130_000,
        );
        let s1 = &a.sites[1];
        assert_eq!((s1.joins, s1.reconnects), (2, 1));
        assert_eq!(s1.present_seconds, 60 + 30);
        assert_eq!(s1.first_joined_ms, Some(1_000));
        assert_eq!(s1.last_left_ms, Some(61_000));
        assert_eq!(s1.avg_loss_pct, Some(3.0));
        assert_eq!(s1.avg_rtt_ms, Some(50.0));
        assert_eq!(
            s1.sessions,
            vec![
                Stay {
                    joined_ms: 1_000,
                    left_ms: Some(61_000)
                },
                Stay {
                    joined_ms: 100_000,
                    left_ms: None
                }
            ]
        );
        let s2 = &a.sites[2];
        assert_eq!(
            (s2.state.as_str(), s2.joins, s2.present_seconds),
            ("waiting", 0, 0)
        );
        assert_eq!(s2.avg_loss_pct, None);
    }

    #[test]
    fn csv_has_a_line_per_site_and_neutralises_formulas() {
        let mut rc = RollCall::new();
        rc.joined("s1", 0);
        rc.left("s1", 90_000);
        let csv = to_csv(&rc.report(
            info(),
            &expected(Presence::Left, Presence::Waiting),
            100_000,
        ));
        assert!(csv.starts_with('\u{feff}'));
        let mut reader = csv::Reader::from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 3);
        assert_eq!(&rows[1][1], "UBND xã Tả Van");
        assert_eq!(&rows[1][3], "left");
        assert_eq!(&rows[1][6], "1.5");
        assert_eq!(&rows[1][7], "1970-01-01T00:00:00Z");
        assert_eq!(&rows[1][8], "1970-01-01T00:01:30Z");
        assert!(
            rows[2][1].starts_with("'="),
            "formula made inert: {}",
            &rows[2][1]
        );
    }

    #[test]
    fn vietnamese_csv_has_vietnamese_headers_local_times_and_decimal_commas() {
        let mut rc = RollCall::new();
        // 2026-12-07 01:30:00 UTC is 08:30 in Hà Nội.
        let t0 = 1_796_607_000_000;
        rc.joined("s1", t0);
        rc.left("s1", t0 + 90_000);
        rc.quality("s1", Some(1.25), Some(40.0));
        let csv = to_csv_vi(&rc.report(
            info(),
            &expected(Presence::Left, Presence::Waiting),
            t0 + 100_000,
        ));
        assert!(csv.starts_with('\u{feff}'), "UTF-8 with a byte-order mark");
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(b';')
            .from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
        let header = reader.headers().unwrap().clone();
        assert_eq!(&header[1], "Tên điểm cầu");
        assert_eq!(&header[7], "Vào lần đầu (giờ Việt Nam)");
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 3);
        assert_eq!(&rows[1][1], "UBND xã Tả Van");
        assert_eq!((&rows[1][2], &rows[1][3]), ("Điểm cầu", "Đã rời"));
        assert_eq!(&rows[1][6], "1,5");
        assert_eq!(&rows[1][7], "2026-12-07 08:30:00 +07:00");
        assert_eq!(&rows[1][8], "2026-12-07 08:31:30 +07:00");
        assert_eq!(&rows[1][9], "1,25");
        assert_eq!(&rows[2][3], "Chưa vào");
        assert!(rows[2][1].starts_with("'="), "formula made inert");
    }

    #[tokio::test]
    async fn writer_keeps_the_newest_record_on_disk() {
        let dir = std::env::temp_dir().join(format!("diemcau-rc-{}", std::process::id()));
        let path = file_for(&dir, "m1");
        let file = crate::durable::DurableFile::<Attendance>::open(path.clone(), "roll call");
        let mut rc = RollCall::new();
        rc.joined("s1", 0);
        file.queue(rc.report(info(), &expected(Presence::Joined, Presence::Waiting), 1));
        rc.left("s1", 5_000);
        let last = rc.report(info(), &expected(Presence::Left, Presence::Waiting), 6_000);
        file.queue(last.clone());
        for _ in 0..100 {
            if load(&path).as_ref() == Some(&last) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(load(&path), Some(last));
        let _ = std::fs::remove_dir_all(dir);
    }
}
