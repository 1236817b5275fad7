/**
 * A stand-in diemcau server that runs inside the page, for looking at the client without the
 * Rust binary: `installFakeServer` replaces `window.WebSocket` before the app loads, answers
 * `join` with a roster for the role in `?fake=<role>`, answers the offer from a second
 * `RTCPeerConnection` that sends painted canvases into the receive slots, and keeps a small
 * meeting (phase, lock, floor, hands, grid page, site marks) so the chairing messages get
 * the answers the real server gives: `meeting_state`, `floor`, `grid`, `site_state`, `slots`.
 *
 * `window.fakeServer` lets the screenshot script play the other sites (raise a hand, write a
 * message) and set the scene. `?phase=lobby` starts in the lobby; `?hands=s12:95000` starts
 * with hands up for so long. `getDisplayMedia` is
 * replaced by painted slides, so presenting works headless.
 *
 * Only `test/look/screenshots.js` injects it (as a Playwright init script, with the meeting
 * as its argument); the app never loads it. It must stay self-contained: Playwright
 * serialises the function's source.
 */

/**
 * @typedef {object} FakeMeeting
 * @property {{id: string, title: string}} meeting
 * @property {{id: string, name: string, role: string, state: string}} chair
 * @property {{id: string, name: string, role: string, state: string}[]} sites
 */

/**
 * Runs in the page before any page script.
 * @param {FakeMeeting} data
 */
