//! The minutes ([`crate::minutes`]) as a printable A4 page in Vietnamese: plain HTML with
//! print CSS, no script, every value escaped.

use std::fmt::Write;

use crate::minutes::Minutes;

/// Escapes text for HTML content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "@page{size:A4;margin:20mm 15mm}\
body{font-family:'Times New Roman',serif;font-size:13pt;max-width:180mm;margin:0 auto;color:#000}\
h1{text-align:center;font-size:16pt;margin:0 0 4mm}h2{font-size:13.5pt;margin:6mm 0 2mm}\
p.center{text-align:center;margin:0}table{width:100%;border-collapse:collapse;font-size:11pt}\
th,td{border:1px solid #000;padding:1mm 2mm;text-align:left;vertical-align:top}\
tr{break-inside:avoid}.sign{display:flex;justify-content:space-between;margin-top:12mm}\
@media print{.noprint{display:none}}";

/// The page.
pub fn render(m: &Minutes) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\">\
         <title>Biên bản — {title}</title><style>{STYLE}</style></head><body>\
         <p class=\"center\"><b>CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM</b></p>\
         <p class=\"center\">Độc lập - Tự do - Hạnh phúc</p><br>\
         <h1>BIÊN BẢN CUỘC HỌP TRỰC TUYẾN</h1>\
         <p><b>Nội dung:</b> <span id=\"title\">{title}</span></p>\
         <p><b>Ngày:</b> {date} &nbsp; <b>Bắt đầu:</b> {opened} &nbsp; <b>Kết thúc:</b> {ended}</p>\
         <p><b>Múi giờ:</b> {tz}</p><p><b>Chủ trì:</b> <span id=\"chair\">{chair}</span></p>",
        title = esc(&m.title),
        date = esc(&m.date),
        opened = esc(m.opened_at.as_deref().unwrap_or("—")),
        ended = esc(m.ended_at.as_deref().unwrap_or("chưa kết thúc")),
        tz = esc(&m.time_zone),
        chair = esc(&m.chair),
    );
    h.push_str(
        "<h2>I. Thành phần tham dự</h2><table id=\"attendance\"><tr><th>STT</th>\
         <th>Điểm cầu</th><th>Tình trạng</th><th>Vào lúc</th><th>Rời lúc</th>\
         <th>Số phút</th><th>Chất lượng đường truyền</th></tr>",
    );
    for (i, a) in m.attendance.iter().enumerate() {
        let _ = write!(
            h,
            "<tr data-site=\"{id}\"><td>{n}</td><td>{name}</td><td>{status}</td><td>{from}</td>\
             <td>{to}</td><td>{min}</td><td>{q}</td></tr>",
            id = esc(&a.site_id),
            n = i + 1,
            name = esc(&a.name),
            status = esc(&a.status_vi),
            from = esc(a.first_joined.as_deref().unwrap_or("")),
            to = esc(a.last_left.as_deref().unwrap_or("")),
            min = a.minutes_present,
            q = esc(&a.link_quality_vi),
        );
    }
    h.push_str(
        "</table><h2>II. Diễn biến phát biểu</h2><table id=\"floor\"><tr><th>STT</th>\
         <th>Điểm cầu phát biểu</th><th>Từ</th><th>Đến</th><th>Thời lượng</th></tr>",
    );
    for (i, f) in m.floor.iter().enumerate() {
        let _ = write!(
            h,
            "<tr><td>{n}</td><td>{name}</td><td>{from}</td><td>{to}</td><td>{mm} phút {ss} giây</td></tr>",
            n = i + 1,
            name = esc(&f.name),
            from = esc(&f.from),
            to = esc(f.to.as_deref().unwrap_or("đang phát biểu")),
            mm = f.seconds / 60,
            ss = f.seconds % 60,
        );
    }
    h.push_str(
        "</table><h2>III. Quyết định điều hành</h2><table id=\"decisions\"><tr><th>Thời điểm</th>\
         <th>Người thực hiện</th><th>Thao tác</th><th>Đối tượng</th></tr>",
    );
    for d in &m.decisions {
        let role = role_vi(&d.actor.role);
        let who = match &d.actor.name {
            Some(name) => format!("{name} ({role})"),
            None => role.to_owned(),
        };
        // A site is named as the attendance names it; other targets (a role) as they are.
        let target = d.target.as_deref().unwrap_or("");
        let target = m
            .attendance
            .iter()
            .find(|a| a.site_id == target)
            .map_or(target, |a| a.name.as_str());
        let _ = write!(
            h,
            "<tr><td>{at}</td><td>{who}</td><td>{act}</td><td>{target}</td></tr>",
            at = esc(&d.at),
            who = esc(&who),
            act = esc(action_vi(&d.action)),
            target = esc(target),
        );
    }
    h.push_str(
        "</table><h2>IV. Trao đổi bằng văn bản</h2><table id=\"chat\"><tr><th>Thời điểm</th>\
         <th>Người gửi</th><th>Gửi tới</th><th>Nội dung</th></tr>",
    );
    for c in &m.chat {
        let _ = write!(
            h,
            "<tr><td>{at}</td><td>{from}</td><td>{to}</td><td>{text}</td></tr>",
            at = esc(&crate::vntime::stamp(c.at_ms)),
            from = esc(&c.from_name),
            to = esc(&c.to),
            text = esc(&c.text),
        );
    }
    h.push_str("</table><h2>V. Tệp ghi hình</h2><ul id=\"recordings\">");
    if m.recording_files.is_empty() {
        h.push_str("<li>Không ghi hình</li>");
    }
    for f in &m.recording_files {
        let _ = write!(h, "<li>{}</li>", esc(f));
    }
    h.push_str(
        "</ul><div class=\"sign\"><div><b>THƯ KÝ</b><br><i>(Ký, ghi rõ họ tên)</i></div>\
         <div><b>CHỦ TRÌ</b><br><i>(Ký, ghi rõ họ tên)</i></div></div></body></html>",
    );
    h
}

