#!/usr/bin/env python3
"""Writes the seed corpus of each fuzz target into fuzz/corpus/<target>/.

Seeds come from this repository's own material: the protocol fixtures and the Chromium offer
in signaling/fixtures/, and RTP packets built around the VP8 descriptors captured from
Chromium in sfu/src/vp8.rs tests. Run it again after the fixtures change:

    python3 fuzz/make_corpus.py
"""

import base64
import hashlib
import hmac
import json
import pathlib
import struct

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "signaling" / "fixtures"
CORPUS = ROOT / "fuzz" / "corpus"


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / name).write_bytes(data)


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(claims, secret=b"fuzz-secret-fuzz-secret-fuzz-secret!"):
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    sig = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(sig)}"


def signaling_message():
    t = "signaling_message"
    for sub in ("client", "invalid"):
        for p in sorted((FIXTURES / "protocol" / sub).iterdir()):
            if p.name != "expected.json":
                write(t, f"{sub}-{p.name}", p.read_bytes())
    claims = {"mid": "m1", "sid": "s1", "role": "site", "exp": 4102444800, "iat": 1700000000, "jti": "j1"}
    write(t, "join-signed.json", json.dumps({"type": "join", "v": 1, "token": jwt(claims)}))
    write(t, "join-expired.json", json.dumps({"type": "join", "v": 1, "token": jwt({**claims, "exp": 1})}))
    write(t, "join-other-key.json", json.dumps({"type": "join", "v": 1, "token": jwt(claims, b"x" * 32)}))
    write(t, "join-none-alg.json", json.dumps({"type": "join", "v": 1, "token": "eyJhbGciOiJub25lIn0." + b64url(json.dumps(claims).encode()) + "."}))
    sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendonly\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=sendrecv\r\n"
    write(t, "offer-two-tracks.json", json.dumps({"type": "offer", "sdp": sdp}))
    write(t, "chat-vietnamese.json", json.dumps({"type": "chat", "to": "all", "text": "Xin chào các điểm cầu 🇻🇳"}, ensure_ascii=False))
    write(t, "check-result-figures.json", json.dumps({"type": "check_result", "verdict": "audio_only", "camera": True, "mic": True, "rtt_ms": 1e9, "loss_pct": 100.0, "send_kbps": 0.0, "recv_kbps": 5e-324}))
    write(t, "ping-max.json", '{"type":"ping","id":18446744073709551615}')
    write(t, "grid-page.json", '{"type":"grid","page":4294967295,"page_size":65535}')
    write(t, "nested.json", '{"type":"mute","site_id":"a","muted":true,"x":[[[[{"y":null}]]]]}')
    write(t, "escaped.json", '{"type":"notice","site_id":"\\u0000","text":"\\ud83d\\ude00 \\""}')


def sdp_sections(sdp):
    """Session part and the list of m-sections of an SDP."""
    lines = sdp.replace("\r\n", "\n").split("\n")
    head, sections = [], []
    for line in lines:
        if line.startswith("m="):
            sections.append([line])
        elif sections:
            sections[-1].append(line)
        elif line:
            head.append(line)
    return head, [[l for l in s if l] for s in sections]


def join_sdp(head, sections):
    mids = [l[len("a=mid:"):] for s in sections for l in s if l.startswith("a=mid:")]
    head = [("a=group:BUNDLE " + " ".join(mids)) if l.startswith("a=group:BUNDLE") else l for l in head]
    return "\r\n".join(head + [l for s in sections for l in s]) + "\r\n"


def with_direction(section, direction):
    return [f"a={direction}" if l in ("a=sendonly", "a=recvonly", "a=sendrecv", "a=inactive") else l for l in section]


