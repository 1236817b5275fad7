/**
 * A site behind a firewall that drops UDP: its Chromium runs in its own network namespace
 * where nftables drops every UDP datagram. With the SFU's ICE-TCP listener on, it still
 * joins, over the SFU's TCP port, decodes the chair's video and is heard, and the operator
 * sees its route as direct over TCP. No TURN server is involved.
 */

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { joinAs, snapshot, startServer } from '../e2e/harness.js';
import { createSiteLink } from './netns.js';
import { meetingOverLink } from './meeting.js';

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
  meeting = await meetingOverLink({ args: ['--ice-tcp', '0.0.0.0:0'], beforeServer: (l) => l.blockUdp() });
  ({ server, link, chair } = meeting);
  [site] = meeting.remotes;
  assert.ok(server.info.ice_tcp, 'the demo reports its ICE-TCP address');
});

after(async () => {
  await meeting?.close();
});

/** Frames decoded and audio packets received by `page` from the chair. */
async function fromChair(/** @type {import('playwright-core').Page} */ page) {
  const s = await snapshot(page);
  const mid = (/** @type {string} */ kind) =>
    s.slots.find((sl) => sl.kind === kind && sl.site_id === 'chair' && (kind === 'audio' || sl.track === 'camera'))?.mid;
  const video = s.stats.find((x) => x.type === 'inbound-rtp' && x.mid === mid('video'));
  const audio = s.stats.find((x) => x.type === 'inbound-rtp' && x.mid === mid('audio'));
  return { frames: video?.framesDecoded ?? 0, width: video?.frameWidth ?? 0, audio: audio?.packetsReceived ?? 0 };
}

test('a site whose UDP is dropped joins over the SFU\'s TCP port and decodes the chair\'s video', async () => {
  const a = await fromChair(site);
  await sleep(3000);
  const b = await fromChair(site);
  assert.ok(b.frames - a.frames > 20, `video decoded over TCP (${b.frames - a.frames} frames in 3 s)`);
  assert.ok(b.width > 0);
  assert.ok(b.audio - a.audio > 100, `audio over TCP (${b.audio - a.audio} packets in 3 s)`);
  assert.ok(link.udpDropped() > 0, 'the site did try UDP, and the firewall dropped it');
  // The selected pair is the SFU's TCP host candidate.
  const pair = await site.evaluate(async () => {
    const pc = /** @type {RTCPeerConnection} */ (/** @type {any} */ (window).diemcau.pc);
    const stats = [...(await pc.getStats()).values()];
    const transport = stats.find((s) => s.type === 'transport' && s.selectedCandidatePairId);
    const p = stats.find((s) => s.id === transport?.selectedCandidatePairId);
    const remoteCandidate = stats.find((s) => s.id === p?.remoteCandidateId);
    return { protocol: remoteCandidate?.protocol, type: remoteCandidate?.candidateType, tcpType: remoteCandidate?.tcpType };
  });
  assert.deepEqual(pair, { protocol: 'tcp', type: 'host', tcpType: 'passive' });
});

test('the chair receives the TCP site\'s camera, and the operator sees its route as TCP', async () => {
  // The operator stats carry each site's route (as the operator page shows it).
  const operator = (await joinAs(meeting.localBrowser.context, server.info.meeting.operator.link.replace('//0.0.0.0:', '//127.0.0.1:'))).page;
  const reported = await operator.waitForFunction(() => {
    const sites = /** @type {any} */ (window).diemcau.stats?.sites ?? [];
    const s = sites.find((/** @type {any} */ x) => x.site_id === 's1');
    return s?.transport ? s : null;
  }, null, { timeout: 30_000 });
  const s = /** @type {any} */ (await reported.jsonValue());
  assert.equal(s.transport, 'tcp');
  // Direct to the SFU, not relayed. (Chromium's local end of an active TCP pair is a host
  // candidate on port 9 that the connection turns into a peer-reflexive one.)
  assert.ok(['host', 'prflx'].includes(s.candidate), s.candidate);
  // Media flows up too: the chair decodes the site's camera.
  const snap = async () => {
    const x = await snapshot(chair);
    const mids = x.slots.filter((sl) => sl.site_id === 's1' && sl.kind === 'video').map((sl) => sl.mid);
    return x.stats.filter((st) => st.type === 'inbound-rtp' && mids.includes(String(st.mid))).reduce((n, st) => n + (st.framesDecoded ?? 0), 0);
  };
  const before = await snap();
  await sleep(3000);
  assert.ok((await snap()) - before > 10, 'the chair decodes the TCP site\'s camera');
});
