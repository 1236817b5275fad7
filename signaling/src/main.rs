//! The `diemcau` binary: signaling + SFU in one process.
//!
//! `diemcau --demo` starts on 127.0.0.1 with generated secrets, creates a demo meeting and
//! prints its links (`--json` for scripts).

use std::net::{IpAddr, SocketAddr};

use anyhow::Context;
use clap::Parser;
use rand::distr::{Alphanumeric, SampleString};
use signaling::api::{CreateMeeting, SiteInput};
use signaling::Settings;
use tracing_subscriber::EnvFilter;

/// diemcau: video-conferencing relay for online government meetings.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// HTTP listen address (web client, WebSocket, API, metrics).
    #[arg(long, env = "DIEMCAU_HTTP", default_value = "127.0.0.1:8080")]
    http: SocketAddr,
    /// The single UDP port every site's media uses.
    #[arg(long, env = "DIEMCAU_UDP", default_value = "127.0.0.1:40000")]
    udp: SocketAddr,
    /// IP announced to browsers for the UDP port, when it differs from the bound one.
    #[arg(long, env = "DIEMCAU_ANNOUNCE_IP")]
    announce_ip: Option<IpAddr>,
    /// Base URL sites open (used in invite links). Default: http://<http address>.
    #[arg(long, env = "DIEMCAU_PUBLIC_URL")]
    public_url: Option<String>,
    /// Admin API key. Generated and printed when not given.
    #[arg(long, env = "DIEMCAU_ADMIN_KEY", hide_env_values = true)]
    admin_key: Option<String>,
    /// Secret signing invite tokens (32+ characters). Generated when not given, which makes
    /// links stop working at restart.
    #[arg(long, env = "DIEMCAU_TOKEN_SECRET", hide_env_values = true)]
    token_secret: Option<String>,
    /// Directory for roll-call records (`<dir>/attendance/<meeting>.json`).
    #[arg(long, env = "DIEMCAU_DATA_DIR", default_value = "data")]
    data_dir: std::path::PathBuf,
    /// Create a demo meeting (a chair, an operator, five communes) and print its links.
    #[arg(long)]
    demo: bool,
    /// With --demo: print the links as one JSON object.
    #[arg(long, requires = "demo")]
    json: bool,
}

fn random_secret() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 40)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,str0m=warn,str0m::format=error")))
        .with_writer(std::io::stderr)
        .init();

    let listener = tokio::net::TcpListener::bind(args.http)
        .await
        .with_context(|| format!("cannot listen on {} (is another diemcau running?)", args.http))?;
    let http = listener.local_addr()?;
    let generated_admin = args.admin_key.is_none();
    let settings = Settings {
        public_url: args.public_url.unwrap_or_else(|| format!("http://{http}")),
        admin_key: args.admin_key.unwrap_or_else(random_secret),
        token_secret: args.token_secret.unwrap_or_else(random_secret).into_bytes(),
        ice_servers: Vec::new(),
        data_dir: Some(args.data_dir),
    };
    let sfu_config = sfu::SfuConfig {
        bind: args.udp,
        announce_ip: args.announce_ip,
    };
    let state = signaling::start(settings, sfu_config)?;

    if args.demo {
        print_demo(&state, args.json, http)?;
    } else if generated_admin {
        eprintln!("admin key (generated): {}", state.settings.admin_key);
    }

    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    };
    signaling::run(listener, state, shutdown).await?;
    Ok(())
}

fn print_demo(state: &signaling::AppState, json: bool, http: SocketAddr) -> anyhow::Result<()> {
    let communes = ["UBND xã Tả Van", "UBND xã Bản Hồ", "UBND phường Sa Pa", "UBND xã Mường Hoa", "UBND xã Ngũ Chỉ Sơn"];
    let created = signaling::api::create(
        state,
        CreateMeeting {
            title: "Hội nghị trực tuyến (demo)".into(),
            chair_name: Some("Hội trường UBND tỉnh".into()),
            sites: communes.iter().map(|n| SiteInput { name: (*n).into() }).collect(),
            valid_hours: Some(24),
            floor_limit: None,
            grid_page_size: None,
        },
    )
    .map_err(|e| anyhow::anyhow!("demo meeting: {e:?}"))?;
    if json {
        let out = serde_json::json!({
            "http": format!("http://{http}"),
            "udp": state.sfu.local_addr().to_string(),
            "admin_key": state.settings.admin_key,
            "meeting": created,
        });
        println!("{out}");
    } else {
        println!("diemcau demo meeting \"{}\" ({})", created.title, created.id);
        println!("  web + API:  http://{http}   media: udp {}", state.sfu.local_addr());
        println!("  admin key:  {}", state.settings.admin_key);
        println!();
        println!("  chair    {}: {}", created.chair.name, created.chair.link);
        println!("  operator {}: {}", created.operator.name, created.operator.link);
        for s in &created.sites {
            println!("  site     {}: {}", s.name, s.link);
        }
        println!();
        println!("Open the chair link and a few site links in Chromium. Ctrl-C stops.");
    }
    use std::io::Write;
    std::io::stdout().flush()?;
    Ok(())
}
