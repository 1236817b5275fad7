//! The hall's own equipment against a real diemcau server in this process: a webrtc-rs WHIP
//! publisher (RFC 9725 over plain HTTP; not the server's code) stands in for the chair's
//! camera, simulated sites receive and decode it; a webrtc-rs WHEP player pulls the program;
//! the endpoints' refusals; a bad offer disturbs no other meeting.

mod common;

use common::ws::Ws;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use load_tests::pacer::Pacer;
use load_tests::peer::{Layout, Peer};
use load_tests::site::invite::Invite;
use load_tests::target::{Diemcau, Target};
use load_tests::whip::{self, Player, Publication, Seen};
use signaling::protocol::{ClientMessage, ServerMessage};

const ADMIN: &str = "whip-admin-key-0123456789";
const SECRET: &[u8] = b"whip-token-secret-0123456789abcdef";
const LOOPBACK: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// Waits up to `secs` for `cond`, polling every 50 ms; the last value it saw.
async fn until<T>(secs: u64, mut look: impl FnMut() -> T, cond: impl Fn(&T) -> bool) -> (bool, T) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let v = look();
        if cond(&v) || tokio::time::Instant::now() >= deadline {
            return (cond(&v), v);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A simulated site: joined, negotiated, publishing its synthetic media as `source`, and
/// recording what it receives.
struct Site {
    ws: Ws,
    seen: Arc<Mutex<Seen>>,
    _peer: Peer,
    _pacer: Pacer,
}

impl Site {
    async fn join(invite: &Invite, source: u16) -> Site {
        let mut ws = Ws::join(invite).await;
        let receive = ws
            .next(10, |m| match m {
                ServerMessage::Joined { receive, .. } => Some(receive),
                _ => None,
            })
            .await;
        let layout = Layout {
            recv_video: receive.video,
            recv_audio: receive.audio,
        };
        let (peer, events) = Peer::build(LOOPBACK, layout, u32::from(source), false)
            .await
            .unwrap();
        let seen = Arc::new(Mutex::new(Seen::default()));
        whip::record(events, seen.clone());
        let sdp = peer.offer().await.unwrap();
        ws.send(ClientMessage::Offer { sdp });
        let answer = ws
            .next(10, |m| match m {
                ServerMessage::Answer { sdp, .. } => Some(sdp),
                _ => None,
            })
            .await;
        peer.answer(answer).await.unwrap();
        // Its tracks are bound once the connection is up.
        let pacer = common::publish::publish(&peer, source).await;
        Site {
            ws,
            seen,
            _peer: peer,
            _pacer: pacer,
        }
    }

    fn seen(&self) -> Seen {
        self.seen.lock().unwrap().clone()
    }
}

/// Issues a media token through the admin API: (token, endpoint URL).
async fn media_token(http: std::net::SocketAddr, meeting: &str, role: &str) -> (String, String) {
    let r = reqwest::Client::new()
        .post(format!(
            "http://{http}/api/v1/meetings/{meeting}/media-tokens"
        ))
        .bearer_auth(ADMIN)
        .json(&serde_json::json!({ "role": role, "ttl_seconds": 600 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let v: serde_json::Value = r.json().await.unwrap();
    (
        v["token"].as_str().unwrap().to_owned(),
        v["url"].as_str().unwrap().to_owned(),
    )
}

fn code_of(r: &whip::Reply) -> String {
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_default();
    v["error"]["code"].as_str().unwrap_or("").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whip_camera_reaches_the_sites_a_whep_player_gets_the_program_and_bad_requests_disturb_nothing(
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = listener.local_addr().unwrap();
    let mut settings = common::settings(http, ADMIN);
    settings.token_secret = SECRET.to_vec();
    let state = signaling::start(settings, common::sfu_config()).unwrap();
    let (stop, server) = common::serve(listener, state);
    let target = Diemcau::new(http, ADMIN);
    let a = target.create_meeting("Giao ban A", 2, None).await.unwrap();
    let b = target.create_meeting("Giao ban B", 1, None).await.unwrap();

    // Both halls open their meetings; the chairs' browsers publish nothing.
    let mut chair_a = Ws::join(&a.chair).await;
    let mut chair_b = Ws::join(&b.chair).await;
    for c in [&mut chair_a, &mut chair_b] {
        c.next(10, |m| {
            matches!(m, ServerMessage::Joined { .. }).then_some(())
        })
        .await;
        c.send(ClientMessage::OpenMeeting);
    }
    let s1 = Site::join(&a.sites[0], 11).await;
    let mut s2 = Site::join(&a.sites[1], 12).await;
    let site_b = Site::join(&b.sites[0], 21).await;

    // The halls' encoders publish as the chairs' cameras.
    let (cam_a, url_a) = media_token(http, &a.id, "chair-camera").await;
    let (cam_b, url_b) = media_token(http, &b.id, "chair-camera").await;
    let pub_a = Publication::start(LOOPBACK, &url_a, &cam_a, 77)
        .await
        .unwrap();
    let _pub_b = Publication::start(LOOPBACK, &url_b, &cam_b, 88)
        .await
        .unwrap();
    for (site, source) in [(&s2, 77u16), (&site_b, 88)] {
        let (ok, seen) = until(
            15,
            || site.seen(),
            |s| {
                s.keyframes.get(&source).is_some_and(|k| *k > 0)
                    && s.audio.get(&source).is_some_and(|n| *n > 20)
            },
        )
        .await;
        assert!(
            ok,
            "the site decodes the WHIP camera {source} (keyframe, audio): {seen:?}"
        );
    }

    // Refusals, each with its status and a JSON body naming it.
    let keys = signaling::token::TokenKeys::new(SECRET);
    let expired = signaling::whip::token::issue(
        &keys,
        &a.id,
        signaling::whip::token::MediaRole::Presentation,
        600,
        signaling::token::unix_now() - 1,
    )
    .0;
    let (viewer_a, whep_a) = media_token(http, &a.id, "viewer").await;
    let (present_a, _) = media_token(http, &a.id, "presentation").await;
    let sdp = "v=0\r\n".to_owned();
    for (token, url, ct, status, code) in [
        ("", url_a.as_str(), "application/sdp", 401, "invalid_token"),
        (
            a.sites[0].token.as_str(),
            &url_a,
            "application/sdp",
            401,
            "invalid_token",
        ),
        (&expired, &url_a, "application/sdp", 401, "token_expired"),
        (&cam_b, &url_a, "application/sdp", 403, "forbidden"),
        (&viewer_a, &url_a, "application/sdp", 403, "forbidden"),
        (&cam_a, &url_a, "text/plain", 415, "unsupported_media_type"),
        (&cam_a, &url_a, "application/sdp", 409, "conflict"),
    ] {
        let r = whip::post(url, token, ct, sdp.clone()).await.unwrap();
        assert_eq!(
            (r.status, code_of(&r).as_str()),
            (status, code),
            "{}",
            r.body
        );
    }

    // A garbage offer: 400 naming its line; both meetings go on.
    let before_b = site_b.seen().video.get(&88).copied().unwrap_or(0);
    let before_a = s2.seen().video.get(&77).copied().unwrap_or(0);
    let r = whip::post(
        &url_a,
        &present_a,
        "application/sdp",
        "v=0\r\nthis is not sdp\r\n".into(),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("line 2"), "{}", r.body);
    let (ok, n) = until(
        10,
        || site_b.seen().video.get(&88).copied().unwrap_or(0),
        |n| *n > before_b + 50,
    )
    .await;
    assert!(
        ok,
        "meeting B's site still receives its chair: {before_b} -> {n}"
    );
    let (ok, n) = until(
        10,
        || s2.seen().video.get(&77).copied().unwrap_or(0),
        |n| *n > before_a + 50,
    )
    .await;
    assert!(
        ok,
        "meeting A's site still receives the WHIP camera: {before_a} -> {n}"
    );

    // A player pulls the program: the WHIP camera's keyframe and its Opus packets.
    let player = Player::start(LOOPBACK, &whep_a, &viewer_a).await.unwrap();
    let (ok, seen) = until(
        15,
        || player.seen(),
        |s| {
            s.keyframes.get(&77).is_some_and(|k| *k > 0)
                && s.audio.get(&77).is_some_and(|n| *n > 20)
        },
    )
    .await;
    assert!(ok, "the player decodes the program: {seen:?}");
    let metrics = reqwest::get(format!("http://{http}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = format!(
        "diemcau_signaling_media_endpoints{{meeting=\"{}\",role=\"viewer\"}} 1",
        a.id
    );
    assert!(metrics.contains(&line), "the player is counted");
    assert!(
        s1.seen().keyframes.get(&77).is_some_and(|k| *k > 0),
        "site 1 decodes the WHIP camera too"
    );

    // The floor goes to site 1: the player's video becomes site 1, from a keyframe.
    chair_a.send(ClientMessage::GrantFloor {
        site_id: a.sites[0].site_id.clone(),
    });
    let (ok, seen) = until(
        15,
        || player.seen(),
        |s| s.keyframes.get(&11).is_some_and(|k| *k > 0),
    )
    .await;
    assert!(ok, "the player shows the floor holder: {seen:?}");

    // DELETE ends the publication: site 2's chair slot empties; a second DELETE is 404.
    let r = whip::delete(&pub_a.resource, &cam_a).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let chair_id = a.chair.site_id.clone();
    s2.ws
        .next(10, |m| match m {
            ServerMessage::Slots { slots } => slots
                .iter()
                .all(|s| s.site_id.as_deref() != Some(chair_id.as_str()))
                .then_some(()),
            _ => None,
        })
        .await;
    let r = whip::delete(&pub_a.resource, &cam_a).await.unwrap();
    assert_eq!((r.status, code_of(&r).as_str()), (404, "not_found"));
    // The role is free again: a new publication is taken.
    pub_a.stop().await;

    let _ = stop.send(());
    let _ = server.await;
}

/// `POST /api/v1/meetings/{id}/media-tokens` with `token` as the bearer: (status, JSON body).
async fn issue_with(
    http: std::net::SocketAddr,
    meeting: &str,
    token: &str,
    role: &str,
) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .post(format!(
            "http://{http}/api/v1/meetings/{meeting}/media-tokens"
        ))
        .bearer_auth(token)
        .json(&serde_json::json!({ "role": role }))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chair_issues_a_working_whip_token_with_its_own_link_and_sites_and_cochairs_are_refused(
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = listener.local_addr().unwrap();
    let mut settings = common::settings(http, ADMIN);
    settings.token_secret = SECRET.to_vec();
    let data = std::env::temp_dir().join(format!("diemcau-whip-chair-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    settings.data_dir = Some(data.clone());
    let state = signaling::start(settings, common::sfu_config()).unwrap();
    let (stop, server) = common::serve(listener, state);
    let target = Diemcau::new(http, ADMIN);
    let a = target.create_meeting("Giao ban A", 2, None).await.unwrap();
    let b = target.create_meeting("Giao ban B", 1, None).await.unwrap();

    // Site 2 holds the co-chair right (granted and seen before it asks).
    let mut chair = Ws::join(&a.chair).await;
    chair
        .next(10, |m| {
            matches!(m, ServerMessage::Joined { .. }).then_some(())
        })
        .await;
    let cochair_id = a.sites[1].site_id.clone();
    chair.send(ClientMessage::Cochair {
        site_id: cochair_id.clone(),
        on: true,
    });
    chair
        .next(10, |m| match m {
            ServerMessage::SiteState { site, cochair, .. } => {
                (site.id == cochair_id && cochair).then_some(())
            }
            _ => None,
        })
        .await;

    // A site's and a co-chair's links: 403 with the reason; links that prove nothing here
    // (another meeting's chair, garbage): 401.
    let forbidden = signaling::api_media::ONLY_THE_CHAIR;
    for (token, status, code, message) in [
        (a.sites[0].token.as_str(), 403, "forbidden", forbidden),
        (a.sites[1].token.as_str(), 403, "forbidden", forbidden),
        (
            b.chair.token.as_str(),
            401,
            "unauthorized",
            "send the admin key, or the chair's invite token, as 'Authorization: Bearer ...'",
        ),
        (
            "not-a-token",
            401,
            "unauthorized",
            "send the admin key, or the chair's invite token, as 'Authorization: Bearer ...'",
        ),
    ] {
        let (s, body) = issue_with(http, &a.id, token, "chair-camera").await;
        assert_eq!(
            (
                s,
                body["error"]["code"].as_str(),
                body["error"]["message"].as_str()
            ),
            (status, Some(code), Some(message)),
            "{body}"
        );
    }

    // The chair's own link: a WHIP token an encoder publishes with, and a watch link.
    let (s, cam) = issue_with(http, &a.id, &a.chair.token, "chair-camera").await;
    assert_eq!(s, 201, "{cam}");
    let url = cam["url"].as_str().unwrap();
    assert_eq!(url, format!("http://{http}/whip/v1/{}", a.id));
    let publication = Publication::start(LOOPBACK, url, cam["token"].as_str().unwrap(), 55)
        .await
        .expect("the chair's token publishes");
    assert!(
        publication
            .resource
            .starts_with(&format!("http://{http}/whip/v1/{}/", a.id)),
        "{}",
        publication.resource
    );
    let (s, viewer) = issue_with(http, &a.id, &a.chair.token, "viewer").await;
    assert_eq!(s, 201, "{viewer}");
    let link = viewer["watch_link"].as_str().unwrap();
    assert!(
        link.starts_with(&format!("http://{http}/watch#m={}&t=", a.id)),
        "{link}"
    );

    // Both issues are in the audit log, as the chair's.
    let log: serde_json::Value = reqwest::Client::new()
        .get(format!("http://{http}/api/v1/meetings/{}/audit", a.id))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let issued: Vec<(&str, &str, &str)> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "media_token_issue")
        .map(|e| {
            (
                e["actor"]["role"].as_str().unwrap_or(""),
                e["target"].as_str().unwrap_or(""),
                e["result"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        issued,
        [("chair", "chair-camera", "ok"), ("chair", "viewer", "ok")],
        "{log}"
    );

    publication.stop().await;
    let _ = stop.send(());
    let _ = server.await;
    let _ = std::fs::remove_dir_all(&data);
}