/// An audited action as a clerk reads it (the JSON minutes and the audit log keep the code;
/// an action without a label here is printed as its code).
fn action_vi(code: &str) -> &str {
    match code {
        "create_meeting" => "Tạo cuộc họp",
        "edit_meeting" => "Sửa cuộc họp",
        "delete_meeting" => "Xoá cuộc họp",
        "open_meeting" => "Khai mạc",
        "end_meeting" => "Kết thúc cuộc họp",
        "lock" => "Khoá cuộc họp",
        "unlock" => "Mở khoá cuộc họp",
        "grant_floor" => "Cho phát biểu",
        "revoke_floor" => "Dừng phát biểu",
        "lower_hand" => "Hạ tay",
        "mute" => "Tắt tiếng",
        "unmute" => "Cho bật tiếng",
        "stop_video" => "Tắt hình",
        "allow_video" => "Cho bật hình",
        "spotlight" => "Ghim hình",
        "spotlight_clear" => "Bỏ ghim hình",
        "listen_on" => "Nghe điểm cầu",
        "listen_off" => "Thôi nghe điểm cầu",
        "remove_site" => "Mời ra khỏi cuộc họp",
        "readmit_site" => "Cho vào lại",
        "cochair_grant" => "Giao đồng chủ trì",
        "cochair_revoke" => "Thôi đồng chủ trì",
        "link_revoke" => "Thu hồi đường dẫn",
        "notice" => "Gửi thông báo",
        "reconnect" => "Yêu cầu kết nối lại",
        "audio_only_on" => "Chỉ nhận âm thanh",
        "audio_only_off" => "Nhận lại hình",
        "recording_start" => "Bắt đầu ghi hình",
        "recording_stop" => "Dừng ghi hình",
        "media_token_issue" => "Cấp mã thiết bị hội trường",
        other => other,
    }
}

/// Who acted, in Vietnamese.
fn role_vi(role: &str) -> &str {
    match role {
        "chair" => "chủ trì",
        "co_chair" => "đồng chủ trì",
        "operator" => "kỹ thuật viên",
        "site" => "điểm cầu",
        "admin" => "quản trị hệ thống",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_and_the_page_is_a4_in_vietnamese() {
        let m = Minutes {
            meeting_id: "m1".into(),
            title: "<script>alert(1)</script>".into(),
            date: "07/12/2026".into(),
            opened_at: None,
            ended_at: None,
            time_zone: "Asia/Ho_Chi_Minh (UTC+07:00)".into(),
            chair: "Hội trường".into(),
            attendance: Vec::new(),
            floor: Vec::new(),
            decisions: Vec::new(),
            chat: Vec::new(),
            recording_files: Vec::new(),
        };
        let page = render(&m);
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;script&gt;"));
        assert!(page.contains("size:A4") && page.contains("BIÊN BẢN"));
        assert!(page.contains("Không ghi hình"));
    }

    #[test]
    fn decisions_are_printed_in_vietnamese_with_the_sites_name() {
        let entry: crate::audit::Entry = serde_json::from_value(serde_json::json!({
            "at_ms": 0, "at": "2026-12-07 09:00:00 +07:00",
            "actor": {"role": "chair", "site_id": "hall", "name": "Hội trường"},
            "action": "grant_floor", "target": "s1", "result": "ok"
        }))
        .unwrap();
        let mut unknown = entry.clone();
        unknown.action = "some_new_action".into();
        let attendee = crate::minutes::Attendee {
            site_id: "s1".into(),
            name: "UBND xã Tả Van".into(),
            role: "site".into(),
            present: true,
            late: false,
            left_early: false,
            status_vi: "Có mặt".into(),
            first_joined: None,
            last_left: None,
            minutes_present: 1,
            avg_loss_pct: None,
            avg_rtt_ms: None,
            link_quality_vi: "Tốt".into(),
        };
        let m = Minutes {
            meeting_id: "m1".into(),
            title: "Họp".into(),
            date: "07/12/2026".into(),
            opened_at: None,
            ended_at: None,
            time_zone: "Asia/Ho_Chi_Minh (UTC+07:00)".into(),
            chair: "Hội trường".into(),
            attendance: vec![attendee],
            floor: Vec::new(),
            decisions: vec![entry, unknown],
            chat: Vec::new(),
            recording_files: Vec::new(),
        };
        let page = render(&m);
        assert!(
            page.contains(
                "<td>Hội trường (chủ trì)</td><td>Cho phát biểu</td><td>UBND xã Tả Van</td>"
            ),
            "{page}"
        );
        assert!(
            page.contains("<td>some_new_action</td>"),
            "an unlabelled action stays readable"
        );
        assert!(!page.contains("grant_floor"));
    }
}