def sdp_offer():
    t = "sdp_offer"
    full = (FIXTURES / "sdp" / "chromium-site-offer.sdp").read_text()
    write(t, "chromium-full.sdp", full)
    head, secs = sdp_sections(full)
    audio = [s for s in secs if s[0].startswith("m=audio")]
    video = [s for s in secs if s[0].startswith("m=video")]
    write(t, "audio-only.sdp", join_sdp(head, audio[:1]))
    write(t, "camera-only.sdp", join_sdp(head, video[:1]))
    write(t, "audio-camera.sdp", join_sdp(head, [audio[0], video[0]]))
    write(t, "slots-only.sdp", join_sdp(head, [with_direction(s, "recvonly") for s in [audio[0], video[0]]]))
    write(t, "sendrecv.sdp", join_sdp(head, [with_direction(s, "sendrecv") for s in [audio[0], video[0]]]))
    write(t, "inactive.sdp", join_sdp(head, [with_direction(video[0], "inactive")]))
    write(t, "two-cameras.sdp", join_sdp(head, [video[0], [l.replace("a=mid:1", "a=mid:9") for l in video[0]]]))
    no_sim = [l for l in video[0] if not l.startswith(("a=simulcast", "a=rid"))]
    write(t, "camera-no-simulcast.sdp", join_sdp(head, [no_sim]))
    vp8_only = [l for l in video[0] if not l.startswith(("a=rtpmap", "a=fmtp", "a=rtcp-fb")) or " VP8/" in l or ":96 " in l or ":97 " in l]
    write(t, "camera-vp8-only.sdp", join_sdp(head, [vp8_only]))
    no_fp = [l for l in audio[0] if not l.startswith("a=fingerprint")]
    write(t, "no-fingerprint.sdp", join_sdp(head, [no_fp]))
    write(t, "no-media.sdp", join_sdp(head, []))

    def remid(section, mid):
        return [f"a=mid:{mid}" if l.startswith("a=mid:") else l for l in section]

    slots_v = [s for s in video if "a=recvonly" in s]
    slots_a = [s for s in audio if "a=recvonly" in s]
    screen = remid([l for l in no_sim if not l.startswith("a=msid")] + ["a=msid:- screen"], "10")
    write(t, "screen-share.sdp", join_sdp(head, [audio[0], video[0], screen] + slots_v[:1] + slots_a[:1]))
    many = [audio[0], video[0]] + [remid(slots_v[0], 20 + i) for i in range(6)] + [remid(slots_a[0], 40 + i) for i in range(10)]
    write(t, "many-slots.sdp", join_sdp(head, many))
    cands = [
        "a=candidate:1 1 udp 2122260223 192.168.1.20 50000 typ host generation 0",
        "a=candidate:2 1 tcp 1518280447 192.168.1.20 9 typ host tcptype active generation 0",
        "a=candidate:3 1 udp 1686052607 203.0.113.7 40123 typ srflx raddr 192.168.1.20 rport 50000",
        "a=candidate:4 1 udp 41885439 198.51.100.9 3478 typ relay raddr 203.0.113.7 rport 40123",
        "a=candidate:5 1 udp 2122262783 2001:db8::20 50001 typ host generation 0",
        "a=candidate:6 1 udp 2122260223 4f2a9c1e-0d1b-4c39-9d0e-7f5b2f1c3a10.local 50002 typ host",
        "a=end-of-candidates",
    ]
    write(t, "candidates.sdp", join_sdp(head, [audio[0][:3] + cands + audio[0][3:], video[0]]))
    h264 = [l for l in video[0] if not l.startswith(("a=rtpmap", "a=fmtp", "a=rtcp-fb")) or "H264" in l or any(f":{pt} " in l for pt in (102, 103, 104, 107, 108, 109))]
    write(t, "camera-h264-only.sdp", join_sdp(head, [h264]))
    opus = [l for l in audio[0] if not l.startswith(("a=rtpmap", "a=fmtp", "a=rtcp-fb")) or ":111 " in l]
    write(t, "audio-opus-only.sdp", join_sdp(head, [opus]))
    write(t, "duplicate-mid.sdp", join_sdp(head, [audio[0], remid(with_direction(video[0], "sendrecv"), "0")]))
    # A payload type mapped in both sections: str0m 0.25 asserted on it (found by fuzzing).
    fp = ":".join(["AB"] * 32)
    write(t, "pt-in-two-sections.sdp", "\r\n".join([
        "v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0 1",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0", "a=ice-ufrag:abcd",
        "a=ice-pwd:abcdefghijklmnopqrstuvwx", "a=fingerprint:sha-256 " + fp, "a=setup:actpass", "a=mid:0",
        "a=recvonly", "a=rtcp-mux", "a=rtpmap:111 opus/48000/2", "a=rtpmap:108 H264/90000",
        "m=video 9 UDP/TLS/RTP/SAVPF 96 108", "c=IN IP4 0.0.0.0", "a=mid:1", "a=recvonly", "a=rtcp-mux",
        "a=rtpmap:96 VP8/90000", "a=rtpmap:108 H264/90000",
        "a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", ""]))
    write(t, "minimal.sdp", "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 " + ":".join(["AB"] * 32) + "\r\na=setup:actpass\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n")


