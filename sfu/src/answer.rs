//! Touches to the answer str0m writes (str0m 0.25 has no `maxaveragebitrate` to configure).
//! Pure: SDP text in, SDP text out.

/// Copies the candidate lines of the first media section into every other media section that
/// has none, and ends every section with `a=end-of-candidates`. str0m writes the server's
/// candidate only once (valid for a BUNDLE answer) and never says the list is complete, but
/// clients that look a candidate up per section (or per transceiver) then find none, and a
/// client may wait for more; an ICE-lite server has no others. With both lines in every
/// section every client connects without trickle.
pub fn candidates_in_every_section(answer: &str) -> String {
    let lines: Vec<&str> = answer.split("\r\n").collect();
    let first_m = lines.iter().position(|l| l.starts_with("m="));
    let Some(first_m) = first_m else {
        return answer.to_owned();
    };
    let section_end = |from: usize| {
        lines[from + 1..]
            .iter()
            .position(|l| l.starts_with("m="))
            .map_or(lines.len(), |p| from + 1 + p)
    };
    let carried: Vec<&str> = lines[first_m..section_end(first_m)]
        .iter()
        .copied()
        .filter(|l| l.starts_with("a=candidate:"))
        .collect();
    if carried.is_empty() {
        return answer.to_owned();
    }
    let mut out: Vec<&str> = Vec::with_capacity(lines.len() + carried.len() * 8);
    let mut i = 0;
    while i < lines.len() {
        if !lines[i].starts_with("m=") {
            out.push(lines[i]);
            i += 1;
            continue;
        }
        let end = section_end(i);
        // The section's own lines, minus the trailing empty line of the last section.
        let mut body = &lines[i..end];
        let trailing = body.last() == Some(&"") && end == lines.len();
        if trailing {
            body = &body[..body.len() - 1];
        }
        out.extend_from_slice(body);
        if !body.iter().any(|l| l.starts_with("a=candidate:")) {
            out.extend_from_slice(&carried);
        }
        if !body.contains(&"a=end-of-candidates") {
            out.push("a=end-of-candidates");
        }
        if trailing {
            out.push("");
        }
        i = end;
    }
    out.join("\r\n")
}

/// The Opus bitrate the SFU asks publishers for, bit/s (`maxaveragebitrate` on the answer's
/// Opus `a=fmtp`; libwebrtc's Opus encoder takes it as its ceiling): speech, not music.
/// Chromium's default for mono is 32 kbit/s, which with 50 packets/s of RTP, extension, SRTP,
/// UDP and IP headers makes ~62 kbit/s on a site's line: more than a 60 kbit/s line carries,
/// so its queue dropped a fifth of the chair's audio (`load-tests/RESULTS.md`, issue 18). At
/// 24 kbit/s the same audio is ~52 kbit/s, and Opus at 24 kbit/s is still full-band speech.
///
/// The packet length stays Chromium's 20 ms: 40 or 60 ms (`a=ptime`) would cut the headers
/// to a half or a third, but lose two or three times as much speech per lost packet, and the
/// suite's audio checks count the chair's packets at 50 per second.
pub const OPUS_MAX_AVERAGE_BITRATE: u32 = 24_000;

/// Asks the offerer's Opus encoder for at most `max_bitrate` bit/s: `maxaveragebitrate` on
/// each Opus `a=fmtp` line of every audio section (one is added after an Opus `a=rtpmap`
/// that has none). A line that already names a bitrate is left alone, so applying it twice
/// changes nothing.
pub fn opus_max_bitrate(answer: &str, max_bitrate: u32) -> String {
    let lines: Vec<&str> = answer.split("\r\n").collect();
    let bitrate = format!("maxaveragebitrate={max_bitrate}");
    let mut out: Vec<String> = Vec::with_capacity(lines.len() + 4);
    let mut audio = false;
    let mut opus_pts: Vec<&str> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("m=") {
            audio = line.starts_with("m=audio ");
            opus_pts.clear();
        }
        out.push((*line).to_owned());
        if !audio {
            continue;
        }
        if let Some((pt, codec)) = line
            .strip_prefix("a=rtpmap:")
            .and_then(|r| r.split_once(' '))
        {
            if codec.to_ascii_lowercase().starts_with("opus/") {
                opus_pts.push(pt);
                let fmtp = format!("a=fmtp:{pt} ");
                let mut section = lines[i + 1..].iter().take_while(|l| !l.starts_with("m="));
                if !section.any(|l| l.starts_with(&fmtp)) {
                    out.push(format!("{fmtp}{bitrate}"));
                }
            }
        } else if let Some(rest) = line.strip_prefix("a=fmtp:") {
            let pt = rest.split(' ').next().unwrap_or("");
            if opus_pts.contains(&pt) && !line.contains("maxaveragebitrate=") {
                if let Some(last) = out.last_mut() {
                    last.push(';');
                    last.push_str(&bitrate);
                }
            }
        }
    }
    out.join("\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_section_gets_the_first_sections_candidate_once_and_an_end_of_candidates() {
        // As str0m 0.25 writes it: one candidate, in the first section, and no end marker.
        let answer = "v=0\r\na=group:BUNDLE 0 1 2\r\n\
            m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=candidate:1 1 udp 2130706175 10.0.0.1 5000 typ host\r\n\
            m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n\
            m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\n";
        let out = candidates_in_every_section(answer);
        assert_eq!(out.matches("a=candidate:").count(), 3, "{out}");
        assert_eq!(out.matches("a=end-of-candidates").count(), 3, "{out}");
        for s in out.split("m=").skip(1) {
            assert!(s.contains("a=candidate:1 1 udp"), "{s}");
        }
        assert!(
            out.ends_with("typ host\r\na=end-of-candidates\r\n"),
            "{out:?}"
        );
        // Applying it twice changes nothing.
        assert_eq!(candidates_in_every_section(&out), out);
    }

    #[test]
    fn opus_in_every_audio_section_is_capped_at_a_speech_bitrate() {
        // As str0m 0.25 answers Chromium: Opus with its fmtp before RED, then a video section.
        let answer = "v=0\r\n\
            m=audio 9 UDP/TLS/RTP/SAVPF 111 63\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n\
            a=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\n\
            m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=rtpmap:96 VP8/90000\r\na=fmtp:96 x=1\r\n\
            m=audio 9 UDP/TLS/RTP/SAVPF 109\r\na=mid:2\r\na=rtpmap:109 OPUS/48000/2\r\n";
        let out = opus_max_bitrate(answer, 24_000);
        let sections: Vec<&str> = out.split("m=").skip(1).collect();
        assert!(
            sections[0]
                .contains("a=fmtp:111 minptime=10;useinbandfec=1;maxaveragebitrate=24000\r\n"),
            "{out}"
        );
        assert!(
            sections[0].contains("a=fmtp:63 111/111\r\n"),
            "RED's fmtp untouched: {out}"
        );
        assert!(
            sections[1].contains("a=fmtp:96 x=1\r\n") && !sections[1].contains("maxaverage"),
            "{out}"
        );
        assert!(
            sections[2]
                .ends_with("a=rtpmap:109 OPUS/48000/2\r\na=fmtp:109 maxaveragebitrate=24000\r\n"),
            "an Opus without fmtp gets one: {out}"
        );
        assert_eq!(
            out.len(),
            answer.len()
                + ";maxaveragebitrate=24000".len()
                + "a=fmtp:109 maxaveragebitrate=24000\r\n".len()
        );
        assert_eq!(
            opus_max_bitrate(&out, 24_000),
            out,
            "applying it twice changes nothing"
        );
    }
}
