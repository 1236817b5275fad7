//! The minutes (biên bản) of a meeting: title, date and local time (Asia/Ho_Chi_Minh,
//! UTC+7), chair, attendance from the roll call (present, absent, late, left early, link
//! quality), the floor timeline ([`crate::meeting::floorlog`]), the chair's decisions from
//! the audit log ([`crate::audit`]), the chat and the recording's files. [`build`] is pure;
//! [`crate::minutes_html`] prints it as an A4 page in Vietnamese.

use std::path::Path;

use serde::Serialize;

use crate::audit::Entry;
use crate::meeting::chat::Line;
use crate::meeting::floorlog::Span;
use crate::rollcall::Attendance;
use crate::vntime;

/// A site whose first join came this long after the meeting opened is late; one that left
/// this long before the end (and did not come back) left early.
pub const GRACE_MS: u64 = 5 * 60 * 1000;

/// One site's line of the attendance.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Attendee {
    /// Site id.
    pub site_id: String,
    /// Name.
    pub name: String,
    /// `chair`, `site` or `operator`.
    pub role: String,
    /// It joined at some time.
    pub present: bool,
    /// Its first join came more than [`GRACE_MS`] after the opening.
    pub late: bool,
    /// It left more than [`GRACE_MS`] before the end and did not come back.
    pub left_early: bool,
    /// The above in Vietnamese: `Có mặt`, `Vắng`, `Đến muộn`, `Về sớm` (joined by `, `).
    pub status_vi: String,
    /// First join, local time.
    pub first_joined: Option<String>,
    /// Last departure, local time.
    pub last_left: Option<String>,
    /// Minutes present.
    pub minutes_present: u64,
    /// Mean packet loss from it, percent.
    pub avg_loss_pct: Option<f64>,
    /// Mean round-trip time, milliseconds.
    pub avg_rtt_ms: Option<f64>,
    /// `Tốt`, `Trung bình`, `Kém` or `Không có số liệu`.
    pub link_quality_vi: String,
}

/// Who held the floor, when, how long.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Speaking {
    /// Site id.
    pub site_id: String,
    /// Name.
    pub name: String,
    /// From, local time.
    pub from: String,
    /// Until, local time (none: holds it still).
    pub to: Option<String>,
    /// How long, seconds (until now if it holds it still).
    pub seconds: u64,
}

/// The minutes.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Minutes {
    /// Meeting id.
    pub meeting_id: String,
    /// Title.
    pub title: String,
    /// Date of the opening, `dd/mm/yyyy`, Hà Nội time.
    pub date: String,
    /// The opening, local time.
    pub opened_at: Option<String>,
    /// The end, local time (none while it runs).
    pub ended_at: Option<String>,
    /// `Asia/Ho_Chi_Minh (UTC+07:00)`.
    pub time_zone: String,
    /// The chairing site's name.
    pub chair: String,
    /// Every expected site but the operators, in roster order.
    pub attendance: Vec<Attendee>,
    /// The floor, oldest first.
    pub floor: Vec<Speaking>,
    /// The chair's, co-chairs', operators' and admin's accepted actions (not the reads).
    #[schema(value_type = Vec<Object>)]
    pub decisions: Vec<Entry>,
    /// The chat.
    #[schema(value_type = Vec<Object>)]
    pub chat: Vec<Line>,
    /// The recording's files (names in the meeting's recording folder).
    pub recording_files: Vec<String>,
}

/// What the minutes are made of.
pub struct Sources<'a> {
    /// The roll call now.
    pub attendance: &'a Attendance,
    /// The floor log.
    pub floor: &'a [Span],
    /// The audit log.
    pub audit: &'a [Entry],
    /// The chat.
    pub chat: Vec<Line>,
    /// The recording's files.
    pub recordings: Vec<String>,
    /// When it ended, if it did.
    pub ended_ms: Option<u64>,
    /// Now, Unix milliseconds.
    pub now_ms: u64,
}

