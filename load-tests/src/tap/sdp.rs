//! Points the ICE candidates of an SDP at the tap: the site's offer names the tap's outer
//! socket (where the SFU sends), the SFU's answer names the tap's inner socket (where the
//! site's peer connection sends). DTLS and SRTP do not see addresses, so both ends keep
//! their keys; ICE sees the tap as the other end on both sides.
//!
//! Pure: text in, text out.

use std::net::SocketAddr;

/// `sdp` with every UDP candidate's address replaced by `to`, other candidates (TCP) left
/// out (only UDP passes through the tap), and the first UDP candidate's original address.
pub fn point_candidates_at(sdp: &str, to: SocketAddr) -> (String, Option<SocketAddr>) {
    let mut out = String::with_capacity(sdp.len());
    let mut first = None;
    for line in sdp.split_inclusive('\n') {
        let body = line.trim_end_matches(['\r', '\n']);
        let ending = &line[body.len()..];
        let Some(candidate) = body.strip_prefix("a=candidate:") else {
            out.push_str(line);
            continue;
        };
        // foundation component transport priority address port typ type ...
        let mut fields: Vec<&str> = candidate.split(' ').collect();
        if fields.len() < 8 || !fields[2].eq_ignore_ascii_case("udp") {
            continue;
        }
        if first.is_none() {
            if let (Some(ip), Ok(port)) = (fields[4].parse().ok(), fields[5].parse::<u16>()) {
                first = Some(SocketAddr::new(ip, port));
            }
        }
        let (ip, port) = (to.ip().to_string(), to.port().to_string());
        fields[4] = &ip;
        fields[5] = &port;
        out.push_str("a=candidate:");
        out.push_str(&fields.join(" "));
        out.push_str(ending);
    }
    (out, first)
}

/// The id the SDP gives the header extension `uri` (`a=extmap:<id>[/<direction>] <uri>`),
/// the first one if media sections differ.
pub fn extmap_id(sdp: &str, uri: &str) -> Option<u8> {
    sdp.lines().find_map(|line| {
        let rest = line.trim_end().strip_prefix("a=extmap:")?;
        let (id, rest) = rest.split_once(' ')?;
        let id = id.split('/').next()?;
        (rest.split(' ').next() == Some(uri)).then(|| id.parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &str = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
        a=candidate:1 1 udp 2130706175 127.0.0.1 41000 typ host\r\n\
        a=candidate:2 1 tcp 1010 127.0.0.1 443 typ host tcptype passive\r\n\
        a=end-of-candidates\r\n";

    #[test]
    fn udp_candidates_name_the_tap_and_tcp_ones_are_dropped() {
        let (sdp, was) = point_candidates_at(ANSWER, "127.0.0.1:5000".parse().unwrap());
        assert_eq!(was, Some("127.0.0.1:41000".parse().unwrap()));
        assert_eq!(
            sdp,
            "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
             a=candidate:1 1 udp 2130706175 127.0.0.1 5000 typ host\r\n\
             a=end-of-candidates\r\n"
        );
    }

    #[test]
    fn an_sdp_without_candidates_is_unchanged() {
        let sdp = "v=0\r\na=ice-lite\r\n";
        assert_eq!(
            point_candidates_at(sdp, "127.0.0.1:1".parse().unwrap()),
            (sdp.to_string(), None)
        );
    }

    #[test]
    fn the_extension_id_comes_from_its_extmap_line() {
        let sdp = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
            a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n\
            a=extmap:3/sendrecv http://example/tcc\r\n";
        assert_eq!(extmap_id(sdp, "http://example/tcc"), Some(3));
        assert_eq!(
            extmap_id(sdp, "urn:ietf:params:rtp-hdrext:sdes:mid"),
            Some(1)
        );
        assert_eq!(extmap_id(sdp, "http://example/other"), None);
    }
}
