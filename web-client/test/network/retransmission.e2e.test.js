/**
 * Retransmission, proven end to end: a site's Chromium runs in its own network namespace,
 * and for a few seconds nftables drops every 12th packet of the chair's video coming in to
 * it (matched on its RTP payload type, which SRTP leaves in the clear; deterministic,
 * `numgen inc`; the retransmissions, on their own RTX payload type, pass). The site NACKs
 * the holes, the SFU answers with RTX, and the picture goes on: seen on both ends — the
 * SFU's `/metrics` (NACKs received from the site, RTX packets sent) and the site's getStats
 * (`nackCount`, `retransmittedPacketsReceived`, frames decoded every second, `freezeCount`,
 * keyframe requests). A clean window of the same length just before is the baseline: no
 * NACK there. str0m also probes the link by resending recent packets, so RTX counters alone
 * can grow without loss (they do in the clean window while the estimate ramps); the NACKs,
 * and the holes repaired without a keyframe request, tie the retransmissions to the drops.
 *
 *   cd web-client && unshare -n bash -c 'ip link set lo up && \
 *     node --test --test-concurrency=1 test/network/retransmission.e2e.test.js'
 */

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { snapshot, startServer } from '../e2e/harness.js';
import { createSiteLink } from './netns.js';
import { meetingOverLink } from './meeting.js';

/** Every `NTH` packet of the chair's video to the site is dropped. */
const NTH = 12;
const WINDOW_SECONDS = 5;

/** @type {Awaited<ReturnType<typeof startServer>>} */
let server;
/** @type {Awaited<ReturnType<typeof meetingOverLink>>} */
let meeting;
/** @type {ReturnType<typeof createSiteLink>} */
let link;
/** @type {import('playwright-core').Page} */
let chair;
/** @type {import('playwright-core').Page} */
let site;

const sleep = (/** @type {number} */ ms) => new Promise((ok) => setTimeout(ok, ms));

before(async () => {
  meeting = await meetingOverLink();
  ({ server, link, chair } = meeting);
  [site] = meeting.remotes;
});

after(async () => {
  await meeting?.close();
});

/** The site's receive figures of the chair's camera. */
async function chairVideo() {
  const s = await snapshot(site);
  const mid = s.slots.find((sl) => sl.kind === 'video' && sl.site_id === 'chair' && sl.track === 'camera')?.mid;
  /** @type {any} */
  const v = s.stats.find((x) => x.type === 'inbound-rtp' && x.mid === mid) ?? {};
  return {
    frames: Number(v.framesDecoded ?? 0),
    nacks: Number(v.nackCount ?? 0),
    rtx: Number(v.retransmittedPacketsReceived ?? 0),
    freezes: Number(v.freezeCount ?? 0),
    lost: Number(v.packetsLost ?? 0),
    packets: Number(v.packetsReceived ?? 0),
    plis: Number(v.pliCount ?? 0) + Number(v.firCount ?? 0),
    width: Number(v.frameWidth ?? 0),
    pt: /** @type {any} */ (s.stats.find((x) => x.id === v.codecId))?.payloadType,
  };
}

/** The SFU's `/metrics` text. */
const metrics = async () => (await fetch(`${server.info.http.replace('//0.0.0.0:', '//127.0.0.1:')}/metrics`)).text();

/** The video layer the SFU sends the site (3 high … 0 none), from `/metrics`. */
async function siteLayer() {
  const line = (await metrics()).split('\n').find((l) => l.startsWith('diemcau_site_video_layer{') && l.includes('site="s1"'));
  return Number(line?.split(' ').pop() ?? 0);
}

/** The SFU's RTX packets sent and the NACKs it received from the site, from `/metrics`. */
async function sfuCounters() {
  const text = await metrics();
  const rtx = Number(text.match(/^diemcau_sfu_rtx_packets_sent_total (\d+)/m)?.[1] ?? NaN);
  const nackLine = text.split('\n').find((l) => l.startsWith('diemcau_site_nacks_total{')
    && l.includes('site="s1"') && l.includes('direction="down"'));
  return { rtx, nacks: Number(nackLine?.split(' ').pop() ?? 0) };
}

/**
 * Runs a window of `WINDOW_SECONDS`, sampling frames decoded each second; `sampled` runs
 * when the sampling ends, before the wait for the last NACKs (the loss must stop there, or
 * a packet dropped in the wait is counted as dropped before its NACK and RTX can be).
 */
