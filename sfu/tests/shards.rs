//! Several media shards on one UDP port: a peer offered on a shard gets that shard's ufrag
//! tag, garbage on the port is dropped and counted without harming any shard, and the
//! combinations that cannot work are refused at start.

use std::net::UdpSocket;
use std::time::Duration;

use sfu::{PeerId, Sfu, SfuConfig, StartError};

const CHROMIUM_OFFER: &str = include_str!("../../signaling/fixtures/sdp/chromium-site-offer.sdp");

fn config() -> SfuConfig {
    SfuConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        announce_ip: None,
        tcp_bind: None,
        priority_boost: 0,
    }
}

fn counter(registry: &prometheus::Registry, name: &str) -> f64 {
    registry
        .gather()
        .iter()
        .filter(|f| f.name() == name)
        .flat_map(|f| f.get_metric().iter())
        .map(|m| m.get_counter().get_value())
        .sum()
}

#[tokio::test]
async fn a_peer_offered_on_a_shard_gets_its_tag_and_garbage_is_counted_not_fatal() {
    let registry = prometheus::Registry::new();
    let (sfu, _events) = Sfu::start_sharded(config(), 2, &registry).unwrap();
    assert_eq!(sfu.shards(), 2);
    let layout = sfu
        .offer_in(1, PeerId(7), CHROMIUM_OFFER.into())
        .await
        .unwrap();
    let ufrag = layout
        .answer_sdp
        .lines()
        .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .expect("the answer has a ufrag");
    assert!(ufrag.starts_with('1'), "shard 1's tag: {ufrag}");
    assert_eq!(sfu.shard_peers(), vec![0, 1]);

    // Garbage, SRTP-looking bytes from an unknown source, a truncated STUN header, and a
    // binding request naming a shard this node does not run (tag '5').
    let mut stun = vec![0x00, 0x01, 0x00, 0x0c, 0x21, 0x12, 0xa4, 0x42];
    stun.extend_from_slice(&[9; 12]);
    stun.extend_from_slice(&[0x00, 0x06, 0x00, 0x06]);
    stun.extend_from_slice(b"5abc:r\0\0");
    let datagrams: [&[u8]; 4] = [
        b"not media at all",
        &[0x80, 0x60, 0, 1, 0, 0],
        &stun[..10],
        &stun,
    ];
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    for d in datagrams {
        sender.send_to(d, sfu.local_addr()).unwrap();
    }
    let name = "diemcau_sfu_udp_unmatched_packets_total";
    for _ in 0..100 {
        if counter(&registry, name) >= 4.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(counter(&registry, name), 4.0);
    assert!(sfu.ping().await, "every shard still answers");
    // The peer still renegotiates on its shard.
    assert!(sfu.offer(PeerId(7), CHROMIUM_OFFER.into()).await.is_ok());
    assert_eq!(sfu.shard_peers(), vec![0, 1]);
    sfu.remove_peer(PeerId(7));
    for _ in 0..100 {
        if sfu.shard_peers() == vec![0, 0] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(sfu.shard_peers(), vec![0, 0]);
    sfu.shutdown();
}

fn ufrag(sdp: &str) -> String {
    sdp.lines()
        .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .expect("a ufrag")
        .to_owned()
}

#[tokio::test]
async fn an_ice_restart_keeps_the_shards_tag_in_the_new_credentials() {
    let registry = prometheus::Registry::new();
    let (sfu, _events) = Sfu::start_sharded(config(), 3, &registry).unwrap();
    let first = sfu
        .offer_in(2, PeerId(1), CHROMIUM_OFFER.into())
        .await
        .unwrap();
    let before = ufrag(&first.answer_sdp);
    assert!(before.starts_with('2'), "{before}");
    // The browser restarts ICE (`createOffer({iceRestart: true})`): new ufrag and password.
    let restart = CHROMIUM_OFFER
        .replace("a=ice-ufrag:/I7j", "a=ice-ufrag:Rst9")
        .replace(
            "a=ice-pwd:zM1CUWYsjOekhjFDr5zEDSah",
            "a=ice-pwd:Qw3rTy7uIo0pAs2dFg4hJk6L",
        );
    let again = sfu.offer(PeerId(1), restart).await.unwrap();
    let after = ufrag(&again.answer_sdp);
    assert_ne!(after, before, "an ICE restart answers with new credentials");
    assert!(after.starts_with('2'), "still shard 2's tag: {after}");
    let ufrags: Vec<&str> = again
        .answer_sdp
        .lines()
        .filter_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .collect();
    assert!(
        ufrags.iter().all(|u| *u == after),
        "every section: {ufrags:?}"
    );
    sfu.shutdown();
}

#[test]
fn ice_tcp_with_several_shards_and_zero_shards_are_refused() {
    let mut tcp = config();
    tcp.tcp_bind = Some("127.0.0.1:0".parse().unwrap());
    let err = Sfu::start_sharded(tcp, 2, &prometheus::Registry::new()).unwrap_err();
    assert!(matches!(err, StartError::TcpWithShards), "{err}");
    let err = Sfu::start_sharded(config(), 0, &prometheus::Registry::new()).unwrap_err();
    assert!(matches!(err, StartError::Shards { shards: 0, .. }), "{err}");
}

#[tokio::test]
async fn a_sharded_node_refuses_to_be_the_receiving_end_of_a_relay_link() {
    let (sfu, _events) = Sfu::start_sharded(config(), 2, &prometheus::Registry::new()).unwrap();
    let spec = sfu::RelaySpec { audio: 1, video: 1 };
    let err = sfu.relay_offer(PeerId(9), spec).await.unwrap_err();
    assert!(matches!(err, sfu::RelayError::Sharded), "{err}");
    assert_eq!(sfu.shard_peers(), vec![0, 0], "no peer was left behind");
    sfu.shutdown();
}
