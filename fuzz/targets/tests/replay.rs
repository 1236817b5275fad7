//! Every committed corpus file through its fuzz target, once: the test command's fuzz step.
//! Deterministic (no exploration: libFuzzer's random search runs only in `scripts/fuzz.sh`),
//! and it fails on any input that panics or breaks a target's property, naming the file.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

/// Runs `run` on every file of `fuzz/corpus/<target>/` and lists the ones that fail.
fn replay(target: &str, run: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "corpus {} is empty", dir.display());
    let mut failed = Vec::new();
    for f in &files {
        let data = std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        if catch_unwind(AssertUnwindSafe(|| run(&data))).is_err() {
            failed.push(f.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: {} of {} corpus inputs fail: {failed:?}",
        failed.len(),
        files.len()
    );
    eprintln!("{target}: {} corpus inputs pass", files.len());
}

#[test]
fn every_rtp_forward_corpus_input_keeps_the_forwarding_properties() {
    replay("rtp_forward", diemcau_fuzz_targets::rtp_forward::run);
}

#[test]
fn every_sdp_offer_corpus_input_leaves_the_media_plane_running() {
    replay("sdp_offer", diemcau_fuzz_targets::sdp_offer::run);
}

#[test]
fn every_signaling_message_corpus_input_is_parsed_or_refused_cleanly() {
    replay(
        "signaling_message",
        diemcau_fuzz_targets::signaling_message::run,
    );
}