# First packets of VP8 frames as Chromium sends simulcast VP8 (L1T3), from sfu/src/vp8.rs.
T1_SYNC = bytes([0x90, 0xE0, 0xB9, 0xF1, 0xF6, 0x60, 0xB1, 0x0A, 0x00, 0x16])
T2 = bytes([0xB0, 0xE0, 0xB9, 0xF8, 0xF8, 0x80, 0x91, 0x0B, 0x00, 0x26])
KEYFRAME = bytes([0x90, 0xE0, 0xB9, 0xFF, 0xFA, 0x20, 0xF0, 0x25, 0x00, 0x9D])
T0 = bytes([0x90, 0xE0, 0xBA, 0x06, 0xFC, 0x00, 0xB1, 0x14, 0x00, 0xE4])


def rtp(pt, seq, ts, ssrc, payload, marker=False, ext=b""):
    b0 = 0x80 | (0x10 if ext else 0)
    head = struct.pack("!BBHII", b0, (0x80 if marker else 0) | pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
    if ext:
        head += struct.pack("!HH", 0xBEDE, len(ext) // 4) + ext
    return head + payload


def record(packet, dt=1):
    return bytes([dt & 0x0F]) + struct.pack("!H", len(packet)) + packet


def vp8_desc(picture, tl0, tid, sync, start=True, key=False):
    b0 = 0x80 | (0x10 if start else 0)
    return bytes([b0, 0xE0, 0x80 | (picture >> 8) & 0x7F, picture & 0xFF, tl0 & 0xFF, (tid << 6) | (0x20 if sync else 0) | 0x01, 0x00 if key else 0x01])


def l1t3(ssrc, seq0, pic0, frames, key_first=True):
    """Chromium's three-temporal-layer pattern, two packets a frame."""
    out, seq, tl0 = [], seq0, 7
    pattern = [(0, False), (2, True), (1, True), (2, False)]
    for f in range(frames):
        tid, sync = pattern[f % 4]
        if tid == 0 and f:
            tl0 += 1
        key = key_first and f == 0
        pic = (pic0 + f) & 0x7FFF
        for part in range(2):
            d = vp8_desc(pic, tl0, tid, sync or key, start=part == 0, key=key)
            out.append(rtp(96, seq, 3000 * f, ssrc, d + bytes(range(20)), marker=part == 1))
            seq += 1
    return out


def rtp_forward():
    t = "rtp_forward"
    ext = bytes([0x10, 0x71, 0x00, 0x00])  # one-byte extension, padded
    write(t, "chromium-descriptors", b"".join(record(rtp(96, 100 + i, 3000 * i, 0x11, p + b"\x00" * 8)) for i, p in enumerate([KEYFRAME, T2, T1_SYNC, T2, T0])))
    write(t, "l1t3-low", b"".join(record(p) for p in l1t3(0x21, 1000, 14833, 12)))
    write(t, "l1t3-high-wrap", b"".join(record(p) for p in l1t3(0x23, 65530, 0x7FFE, 12)))
    # Simulcast: low starts, high keyframe later, target changes in between.
    low, high = l1t3(0x31, 10, 500, 8), l1t3(0x33, 40000, 9000, 8)
    mixed = b"".join(record(a) + record(b, 0) for a, b in zip(low, high))
    write(t, "simulcast-switch", record(low[0]) + bytes([0xF1, 0x00, 0xF2, 0x02]) + mixed)
    write(t, "temporal-target", bytes([0xF4, 0x00]) + b"".join(record(p) for p in l1t3(0x21, 7, 100, 12)) + bytes([0xF4, 0x02]) + b"".join(record(p) for p in l1t3(0x21, 31, 112, 8, False)))
    write(t, "pause-resume", b"".join(record(p) for p in l1t3(0x22, 1, 1, 4)) + bytes([0xF6, 0x00, 0xF0, 0x01]) + b"".join(record(p) for p in l1t3(0x22, 9, 5, 4)))
    # Seven-bit PictureID, no TL0PICIDX.
    short = [rtp(96, 5 + i, 3000 * i, 0x10, bytes([0x90, 0x80, (120 + i) & 0x7F, 0x00 if i == 0 else 0x01]) + b"\x00" * 6) for i in range(12)]
    write(t, "vp8-short-picture-id", b"".join(record(p) for p in short))
    # H.264: SPS, STAP-A with SPS+PPS, IDR in FU-A, delta slices.
    h264 = [
        bytes([0x67, 0x42, 0xC0, 0x1F]),
        bytes([0x78, 0x00, 0x04, 0x67, 0x42, 0xC0, 0x1F, 0x00, 0x02, 0x68, 0xCE]),
        bytes([0x7C, 0x85]) + b"\x88" * 10,
        bytes([0x7C, 0x45]) + b"\x88" * 10,
        bytes([0x41, 0x9A, 0x00]),
    ]
    write(t, "h264", b"".join(record(rtp(102, 200 + i, 3000 * i, 0x40, p)) for i, p in enumerate(h264)))
    write(t, "h264-simulcast", b"".join(record(rtp(102, 300 + i, 3000 * i, 0x41 + (i % 3), p)) for i, p in enumerate(h264 * 3)))
    # Opus with the audio level extension, and a source change on the microphone slot.
    opus = [rtp(111, 60000 + i * 1000, 960 * i, 0x50, bytes([0xFC]) + bytes(40), ext=ext) for i in range(8)]
    write(t, "opus", b"".join(record(p, 5) for p in opus))
    write(t, "opus-source-change", b"".join(record(p, 5) for p in opus[:4]) + bytes([0xF0, 0x80, 0xFC, 0x20]) + b"".join(record(p, 5) for p in opus[4:]))
    # Reordering, duplicates and a retransmission.
    pk = l1t3(0x21, 500, 40, 8)
    order = [0, 1, 3, 2, 4, 4, 6, 5, 7, 9, 8, 10, 12, 11, 13, 15, 14, 2]
    write(t, "reordered", b"".join(record(pk[i]) for i in order))
    # A packet from just below the 16-bit wrap after a stream began low (the rewrite bug).
    stray = l1t3(0x21, 30319, 10, 2) + [rtp(96, 65535, 0, 0x21, vp8_desc(9, 7, 0, False) + b"\x00" * 4)] + l1t3(0x21, 30323, 12, 2, False)
    write(t, "stray-before-first", bytes([0xF1, 0x00]) + b"".join(record(p) for p in stray))
    write(t, "padding-csrc", record(bytes([0xA2, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x21]) + b"\x00" * 8 + KEYFRAME + b"\x00\x00\x03"))
    write(t, "unknown-pt", record(rtp(35, 1, 0, 0x21, KEYFRAME)))
    write(t, "truncated", record(rtp(96, 1, 0, 0x21, KEYFRAME[:4])) + b"\x00\xff")
    mid = l1t3(0x32, 20000, 3000, 12)
    write(t, "simulcast-down", bytes([0xF0, 0x02]) + b"".join(record(a) + record(b, 0) for a, b in zip(mid, l1t3(0x31, 100, 70, 12))) + bytes([0xF2, 0x00]) + b"".join(record(p) for p in l1t3(0x31, 124, 82, 8)))
    write(t, "three-layers", bytes([0xF0, 0x02, 0xF1, 0x01]) + b"".join(record(a) + record(b, 0) + record(c, 0) for a, b, c in zip(l1t3(0x31, 1, 1, 8), l1t3(0x32, 5000, 900, 8), l1t3(0x33, 9000, 1800, 8))))
    write(t, "no-keyframe", b"".join(record(p) for p in l1t3(0x21, 77, 5, 10, False)))
    write(t, "temporal-up-at-sync", bytes([0xF4, 0x00]) + b"".join(record(p) for p in l1t3(0x21, 1, 1, 6)) + bytes([0xF4, 0x01]) + b"".join(record(p) for p in l1t3(0x21, 13, 7, 8, False)) + bytes([0xF4, 0x02]) + b"".join(record(p) for p in l1t3(0x21, 29, 15, 8, False)))
    dup = l1t3(0x21, 1, 1, 6)
    write(t, "skipped-then-retransmitted", bytes([0xF4, 0x00]) + b"".join(record(p) for p in dup) + bytes([0xF4, 0x02]) + b"".join(record(dup[i]) for i in (2, 3, 4, 5)))
    write(t, "extension-padding", b"".join(record(rtp(96, 40 + i, 3000 * i, 0x21, vp8_desc(i, 1, 0, True, key=i == 0) + b"\x00" * 5 + bytes([0, 0, 3]), ext=ext)[:1] .replace(b"\x90", b"\xb0") + rtp(96, 40 + i, 3000 * i, 0x21, vp8_desc(i, 1, 0, True, key=i == 0) + b"\x00" * 5 + bytes([0, 0, 3]), ext=ext)[1:]) for i in range(4)))
    write(t, "active-layers", bytes([0xFA, 0x05]) + b"".join(record(a) + record(b, 0) for a, b in zip(low, high)) + bytes([0xFA, 0x07, 0xFC, 0x64]))


if __name__ == "__main__":
    signaling_message()
    sdp_offer()
    rtp_forward()
    for d in sorted(CORPUS.iterdir()):
        files = list(d.iterdir())
        print(f"{d.name}: {len(files)} files, {sum(f.stat().st_size for f in files)} bytes")
