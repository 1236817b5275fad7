#!/usr/bin/env python3
# Hostile-input probe for issue 13 item 7 (nobody can hold the door open), standard library
# only. Start diemcau with few file descriptors and a demo meeting, then run this with the
# JSON it printed:
#
#   (ulimit -n 256; exec target/debug/diemcau --demo --json --http 127.0.0.1:0 \
#       --udp 127.0.0.1:0 --data-dir /tmp/probe-data > /tmp/probe.json) &
#   python3 scripts/probe-door.py /tmp/probe.json
#
# It holds 356 half-sent HTTP requests from 127.0.0.1 (slowloris), then joins a site from
# 127.0.0.2 while they are held, then opens 30 WebSockets from 127.0.0.1 that only ping.
# Loopback only.
import json, socket, time, os, base64, struct, sys
out = json.load(open(sys.argv[1]))
host, port = out['http'].split('//')[1].split(':'); port = int(port)
token = out['meeting']['sites'][0]['link'].split('#t=')[1]

def tcp(src):
    s = socket.socket(); s.bind((src, 0)); s.settimeout(5); s.connect((host, port)); return s

def ws_open(src):
    s = tcp(src)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    head = b''
    while b'\r\n\r\n' not in head:
        c = s.recv(4096)
        if not c: break
        head += c
    return s, head.split(b'\r\n')[0].decode(errors='replace'), head

def ws_send(s, text):
    data = text.encode(); mask = os.urandom(4)
    hdr = bytes([0x81]) + (bytes([0x80 | len(data)]) if len(data) < 126 else bytes([0x80 | 126]) + struct.pack('>H', len(data)))
    s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

def ws_recv_text(s):
    buf = b''
    while True:
        buf += s.recv(65536)
        if len(buf) >= 2:
            n = buf[1] & 0x7f; off = 2
            if n == 126: n = struct.unpack('>H', buf[2:4])[0]; off = 4
            elif n == 127: n = struct.unpack('>Q', buf[2:10])[0]; off = 10
            if len(buf) >= off + n: return buf[off:off + n].decode()

# 1. Slowloris: 356 connections from 127.0.0.1, each a partial header.
held, refused, errors = [], 0, 0
for i in range(356):
    try:
        s = tcp('127.0.0.1'); s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n"); held.append(s)
    except OSError: errors += 1
time.sleep(0.5)
for s in held:
    s.setblocking(False)
    try:
        d = s.recv(4096)
        if d.startswith(b'HTTP/1.1 429'): refused += 1
    except BlockingIOError: pass
    except OSError: pass
print(f"slowloris: 356 opened from 127.0.0.1, {refused} answered 429 at once, {errors} connect errors")
t0 = time.time()
s, status, _ = ws_open('127.0.0.2'); ws_send(s, json.dumps({"type": "join", "v": 1, "token": token}))
msg = json.loads(ws_recv_text(s))
print(f"while they are held: a site from 127.0.0.2 -> {status}, first message {msg['type']} in {time.time()-t0:.3f} s")
s.close()
# When are the held ones closed?
open_ = [h for h in held]
t0 = time.time(); closed_at = []
for h in open_:
    h.setblocking(True); h.settimeout(20)
    try:
        while h.recv(4096): pass
    except OSError: pass
    closed_at.append(time.time() - t0)
print(f"slowloris: every held connection closed by the server within {max(closed_at):.1f} s of the check")
# 2. Ping-only sockets: 30 from 127.0.0.1.
socks, statuses = [], {}
for i in range(30):
    s, status, _ = ws_open('127.0.0.1'); statuses[status] = statuses.get(status, 0) + 1
    if '101' in status: socks.append(s)
print("ping-only: upgrade answers", statuses)
t0 = time.time(); codes = {}
deadline = time.time() + 15
for s in socks: s.settimeout(0.2)
while socks and time.time() < deadline:
    for s in list(socks):
        try:
            ws_send(s, '{"type":"ping","id":1}')
            m = json.loads(ws_recv_text(s))
            if m['type'] == 'error':
                codes[m['code']] = codes.get(m['code'], 0) + 1; socks.remove(s)
        except (socket.timeout, OSError, ValueError): pass
    time.sleep(0.5)
print(f"ping-only: errors {codes} after {time.time()-t0:.1f} s; still open {len(socks)}")
