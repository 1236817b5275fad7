/**
 * A province meeting in real Chromium: 1 chair + 3 sites join through the real web client
 * pages; every assertion comes from the browsers' own `getStats()`.
 */

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  inboundBySlot, joinAs, launchBrowser, pollStats, selectedRemote, snapshot, startServer, waitConnected,
} from './harness.js';

/** @type {Awaited<ReturnType<typeof startServer>>} */
let server;
/** @type {Awaited<ReturnType<typeof launchBrowser>>} */
let browser;
/** @type {import('playwright-core').Page} */
let chair;
/** @type {import('playwright-core').Page[]} */
const sites = [];

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  chair = (await joinAs(browser.context, server.info.meeting.chair.link)).page;
  for (const invite of server.info.meeting.sites.slice(0, 3)) {
    sites.push((await joinAs(browser.context, invite.link)).page);
  }
  for (const page of [chair, ...sites]) await waitConnected(page);
  // Meetings start in the lobby: the program reaches the sites once the chair opens it.
  await chair.getByTestId('open-meeting').click();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const SITE_IDS = ['s1', 's2', 's3'];

test('the chair decodes video from all three sites', async () => {
  const decoded = await pollStats(chair, (s) => {
    const by = inboundBySlot(s).filter((x) => x.kind === 'video' && (x.framesDecoded ?? 0) > 0);
    const got = new Set(by.map((x) => x.site));
    return SITE_IDS.every((id) => got.has(id)) ? got : null;
  }, 30_000);
  assert.ok(decoded, 'chair decoded frames from s1, s2 and s3 within 30 s');
});

test('the chair hears every site', async () => {
  const heard = await pollStats(chair, (s) => {
    const got = new Set(inboundBySlot(s).filter((x) => x.kind === 'audio' && (x.packetsReceived ?? 0) > 0).map((x) => x.site));
    return SITE_IDS.every((id) => got.has(id)) ? got : null;
  }, 20_000);
  assert.ok(heard, 'chair received audio from s1, s2 and s3');
});

test('each site decodes the chair video and receives the chair audio', async () => {
  for (const [i, page] of sites.entries()) {
    const ok = await pollStats(page, (s) => {
      const inbound = inboundBySlot(s);
      const video = inbound.some((x) => x.kind === 'video' && x.site === 'chair' && (x.framesDecoded ?? 0) > 0);
      const audio = inbound.some((x) => x.kind === 'audio' && x.site === 'chair' && (x.packetsReceived ?? 0) > 0);
      return video && audio;
    }, 30_000);
    assert.ok(ok, `site ${SITE_IDS[i]} decodes the chair's video and receives its audio`);
  }
});

test('no site receives another site\'s media', async () => {
  for (const [i, page] of sites.entries()) {
    const s = await pollStats(page, (x) => x, 0);
    const mapped = s.slots.filter((sl) => sl.site_id !== null);
    assert.ok(mapped.length >= 2, 'the chair is mapped into a video and an audio slot');
    assert.deepEqual([...new Set(mapped.map((sl) => sl.site_id))], ['chair'], `site ${SITE_IDS[i]} slots carry only the chair`);
    // Video counts frames, not packets: the SFU's bandwidth probes pad idle video slots.
    const receiving = inboundBySlot(s).filter((x) => ((x.kind === "audio" ? x.packetsReceived : x.framesReceived) ?? 0) > 0);
    assert.ok(receiving.length >= 2);
    for (const x of receiving) {
      assert.equal(x.site, 'chair', `site ${SITE_IDS[i]} got packets on slot ${x.mid} which carries ${x.site}`);
    }
  }
});

test('all media flows through the SFU\'s single UDP port', async () => {
  for (const page of [chair, ...sites]) {
    const s = await pollStats(page, (x) => x, 0);
    const remote = selectedRemote(s.stats);
    assert.ok(remote, 'a selected candidate pair exists');
    assert.equal(remote.port, server.udpPort);
    assert.equal(remote.address ?? remote.ip, '127.0.0.1');
    assert.equal(remote.protocol, 'udp');
    const transports = s.stats.filter((x) => x.type === 'transport');
    assert.equal(transports.length, 1, 'one bundled transport');
  }
});

test('the hall, watched at the high layer by every site, sends three simulcast layers', async () => {
  // Chromium's bandwidth estimate needs ~10 s before it sends the full layer.
  const layers = await pollStats(chair, (s) => {
    const sending = s.stats.filter((x) => x.type === 'outbound-rtp' && x.kind === 'video' && (x.packetsSent ?? 0) > 0);
    const rids = new Set(sending.map((x) => x.rid));
    return ['q', 'h', 'f'].every((r) => rids.has(r)) ? rids : null;
  }, 40_000);
  assert.ok(layers, 'the chair sends rids q, h and f');
});

test('a site seen only on the hall\'s grid stops encoding the layers nobody receives', async () => {
  /** @param {import('playwright-core').Page} page */
  const sentByRid = async (page) => {
    const s = await snapshot(page);
    return Object.fromEntries(
      s.stats.filter((x) => x.type === 'outbound-rtp' && x.kind === 'video' && x.rid).map((x) => [x.rid, x.packetsSent ?? 0]),
    );
  };
  const until = Date.now() + 20_000;
  let growing = null;
  while (Date.now() < until) {
    const a = await sentByRid(sites[0]);
    await new Promise((ok) => setTimeout(ok, 1500));
    const b = await sentByRid(sites[0]);
    growing = Object.keys(b).filter((rid) => b[rid] > (a[rid] ?? 0)).sort();
    if (growing.length === 1 && growing[0] === 'q') break;
  }
  assert.deepEqual(growing, ['q'], 'only the low layer keeps flowing from s1');
});
