//! The fuzz targets' bodies: each `run` takes one input and panics when it breaks a property
//! the target states. libFuzzer explores with them (`fuzz/fuzz_targets/`, `scripts/fuzz.sh`);
//! `tests/replay.rs` replays every committed corpus file through the same functions, so the
//! test command checks the corpora deterministically without an instrumented build.

pub mod rtp_forward;
pub mod sdp_offer;
pub mod signaling_message;

// Compiled from signaling's own files, not the whole crate (see Cargo.toml). At the crate
// root because they name each other as `crate::protocol`.
#[allow(dead_code)]
#[path = "../../../signaling/src/limits.rs"]
mod limits;
#[allow(dead_code)]
#[path = "../../../signaling/src/protocol.rs"]
mod protocol;
#[allow(dead_code)]
#[path = "../../../signaling/src/token.rs"]
mod token;
