//! The way in, as PROTOCOL.md "Connecting" gives it: an [`Invite`] per participant, and its
//! link, from which the load generator derives the WebSocket and the token as a stranger's
//! client would.

use anyhow::{bail, Context};
use signaling::protocol::Role;

/// One participant's way in.
#[derive(Debug, Clone)]
pub struct Invite {
    /// Site id in the meeting (`chair`, `s1`, ...).
    pub site_id: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Join credential (diemcau: the invite token).
    pub token: String,
    /// diemcau: the WebSocket URL, derived from the invite link as PROTOCOL.md says.
    pub ws_url: Option<String>,
}

/// `(WebSocket URL, token)` of an invite link `<public-url>/join#t=<token>`: the socket is
/// `/ws` on the link's host (`https` → `wss`, `http` → `ws`), the token the fragment's `t`.
pub fn endpoint(link: &str) -> anyhow::Result<(String, String)> {
    let (scheme, rest) = link
        .split_once("://")
        .context("invite link without a scheme")?;
    let ws = match scheme {
        "https" => "wss",
        "http" => "ws",
        other => bail!("invite link scheme {other:?} is neither http nor https"),
    };
    let host = rest.split(['/', '#', '?']).next().unwrap_or_default();
    if host.is_empty() {
        bail!("invite link without a host");
    }
    let fragment = link.split_once('#').map(|(_, f)| f).unwrap_or_default();
    let token = fragment
        .split('&')
        .find_map(|kv| kv.strip_prefix("t="))
        .filter(|t| !t.is_empty())
        .context("invite link without a token (#t=...)")?;
    Ok((format!("{ws}://{host}/ws"), token.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_is_ws_on_the_links_host_and_the_token_its_fragment() {
        assert_eq!(
            endpoint("https://meet.example.vn/join#t=eyJ.a.b").unwrap(),
            ("wss://meet.example.vn/ws".into(), "eyJ.a.b".into())
        );
        assert_eq!(
            endpoint("http://127.0.0.1:8080/join#t=tok").unwrap(),
            ("ws://127.0.0.1:8080/ws".into(), "tok".into())
        );
        assert!(endpoint("http://127.0.0.1:8080/join").is_err());
        assert!(endpoint("ftp://h/join#t=x").is_err());
    }
}
