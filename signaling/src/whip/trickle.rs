//! What a `PATCH` with an `application/trickle-ice-sdpfrag` body asks (RFC 8840 fragment,
//! RFC 9725 section 4.3): more candidates for the running session (trickle), or an ICE
//! restart. Pure: the fragment and the `If-Match` header in, the decision out.
//!
//! Trickle is taken; an ICE restart is not (`422`, as RFC 9725 says for a session that
//! supports one of the two): the server is ICE-lite with one host candidate per transport,
//! so a restart would find the same path, and an encoder that lost its network publishes
//! again with `DELETE` + `POST` as every WHIP client does after a failure.

/// Most candidate lines one `PATCH` may carry.
pub const MAX_CANDIDATES: usize = 32;

/// What the fragment asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Patch {
    /// Add these candidate lines (`candidate:...`, without `a=`); possibly none (an
    /// end-of-candidates alone).
    Trickle(Vec<String>),
    /// An ICE restart (`If-Match: *`): refused with 422.
    Restart,
}

/// Why a fragment was refused (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FragmentError {
    /// A line that is not `<letter>=<value>`.
    #[error("line {0} of the fragment is not an SDP line (`<letter>=<value>`)")]
    Syntax(usize),
    /// Too many candidates.
    #[error("the fragment carries more than {MAX_CANDIDATES} candidates")]
    TooMany,
}

/// Reads a fragment. `if_match` is the request's `If-Match` value.
pub fn read(fragment: &str, if_match: Option<&str>) -> Result<Patch, FragmentError> {
    if if_match.map(str::trim) == Some("*") {
        return Ok(Patch::Restart);
    }
    let mut candidates = Vec::new();
    for (i, raw) in fragment.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let b = line.as_bytes();
        if b.len() < 2 || !b[0].is_ascii_lowercase() || b[1] != b'=' {
            return Err(FragmentError::Syntax(i + 1));
        }
        if let Some(c) = line.strip_prefix("a=candidate:") {
            if candidates.len() == MAX_CANDIDATES {
                return Err(FragmentError::TooMany);
            }
            candidates.push(format!("candidate:{c}"));
        }
    }
    Ok(Patch::Trickle(candidates))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAG: &str = "a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\na=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw network-id 1\r\na=end-of-candidates\r\n";

    #[test]
    fn a_trickle_fragment_yields_its_candidates() {
        let Ok(Patch::Trickle(c)) = read(FRAG, Some("\"abc\"")) else {
            panic!("{:?}", read(FRAG, None))
        };
        assert_eq!(c.len(), 1);
        assert!(c[0].starts_with("candidate:1387637174 1 udp"));
        assert_eq!(
            read("a=end-of-candidates\r\n", None),
            Ok(Patch::Trickle(vec![]))
        );
    }

    #[test]
    fn if_match_star_is_an_ice_restart() {
        assert_eq!(read(FRAG, Some("*")), Ok(Patch::Restart));
    }

    #[test]
    fn garbage_and_floods_are_refused() {
        assert_eq!(read("hello\r\n", None), Err(FragmentError::Syntax(1)));
        let flood = "a=candidate:1 1 udp 1 192.0.2.1 1 typ host\r\n".repeat(MAX_CANDIDATES + 1);
        assert_eq!(read(&flood, None), Err(FragmentError::TooMany));
    }
}
