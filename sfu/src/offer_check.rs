//! What an offer must hold before the WebRTC stack sees it (signaling/PROTOCOL.md, "Media
//! layout"). Pure: text in, the first problem out.
//!
//! Why a check of our own: str0m's parse errors are parser internals (`PointerOffset(0x7f…)`,
//! a process address) and its acceptance is wider than what the SFU can use (an offer
//! without BUNDLE or rtcp-mux, a receive slot before the sending sections, audio without
//! Opus). Each refusal here names the line or section and what it lacks, so a client author
//! can fix the offer from the message alone.

/// The first thing wrong with an offer, worded for the client that sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfferProblem {
    /// A line is not `<letter>=<value>`.
    #[error("line {line} is not an SDP line (`<letter>=<value>`): {text:?}")]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// The line, cut to 40 characters.
        text: String,
    },
    /// The first line is not `v=0`.
    #[error("an SDP offer starts with `v=0`")]
    NoVersion,
    /// No `m=` line.
    #[error("offer has no media sections (`m=` lines)")]
    NoMedia,
    /// An `m=` line without kind, port, protocol and formats.
    #[error("line {line}: an `m=` line is `m=<audio|video> <port> <protocol> <payload types…>`")]
    BadMediaLine {
        /// 1-based line number.
        line: usize,
    },
    /// A media kind other than audio or video.
    #[error("media section {section} is `{kind}`; only `audio` and `video` are used")]
    Kind {
        /// 0-based section index.
        section: usize,
        /// The kind as offered.
        kind: String,
    },
    /// A media section without `a=mid`.
    #[error("media section {section} has no `a=mid`")]
    NoMid {
        /// 0-based section index.
        section: usize,
    },
    /// No `a=group:BUNDLE`, or a section outside it.
    #[error("every media section must be in `a=group:BUNDLE` (one transport); mid {mid:?} is not")]
    NotBundled {
        /// The section's mid.
        mid: String,
    },
    /// A section without `a=rtcp-mux`.
    #[error("media section mid {mid:?} has no `a=rtcp-mux` (RTP and RTCP share the one port)")]
    NoRtcpMux {
        /// The section's mid.
        mid: String,
    },
    /// Missing ICE credentials or DTLS fingerprint.
    #[error("offer has no `a={what}` (at session level or in the first bundled section)")]
    NoTransport {
        /// `ice-ufrag`, `ice-pwd` or `fingerprint`.
        what: &'static str,
    },
    /// An audio section without Opus.
    #[error(
        "audio section mid {mid:?} does not offer Opus (`opus/48000/2`), the only audio codec"
    )]
    NoOpus {
        /// The section's mid.
        mid: String,
    },
    /// A video section with neither VP8 nor H.264.
    #[error("video section mid {mid:?} offers neither VP8 nor H264")]
    NoVideoCodec {
        /// The section's mid.
        mid: String,
    },
    /// A section without the `sdes:mid` header extension.
    #[error("media section mid {mid:?} does not offer the RTP header extension `urn:ietf:params:rtp-hdrext:sdes:mid`")]
    NoMidExtension {
        /// The section's mid.
        mid: String,
    },
    /// The camera section without its three simulcast encodings.
    #[error("the camera section (mid {mid:?}, the first sending video) must send simulcast rids q, h and f (`a=simulcast:send q;h;f` with `a=rid:<id> send`) and offer `urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id`")]
    NoSimulcast {
        /// The section's mid.
        mid: String,
    },
    /// The first section is not the sending audio section.
    #[error(
        "the first media section must be the microphone: `audio`, `sendonly` or `sendrecv` (even with no track)"
    )]
    FirstNotMicrophone,
    /// A WHIP publisher's section that receives, or a WHEP player's section that sends.
    #[error("media section mid {mid:?} is `{direction}`; {expected}")]
    WrongDirection {
        /// The section's mid.
        mid: String,
        /// Its direction as offered (`sendonly` when none is given).
        direction: String,
        /// What the endpoint takes.
        expected: &'static str,
    },
    /// A WHIP offer with a second audio or a third video section.
    #[error("a WHIP offer publishes at most one audio and one video section; mid {mid:?} is one too many")]
    TooManyIngestSections {
        /// The section's mid.
        mid: String,
    },
    /// A WHIP video section with simulcast rids other than q, h, f.
    #[error("video section mid {mid:?} sends simulcast; the rids must be q, h and f (low, mid, high) with `urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id`, or send one encoding without simulcast")]
    IngestSimulcast {
        /// The section's mid.
        mid: String,
    },
    /// A sending section after a receive slot.
    #[error("media section mid {mid:?} sends after a receive slot; sending sections come first")]
    SendAfterReceive {
        /// The section's mid.
        mid: String,
    },
}