export function installFakeServer(data) {
  const params = new URLSearchParams(location.search);
  const role = params.get('fake');
  if (!role) return;

  const { meeting, chair } = data;
  /** @type {Record<string, any>} */
  const marks = {};
  const sites = data.sites.map((s) => ({ ...s }));
  const everyone = [chair, ...sites];
  /** @param {string} id */
  const siteOf = (id) => everyone.find((s) => s.id === id);
  /** @param {string} id */
  const nameOf = (id) => siteOf(id)?.name ?? id;
  for (const s of everyone) marks[s.id] = { mic: true, camera: true, muted: false, video_stopped: false, cochair: false };

  /** @type {Record<string, {you: any, sites: any[], receive: {video: number, audio: number}}>} */
  const plans = {
    site: { you: { id: 's1', name: sites[0].name, role: 'site' }, sites: [chair, sites[0]], receive: { video: 4, audio: 2 } },
    chair: { you: { id: chair.id, name: chair.name, role: 'chair' }, sites: everyone, receive: { video: 10, audio: 4 } },
    operator: { you: { id: 'op', name: 'Kỹ thuật viên Sở TT&TT', role: 'operator' }, sites: everyone, receive: { video: 2, audio: 2 } },
  };
  const plan = plans[role] ?? plans.site;
  const you = plan.you;

  const state = {
    phase: params.get('phase') === 'lobby' ? 'lobby' : 'open',
    locked: false,
    floorLimit: 2,
    /** @type {{holders: string[], hands: {site_id: string, since_ms: number}[], spotlight: string | null, presenter: string | null}} */
    floor: { holders: [], hands: [], spotlight: null, presenter: null },
    grid: { page: 0, pageSize: 9 },
  };
  // `?hands=s12:95000,s14:31000`: hands already up (for so many ms) when the page joins.
  for (const item of (params.get('hands') ?? '').split(',').filter(Boolean)) {
    const [id, ago] = item.split(':');
    state.floor.hands.push({ site_id: id, since_ms: Date.now() - Number(ago ?? 0) });
  }

  /**
   * A canvas that paints a site's camera (its name on a colour) or a slide of a shared
   * screen, and can be told to paint something else.
   */
  function painter() {
    const canvas = document.createElement('canvas');
    canvas.width = 640;
    canvas.height = 360;
    const g = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
    const look = { label: '', color: '#000', screen: false };
    let n = 0;
    setInterval(() => {
      n += 1;
      if (look.screen) {
        g.fillStyle = '#fdfdfb';
        g.fillRect(0, 0, 640, 360);
        g.fillStyle = '#0b3f73';
        g.fillRect(0, 0, 640, 56);
        g.fillStyle = '#fff';
        g.font = 'bold 26px sans-serif';
        g.fillText('Báo cáo tình hình kinh tế - xã hội tháng 11', 20, 38);
        g.fillStyle = '#1b2229';
        g.font = '20px sans-serif';
        ['• Thu ngân sách đạt 92% kế hoạch năm', '• Giải ngân vốn đầu tư công: 78%', '• Tỷ lệ hộ nghèo giảm còn 8,4%', `• Trình bày: ${look.label}`]
          .forEach((line, i) => g.fillText(line, 36, 110 + i * 44));
        return;
      }
      g.fillStyle = look.color;
      g.fillRect(0, 0, 640, 360);
      g.fillStyle = '#fff';
      g.font = 'bold 34px sans-serif';
      g.fillText(look.label, 30, 180);
      g.fillRect(30 + (n % 58) * 10, 300, 20, 20);
    }, 100);
    const track = canvas.captureStream(10).getVideoTracks()[0];
    return {
      track,
      /** @param {string} label @param {string} color @param {boolean} screen */
      paint(label, color, screen) {
        Object.assign(look, { label, color, screen });
      },
    };
  }

  const COLORS = ['#1d5e8c', '#7a3b8f', '#2f7d4a', '#8c5a1d', '#5b6b1d', '#1d7a7a', '#8c1d4f', '#3b4f8c', '#6b3b1d', '#1d3b6b'];
  /** @param {string} id */
  const colorOf = (id) => COLORS[Math.abs([...id].reduce((a, c) => a * 31 + c.charCodeAt(0), 7)) % COLORS.length];

  /** @type {FakeServerSocket | null} */
  let current = null;

  /** @returns {{video: {id: string, track: string}[], audio: string[]}} what this participant receives now */
  function routed() {
    const f = state.floor;
    const joined = (/** @type {string} */ id) => siteOf(id)?.state === 'joined';
    if (role === 'chair') {
      const pinned = [...f.holders, ...f.hands.map((h) => h.site_id)];
      const page = gridPage().sites;
      const video = page.filter((id) => joined(id) && !marks[id].video_stopped).map((id) => ({ id, track: 'camera' }));
      if (f.presenter && f.presenter !== you.id) video.unshift({ id: f.presenter, track: 'screen' });
      return { video, audio: [...new Set([...pinned, ...page])].filter((id) => joined(id) && !marks[id].muted) };
    }
    if (state.phase === 'lobby') return { video: [], audio: [] };
    const cams = [chair.id, ...f.holders, ...(f.spotlight ? [f.spotlight] : [])].filter((id) => id !== you.id && joined(id) && !marks[id].video_stopped);
    const video = [...new Set(cams)].map((id) => ({ id, track: 'camera' }));
    if (f.presenter && f.presenter !== you.id) video.unshift({ id: f.presenter, track: 'screen' });
    return { video, audio: [chair.id, ...f.holders].filter((id) => id !== you.id && !marks[id].muted) };
  }

  function gridPage() {
    const f = state.floor;
    const all = sites.map((s) => s.id);
    const size = state.grid.pageSize;
    const pages = Math.max(1, Math.ceil(all.length / size));
    const page = Math.min(state.grid.page, pages - 1);
    const pinned = [...f.holders, ...f.hands.map((h) => h.site_id)];
    const onPage = all.slice(page * size, page * size + size);
    return { page, pages, page_size: size, sites: [...new Set([...pinned, ...onPage])] };
  }

  /** @param {string} id */
  function siteState(id) {
    const s = /** @type {any} */ (siteOf(id));
    return { type: 'site_state', site: { id: s.id, name: s.name, role: s.role, state: s.state }, ...marks[id] };
  }

  const floorMessage = () => ({ type: 'floor', ...state.floor, hands: [...state.floor.hands] });
  const meetingState = () => ({ type: 'meeting_state', phase: state.phase, locked: state.locked, floor_limit: state.floorLimit });

  /**
   * The operators' `stats` at a moment: made-up but plausible figures per connected
   * participant, with a few sites in trouble so the dashboard has something to show (s3
   * loses packets, s6 is slow and behind TURN over TCP, s8 had its video paused, s10 is on
   * TURN, s12 joined without media, and a floor holder whose microphone stays silent).
   * @param {number} atMs
   */
  function statsAt(atMs) {
    const sec = atMs / 1000;
    const wave = (/** @type {number} */ i, /** @type {number} */ period) => Math.sin(sec / period + i * 1.7);
    const connected = everyone.filter((s) => s.state === 'joined' && s.id !== 's12');
    const list = connected.map((s, i) => {
      const n = Number(s.id.slice(1)) || 0;
      const forced = Boolean(marks[s.id].audio_only_forced);
      const isChair = s.id === chair.id;
      const lossy = s.id === 's3';
      const slow = s.id === 's6';
      const paused = s.id === 's8' || forced;
      const relay = s.id === 's6' || s.id === 's10';
      const speaking = state.floor.holders.includes(s.id) ? s.id !== 's1' : false;
      const down = forced ? 48 : paused ? 70 + 10 * wave(i, 7) : isChair ? 900 + 120 * wave(i, 11) : 1300 + 380 * wave(i, 23) - (lossy ? 500 : 0);
      return {
        site_id: s.id,
        up_kbps: Math.round(isChair ? 1650 + 150 * wave(i, 13) : 320 + 160 * wave(i, 17) - (lossy ? 120 : 0)),
        down_kbps: Math.round(down),
        up_loss_pct: Math.max(0, Math.round((lossy ? 4 + 3 * wave(i, 9) : 0.3 + 0.3 * wave(i, 5)) * 10) / 10),
        down_loss_pct: Math.max(0, Math.round((lossy ? 9 + 4 * wave(i, 6) : 0.2 + 0.2 * wave(i, 4)) * 10) / 10),
        rtt_ms: Math.round(slow ? 520 + 90 * wave(i, 8) : isChair ? 4 : 35 + (n * 13) % 90 + 10 * wave(i, 10)),
        jitter_ms: Math.round((slow ? 38 : 3 + (n % 5)) + 2 * wave(i, 3)),
        layer: paused ? 'paused' : isChair ? 'low' : lossy ? 'low' : n % 3 === 0 ? 'mid' : 'high',
        estimate_kbps: paused ? 180 : 2400 + (n * 97) % 900,
        audio_level: s.id === 's1' ? 0.002 : Math.round((speaking || isChair ? 0.18 + 0.12 * wave(i, 1.3) : 0.02 + 0.015 * wave(i, 2)) * 1000) / 1000,
        transport: relay ? 'relay' : 'udp',
        candidate: relay ? 'relay' : n % 4 === 1 ? 'srflx' : 'host',
        browser: n % 5 === 2 ? 'Chrome 109 (Windows 7)' : n % 5 === 4 ? 'Cốc Cốc 117 (Windows 10/11)' : 'Chrome 131 (Windows 10/11)',
        nacks: lossy ? 300 + n : n,
        plis: lossy ? 12 : n % 3,
        audio_only_forced: forced,
      };
    });
    const sum = (/** @type {'up_kbps' | 'down_kbps'} */ k) => list.reduce((a, x) => a + x[k], 0);
    return {
      type: 'stats',
      at_ms: Math.round(atMs),
      totals: { expected: everyone.length, joined: list.length, up_kbps: sum('up_kbps'), down_kbps: sum('down_kbps') },
      sites: list,
    };
  }

  /** @type {ReturnType<typeof setInterval> | undefined} */
  let statsTimer;

  class FakeServerSocket {
    readyState = 0;
    /** @type {((ev: unknown) => void) | null} */ onopen = null;
    /** @type {((ev: {data: unknown}) => void) | null} */ onmessage = null;
    /** @type {((ev: {code?: number, reason?: string}) => void) | null} */ onclose = null;
    /** @type {((ev: unknown) => void) | null} */ onerror = null;
    /** @type {RTCPeerConnection | null} */ answerer = null;
    /** @type {{mid: string | null, paint: (label: string, color: string, screen: boolean) => void}[]} */ videoOut = [];
    /** @type {(string | null)[]} */ audioOut = [];

    constructor() {
      current = this;
      setTimeout(() => {
        this.readyState = 1;
        this.onopen?.({});
      }, 50);
    }

    /** @param {object} msg */
    reply(msg) {
      setTimeout(() => this.onmessage?.({ data: JSON.stringify(msg) }), 30);
    }

    /** Tells the client everything that may have changed. */
    broadcast() {
      this.reply(meetingState());
      this.reply(floorMessage());
      if (role === 'chair') this.reply({ type: 'grid', ...gridPage() });
      this.sendSlots();
    }

    /** @param {string} data */
    send(data) {
      const msg = JSON.parse(data);
      /** @type {any} */ (window).fakeSent = [.../** @type {any} */ (window).fakeSent ?? [], msg];
      const f = state.floor;
      switch (msg.type) {
        case 'join':
          if (role === 'expired') return this.reply({ type: 'error', code: 'token_expired', message: 'token expired' });
          if (role === 'locked') return this.reply({ type: 'error', code: 'locked', message: 'meeting is locked' });
          if (params.has('banner')) this.reply({ type: 'error', code: 'internal', message: 'internal error' });
          this.reply({ type: 'joined', v: 1, meeting, you, sites: plan.sites, receive: plan.receive, ice_servers: [] });
          this.reply(meetingState());
          this.reply(floorMessage());
          if (role === 'chair') this.reply({ type: 'grid', ...gridPage() });
          if (role !== 'site') {
            for (const s of sites) if (s.state === 'joined') this.reply(siteState(s.id));
          } else {
            this.reply(siteState(you.id));
          }
          if (role === 'operator') this.streamStats();
          return undefined;
        case 'offer':
          return void this.answer(msg.sdp);
        case 'candidate':
          if (msg.candidate && this.answerer) void this.answerer.addIceCandidate({ candidate: msg.candidate, sdpMid: msg.sdp_mid ?? '0' }).catch(() => {});
          return undefined;
        case 'ping':
          return this.reply({ type: 'pong', id: msg.id });
        case 'end_meeting':
          return this.reply({ type: 'ended', reason: 'ended_by_chair' });
        case 'raise_hand':
          if (!f.hands.some((h) => h.site_id === you.id)) f.hands.push({ site_id: you.id, since_ms: Date.now() });
          return this.broadcast();
        case 'lower_hand':
          f.hands = f.hands.filter((h) => h.site_id !== (msg.site_id ?? you.id));
          return this.broadcast();
        case 'grant_floor':
          if (f.holders.length >= state.floorLimit) return this.reply({ type: 'error', code: 'floor_full', message: 'floor is full' });
          f.holders.push(msg.site_id);
          f.hands = f.hands.filter((h) => h.site_id !== msg.site_id);
          return this.broadcast();
        case 'revoke_floor':
          f.holders = f.holders.filter((id) => id !== msg.site_id);
          if (f.presenter === msg.site_id) f.presenter = null;
          return this.broadcast();
        case 'mute':
        case 'stop_video':
        case 'cochair':
          if (msg.type === 'mute') marks[msg.site_id].muted = msg.muted;
          if (msg.type === 'stop_video') marks[msg.site_id].video_stopped = msg.stopped;
          if (msg.type === 'cochair') marks[msg.site_id].cochair = msg.on;
          this.reply(siteState(msg.site_id));
          return this.sendSlots();
        case 'spotlight':
          f.spotlight = msg.site_id ?? null;
          return this.broadcast();
        case 'remove_site':
        case 'readmit_site': {
          const s = /** @type {any} */ (siteOf(msg.site_id));
          s.state = msg.type === 'remove_site' ? 'left' : s.state;
          f.holders = f.holders.filter((id) => id !== msg.site_id);
          f.hands = f.hands.filter((h) => h.site_id !== msg.site_id);
          this.reply(siteState(msg.site_id));
          return this.broadcast();
        }
        case 'lock':
          state.locked = msg.locked;
          return this.reply(meetingState());
        case 'open_meeting':
          state.phase = 'open';
          return this.broadcast();
        case 'present':
          if (msg.on && role === 'site' && !f.holders.includes(you.id) && !marks[you.id].cochair) {
            return this.reply({ type: 'error', code: 'forbidden', message: 'only floor holders may present' });
          }
          f.presenter = msg.on ? you.id : null;
          return this.broadcast();
        case 'chat':
          return this.reply({ type: 'chat', from: you, to: msg.to, text: msg.text, at_ms: Date.now() });
        case 'grid':
          state.grid = { page: msg.page, pageSize: msg.page_size ?? state.grid.pageSize };
          return this.broadcast();
        case 'force_audio_only':
          marks[msg.site_id].audio_only_forced = msg.on;
          return this.reply(siteState(msg.site_id));
        default:
          return undefined;
      }
    }

    /** @param {string} sdp */
    async answer(sdp) {
      const pc = new RTCPeerConnection();
      this.answerer = pc;
      await pc.setRemoteDescription({ type: 'offer', sdp });
      this.videoOut = [];
      this.audioOut = [];
      pc.getTransceivers().forEach((t, i) => {
        if (i < 3) {
          t.direction = 'recvonly';
          return;
        }
        t.direction = 'sendonly';
        if (t.receiver.track.kind === 'video') {
          const p = painter();
          void t.sender.replaceTrack(p.track);
          this.videoOut.push({ mid: t.mid, paint: p.paint });
        } else {
          this.audioOut.push(t.mid);
        }
      });
      await pc.setLocalDescription(await pc.createAnswer());
      await new Promise((resolve) => {
        if (pc.iceGatheringState === 'complete') resolve(null);
        pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve(null);
      });
      this.reply({ type: 'answer', sdp: pc.localDescription?.sdp });
      this.sendSlots();
    }

    /**
     * Operators get `stats` every second; the first time, five minutes of the past too, so
     * the charts are full at once.
     */
    streamStats() {
      const now = Date.now();
      if (statsTimer === undefined) for (let t = now - 300_000; t < now; t += 1000) this.reply(statsAt(t));
      clearInterval(statsTimer);
      statsTimer = setInterval(() => current?.reply(statsAt(Date.now())), 1000);
    }

    sendSlots() {
      if (!this.answerer) return;
      const { video, audio } = routed();
      /** @type {object[]} */
      const slots = [];
      this.videoOut.forEach((out, i) => {
        const v = video[i];
        if (v) out.paint(v.track === 'screen' ? nameOf(v.id) : nameOf(v.id), colorOf(v.id), v.track === 'screen');
        slots.push(v
          ? { mid: out.mid, kind: 'video', site_id: v.id, name: nameOf(v.id), layer: v.track === 'screen' ? 'high' : 'low', track: v.track }
          : { mid: out.mid, kind: 'video', site_id: null, name: null, layer: null, track: null });
      });
      this.audioOut.forEach((mid, i) => {
        const id = audio[i];
        slots.push({ mid, kind: 'audio', site_id: id ?? null, name: id ? nameOf(id) : null, layer: null, track: id ? 'audio' : null });
      });
      this.reply({ type: 'slots', slots });
    }

    close() {
      this.readyState = 3;
    }
  }

  Object.defineProperty(window, 'WebSocket', { value: FakeServerSocket, configurable: true, writable: true });

  // Presenting, headless: painted slides instead of the browser's screen picker.
  if (navigator.mediaDevices) {
    navigator.mediaDevices.getDisplayMedia = async () => {
      const p = painter();
      p.paint(you.name, '#000', true);
      return new MediaStream([p.track]);
    };
  }

  /** The screenshot script plays the other sites through this. */
  /** @type {any} */ (window).fakeServer = {
    /** @param {string} id @param {number} [agoMs] */
    handUp(id, agoMs = 0) {
      state.floor.hands.push({ site_id: id, since_ms: Date.now() - agoMs });
      current?.broadcast();
    },
    /** @param {Partial<typeof state.floor>} patch */
    setFloor(patch) {
      Object.assign(state.floor, patch);
      current?.broadcast();
    },
    /** @param {string} id @param {object} patch */
    setMarks(id, patch) {
      Object.assign(marks[id], patch);
      current?.reply(siteState(id));
      current?.sendSlots();
    },
    /** Every site's state, as the server sends a co-chair. */
    sendRoster() {
      for (const site of sites) current?.reply(siteState(site.id));
    },
    /** @param {'lobby' | 'open'} phase */
    setPhase(phase) {
      state.phase = phase;
      current?.broadcast();
    },
    /** @param {string} id @param {string} to @param {string} text */
    chatFrom(id, to, text) {
      const s = /** @type {any} */ (siteOf(id));
      current?.reply({ type: 'chat', from: { id: s.id, name: s.name, role: s.role }, to, text, at_ms: Date.now() });
    },
    /** @param {object} msg any server message, as is */
    push(msg) {
      current?.reply(msg);
    },
  };
}
