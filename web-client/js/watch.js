// The watch page (`/watch#m=<meeting>&t=<viewer token>`): one button, "Xem", pulls the
// program over WHEP (draft-ietf-wish-whep) and plays it. The token stays in the URL fragment
// (never in a request line or a proxy log) and goes only in the Authorization header.

/** @param {string} hash  `#m=...&t=...` */
export function watchParams(hash) {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  const meeting = p.get('m') ?? '';
  const token = p.get('t') ?? '';
  return meeting && token ? { meeting, token } : null;
}

/** Vietnamese text for a refused WHEP request. @param {number} status */
export function refusalText(status) {
  switch (status) {
    case 401: return 'Mã xem không hợp lệ hoặc đã hết hạn. Xin ban tổ chức gửi đường dẫn mới.';
    case 403: return 'Mã xem này không dùng cho hội nghị này.';
    case 404: return 'Không tìm thấy hội nghị.';
    case 409: return 'Hội nghị đã kết thúc.';
    case 503: return 'Máy chủ đang quá tải. Thử lại sau ít phút.';
    default: return `Không xem được (mã ${status}). Thử lại sau.`;
  }
}

/** @param {{meeting: string, token: string}} params @param {HTMLVideoElement} video */
async function watch(params, video) {
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  const stream = new MediaStream();
  pc.ontrack = (e) => {
    stream.addTrack(e.track);
    video.srcObject = stream;
  };
  await pc.setLocalDescription(await pc.createOffer());
  // The server is ICE-lite with its candidates in the answer: wait for ours, no trickle.
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve(undefined);
    pc.onicegatheringstatechange = () => {
      if (pc.iceGatheringState === 'complete') resolve(undefined);
    };
    setTimeout(resolve, 2000);
  });
  const r = await fetch(`/whep/v1/${encodeURIComponent(params.meeting)}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${params.token}` },
    body: pc.localDescription?.sdp ?? '',
  });
  if (r.status !== 201) {
    pc.close();
    throw new Error(refusalText(r.status));
  }
  const location = r.headers.get('Location');
  await pc.setRemoteDescription({ type: 'answer', sdp: await r.text() });
  addEventListener('pagehide', () => {
    if (location) {
      fetch(location, { method: 'DELETE', headers: { Authorization: `Bearer ${params.token}` }, keepalive: true });
    }
    pc.close();
  });
  return pc;
}

function start() {
  const button = /** @type {HTMLButtonElement} */ (document.getElementById('watch'));
  const video = /** @type {HTMLVideoElement} */ (document.getElementById('program'));
  const status = /** @type {HTMLElement} */ (document.getElementById('status'));
  const params = watchParams(location.hash);
  if (!params) {
    status.textContent = 'Đường dẫn xem thiếu mã. Xin ban tổ chức gửi lại đường dẫn.';
    button.disabled = true;
    return;
  }
  button.addEventListener('click', async () => {
    button.disabled = true;
    status.textContent = 'Đang kết nối…';
    try {
      const pc = await watch(params, video);
      await video.play().catch(() => {});
      status.textContent = 'Đang xem.';
      pc.onconnectionstatechange = () => {
        if (pc.connectionState === 'failed' || pc.connectionState === 'closed') {
          status.textContent = 'Mất kết nối. Bấm "Xem" để xem lại.';
          button.disabled = false;
        }
      };
    } catch (e) {
      status.textContent = e instanceof Error ? e.message : String(e);
      button.disabled = false;
    }
  });
}

if (typeof document !== 'undefined') start();
