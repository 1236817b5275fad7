/**
 * A publisher sending far more than its layout announces (a broken or hostile client) is
 * capped at the SFU and reported: site A's page lifts its own encoder limits so its
 * quarter-resolution layer (announced 150 kbit/s) runs at full resolution and up to
 * 6 Mbit/s. The SFU drops the excess before the chair sees it, counts it in
 * `diemcau_site_dropped_packets_total{reason="over_budget"}` and in the operators' stats,
 * and site B, which behaves, is not touched.
 */

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

// @ts-expect-error -- the package ships no types.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

import { joinAs, launchBrowser, snapshot, startServer, waitConnected } from './harness.js';

/** @type {Awaited<ReturnType<typeof startServer>>} */
let server;
/** @type {Awaited<ReturnType<typeof launchBrowser>>} */
let browser;
/** @type {import('playwright-core').Page} */
let chair;
/** @type {import('playwright-core').Page} */
let flooder;

const sleep = (/** @type {number} */ ms) => new Promise((ok) => setTimeout(ok, ms));

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  chair = (await joinAs(browser.context, server.info.meeting.chair.link)).page;
  flooder = (await joinAs(browser.context, server.info.meeting.sites[0].link)).page;
  const good = (await joinAs(browser.context, server.info.meeting.sites[1].link)).page;
  for (const p of [chair, flooder, good]) await waitConnected(p);
  await chair.getByTestId('open-meeting').click();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Per-site dropped packets by reason, from a parsed `/metrics` scrape. */
async function droppedBySite() {
  const families = parsePrometheusTextFormat(await (await fetch(`${server.info.http}/metrics`)).text());
  const f = families.find((/** @type {any} */ x) => x.name === 'diemcau_site_dropped_packets_total');
  /** @type {Record<string, number>} */
  const out = {};
  for (const m of f?.metrics ?? []) out[`${m.labels.site}/${m.labels.reason}`] = Number(m.value);
  return out;
}

/** Bytes and decoded frames the chair received from `site`'s camera. */
async function fromSite(/** @type {string} */ site) {
  const s = await snapshot(chair);
  const mids = s.slots.filter((sl) => sl.kind === 'video' && sl.site_id === site).map((sl) => sl.mid);
  const inbound = s.stats.filter((x) => x.type === 'inbound-rtp' && mids.includes(x.mid ?? ''));
  return {
    bytes: inbound.reduce((n, x) => n + (x.bytesReceived ?? 0), 0),
    frames: inbound.reduce((n, x) => n + (x.framesDecoded ?? 0), 0),
  };
}

test('a site flooding its low layer is capped and reported; the other site is untouched', async () => {
  // Before: nobody is over budget.
  await sleep(3000);
  assert.deepEqual(await droppedBySite(), {}, 'no drops while everyone keeps to the layout');

  // Site A lifts its encoder's limits: the q layer at full resolution, up to 6 Mbit/s.
  await flooder.evaluate(async () => {
    const pc = /** @type {RTCPeerConnection} */ (/** @type {any} */ (window).diemcau.pc);
    const sender = pc.getSenders().find((s) => s.track?.kind === 'video' && s.getParameters().encodings.length === 3);
    if (!sender) throw new Error('no simulcast camera sender');
    const p = sender.getParameters();
    p.encodings[0] = { ...p.encodings[0], scaleResolutionDownBy: 1, maxBitrate: 6_000_000 };
    await sender.setParameters(p);
  });

  // The SFU starts dropping A's excess (Chromium's estimate ramps up over ~10 s).
  const until = Date.now() + 40_000;
  let dropped = await droppedBySite();
  while (!(dropped['s1/over_budget'] > 0) && Date.now() < until) {
    await sleep(1000);
    dropped = await droppedBySite();
  }
  assert.ok(dropped['s1/over_budget'] > 0, `A's excess is dropped and counted (${JSON.stringify(dropped)})`);
  assert.equal(dropped['s2/over_budget'] ?? 0, 0, 'B is never policed');

  // The hall's grid takes A's low layer: what reaches it stays at the budget, 3 × 150 kbit/s
  // (not the megabits A sends).
  const a0 = await fromSite('s1');
  const b0 = await fromSite('s2');
  await sleep(5000);
  const a1 = await fromSite('s1');
  const b1 = await fromSite('s2');
  const aKbps = ((a1.bytes - a0.bytes) * 8) / 5 / 1000;
  console.log(`# A's video to the chair while flooding: ${aKbps.toFixed(0)} kbit/s; dropped ${JSON.stringify(await droppedBySite())}`);
  assert.ok(aKbps < 3 * 150 * 1.4, `the chair gets at most A's low-layer budget (${aKbps.toFixed(0)} kbit/s)`);
  assert.ok(b1.frames - b0.frames > 40, `the chair keeps decoding B (${b1.frames - b0.frames} frames in 5 s)`);
});
