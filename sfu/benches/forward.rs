//! Cost of the per-packet forwarding decision: one packet decided for 400 subscriber slots
//! (a chair's camera fanned out to a province meeting), plain and as VP8 with a temporal
//! layer dropped; the RTP rewrite of one slot on its own (sequence number and timestamp, and
//! with VP8 PictureID/TL0PICIDX); and the keyframe check on VP8.

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sfu::codec::{is_keyframe_start, VideoCodec};
use sfu::forward::{DownTrack, PacketMeta};
use sfu::rewrite::{Numbering, Rewriter};
use sfu::vp8::{Descriptor, PictureId};
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
        vp8: None,
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
                vp8: None,
            };
            for d in &mut slots {
                black_box(d.decide(black_box(&pkt), active, now));
            }
        })
    });
    // The same fan-out of a Chromium-like VP8 stream (L1T3) with every slot at T1: the
    // descriptor is read per slot and one packet in four is skipped in the numbering.
    let mut vp8_slots: Vec<DownTrack> = (0..400)
        .map(|_| {
            let mut d = DownTrack::new();
            d.set_source(Layer::High);
            d.set_temporal_target(1);
            d
        })
        .collect();
    let vp8_packet = |seq: u64, key: bool| {
        // Two packets a frame, TIDs 0 2 1 2.
        let frame = seq / 2;
        let tid = [0u8, 2, 1, 2][(frame % 4) as usize];
        PacketMeta {
            layer: Some(Layer::High),
            seq,
            ts: (frame * 3000) as u32,
            switch_point: key,
            clock_rate: 90_000,
            vp8: Some(Descriptor {
                frame_start: seq.is_multiple_of(2),
                keyframe: key,
                picture_id: Some(PictureId {
                    value: (frame % 0x8000) as u16,
                    long: true,
                }),
                tl0_pic_idx: Some((frame / 4) as u8),
                tid: Some(tid),
                layer_sync: false,
            }),
        }
    };
    for d in &mut vp8_slots {
        d.decide(&vp8_packet(0, true), active, now);
    }
    let mut seq = 0u64;
    group.bench_function("one_vp8_t1_packet_to_400_slots", |b| {
        b.iter(|| {
            seq += 1;
            let pkt = vp8_packet(seq, false);
            for d in &mut vp8_slots {
                black_box(d.decide(black_box(&pkt), active, now));
            }
        })
    });
    group.finish();
}

fn rewrite(c: &mut Criterion) {
    let now = Instant::now();
    let mut group = c.benchmark_group("rewrite");
    let mut plain = Rewriter::new();
    plain.start(&Numbering::rtp(1000, 0), 90_000, now);
    let mut seq = 1000u64;
    group.bench_function("rtp_one_packet", |b| {
        b.iter(|| {
            seq += 1;
            black_box(plain.rewrite(black_box(&Numbering::rtp(seq, seq as u32 * 3000)), now))
        })
    });
    let mut vp8 = Rewriter::new();
    let first = Numbering {
        seq: 1000,
        ts: 0,
        picture_id: Some(PictureId {
            value: 100,
            long: true,
        }),
        tl0_pic_idx: Some(7),
    };
    vp8.start(&first, 90_000, now);
    let mut n = 0u64;
    group.bench_function("vp8_one_packet", |b| {
        b.iter(|| {
            n += 1;
            let pkt = Numbering {
                seq: 1000 + n,
                ts: n as u32 * 3000,
                picture_id: Some(PictureId {
                    value: ((100 + n) % 0x8000) as u16,
                    long: true,
                }),
                tl0_pic_idx: Some(((7 + n / 4) % 256) as u8),
            };
            black_box(vp8.rewrite(black_box(&pkt), now))
        })
    });
    group.finish();
}

fn keyframe_check(c: &mut Criterion) {
    let delta = [
        0x90u8,
        0x80,
        0x80 | 0x12,
        0x34,
        0x11,
        0x02,
        0x00,
        0x9d,
        0x01,
        0x2a,
    ];
    c.bench_function("vp8_keyframe_check", |b| {
        b.iter(|| is_keyframe_start(VideoCodec::Vp8, black_box(&delta)))
    });
}

criterion_group!(benches, fan_out, rewrite, keyframe_check);
criterion_main!(benches);
