//! Touches to the answer str0m writes. Pure: SDP text in, SDP text out.

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
}
