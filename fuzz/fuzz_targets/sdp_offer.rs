//! libFuzzer entry point; the target itself (input format, properties) is
//! `diemcau_fuzz_targets::sdp_offer` in `../targets/src/sdp_offer.rs`, which the test command also
//! replays every committed corpus file through.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| diemcau_fuzz_targets::sdp_offer::run(data));