/// The minutes from their sources. The opening is the chair's accepted `open_meeting` in
/// the audit log, or else the chair's first join, or else the first join of anyone.
pub fn build(src: Sources<'_>) -> Minutes {
    let a = src.attendance;
    let chair = a.sites.iter().find(|s| s.role == "chair");
    let opened_ms = src
        .audit
        .iter()
        .find(|e| e.action == "open_meeting" && e.result == "ok")
        .map(|e| e.at_ms)
        .or_else(|| chair.and_then(|c| c.first_joined_ms))
        .or_else(|| a.sites.iter().filter_map(|s| s.first_joined_ms).min());
    let end_ms = src.ended_ms.unwrap_or(src.now_ms);
    let attendance = a
        .sites
        .iter()
        .filter(|s| s.role != "operator")
        .map(|s| {
            let present = s.first_joined_ms.is_some();
            let late = match (s.first_joined_ms, opened_ms) {
                (Some(first), Some(open)) => first > open + GRACE_MS,
                _ => false,
            };
            let gone = s.state != "joined";
            let left_early =
                gone && s.last_left_ms.is_some_and(|l| l + GRACE_MS < end_ms) && present;
            let mut status: Vec<&str> = vec![if present { "Có mặt" } else { "Vắng" }];
            if late {
                status.push("Đến muộn");
            }
            if left_early {
                status.push("Về sớm");
            }
            Attendee {
                site_id: s.site_id.clone(),
                name: s.name.clone(),
                role: s.role.clone(),
                present,
                late,
                left_early,
                status_vi: status.join(", "),
                first_joined: s.first_joined_ms.map(vntime::stamp),
                last_left: s.last_left_ms.filter(|_| gone).map(vntime::stamp),
                minutes_present: s.present_seconds / 60,
                avg_loss_pct: s.avg_loss_pct,
                avg_rtt_ms: s.avg_rtt_ms,
                link_quality_vi: quality(s.avg_loss_pct, s.avg_rtt_ms).into(),
            }
        })
        .collect();
    let name_of = |id: &str| {
        a.sites
            .iter()
            .find(|s| s.site_id == id)
            .map_or_else(|| id.to_owned(), |s| s.name.clone())
    };
    let floor = src
        .floor
        .iter()
        .map(|span| Speaking {
            site_id: span.site_id.clone(),
            name: name_of(&span.site_id),
            from: vntime::stamp(span.from_ms),
            to: span.to_ms.map(vntime::stamp),
            seconds: span
                .to_ms
                .unwrap_or(src.now_ms)
                .saturating_sub(span.from_ms)
                / 1000,
        })
        .collect();
    let decisions = src
        .audit
        .iter()
        .filter(|e| e.result == "ok" && !e.action.starts_with("download_"))
        .cloned()
        .collect();
    Minutes {
        meeting_id: a.meeting.id.clone(),
        title: a.meeting.title.clone(),
        date: opened_ms.map(vntime::date).unwrap_or_default(),
        opened_at: opened_ms.map(vntime::stamp),
        ended_at: src.ended_ms.map(vntime::stamp),
        time_zone: "Asia/Ho_Chi_Minh (UTC+07:00)".into(),
        chair: chair.map(|c| c.name.clone()).unwrap_or_default(),
        attendance,
        floor,
        decisions,
        chat: src.chat,
        recording_files: src.recordings,
    }
}

/// A link's quality in words, from the roll call's means.
fn quality(loss: Option<f64>, rtt: Option<f64>) -> &'static str {
    match (loss, rtt) {
        (None, None) => "Không có số liệu",
        (l, r) => {
            let (l, r) = (l.unwrap_or(0.0), r.unwrap_or(0.0));
            if l < 2.0 && r < 150.0 {
                "Tốt"
            } else if l < 5.0 && r < 300.0 {
                "Trung bình"
            } else {
                "Kém"
            }
        }
    }
}

/// Where the recording of `meeting_id` is kept (the recorder writes there).
pub fn recording_dir(data_dir: &Path, meeting_id: &str) -> std::path::PathBuf {
    data_dir.join("recordings").join(meeting_id)
}

/// The recording's files: the names of the `.webm` and `.mkv` files in `dir`, sorted (none
/// while nothing was recorded).
pub fn recording_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".webm") || n.ends_with(".mkv"))
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{MeetingInfo, Presence, Role};
    use crate::rollcall::{Expected, RollCall};

    const OPEN: u64 = 1_796_607_000_000; // 08:30 in Hà Nội, 07/12/2026

    #[test]
    fn late_left_early_absent_and_the_floor_are_told_apart() {
        let mut rc = RollCall::new();
        rc.joined("chair", OPEN - 60_000);
        rc.joined("s1", OPEN + 10 * 60_000); // late
        rc.joined("s2", OPEN);
        rc.left("s2", OPEN + 20 * 60_000); // left early
        rc.quality("s2", Some(8.0), Some(90.0));
        let expected = [
            ("chair", "Hội trường", Role::Chair, Presence::Joined),
            ("s1", "Xã A", Role::Site, Presence::Joined),
            ("s2", "Xã B", Role::Site, Presence::Left),
            ("s3", "Xã C", Role::Site, Presence::Waiting),
        ]
        .map(|(id, name, role, presence)| Expected {
            id,
            name,
            role,
            presence,
        });
        let info = MeetingInfo {
            id: "m1".into(),
            title: "Giao ban".into(),
        };
        let end = OPEN + 60 * 60_000;
        let attendance = rc.report(info, &expected, end);
        let floor = [Span {
            site_id: "s1".into(),
            from_ms: OPEN + 15 * 60_000,
            to_ms: Some(OPEN + 17 * 60_000 + 30_000),
        }];
        let m = build(Sources {
            attendance: &attendance,
            floor: &floor,
            audit: &[],
            chat: Vec::new(),
            recordings: Vec::new(),
            ended_ms: Some(end),
            now_ms: end,
        });
        assert_eq!(m.date, "07/12/2026");
        assert_eq!(m.opened_at.as_deref(), Some("2026-12-07 08:29:00 +07:00"));
        assert_eq!(m.chair, "Hội trường");
        let status: Vec<&str> = m.attendance.iter().map(|a| a.status_vi.as_str()).collect();
        assert_eq!(
            status,
            ["Có mặt", "Có mặt, Đến muộn", "Có mặt, Về sớm", "Vắng"]
        );
        assert_eq!(m.attendance[2].link_quality_vi, "Kém");
        assert_eq!(m.floor[0].name, "Xã A");
        assert_eq!(m.floor[0].from, "2026-12-07 08:45:00 +07:00");
        assert_eq!(m.floor[0].seconds, 150);
    }

    #[test]
    fn recording_files_lists_only_webm_and_matroska_sorted() {
        let dir = std::env::temp_dir().join(format!("diemcau-rec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["b.mkv", "a.webm", "notes.txt"] {
            std::fs::write(dir.join(name), b"x").unwrap();
        }
        assert_eq!(recording_files(&dir), ["a.webm", "b.mkv"]);
        assert!(recording_files(&dir.join("none")).is_empty());
        let _ = std::fs::remove_dir_all(dir);
    }
}
