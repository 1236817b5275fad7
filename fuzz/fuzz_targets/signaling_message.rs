//! libFuzzer entry point; the target itself (input format, properties) is
//! `diemcau_fuzz_targets::signaling_message` in `../targets/src/signaling_message.rs`, which the test command also
//! replays every committed corpus file through.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| diemcau_fuzz_targets::signaling_message::run(data));
