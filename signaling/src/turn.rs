//! Short-lived TURN credentials for browsers, in coturn's REST form (`use-auth-secret`):
//! the user name is `<expiry unix seconds>:<site id>`, the credential is
//! `base64(HMAC-SHA1(static-auth-secret, user name))`. coturn recomputes the credential from
//! its own copy of the secret and refuses the user name once its expiry has passed, so no
//! per-site state is shared with the TURN server.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::config::{Secret, TurnConfig};
use crate::protocol::IceServer;

/// Signs TURN credentials for the configured servers.
#[derive(Debug, Clone)]
pub struct TurnRest {
    urls: Vec<String>,
    secret: Secret,
    ttl: Duration,
}

impl TurnRest {
    /// From the validated `[turn]` section.
    pub fn new(config: &TurnConfig) -> Self {
        TurnRest {
            urls: config.urls.clone(),
            secret: config.secret.clone(),
            ttl: config.ttl,
        }
    }

    /// The ICE server entry for `site` at `now`: valid until `now + ttl`.
    pub fn ice_server(&self, site: &str, now: SystemTime) -> IceServer {
        let now = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        let username = format!("{}:{site}", (now + self.ttl).as_secs());
        IceServer {
            urls: self.urls.clone(),
            credential: Some(credential(&self.secret, &username)),
            username: Some(username),
        }
    }
}

/// `base64(HMAC-SHA1(secret, username))`, as coturn computes it.
pub fn credential(secret: &Secret, username: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.expose().as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_matches_coturn_rest_formula() {
        // echo -n "1700000000:s1" | openssl dgst -sha1 -hmac north-secret -binary | base64
        assert_eq!(
            credential(&Secret::new("north-secret"), "1700000000:s1"),
            "d5Wyl3W6CgDC6XwutAECJOoHAjw="
        );
    }

    #[test]
    fn user_name_carries_expiry_then_site() {
        let rest = TurnRest::new(&TurnConfig {
            urls: vec!["turn:127.0.0.1:3478?transport=tcp".into()],
            secret: Secret::new("north-secret"),
            ttl: Duration::from_secs(600),
        });
        let server = rest.ice_server("s1", UNIX_EPOCH + Duration::from_secs(1_699_999_400));
        assert_eq!(server.username.as_deref(), Some("1700000000:s1"));
        assert_eq!(
            server.credential.as_deref(),
            Some("d5Wyl3W6CgDC6XwutAECJOoHAjw=")
        );
        assert_eq!(
            server.urls,
            vec!["turn:127.0.0.1:3478?transport=tcp".to_owned()]
        );
    }
}
