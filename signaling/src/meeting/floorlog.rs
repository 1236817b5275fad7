//! Who held the floor when: a span per holding, opened when a site becomes a floor holder
//! and closed when it stops (revoked, left, removed, the meeting ended), whatever input
//! caused it — [`super::State::apply`] compares the holders before and after every input.
//! Kept in the snapshot; read by the minutes ([`crate::minutes`]).

use serde::{Deserialize, Serialize};

/// Most spans kept per meeting (a long meeting with a busy floor stays bounded).
pub const MAX_SPANS: usize = 2000;

/// One site's holding of the floor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// The site.
    pub site_id: String,
    /// When it got the floor, Unix milliseconds.
    pub from_ms: u64,
    /// When it lost it; `None` while it holds it.
    pub to_ms: Option<u64>,
}

/// Records the change of holders from `before` to `after` at `now_ms`.
pub fn track(log: &mut Vec<Span>, before: &[String], after: &[String], now_ms: u64) {
    for gone in before.iter().filter(|s| !after.contains(s)) {
        if let Some(span) = log
            .iter_mut()
            .rev()
            .find(|s| &s.site_id == gone && s.to_ms.is_none())
        {
            span.to_ms = Some(now_ms.max(span.from_ms));
        }
    }
    for new in after.iter().filter(|s| !before.contains(s)) {
        if log.len() == MAX_SPANS {
            log.remove(0);
        }
        log.push(Span {
            site_id: new.clone(),
            from_ms: now_ms,
            to_ms: None,
        });
    }
}

/// Closes every open span at `at_ms` (the server went away).
pub fn close_all(log: &mut [Span], at_ms: u64) {
    for span in log.iter_mut().filter(|s| s.to_ms.is_none()) {
        span.to_ms = Some(at_ms.max(span.from_ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_opens_a_span_and_a_revoke_closes_only_that_one() {
        let mut log = Vec::new();
        let (a, b) = ("s1".to_owned(), "s2".to_owned());
        let (only_a, both, only_b) = (vec![a.clone()], vec![a.clone(), b.clone()], vec![b.clone()]);
        track(&mut log, &[], &only_a, 1_000);
        track(&mut log, &only_a, &both, 2_000);
        track(&mut log, &both, &only_b, 5_000);
        assert_eq!(
            log,
            [
                Span {
                    site_id: a,
                    from_ms: 1_000,
                    to_ms: Some(5_000)
                },
                Span {
                    site_id: b,
                    from_ms: 2_000,
                    to_ms: None
                }
            ]
        );
        close_all(&mut log, 9_000);
        assert_eq!(log[1].to_ms, Some(9_000));
    }
}
