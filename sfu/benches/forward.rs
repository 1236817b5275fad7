//! Cost of the per-packet forwarding decision: one packet decided for 400 subscriber slots
//! (a chair's camera fanned out to a province meeting), and the keyframe check on VP8.

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sfu::codec::{is_keyframe_start, VideoCodec};
use sfu::forward::{DownTrack, PacketMeta};
use sfu::{Layer, LayerSet};

fn fan_out(c: &mut Criterion) {
    let now = Instant::now();
    let mut active = LayerSet::EMPTY;
    Layer::ALL.iter().for_each(|l| active.insert(*l));
    let mut slots: Vec<DownTrack> = (0..400)
        .map(|_| {
            let mut d = DownTrack::new();
            d.set_source(Layer::High);
            d
        })
        .collect();
    let start = PacketMeta {
        layer: Some(Layer::High),
        seq: 1,
        ts: 0,
        switch_point: true,
        clock_rate: 90_000,
    };
    for d in &mut slots {
        d.decide(&start, active, now);
    }
    let mut seq = 1u64;
    let mut group = c.benchmark_group("decide");
    group.throughput(Throughput::Elements(slots.len() as u64));
    group.bench_function("one_packet_to_400_slots", |b| {
        b.iter(|| {
            seq += 1;
            let pkt = PacketMeta {
                layer: Some(Layer::High),
                seq,
                ts: (seq * 3000) as u32,
                switch_point: false,
                clock_rate: 90_000,
            };
            for d in &mut slots {
                black_box(d.decide(black_box(&pkt), active, now));
            }
        })
    });
    group.finish();
}

fn keyframe_check(c: &mut Criterion) {
    let delta = [0x90u8, 0x80, 0x80 | 0x12, 0x34, 0x11, 0x02, 0x00, 0x9d, 0x01, 0x2a];
    c.bench_function("vp8_keyframe_check", |b| {
        b.iter(|| is_keyframe_start(VideoCodec::Vp8, black_box(&delta)))
    });
}

criterion_group!(benches, fan_out, keyframe_check);
criterion_main!(benches);
