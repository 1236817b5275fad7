//! Which streams a site's decrypting peer connection has proven: a leaf, so the site's
//! receive path (`site`) can mark them without importing the tap that reads them.

use std::sync::{Arc, Mutex};

/// SSRCs whose payload the decrypting peer connection has proven (the first keyframe of a
/// video stream, the first parsed audio packet): from then on only a sample is forwarded.
#[derive(Debug, Clone, Default)]
pub struct Proven(Arc<Mutex<Vec<u32>>>);

impl Proven {
    /// Records that `ssrc`'s payload parsed.
    pub fn mark(&self, ssrc: u32) {
        let mut v = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !v.contains(&ssrc) {
            v.push(ssrc);
        }
    }

    /// Whether `ssrc` is proven.
    pub fn contains(&self, ssrc: u32) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&ssrc)
    }
}
