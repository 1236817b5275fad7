/**
 * Temporal layers end to end (issue 4): what Chromium's simulcast encoder sends
 * (`scalabilityMode` per rid), and what a site on a narrow link decodes when the SFU drops
 * temporal layers instead of pausing its video. The site's Chromium runs in its own network
 * namespace; its link is shaped to `kbit` kbit/s for 30 s, then lifted.
 *
 * Per phase (good, shaped, lifted) it prints the chair video the site decodes: frame rate,
 * width, frames decoded, freezes, PLIs and NACKs sent; and the SFU's "layer choice" log lines
 * (layer and temporal figure).
 *
 * Usage (root, from the repository root, after `cargo build --release -p signaling` and
 * `npm ci` in web-client/):
 *   unshare -n bash -c 'ip link set lo up && node load-tests/browser/temporal.mjs [kbit]'
 */

import { joinAs, launchBrowser, snapshot, startServer, waitConnected } from '../../web-client/test/e2e/harness.js';
import { HUB_IP, createSiteLink } from '../../web-client/test/network/netns.js';

const kbit = Number(process.argv[2] ?? 220);
const sleep = (/** @type {number} */ ms) => new Promise((ok) => setTimeout(ok, ms));
process.env.RUST_LOG ??= 'info,sfu=debug,str0m=warn,str0m::format=error';

/** @param {import('playwright-core').Page} page */
async function chairVideo(page) {
  const s = await snapshot(page);
  const mid = s.slots.find((sl) => sl.kind === 'video' && sl.site_id === 'chair' && sl.track === 'camera')?.mid;
  return /** @type {any} */ (s.stats.find((x) => x.type === 'inbound-rtp' && x.mid === mid));
}

/** @param {any} a @param {any} b */
function phase(a, b) {
  const secs = (b.timestamp - a.timestamp) / 1000;
  return {
    fps: ((b.framesDecoded - a.framesDecoded) / secs).toFixed(1),
    width: b.frameWidth,
    kbps: (((b.bytesReceived - a.bytesReceived) * 8) / secs / 1000).toFixed(0),
    decoded: b.framesDecoded - a.framesDecoded,
    freezes: (b.freezeCount ?? 0) - (a.freezeCount ?? 0),
    freezeS: ((b.totalFreezesDuration ?? 0) - (a.totalFreezesDuration ?? 0)).toFixed(2),
    plis: (b.pliCount ?? 0) - (a.pliCount ?? 0),
    nacks: (b.nackCount ?? 0) - (a.nackCount ?? 0),
    lost: (b.packetsLost ?? 0) - (a.packetsLost ?? 0),
  };
}

const link = createSiteLink();
const server = await startServer({ bind: '0.0.0.0', announceIp: HUB_IP });
const at = (/** @type {string} */ l, /** @type {string} */ host) => l.replace('//0.0.0.0:', `//${host}:`);
const local = await launchBrowser();
const remote = await launchBrowser({ netns: link.name });
try {
  const chair = (await joinAs(local.context, at(server.info.meeting.chair.link, '127.0.0.1'))).page;
  const site = (await joinAs(remote.context, at(server.info.meeting.sites[1].link, HUB_IP))).page;
  for (const p of [chair, site]) await waitConnected(p);
  await chair.getByTestId('open-meeting').click();
  await sleep(20_000);
  const out = (await snapshot(chair)).stats.filter((x) => x.type === 'outbound-rtp' && x.kind === 'video');
  for (const x of /** @type {any[]} */ (out)) {
    console.log(`chair sends rid ${x.rid ?? '-'}: scalabilityMode ${x.scalabilityMode}, ${x.frameWidth}x${x.frameHeight} at ${x.framesPerSecond} fps, encoder ${x.encoderImplementation}`);
  }
  const good = await chairVideo(site);
  await sleep(10_000);
  const goodEnd = await chairVideo(site);
  console.log('good link      ', phase(good, goodEnd));
  link.shape(kbit);
  await sleep(10_000);
  const shaped = await chairVideo(site);
  await sleep(20_000);
  const shapedEnd = await chairVideo(site);
  console.log(`${kbit} kbit/s, 10-30 s`, phase(shaped, shapedEnd));
  link.lift();
  await sleep(20_000);
  const lifted = await chairVideo(site);
  await sleep(10_000);
  console.log('lifted, 20-30 s', phase(lifted, await chairVideo(site)));
} finally {
  await remote.close();
  await local.close();
  await server.stop();
  link.destroy();
  const choices = server.log.join('').split('\n').filter((l) => l.includes('layer choice'));
  console.log(`SFU layer choices (${choices.length}):`);
  for (const l of choices) console.log(`  ${l.replace(/\x1b\[[0-9;]*m/g, '').slice(0, 260)}`);
}
