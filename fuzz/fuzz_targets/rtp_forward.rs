//! libFuzzer entry point; the target itself (input format, properties) is
//! `diemcau_fuzz_targets::rtp_forward` in `../targets/src/rtp_forward.rs`, which the test command also
//! replays every committed corpus file through.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| diemcau_fuzz_targets::rtp_forward::run(data));
