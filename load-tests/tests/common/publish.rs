//! A simulated site's publishing, as the WHIP/WHEP and recording tests drive it: once its
//! tracks are negotiated, its synthetic microphone and three camera layers go out on a pacer,
//! and the SFU's keyframe requests are answered (keyframes only on request, as a browser).

use std::time::Duration;

use load_tests::pacer::{Entry, Pacer, Publisher as Control};
use load_tests::payload::Layer;
use load_tests::peer::Peer;
use load_tests::synth::{AudioSynth, VideoSynth};

/// Starts `peer` publishing as `source`; the media stops when the pacer is dropped.
pub async fn publish(peer: &Peer, source: u16) -> Pacer {
    let mut ids = None;
    for _ in 0..200 {
        if let Ok(x) = peer.stream_ids().await {
            if x.1[0].payload_type != 0 {
                ids = Some(x);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (mic, [q, h, f]) = ids.expect("the site's tracks were negotiated");
    let pacer = Pacer::start();
    let control = Control::new(true);
    // Keyframes only on request, as a browser: the SFU's requests are answered.
    let (c, layers) = (control.clone(), peer.camera_ssrcs);
    tokio::spawn(load_tests::peer::keyframe_requests(
        peer.camera.clone(),
        move |ssrc| {
            if let Some(l) = Layer::ALL.into_iter().find(|l| layers[l.index()] == ssrc) {
                c.request_keyframe(l);
            }
        },
    ));
    pacer.register(Entry {
        control,
        mic: peer.mic.clone(),
        camera: peer.camera.clone(),
        audio: AudioSynth::new(source, mic),
        video: [
            VideoSynth::new(source, Layer::Low, q, 0),
            VideoSynth::new(source, Layer::Mid, h, 0),
            VideoSynth::new(source, Layer::High, f, 0),
        ],
    });
    pacer
}