async function window(sampled = () => {}) {
  const sfu0 = await sfuCounters();
  const rx0 = await chairVideo();
  /** @type {number[]} */
  const perSecond = [];
  let last = rx0.frames;
  for (let i = 0; i < WINDOW_SECONDS; i++) {
    await sleep(1000);
    const now = (await chairVideo()).frames;
    perSecond.push(now - last);
    last = now;
  }
  sampled();
  // Let the last NACKs be answered and the SFU's counters reach /metrics (stats every second).
  await sleep(1500);
  const sfu1 = await sfuCounters();
  const rx1 = await chairVideo();
  return {
    perSecond,
    sfuRtx: sfu1.rtx - sfu0.rtx,
    sfuNacks: sfu1.nacks - sfu0.nacks,
    nacks: rx1.nacks - rx0.nacks,
    rtx: rx1.rtx - rx0.rtx,
    freezes: rx1.freezes - rx0.freezes,
    lost: rx1.lost - rx0.lost,
    packets: rx1.packets - rx0.packets,
    plis: rx1.plis - rx0.plis,
  };
}

test('video packets dropped on a site\'s line are NACKed, resent by the SFU and the picture goes on', async () => {
  // The chair's video flows and the site's estimate has had time to settle.
  const until = Date.now() + 30_000;
  while ((await chairVideo()).frames === 0 && Date.now() < until) await sleep(250);
  assert.ok((await chairVideo()).frames > 0, 'the site decodes the chair\'s video');
  // Let the estimate ramp up until the SFU sends the site the top layer (bounded): while it
  // ramps, the SFU changes layers (and frame rates) and str0m probes, which would blur both
  // windows.
  const settled = Date.now() + 20_000;
  while ((await siteLayer()) < 3 && Date.now() < settled) await sleep(500);
  const layer = await siteLayer();
  await sleep(1000);

  const clean = await window();
  const { pt } = await chairVideo();
  assert.ok(Number.isInteger(pt), `the chair's video has a payload type in getStats (${pt})`);
  link.dropEveryNthRtp(NTH, pt);
  let dropped = NaN;
  let stopped = false;
  const stop = () => {
    stopped = true;
    dropped = link.stopDroppingNth();
  };
  let lossy;
  try {
    lossy = await window(stop);
  } finally {
    if (!stopped) stop();
  }
  console.log(`retransmission figures: layer ${layer}, pt ${pt}, dropped ${dropped}; clean ${JSON.stringify(clean)}; lossy ${JSON.stringify(lossy)}`);

  // Enough video was dropped for the figures to mean something.
  assert.ok(dropped >= 8, `the firewall dropped ${dropped} video packets (at least 8)`);

  // The site asked: Chromium's NACK count grew, and the SFU received those NACKs.
  assert.ok(lossy.nacks > clean.nacks, `the site sent NACKs (${lossy.nacks}, clean window ${clean.nacks})`);
  assert.ok(lossy.nacks >= dropped / 4, `about one NACK per hole (${lossy.nacks} for ${dropped} dropped)`);
  assert.ok(lossy.sfuNacks > clean.sfuNacks, `the SFU received the site's NACKs (${lossy.sfuNacks}, clean ${clean.sfuNacks})`);

  // The SFU answered: it sent, and the site received, at least one retransmission per
  // dropped packet (none of them is dropped: they have their own payload type).
  assert.ok(lossy.sfuRtx >= dropped, `the SFU resent the dropped packets (${lossy.sfuRtx} RTX for ${dropped} dropped)`);
  assert.ok(lossy.rtx >= dropped, `the site received the retransmissions (${lossy.rtx} for ${dropped} dropped)`);
  // No keyframe was asked for: the holes were repaired in place (no FEC is negotiated, so
  // by the retransmissions). Chromium's `packetsLost` is no measure here: it leaves packets
  // recovered through RTX out of the media stream's count. With the RTX packets dropped too,
  // the picture stalls (0–2 frames a second) and the checks above and below fail.
  assert.equal(lossy.plis, 0, 'the site never asked for a keyframe: every hole was repaired');

  // The picture never stopped: frames decoded every second. The camera gives 20 fps and the
  // lowest temporal layer the SFU may choose is a quarter of that, so under 3 in a second is
  // a stall, not a choice.
  const slowest = Math.min(...lossy.perSecond);
  assert.ok(slowest >= 3, `frames decoded every second during the loss: ${lossy.perSecond.join(', ')}`);
  // Chromium counts a freeze when one frame interval exceeds 3x the average: a deliberate
  // switch to a lower frame rate counts too, so the clean window's count (same length, same
  // layer choices) is the bound, plus one such switch.
  assert.ok(lossy.freezes <= clean.freezes + 1, `no freeze from the loss (${lossy.freezes}, clean ${clean.freezes})`);
});