/// One `m=` section as the check sees it.
#[derive(Default)]
struct Section {
    kind: String,
    mid: Option<String>,
    rejected: bool,
    direction: Option<String>,
    rtcp_mux: bool,
    ufrag: bool,
    pwd: bool,
    fingerprint: bool,
    codecs: Vec<String>,
    extensions: Vec<String>,
    rids: Vec<String>,
    simulcast: Option<String>,
}

const MID_EXT: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
const RID_EXT: &str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";

/// Who sends an offer, which fixes the layout it must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// A site's browser: microphone, simulcast camera, screen, then receive slots.
    #[default]
    Site,
    /// A WHIP publisher (a hall's encoder or OBS): sending sections only, at most one audio
    /// and one video; simulcast optional (rids q, h, f when offered).
    Ingest,
    /// A WHEP player: receiving sections only.
    Viewer,
}

/// Checks a site's offer ([`Profile::Site`]); `Ok` means the WebRTC stack may parse it.
pub fn check_offer(sdp: &str) -> Result<(), OfferProblem> {
    check_offer_as(sdp, Profile::Site)
}

/// Checks an offer's structure for `profile`; `Ok` means the WebRTC stack may parse it.
pub fn check_offer_as(sdp: &str, profile: Profile) -> Result<(), OfferProblem> {
    let mut session = Section::default();
    let mut bundle: Option<Vec<String>> = None;
    let mut sections: Vec<Section> = Vec::new();
    for (i, raw) in sdp.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let b = line.as_bytes();
        if b.len() < 2 || !b[0].is_ascii_lowercase() || b[1] != b'=' {
            return Err(OfferProblem::Syntax {
                line: i + 1,
                text: line.chars().take(40).collect(),
            });
        }
        if i == 0 && line != "v=0" {
            return Err(OfferProblem::NoVersion);
        }
        let value = &line[2..];
        if b[0] == b'm' {
            let parts: Vec<&str> = value.split_whitespace().collect();
            if parts.len() < 4 || parts[1].parse::<u16>().is_err() {
                return Err(OfferProblem::BadMediaLine { line: i + 1 });
            }
            sections.push(Section {
                kind: parts[0].to_owned(),
                rejected: parts[1] == "0",
                ..Section::default()
            });
            continue;
        }
        if b[0] != b'a' {
            continue;
        }
        let target = sections.last_mut().unwrap_or(&mut session);
        let (name, arg) = value.split_once(':').unwrap_or((value, ""));
        match name {
            "mid" => target.mid = Some(arg.trim().to_owned()),
            "rtcp-mux" => target.rtcp_mux = true,
            "ice-ufrag" => target.ufrag = true,
            "ice-pwd" => target.pwd = true,
            "fingerprint" => target.fingerprint = true,
            "sendonly" | "recvonly" | "sendrecv" | "inactive" => {
                target.direction = Some(name.to_owned())
            }
            "rtpmap" => {
                if let Some(codec) = arg.split_whitespace().nth(1) {
                    target.codecs.push(codec.to_ascii_lowercase());
                }
            }
            "extmap" => {
                if let Some(uri) = arg.split_whitespace().nth(1) {
                    target.extensions.push(uri.to_owned());
                }
            }
            "rid" => {
                let mut it = arg.split_whitespace();
                if let (Some(id), Some("send")) = (it.next(), it.next()) {
                    target.rids.push(id.to_owned());
                }
            }
            "simulcast" => target.simulcast = Some(arg.trim().to_owned()),
            "group" => {
                if let Some(mids) = arg.strip_prefix("BUNDLE") {
                    bundle = Some(mids.split_whitespace().map(str::to_owned).collect());
                }
            }
            _ => {}
        }
    }
    if sections.is_empty() {
        return Err(OfferProblem::NoMedia);
    }
    let sends = |s: &Section| {
        let d = s.direction.as_deref().or(session.direction.as_deref());
        !s.rejected && matches!(d, None | Some("sendonly") | Some("sendrecv"))
    };
    if profile == Profile::Site && (sections[0].kind != "audio" || !sends(&sections[0])) {
        return Err(OfferProblem::FirstNotMicrophone);
    }
    // Under BUNDLE the transport attributes may be given once, for every section.
    let anywhere = |f: fn(&Section) -> bool| f(&session) || sections.iter().any(f);
    for (has, what) in [
        (anywhere(|s| s.ufrag), "ice-ufrag"),
        (anywhere(|s| s.pwd), "ice-pwd"),
        (anywhere(|s| s.fingerprint), "fingerprint"),
    ] {
        if !has {
            return Err(OfferProblem::NoTransport { what });
        }
    }
    let mut receiving = false;
    let mut camera_seen = false;
    let mut counts = (0usize, 0usize);
    for (n, s) in sections.iter().enumerate() {
        if s.kind != "audio" && s.kind != "video" {
            return Err(OfferProblem::Kind {
                section: n,
                kind: s.kind.chars().take(20).collect(),
            });
        }
        let Some(mid) = s.mid.clone() else {
            return Err(OfferProblem::NoMid { section: n });
        };
        if s.rejected {
            continue;
        }
        if !bundle.as_ref().is_some_and(|b| b.contains(&mid)) {
            return Err(OfferProblem::NotBundled { mid });
        }
        if !s.rtcp_mux {
            return Err(OfferProblem::NoRtcpMux { mid });
        }
        let has = |c: &str| s.codecs.iter().any(|x| x.starts_with(c));
        if s.kind == "audio" && !has("opus/48000") {
            return Err(OfferProblem::NoOpus { mid });
        }
        if s.kind == "video" && !has("vp8/") && !has("h264/") {
            return Err(OfferProblem::NoVideoCodec { mid });
        }
        if !s.extensions.iter().any(|e| e == MID_EXT) {
            return Err(OfferProblem::NoMidExtension { mid });
        }
        if profile != Profile::Site {
            endpoint_section(s, &mid, sends(s), profile, &mut counts)?;
            continue;
        }
        if s.kind == "video" && sends(s) && !camera_seen {
            camera_seen = true;
            if !simulcast_qhf(s) {
                return Err(OfferProblem::NoSimulcast { mid });
            }
        }
        if sends(s) {
            if receiving {
                return Err(OfferProblem::SendAfterReceive { mid });
            }
        } else {
            receiving = true;
        }
    }
    Ok(())
}

