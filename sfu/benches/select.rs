//! Cost of one layer-selection round for the hall: 25 grid tiles, a presentation and a floor
//! holder, run every 250 ms per subscriber.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use sfu::rate::LayerRates;
use sfu::select::{Demand, Selector, SelectorConfig};
use sfu::Layer;

fn hall(c: &mut Criterion) {
    // Simulcast with three temporal layers each (as Chromium sends VP8), and an unlayered
    // screen share.
    let l1t3 = |full: u64| LayerRates::cumulative(&[full * 2 / 5, full * 3 / 5, full]);
    let rates = [l1t3(150_000), l1t3(500_000), l1t3(1_500_000)];
    let mut demands = vec![Demand {
        priority: 0,
        max: Layer::High,
        layer_bps: [Some(LayerRates::full(1_200_000)), None, None],
    }];
    demands.push(Demand {
        priority: 1,
        max: Layer::Mid,
        layer_bps: rates,
    });
    demands.extend((0..25).map(|_| Demand {
        priority: 2,
        max: Layer::Low,
        layer_bps: rates,
    }));
    let mut s = Selector::new(SelectorConfig::default());
    let t0 = Instant::now();
    let mut i = 0u64;
    c.bench_function("select_hall_27_slots", |b| {
        b.iter(|| {
            i += 1;
            // An estimate that moves, so both the down and the up paths run.
            let est = if (i / 50).is_multiple_of(2) {
                6_000_000
            } else {
                2_500_000
            };
            black_box(s.select(
                black_box(est),
                0.0,
                &demands,
                t0 + Duration::from_millis(i * 250),
            ))
        })
    });
}

criterion_group!(benches, hall);
criterion_main!(benches);
