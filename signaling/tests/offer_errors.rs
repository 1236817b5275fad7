//! Offers from a client author's point of view: the spec's example offer is accepted by a
//! running server, and every malformed offer (the fuzz corpus and hand-made layout mistakes)
//! is refused with a `bad_sdp` that names the problem and carries no server internals.

mod common;

use common::*;
use signaling::protocol::{ErrorCode, ServerMessage};

/// What a refusal must never carry: process addresses and Rust Debug dumps.
fn assert_no_internals(name: &str, message: &str) {
    let lower = message.to_ascii_lowercase();
    for bad in [
        "0x",
        "pointeroffset",
        "unexpected",
        "errors:",
        "{",
        "}",
        "panicked",
    ] {
        assert!(
            !lower.contains(bad),
            "{name}: error message carries internals ({bad:?}): {message}"
        );
    }
}

/// Sends `sdp` as a fresh site's offer; `Ok(answer)` or `Err(bad_sdp message)`.
async fn offer_as_new_site(srv: &Server, link: &str, sdp: &str) -> Result<String, String> {
    let (mut ws, _) = join(srv.http, link).await;
    send_json(&mut ws, serde_json::json!({"type": "offer", "sdp": sdp})).await;
    loop {
        match recv(&mut ws).await {
            ServerMessage::Answer { sdp, .. } => return Ok(sdp),
            ServerMessage::Error { code, message, .. } => {
                assert_eq!(code, ErrorCode::BadSdp, "{message}");
                return Err(message);
            }
            _ => continue,
        }
    }
}

fn corpus() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/sdp_offer");
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (
                name,
                String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned(),
            )
        })
        .collect();
    out.sort();
    assert!(
        out.len() >= 10,
        "the sdp_offer corpus is in {}",
        dir.display()
    );
    out
}

/// Hand-made mistakes a client author makes, with words the refusal must contain.
fn layout_mistakes() -> Vec<(&'static str, String, &'static str)> {
    let c = CHROMIUM_OFFER.replace("\r\n", "\n").replace('\n', "\r\n");
    let head = c.find("m=").unwrap();
    let recv_video = c[head..]
        .split("m=")
        .find(|s| s.starts_with("video") && s.contains("a=recvonly"))
        .unwrap()
        .to_owned();
    vec![
        ("not sdp", "this is not sdp".into(), "line 1"),
        (
            "no bundle",
            c.replace("a=group:BUNDLE", "a=group:LS"),
            "BUNDLE",
        ),
        ("no rtcp-mux", c.replace("a=rtcp-mux\r\n", ""), "rtcp-mux"),
        (
            "no opus",
            c.replace("opus/48000/2", "telephone-event/48000"),
            "Opus",
        ),
        (
            "no fingerprint",
            c.lines()
                .filter(|l| !l.starts_with("a=fingerprint"))
                .collect::<Vec<_>>()
                .join("\r\n"),
            "fingerprint",
        ),
        (
            "a receive slot alone",
            format!("{}m={recv_video}", &c[..head]),
            "microphone",
        ),
        ("no media", c[..head].to_owned(), "no media"),
        (
            "camera without simulcast",
            c.replace("a=simulcast:send q;h;f\r\n", ""),
            "simulcast",
        ),
        (
            "no mid extension",
            c.replace("urn:ietf:params:rtp-hdrext:sdes:mid", "urn:x:none"),
            "sdes:mid",
        ),
        (
            "bad m line",
            c.replacen("m=audio 58247", "m=audio x", 1),
            "m=",
        ),
    ]
}

#[tokio::test]
async fn the_spec_example_offer_is_answered_with_a_candidate_in_every_section() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A"]);
    let text = include_str!("../fixtures/protocol/client/offer.json");
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    let sdp = v["sdp"].as_str().unwrap();
    let answer = offer_as_new_site(&srv, &m.sites[0].link, sdp)
        .await
        .unwrap_or_else(|e| panic!("the example offer is refused: {e}"));
    let sections: Vec<&str> = answer.split("\r\nm=").skip(1).collect();
    assert_eq!(sections.len(), sdp.matches("\r\nm=").count());
    for (i, s) in sections.iter().enumerate() {
        assert!(
            s.contains("a=candidate:"),
            "answer section {i} has no candidate:\nm={s}"
        );
        // PROTOCOL.md: the candidate list is complete in every section (no trickle).
        assert!(
            s.contains("a=end-of-candidates"),
            "answer section {i} has no end-of-candidates:\nm={s}"
        );
    }
}

#[tokio::test]
async fn every_malformed_offer_is_bad_sdp_naming_the_problem_without_internals() {
    let srv = server().await;
    let corpus = corpus();
    let mistakes = layout_mistakes();
    let names: Vec<String> = (0..corpus.len() + mistakes.len())
        .map(|i| format!("Xã {i}"))
        .collect();
    let m = meeting(
        &srv.state,
        &names.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let mut links = m.sites.iter().map(|s| s.link.clone());
    let mut refused = 0;
    for (name, sdp) in &corpus {
        if let Err(msg) = offer_as_new_site(&srv, &links.next().unwrap(), sdp).await {
            assert_no_internals(name, &msg);
            assert!(msg.starts_with("offer "), "{name}: {msg}");
            refused += 1;
        }
    }
    assert!(
        refused >= 3,
        "the corpus holds malformed offers ({refused} refused)"
    );
    for (name, sdp, words) in mistakes {
        let msg = offer_as_new_site(&srv, &links.next().unwrap(), &sdp)
            .await
            .expect_err(name);
        assert_no_internals(name, &msg);
        assert!(
            msg.contains(words),
            "{name}: {msg:?} does not say {words:?}"
        );
    }
}