/// A WHIP or WHEP section: its direction fits the endpoint; a publisher sends one audio and
/// one video at most (a hall's mixer has one program out), simulcast only as q, h, f (the
/// layers the SFU forwards by name). `counts` is (audio, video) seen so far.
fn endpoint_section(
    s: &Section,
    mid: &str,
    sends: bool,
    profile: Profile,
    counts: &mut (usize, usize),
) -> Result<(), OfferProblem> {
    let direction = || s.direction.clone().unwrap_or_else(|| "sendonly".into());
    match profile {
        Profile::Ingest => {
            if !sends {
                return Err(OfferProblem::WrongDirection {
                    mid: mid.to_owned(),
                    direction: direction(),
                    expected: "a WHIP publisher's sections send (`sendonly`)",
                });
            }
            let n = if s.kind == "audio" {
                &mut counts.0
            } else {
                &mut counts.1
            };
            *n += 1;
            if *n > 1 {
                return Err(OfferProblem::TooManyIngestSections {
                    mid: mid.to_owned(),
                });
            }
            if s.kind == "video"
                && (s.simulcast.is_some() || !s.rids.is_empty())
                && !simulcast_qhf(s)
            {
                return Err(OfferProblem::IngestSimulcast {
                    mid: mid.to_owned(),
                });
            }
        }
        Profile::Viewer => {
            if s.direction.as_deref() != Some("recvonly") {
                return Err(OfferProblem::WrongDirection {
                    mid: mid.to_owned(),
                    direction: direction(),
                    expected: "a WHEP player's sections are `recvonly`",
                });
            }
        }
        Profile::Site => {}
    }
    Ok(())
}

