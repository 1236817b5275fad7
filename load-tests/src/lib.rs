//! diemcau load tests: simulated sites built on webrtc-rs (an implementation independent of
//! the SFU's str0m, so every load test is also an interoperability test), and the scenario
//! runner that starts a server, ramps sites into a meeting, changes the floor, and reports.
//!
//! Layers, leaf first: [`payload`] (the synthetic media format), [`synth`] (the synthetic
//! encoder), [`meter`] (what a receiver measures), [`peer`] (webrtc-rs), [`pacer`] (one shared
//! timer drives every publisher), [`target`] (the system under test and its signaling;
//! [`janus`] is the second one, for side-by-side runs),
//! [`tap`] (the light receiver: headers counted, a sample decrypted),
//! [`site`] (one simulated site), [`server`], [`scrape`], [`scenario`], [`runner`],
//! [`report`], [`chart`], [`steady`] (the soak verdict), [`grid`] (the hall's grid pages, checked).

#![warn(missing_docs)]

pub mod chart;
pub mod clock;
pub mod grid;
pub mod hog;
pub mod janus;
pub mod meter;
pub mod pacer;
pub mod payload;
pub mod peer;
pub mod report;
pub mod result;
pub mod runner;
pub mod scenario;
pub mod scrape;
pub mod server;
pub mod site;
pub mod steady;
pub mod synth;
pub mod tap;
pub mod target;
pub mod timeline;
pub mod whip;
