//! One WebSocket text frame from a browser, through what the session does before acting on
//! it (`signaling/src/session.rs` `on_frame`): the size limit, `parse_client_message`, and
//! the checks on an offer (`limits::published_tracks`) and a join token.
//!
//! Properties:
//! - nothing panics, whatever the bytes;
//! - a frame over the size limit is refused as `too_large`, never parsed;
//! - every accepted message round-trips: serialized again, it parses to the same message
//!   (numbers with a fraction to within 1e-12: serde_json's default float parsing is not
//!   correctly rounded, `1e-162` reads as `1.0000000000000001e-162`);
//! - every refusal becomes an `error` server message that serializes and parses back.

use std::sync::OnceLock;

use crate::limits::{published_tracks, Limits};
use crate::protocol::{parse_client_message, ClientMessage, ErrorCode, ServerMessage};
use crate::token::TokenKeys;

fn keys() -> &'static TokenKeys {
    static KEYS: OnceLock<TokenKeys> = OnceLock::new();
    KEYS.get_or_init(|| TokenKeys::new(b"fuzz-secret-fuzz-secret-fuzz-secret!"))
}

/// Equal JSON values, floating-point numbers to within a relative 1e-12.
fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value::*;
    match (a, b) {
        (Number(x), Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            x == y || (x - y).abs() <= 1e-12 * x.abs().max(y.abs())
        }
        (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y)),
        (Object(x), Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// One input; panics where it breaks a property above.
pub fn run(data: &[u8]) {
    // The WebSocket layer hands the session valid UTF-8 only (text frames).
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let limits = Limits::default();
    if text.len() > limits.message_bytes {
        // The session refuses it before parsing; the parser must agree.
        let r = parse_client_message(text).expect_err("oversized frame accepted");
        assert_eq!(r.code, ErrorCode::TooLarge);
        return;
    }
    match parse_client_message(text) {
        Ok(msg) => {
            let again = serde_json::to_string(&msg).expect("client messages serialize");
            let back = parse_client_message(&again)
                .unwrap_or_else(|r| panic!("accepted message does not re-parse: {again} -> {r:?}"));
            let (a, b) = (
                serde_json::to_value(&msg).unwrap(),
                serde_json::to_value(&back).unwrap(),
            );
            assert!(same(&a, &b), "round trip changed the message: {a} -> {b}");
            assert!(!msg.kind().is_empty());
            match &msg {
                ClientMessage::Offer { sdp } => {
                    let n = published_tracks(sdp);
                    assert!(n <= sdp.lines().count());
                }
                ClientMessage::Join { token, .. } => {
                    // Forged, truncated or foreign tokens are refused, never a panic.
                    let _ = keys().verify(token);
                }
                _ => {}
            }
        }
        Err(refusal) => {
            let wire = serde_json::to_string(&refusal.to_message()).expect("errors serialize");
            let back: ServerMessage = serde_json::from_str(&wire).expect("error message parses");
            assert_eq!(back, refusal.to_message());
        }
    }
}