/// Whether a section sends the camera's three layers: rids q, h and f, each declared
/// `a=rid:<id> send` and listed in `a=simulcast:send` (any order), with the rid extension.
fn simulcast_qhf(s: &Section) -> bool {
    let Some(list) = s.simulcast.as_deref().and_then(|v| v.strip_prefix("send ")) else {
        return false;
    };
    let listed: Vec<&str> = list
        .split([';', ',', ' '])
        .map(|r| r.trim_start_matches('~'))
        .collect();
    ["q", "h", "f"]
        .iter()
        .all(|r| listed.contains(r) && s.rids.iter().any(|x| x == r))
        && s.extensions.iter().any(|e| e == RID_EXT)
}

/// A refusal from the WebRTC stack, fit to send: its own sentences pass ("remote sdp:
/// Changed a=sctp-init…"), anything that looks like a Debug dump or an address does not.
pub fn stack_refusal(text: &str) -> String {
    let internal = text.contains("0x")
        || text
            .chars()
            .any(|c| matches!(c, '{' | '}' | '(' | ')' | '[' | ']'))
        || text.len() > 160;
    if internal {
        "the offer's payload types or attributes cannot be negotiated".into()
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROMIUM: &str = include_str!("../../signaling/fixtures/sdp/chromium-site-offer.sdp");

    #[test]
    fn the_captured_chromium_offer_passes() {
        assert_eq!(check_offer(CHROMIUM), Ok(()));
    }

    #[test]
    fn an_offer_without_bundle_is_refused_naming_the_first_section() {
        let sdp = CHROMIUM.replace("a=group:BUNDLE", "a=group:LS");
        assert_eq!(
            check_offer(&sdp),
            Err(OfferProblem::NotBundled { mid: "0".into() })
        );
    }

    #[test]
    fn a_stack_refusal_with_debug_text_or_an_address_is_replaced() {
        assert_eq!(
            stack_refusal("remote sdp: missing a=fingerprint"),
            "remote sdp: missing a=fingerprint"
        );
        let debug = stack_refusal("Unexpected PointerOffset(0x7f3a5c000b20)");
        assert!(
            !debug.contains("0x") && !debug.contains("Pointer"),
            "{debug}"
        );
    }

    #[test]
    fn a_camera_without_the_three_simulcast_rids_is_refused() {
        let sdp = CHROMIUM.replace("a=simulcast:send q;h;f", "a=simulcast:send q;h");
        assert!(
            matches!(check_offer(&sdp), Err(OfferProblem::NoSimulcast { .. })),
            "{:?}",
            check_offer(&sdp)
        );
        let sdp = CHROMIUM.replace("a=simulcast:send q;h;f", "a=simulcast:send f;h;q");
        assert_eq!(check_offer(&sdp), Ok(()));
    }

    #[test]
    fn garbage_names_its_line() {
        assert_eq!(
            check_offer("v=0\r\nthis is not sdp\r\n"),
            Err(OfferProblem::Syntax {
                line: 2,
                text: "this is not sdp".into()
            })
        );
    }

    #[test]
    fn a_receive_slot_alone_or_before_sending_is_a_wrong_layout() {
        let head = CHROMIUM.find("m=").unwrap();
        let recv_video = CHROMIUM[head..]
            .split("m=")
            .find(|s| s.starts_with("video") && s.contains("a=recvonly"))
            .unwrap();
        let alone = format!("{}m={recv_video}", &CHROMIUM[..head]);
        assert_eq!(check_offer(&alone), Err(OfferProblem::FirstNotMicrophone));
        let send_video = CHROMIUM[head..]
            .split("m=")
            .find(|s| s.starts_with("video") && s.contains("a=sendonly"))
            .unwrap();
        let audio = CHROMIUM[head..].split("m=").nth(1).unwrap();
        let swapped = format!(
            "{}m={audio}m={}m={send_video}",
            &CHROMIUM[..head],
            recv_video
        );
        assert!(
            matches!(
                check_offer(&swapped),
                Err(OfferProblem::SendAfterReceive { .. })
            ),
            "{:?}",
            check_offer(&swapped)
        );
    }

    /// The captured offer's session part followed by its sections that `keep` picks.
    fn sections_of(keep: impl Fn(usize, &str) -> bool) -> String {
        let head = CHROMIUM.find("m=").unwrap();
        let mut out = CHROMIUM[..head].to_owned();
        for (i, sec) in CHROMIUM[head..].split("m=").skip(1).enumerate() {
            if keep(i, sec) {
                out.push_str("m=");
                out.push_str(sec);
            }
        }
        out
    }

    #[test]
    fn a_whip_offer_of_microphone_and_camera_passes_and_a_screen_more_is_refused() {
        let whip = sections_of(|i, _| i < 2);
        assert_eq!(check_offer_as(&whip, Profile::Ingest), Ok(()));
        let unlayered = whip
            .lines()
            .filter(|l| !l.starts_with("a=rid:") && !l.starts_with("a=simulcast:"))
            .collect::<Vec<_>>()
            .join("\r\n");
        assert_eq!(check_offer_as(&unlayered, Profile::Ingest), Ok(()));
        assert!(
            matches!(
                check_offer_as(
                    &sections_of(|i, _| i < 3).replacen("a=recvonly", "a=sendonly", 1),
                    Profile::Ingest
                ),
                Err(OfferProblem::TooManyIngestSections { .. })
            ),
            "the screen is a second video"
        );
        let odd_rids = whip.replace("a=rid:q send", "a=rid:0 send");
        assert!(matches!(
            check_offer_as(&odd_rids, Profile::Ingest),
            Err(OfferProblem::IngestSimulcast { .. })
        ));
    }

    #[test]
    fn a_whip_offer_with_a_receive_slot_is_refused_naming_it() {
        let with_slot = sections_of(|i, sec| i < 2 || (i == 3 && sec.contains("a=recvonly")));
        let got = check_offer_as(&with_slot, Profile::Ingest);
        assert!(
            matches!(&got, Err(OfferProblem::WrongDirection { direction, .. }) if direction == "recvonly"),
            "{got:?}"
        );
    }

    #[test]
    fn a_whep_offer_takes_only_receiving_sections() {
        let player = sections_of(|_, sec| sec.contains("a=recvonly"));
        assert_eq!(check_offer_as(&player, Profile::Viewer), Ok(()));
        let got = check_offer_as(CHROMIUM, Profile::Viewer);
        assert!(
            matches!(&got, Err(OfferProblem::WrongDirection { mid, .. }) if mid == "0"),
            "{got:?}"
        );
    }
}
