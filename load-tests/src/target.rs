//! The system under test. [`Target`] is the seam a second one plugs into: [`crate::janus`]
//! creates a VideoRoom room over Janus's HTTP API in `create_meeting`, and runs a site as one
//! publishing and several subscribing peer connections in `spawn_site`, with the same
//! synthetic media, meters and reports.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{bail, Context};
use serde::Deserialize;
use signaling::protocol::Role;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::site::invite::Invite;
use crate::site::{Command, SiteContext, SiteReport, SiteSpec};

/// A meeting created for a scenario.
#[derive(Debug, Clone)]
pub struct Meeting {
    /// Meeting id.
    pub id: String,
    /// The chair.
    pub chair: Invite,
    /// The sites, in roster order.
    pub sites: Vec<Invite>,
}

/// A system the simulated sites can meet on.
#[async_trait::async_trait]
pub trait Target: Send + Sync {
    /// Short name for reports.
    fn name(&self) -> &'static str;
    /// Creates a meeting with a chair and `sites` sites; `grid_page_size` tiles per page of
    /// the hall's grid when the target has one (none: its default).
    async fn create_meeting(
        &self,
        title: &str,
        sites: usize,
        grid_page_size: Option<u16>,
    ) -> anyhow::Result<Meeting>;
    /// Runs one simulated site until it is told to leave; its report is the task's output.
    fn spawn_site(
        &self,
        spec: SiteSpec,
        ctx: Arc<SiteContext>,
        commands: mpsc::UnboundedReceiver<Command>,
    ) -> JoinHandle<SiteReport>;
    /// The server's Prometheus text, when it has any.
    async fn scrape(&self) -> anyhow::Result<Option<String>>;
    /// The loopback address the simulated sites bind.
    fn site_ip(&self) -> std::net::IpAddr {
        std::net::IpAddr::from([127, 0, 0, 1])
    }
}

/// diemcau over its HTTP API and WebSocket protocol.
pub struct Diemcau {
    /// HTTP address (API, `/ws`, `/metrics`).
    pub http: SocketAddr,
    admin_key: String,
    client: reqwest::Client,
}

#[derive(Deserialize)]
struct CreatedInvite {
    site_id: String,
    name: String,
    link: String,
}

#[derive(Deserialize)]
struct Created {
    id: String,
    chair: CreatedInvite,
    sites: Vec<CreatedInvite>,
}

impl CreatedInvite {
    fn into_invite(self, role: Role) -> anyhow::Result<Invite> {
        let (ws_url, token) = crate::site::invite::endpoint(&self.link)?;
        Ok(Invite {
            site_id: self.site_id,
            name: self.name,
            role,
            token,
            ws_url: Some(ws_url),
        })
    }
}

impl Diemcau {
    /// A diemcau server at `http`, administered with `admin_key`.
    pub fn new(http: SocketAddr, admin_key: impl Into<String>) -> Self {
        Diemcau {
            http,
            admin_key: admin_key.into(),
            client: reqwest::Client::new(),
        }
    }

    /// Whether `/healthz` answers.
    pub async fn healthy(&self) -> bool {
        let url = format!("http://{}/healthz", self.http);
        matches!(self.client.get(url).send().await, Ok(r) if r.status().is_success())
    }
}

#[async_trait::async_trait]
impl Target for Diemcau {
    fn name(&self) -> &'static str {
        "diemcau"
    }

    async fn create_meeting(
        &self,
        title: &str,
        sites: usize,
        grid_page_size: Option<u16>,
    ) -> anyhow::Result<Meeting> {
        let mut body = serde_json::json!({
            "title": title,
            "chair_name": "Hội trường UBND tỉnh",
            "sites": (1..=sites).map(|i| serde_json::json!({"name": format!("UBND xã {i:03}")})).collect::<Vec<_>>(),
            "valid_hours": 2,
        });
        if let Some(n) = grid_page_size {
            body["grid_page_size"] = n.into();
        }
        let resp = self
            .client
            .post(format!("http://{}/api/v1/meetings", self.http))
            .bearer_auth(&self.admin_key)
            .json(&body)
            .send()
            .await
            .context("POST /api/v1/meetings")?;
        if !resp.status().is_success() {
            bail!(
                "creating the meeting: {} {}",
                resp.status(),
                resp.text().await.unwrap_or_default()
            );
        }
        let created: Created = resp.json().await.context("reading the created meeting")?;
        Ok(Meeting {
            id: created.id,
            chair: created.chair.into_invite(Role::Chair)?,
            sites: created
                .sites
                .into_iter()
                .map(|s| s.into_invite(Role::Site))
                .collect::<anyhow::Result<_>>()?,
        })
    }

    fn spawn_site(
        &self,
        spec: SiteSpec,
        ctx: Arc<SiteContext>,
        commands: mpsc::UnboundedReceiver<Command>,
    ) -> JoinHandle<SiteReport> {
        tokio::spawn(crate::site::diemcau::run(self.http, spec, ctx, commands))
    }

    async fn scrape(&self) -> anyhow::Result<Option<String>> {
        let resp = self
            .client
            .get(format!("http://{}/metrics", self.http))
            .send()
            .await?;
        if !resp.status().is_success() {
            bail!("GET /metrics: {}", resp.status());
        }
        Ok(Some(resp.text().await?))
    }
}
