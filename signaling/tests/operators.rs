//! The line check and the operators' tools over real WebSockets with real SDP: loopback
//! routing in the lobby only, check results reaching the watchers, the operators' actions
//! and their permissions, the live `stats` stream, and per-site metrics removed on leave.

mod common;

use common::*;
use serde_json::json;

fn slot_sources(slots: &serde_json::Value, kind: &str) -> Vec<(String, String)> {
    slots["slots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == kind)
        .filter_map(|s| {
            Some((
                s["site_id"].as_str()?.to_owned(),
                s["track"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

#[tokio::test]
async fn the_line_check_loops_a_sites_own_media_back_in_the_lobby_only() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A", "Xã B"]);
    let mut chair = join_with_media(srv.http, &m.chair.link).await;
    let mut a = join_with_media(srv.http, &m.sites[0].link).await;

    // Before its offer, a site cannot check.
    let (mut b, _) = join(srv.http, &m.sites[1].link).await;
    send_json(&mut b, json!({"type": "check", "on": true})).await;
    assert_eq!(error_code(&mut b).await, "no_offer");

    send_json(&mut a, json!({"type": "check", "on": true})).await;
    let slots = wait_for(&mut a, |m| {
        (m["type"] == "slots" && !routed(m, "video").is_empty()).then(|| m.clone())
    })
    .await;
    assert_eq!(
        slot_sources(&slots, "video"),
        [("s1".to_owned(), "camera".to_owned())]
    );
    assert_eq!(
        slot_sources(&slots, "audio"),
        [("s1".to_owned(), "audio".to_owned())]
    );
    wait_for(&mut a, |m| {
        (m["type"] == "check" && m["on"] == true).then_some(())
    })
    .await;

    send_json(&mut a, json!({"type": "check", "on": false})).await;
    wait_slots(&mut a, |v, au| v.is_empty() && au.is_empty()).await;
    wait_for(&mut a, |m| {
        (m["type"] == "check" && m["on"] == false).then_some(())
    })
    .await;

    // Opening the meeting ends a running check and brings the program.
    send_json(&mut a, json!({"type": "check", "on": true})).await;
    wait_for(&mut a, |m| {
        (m["type"] == "check" && m["on"] == true).then_some(())
    })
    .await;
    send_json(&mut chair, json!({"type": "open_meeting"})).await;
    wait_for(&mut a, |m| {
        (m["type"] == "check" && m["on"] == false).then_some(())
    })
    .await;
    wait_slots(&mut a, |v, _| {
        v.first().map(String::as_str) == Some("chair")
    })
    .await;

    send_json(&mut a, json!({"type": "check", "on": true})).await;
    assert_eq!(error_code(&mut a).await, "conflict");
    // The refusal changed nothing: the chair still hears and sees the meeting go on.
    send_json(&mut chair, json!({"type": "grant_floor", "site_id": "s1"})).await;
    wait_slots(&mut chair, |v, au| {
        v.contains(&"s1".to_owned()) && au.contains(&"s1".to_owned())
    })
    .await;
}

#[tokio::test]
async fn check_results_reach_the_site_the_chair_and_operators_even_those_joining_later() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A", "Xã B"]);
    let (mut chair, _) = join(srv.http, &m.chair.link).await;
    let (mut a, _) = join(srv.http, &m.sites[0].link).await;
    let (mut b, _) = join(srv.http, &m.sites[1].link).await;
    let result = json!({"type": "check_result", "verdict": "audio_only", "camera": true, "mic": true,
        "rtt_ms": 180.0, "loss_pct": 6.5, "send_kbps": 240.0, "recv_kbps": 150.0});
    send_json(&mut a, result).await;
    for ws in [&mut chair, &mut a] {
        let got = wait_for(ws, |m| (m["type"] == "check_result").then(|| m.clone())).await;
        assert_eq!(got["site_id"], "s1");
        assert_eq!(got["verdict"], "audio_only");
        assert_eq!(got["loss_pct"], 6.5);
    }
    // An operator arriving afterwards is given the latest result with its join.
    let mut op = connect(srv.http).await;
    send_join(&mut op, &m.operator.link).await;
    let got = wait_for(&mut op, |m| {
        (m["type"] == "check_result").then(|| m.clone())
    })
    .await;
    assert_eq!(
        (got["site_id"].as_str(), got["verdict"].as_str()),
        (Some("s1"), Some("audio_only"))
    );

    // Untrusted figures are refused with a precise error; a site never sees another's result.
    send_json(
        &mut b,
        json!({"type": "check_result", "verdict": "video", "camera": true, "mic": true,
        "rtt_ms": 1e300, "loss_pct": 0, "send_kbps": 1, "recv_kbps": 1}),
    )
    .await;
    let err = wait_for(&mut b, |m| (m["type"] == "error").then(|| m.clone())).await;
    assert_eq!(err["code"], "bad_message");
    assert!(err["message"].as_str().unwrap().contains("rtt_ms"), "{err}");
    send_json(&mut b, json!({"type": "ping", "id": 9})).await;
    let next = wait_for(&mut b, |m| {
        (m["type"] == "pong" || m["type"] == "check_result").then(|| m.clone())
    })
    .await;
    assert_eq!(
        next["type"], "pong",
        "B got someone else's check result: {next}"
    );
}

#[tokio::test]
async fn operator_actions_are_for_operators_and_reach_the_site() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A", "Xã B"]);
    let mut chair = join_with_media(srv.http, &m.chair.link).await;
    let mut a = join_with_media(srv.http, &m.sites[0].link).await;
    let (mut op, _) = join(srv.http, &m.operator.link).await;
    let actions = [
        json!({"type": "notice", "site_id": "s1", "text": "Xin bật micro"}),
        json!({"type": "reconnect", "site_id": "s1"}),
        json!({"type": "force_audio_only", "site_id": "s1", "on": true}),
    ];
    for msg in &actions {
        send_json(&mut chair, msg.clone()).await;
        assert_eq!(error_code(&mut chair).await, "forbidden", "chair: {msg}");
        send_json(&mut a, msg.clone()).await;
        assert_eq!(error_code(&mut a).await, "forbidden", "site: {msg}");
        let mut unknown = msg.clone();
        unknown["site_id"] = json!("s99");
        send_json(&mut op, unknown).await;
        assert_eq!(error_code(&mut op).await, "unknown_site", "{msg}");
        let mut absent = msg.clone();
        absent["site_id"] = json!("s2");
        send_json(&mut op, absent).await;
        assert_eq!(
            error_code(&mut op).await,
            "conflict",
            "{msg} to a site not connected"
        );
    }

    send_json(
        &mut op,
        json!({"type": "notice", "site_id": "s1", "text": "Xin bật micro\u{7}"}),
    )
    .await;
    let n = wait_for(&mut a, |m| (m["type"] == "notice").then(|| m.clone())).await;
    assert_eq!(
        (n["from"].as_str(), n["text"].as_str()),
        (Some("operator"), Some("Xin bật micro"))
    );

    send_json(&mut op, json!({"type": "reconnect", "site_id": "s1"})).await;
    wait_for(&mut a, |m| (m["type"] == "reconnect").then_some(())).await;

    // Forced audio only: enforced by routing, seen by the chair and the site.
    send_json(&mut chair, json!({"type": "open_meeting"})).await;
    wait_slots(&mut a, |v, au| {
        v.first().map(String::as_str) == Some("chair") && au.contains(&"chair".to_owned())
    })
    .await;
    send_json(
        &mut op,
        json!({"type": "force_audio_only", "site_id": "s1", "on": true}),
    )
    .await;
    // The mark comes first, then the new slots.
    for ws in [&mut chair, &mut a] {
        wait_for(ws, |m| {
            (m["type"] == "site_state" && m["site"]["id"] == "s1" && m["audio_only_forced"] == true)
                .then_some(())
        })
        .await;
    }
    wait_slots(&mut a, |v, au| {
        v.is_empty() && au.contains(&"chair".to_owned())
    })
    .await;
    send_json(
        &mut op,
        json!({"type": "force_audio_only", "site_id": "s1", "on": false}),
    )
    .await;
    wait_slots(&mut a, |v, _| {
        v.first().map(String::as_str) == Some("chair")
    })
    .await;
    // Too long a notice is refused precisely.
    let long = "x".repeat(501);
    send_json(
        &mut op,
        json!({"type": "notice", "site_id": "s1", "text": long}),
    )
    .await;
    assert_eq!(error_code(&mut op).await, "too_large");
}

#[tokio::test]
async fn operators_get_live_stats_of_every_connected_site_and_nobody_else_does() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A", "Xã B"]);
    let (mut chair, _) = join(srv.http, &m.chair.link).await;
    let _a = join_with_media(srv.http, &m.sites[0].link).await;
    let (mut op, _) = join(srv.http, &m.operator.link).await;
    send_json(&mut op, json!({"type": "client_info", "browser": "Chromium 156", "candidate": "relay", "transport": "udp"})).await;
    let stats = wait_for(&mut op, |m| (m["type"] == "stats").then(|| m.clone())).await;
    assert_eq!(stats["totals"]["expected"], 4, "chair, two sites, operator");
    let sites: Vec<&str> = stats["sites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["site_id"].as_str().unwrap())
        .collect();
    assert_eq!(sites, ["s1"], "only participants whose media is negotiated");
    assert_eq!(stats["totals"]["joined"], 1);
    // The chair is not sent the stream: within two ticks it only gets a pong back.
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    send_json(&mut chair, json!({"type": "ping", "id": 1})).await;
    let first = wait_for(&mut chair, |m| {
        (m["type"] == "pong" || m["type"] == "stats").then(|| m.clone())
    })
    .await;
    assert_eq!(first["type"], "pong");
    // The operator's own transport is counted (relay via its TURN candidate).
    let text = reqwest::get(format!("http://{}/metrics", srv.http))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    let relay = scrape.samples.iter().find(|s| {
        s.metric == "diemcau_signaling_sites_connected"
            && s.labels.get("role") == Some("operator")
            && s.labels.get("transport") == Some("relay")
    });
    assert!(
        matches!(relay.map(|s| &s.value), Some(prometheus_parse::Value::Gauge(v)) if *v == 1.0),
        "{relay:?}"
    );
}

#[tokio::test]
async fn a_sites_series_leave_the_metrics_with_it() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A", "Xã B"]);
    let mut a = join_with_media(srv.http, &m.sites[0].link).await;
    let _b = join_with_media(srv.http, &m.sites[1].link).await;
    let meeting = srv.state.meetings.get(&m.id).unwrap();
    // What the SFU's event task does with a link report of each site.
    for site in ["s1", "s2"] {
        let peer = peer_of(&srv.state, site).unwrap();
        let report = sfu::link::PeerReport {
            peer,
            rtt_ms: Some(30.0),
            ingress_loss_pct: Some(0.0),
            egress_loss_pct: Some(1.0),
            bytes_rx: 10_000,
            bytes_tx: 20_000,
            rx_bps: 80_000,
            tx_bps: 160_000,
            packets_rx: 10,
            packets_tx: 20,
            up_jitter_ms: None,
            down_jitter_ms: None,
            nacks_from_peer: 0,
            nacks_to_peer: 0,
            keyframe_requests_from_peer: 0,
            keyframe_requests_to_peer: 0,
            estimate_bps: Some(300_000),
            video_layer: None,
            audio_packets_rx: 5,
            audio_level: None,
            policed_packets: 0,
            malformed_packets: 0,
        };
        let link = signaling::meeting::link::LinkReport {
            site: site.into(),
            peer,
            report: report.clone(),
        };
        let (transport, browser) = meeting
            .apply(link, &srv.state)
            .expect("never refused")
            .expect("still its connection");
        srv.state
            .metrics
            .sites
            .update(&m.id, site, "site", &report, transport, &browser);
    }
    let sites_in = |text: &str| -> Vec<String> {
        let scrape =
            prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
        let mut v: Vec<String> = scrape
            .samples
            .iter()
            .filter(|s| s.metric.starts_with("diemcau_site_"))
            .filter_map(|s| s.labels.get("site").map(str::to_owned))
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let url = format!("http://{}/metrics", srv.http);
    assert_eq!(
        sites_in(&reqwest::get(&url).await.unwrap().text().await.unwrap()),
        ["s1", "s2"]
    );
    send(&mut a, r#"{"type":"leave"}"#).await;
    for _ in 0..50 {
        if sites_in(&reqwest::get(&url).await.unwrap().text().await.unwrap()) == ["s2"] {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("s1's series stayed after it left");
}

#[tokio::test]
async fn operators_see_the_nodes_capacity_refusals_and_socket_drops() {
    let srv = server_with(signaling::limits::Limits {
        sites_per_node: 3,
        ..Default::default()
    })
    .await;
    let m = meeting(&srv.state, &["Xã A", "Xã B"]);
    let (mut op, _) = join(srv.http, &m.operator.link).await;
    let (_chair, _) = join(srv.http, &m.chair.link).await;
    let (_a, _) = join(srv.http, &m.sites[0].link).await;
    // The fourth connection on a node of three is refused for capacity.
    assert_eq!(join_refused(srv.http, &m.sites[1].link).await, "node_full");
    let node = wait_for(&mut op, |m| {
        (m["type"] == "node" && m["refused_capacity"] == 1).then(|| m.clone())
    })
    .await;
    assert_eq!(node["sites"], 3, "{node}");
    assert_eq!(node["sites_per_node"], 3, "{node}");
    assert!(
        node["socket_drops"].is_u64(),
        "the kernel's count for the media socket: {node}"
    );
}
