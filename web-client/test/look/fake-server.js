/**
 * A stand-in diemcau server that runs inside the page, for looking at the client without the
 * Rust binary: `installFakeServer` replaces `window.WebSocket` before the app loads, answers
 * `join` with a roster for the role in `?fake=<role>`, answers the offer from a second
 * `RTCPeerConnection` that sends painted canvases into the receive slots, and sends `slots`.
 *
 * Only `test/look/screenshots.js` injects it (as a Playwright init script); the app never
 * loads it. It must stay self-contained: Playwright serialises the function's source.
 */

/**
 * Runs in the page before any page script.
 */
export function installFakeServer() {
  const role = new URLSearchParams(location.search).get('fake');
  if (!role) return;

  const chair = { id: 'chair', name: 'Hội trường UBND tỉnh Lào Cai', role: 'chair', state: 'joined' };
  const communes = ['Tả Van', 'Bản Hồ', 'Sa Pả', 'Tả Phìn', 'Mường Hoa', 'Hoàng Liên', 'Ngũ Chỉ Sơn', 'Thanh Bình'];
  const states = ['joined', 'joined', 'joined', 'waiting', 'left', 'joined', 'waiting', 'waiting'];
  const sites = communes.map((c, i) => ({ id: `s${i + 1}`, name: `UBND xã ${c}`, role: 'site', state: states[i] }));
  const meeting = { id: 'm-2f1c', title: 'Hội nghị trực tuyến giao ban tháng 11 năm 2025' };

  /** @type {Record<string, {you: object, sites: object[], receive: {video: number, audio: number}, senders: string[]}>} */
  const plans = {
    site: { you: { id: 's1', name: sites[0].name, role: 'site' }, sites: [chair, sites[0]], receive: { video: 1, audio: 1 }, senders: ['chair'] },
    chair: { you: { id: 'chair', name: chair.name, role: 'chair' }, sites: [chair, ...sites], receive: { video: 3, audio: 2 }, senders: ['s1', 's2', 's3'] },
    operator: { you: { id: 'op', name: 'Kỹ thuật viên Sở TT&TT', role: 'operator' }, sites: [chair, ...sites], receive: { video: 1, audio: 1 }, senders: ['chair'] },
  };
  const plan = plans[role] ?? plans.site;
  const everyone = [chair, ...sites];
  /** @param {string} id */
  const nameOf = (id) => everyone.find((s) => s.id === id)?.name ?? id;

  /**
   * A moving canvas with a site's name, standing in for that site's camera.
   * @param {string} label
   * @param {string} color
   */
  function paintedTrack(label, color) {
    const canvas = document.createElement('canvas');
    canvas.width = 640;
    canvas.height = 360;
    const g = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
    let n = 0;
    setInterval(() => {
      g.fillStyle = color;
      g.fillRect(0, 0, 640, 360);
      g.fillStyle = '#fff';
      g.font = 'bold 34px sans-serif';
      g.fillText(label, 30, 180);
      g.fillRect(30 + (n++ % 58) * 10, 300, 20, 20);
    }, 100);
    return canvas.captureStream(10).getVideoTracks()[0];
  }

  class FakeServerSocket {
    readyState = 0;
    /** @type {((ev: unknown) => void) | null} */ onopen = null;
    /** @type {((ev: {data: unknown}) => void) | null} */ onmessage = null;
    /** @type {((ev: {code?: number, reason?: string}) => void) | null} */ onclose = null;
    /** @type {((ev: unknown) => void) | null} */ onerror = null;
    /** @type {RTCPeerConnection | null} */ answerer = null;

    constructor() {
      setTimeout(() => {
        this.readyState = 1;
        this.onopen?.({});
      }, 50);
    }

    /** @param {object} msg */
    reply(msg) {
      setTimeout(() => this.onmessage?.({ data: JSON.stringify(msg) }), 30);
    }

    /** @param {string} data */
    send(data) {
      const msg = JSON.parse(data);
      /** @type {any} */ (window).fakeSent = [.../** @type {any} */ (window).fakeSent ?? [], msg];
      if (msg.type === 'join' && role === 'expired') {
        this.reply({ type: 'error', code: 'token_expired', message: 'token expired' });
      } else if (msg.type === 'join') {
        if (new URLSearchParams(location.search).has('banner')) {
          this.reply({ type: 'error', code: 'internal', message: 'internal error' });
        }
        this.reply({ type: 'joined', v: 1, meeting, you: plan.you, sites: plan.sites, receive: plan.receive, ice_servers: [] });
      } else if (msg.type === 'offer') {
        void this.answer(msg.sdp);
      } else if (msg.type === 'candidate' && msg.candidate && this.answerer) {
        void this.answerer.addIceCandidate({ candidate: msg.candidate, sdpMid: msg.sdp_mid ?? '0' }).catch(() => {});
      } else if (msg.type === 'end_meeting') {
        this.reply({ type: 'ended', reason: 'ended_by_chair' });
      } else if (msg.type === 'ping') {
        this.reply({ type: 'pong', id: msg.id });
      }
    }

    /** @param {string} sdp */
    async answer(sdp) {
      const pc = new RTCPeerConnection();
      this.answerer = pc;
      await pc.setRemoteDescription({ type: 'offer', sdp });
      const colors = ['#1d5e8c', '#7a3b8f', '#2f7d4a', '#8c5a1d'];
      const transceivers = pc.getTransceivers();
      /** @type {object[]} */
      const slots = [];
      let v = 0;
      let a = 0;
      transceivers.forEach((t, i) => {
        if (i < 2) {
          t.direction = 'recvonly';
          return;
        }
        t.direction = 'sendonly';
        const kind = t.receiver.track.kind;
        const siteId = kind === 'video' ? plan.senders[v++] : plan.senders[a++];
        if (kind === 'video' && siteId) void t.sender.replaceTrack(paintedTrack(nameOf(siteId), colors[v % colors.length]));
        slots.push({ mid: t.mid, kind, site_id: siteId ?? null, name: siteId ? nameOf(siteId) : null, layer: kind === 'video' && siteId ? 'low' : null });
      });
      await pc.setLocalDescription(await pc.createAnswer());
      await new Promise((resolve) => {
        if (pc.iceGatheringState === 'complete') resolve(null);
        pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve(null);
      });
      this.reply({ type: 'answer', sdp: pc.localDescription?.sdp });
      this.reply({ type: 'slots', slots });
      if (role === 'chair') {
        this.reply({ type: 'site_state', site: { ...sites[1], state: 'joined' }, mic: false, camera: true });
      }
    }

    close() {
      this.readyState = 3;
    }
  }

  Object.defineProperty(window, 'WebSocket', { value: FakeServerSocket, configurable: true, writable: true });
}
