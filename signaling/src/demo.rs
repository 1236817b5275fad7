//! `diemcau --demo`: a meeting of a province hall, an operator and five communes, created at
//! start on a node that runs with generated secrets, its links printed for a person (or as
//! one JSON object for scripts).

use std::io::Write;

use crate::api::{CreateMeeting, SiteInput};
use crate::AppState;

/// How the demo's links are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Demo {
    /// Lines for a person, with what to open.
    Text,
    /// One JSON object on one line (`--json`).
    Json,
}

/// Creates the demo meeting on `state` (served at `base`) and prints its links.
pub fn print(state: &AppState, demo: Demo, base: &str) -> anyhow::Result<()> {
    let communes = [
        "UBND xã Tả Van",
        "UBND xã Bản Hồ",
        "UBND phường Sa Pa",
        "UBND xã Mường Hoa",
        "UBND xã Ngũ Chỉ Sơn",
    ];
    let created = crate::api::create(
        state,
        CreateMeeting {
            title: "Hội nghị trực tuyến (demo)".into(),
            chair_name: Some("Hội trường UBND tỉnh".into()),
            sites: communes
                .iter()
                .map(|n| SiteInput { name: (*n).into() })
                .collect(),
            valid_hours: Some(24),
            floor_limit: None,
            grid_page_size: None,
        },
    )
    .map_err(|e| anyhow::anyhow!("demo meeting: {e:?}"))?;
    let media = match state.sfu.tcp_addr() {
        Some(tcp) => format!("udp {}, tcp {tcp}", state.sfu.local_addr()),
        None => format!("udp {}", state.sfu.local_addr()),
    };
    let mut out = std::io::stdout().lock();
    match demo {
        Demo::Json => {
            let json = serde_json::json!({
                "http": base,
                "udp": state.sfu.local_addr().to_string(),
                "ice_tcp": state.sfu.tcp_addr().map(|a| a.to_string()),
                "admin_key": state.settings.admin_key,
                "meeting": created,
            });
            writeln!(out, "{json}")?;
        }
        Demo::Text => {
            writeln!(
                out,
                "diemcau demo meeting \"{}\" ({})",
                created.title, created.id
            )?;
            writeln!(out, "  web + API:  {base}   media: {media}")?;
            writeln!(out, "  admin key:  {}", state.settings.admin_key)?;
            writeln!(out)?;
            writeln!(
                out,
                "  chair    {}: {}",
                created.chair.name, created.chair.link
            )?;
            writeln!(
                out,
                "  operator {}: {}",
                created.operator.name, created.operator.link
            )?;
            for s in &created.sites {
                writeln!(out, "  site     {}: {}", s.name, s.link)?;
            }
            writeln!(out)?;
            writeln!(
                out,
                "Open the chair link and a few site links in Chromium. Ctrl-C stops."
            )?;
        }
    }
    out.flush()?;
    Ok(())
}
