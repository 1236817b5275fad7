//! Which end of a peer starts the DTLS handshake: the SFU. Pure: SDP text in, SDP text out.
//!
//! Every client here offers `a=setup:actpass`, and str0m answers it `passive`: the client
//! starts the handshake once its ICE agent sees the nominated pair, which webrtc-rs does on
//! its next check tick, ~50 ms later (traced on the smoke run: nomination at +52 ms, the
//! ClientHello at +103 ms). RFC 5763 section 5 recommends the answerer take `active`, and so
//! do browsers and Janus when they answer: the SFU then sends its ClientHello the moment it
//! holds a nominated pair. str0m takes the role opposite the offer's (`actpass` → passive),
//! so the offer it reads says `passive`; the answer it writes then says `active`, which is
//! what an `actpass` offerer accepts.

use std::borrow::Cow;

/// `sdp` with every `a=setup:actpass` line read as `a=setup:passive`, so that str0m answers
/// `active`. Other setup values (an offer that insists on a role) are left as they are.
pub fn answer_active(sdp: &str) -> Cow<'_, str> {
    if !sdp.contains("a=setup:actpass") {
        return Cow::Borrowed(sdp);
    }
    let mut out = String::with_capacity(sdp.len());
    for line in sdp.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\r', '\n']);
        if bare == "a=setup:actpass" {
            out.push_str("a=setup:passive");
            out.push_str(&line[bare.len()..]);
        } else {
            out.push_str(line);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_actpass_offer_is_read_as_passive_in_every_section_and_nothing_else_changes() {
        let offer = "v=0\r\na=setup:actpass\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=setup:actpass\r\na=mid:0\r\n";
        assert_eq!(
            answer_active(offer),
            "v=0\r\na=setup:passive\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=setup:passive\r\na=mid:0\r\n"
        );
    }

    #[test]
    fn an_offer_that_insists_on_a_role_keeps_it() {
        for setup in ["a=setup:active", "a=setup:passive"] {
            let offer = format!("v=0\r\n{setup}\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n");
            assert!(matches!(answer_active(&offer), Cow::Borrowed(_)));
        }
    }

    #[test]
    fn a_line_that_only_starts_like_actpass_is_not_touched() {
        let offer = "v=0\na=setup:actpassive\na=x-setup:actpass\n";
        assert_eq!(answer_active(offer), offer);
    }
}
