/**
 * Garbage at the media port during a meeting (issue 8, hostile input): random bytes, and
 * truncated or malformed STUN, DTLS, RTP and RTCP, sent from addresses that are no
 * participant's, at the SFU's single UDP port while a chair and two sites are in a meeting.
 * Nothing is disturbed: every site keeps decoding the hall's video and receiving its audio,
 * no connection drops, and the SFU counts what it threw away in
 * `diemcau_sfu_dropped_packets_total` (parsed from a real `/metrics` scrape).
 *
 *   cd web-client && unshare -n bash -c 'ip link set lo up && \
 *     node --test --test-concurrency=1 test/e2e/hostile-udp.e2e.test.js'
 */

import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, before, test } from 'node:test';

// @ts-expect-error -- the package ships no types.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

import { joinAs, launchBrowser, snapshot, startServer, waitConnected } from './harness.js';

/** @type {Awaited<ReturnType<typeof startServer>>} */
let server;
/** @type {Awaited<ReturnType<typeof launchBrowser>>} */
let browser;
/** @type {import('playwright-core').Page[]} */
const sites = [];

const sleep = (/** @type {number} */ ms) => new Promise((ok) => setTimeout(ok, ms));

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  const chair = (await joinAs(browser.context, server.info.meeting.chair.link)).page;
  for (const invite of server.info.meeting.sites.slice(0, 2)) sites.push((await joinAs(browser.context, invite.link)).page);
  for (const page of [chair, ...sites]) await waitConnected(page);
  await chair.getByTestId('open-meeting').click();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Frames decoded and audio packets received from the chair by `page`. */
async function fromChair(/** @type {import('playwright-core').Page} */ page) {
  const s = await snapshot(page);
  const mid = (/** @type {string} */ kind) => s.slots.find((sl) => sl.kind === kind && sl.site_id === 'chair')?.mid;
  const video = s.stats.find((x) => x.type === 'inbound-rtp' && x.mid === mid('video'));
  const audio = s.stats.find((x) => x.type === 'inbound-rtp' && x.mid === mid('audio'));
  return { frames: video?.framesDecoded ?? 0, audio: audio?.packetsReceived ?? 0 };
}

/** `diemcau_sfu_dropped_packets_total` summed over reasons. */
async function dropped() {
  const text = await (await fetch(`${server.info.http}/metrics`)).text();
  /** @type {{name: string, metrics: {value: string}[]}[]} */
  const families = parsePrometheusTextFormat(text);
  const f = families.find((x) => x.name === 'diemcau_sfu_dropped_packets_total');
  return (f?.metrics ?? []).reduce((a, m) => a + Number(m.value), 0);
}

/**
 * Pseudo-random bytes from a fixed seed (xorshift32): the same garbage every run, so a failure
 * can be replayed rather than depend on what this run happened to draw.
 */
let seed = 0x9e3779b9;
function next() {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
}
function randomBytes(/** @type {number} */ n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = next() & 0xff;
  return b;
}

/** Datagrams no participant would send: each kind of header the SFU demultiplexes, broken. */
function garbage() {
  /** @type {Buffer[]} */
  const out = [];
  for (let i = 0; i < 200; i++) out.push(randomBytes(1 + (next() % 1400)));
  // STUN binding request header with a lying length and no attributes.
  out.push(Buffer.from([0x00, 0x01, 0xff, 0xff, 0x21, 0x12, 0xa4, 0x42, ...randomBytes(12)]));
  // A STUN request with a random USERNAME, as a port scanner would send.
  out.push(Buffer.concat([Buffer.from([0x00, 0x01, 0x00, 0x0c, 0x21, 0x12, 0xa4, 0x42]), randomBytes(12), Buffer.from([0x00, 0x06, 0x00, 0x08]), randomBytes(8)]));
  // DTLS ClientHello record header, truncated.
  out.push(Buffer.from([0x16, 0xfe, 0xfd, 0x00, 0x00]));
  // RTP with a version-2 header but nothing after it, and one claiming 15 CSRCs.
  out.push(Buffer.from([0x80, 0x60, 0x00, 0x01]));
  out.push(Buffer.concat([Buffer.from([0x8f, 0x60, 0x00, 0x01, 0, 0, 0, 1, 0, 0, 0, 2]), randomBytes(8)]));
  // RTCP sender report header with a length past the end.
  out.push(Buffer.from([0x80, 0xc8, 0xff, 0xff, 0, 0, 0, 1]));
  // An empty datagram, and a full-size one.
  out.push(Buffer.alloc(0), randomBytes(1472));
  return out;
}

test('garbage at the media port leaves the meeting untouched and is counted as dropped', async () => {
  // Media flows first (polled: it may still be starting when the meeting opens).
  const before = await Promise.all(sites.map(fromChair));
  let flowing = before;
  for (const until = Date.now() + 20_000; Date.now() < until;) {
    await sleep(500);
    flowing = await Promise.all(sites.map(fromChair));
    if (flowing.every((x, i) => x.frames > before[i].frames)) break;
  }
  flowing.forEach((x, i) => assert.ok(x.frames > before[i].frames, `site ${i + 1} decodes the hall before the flood`));
  const droppedBefore = await dropped();

  const sent = { count: 0 };
  const senders = await Promise.all([0, 1, 2].map(() => new Promise((ok) => {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1', () => ok(s));
  })));
  const flood = garbage();
  for (let round = 0; round < 5; round++) {
    for (const s of /** @type {import('node:dgram').Socket[]} */ (senders)) {
      for (const d of flood) {
        await new Promise((ok) => s.send(d, server.udpPort, '127.0.0.1', ok));
        sent.count += 1;
      }
    }
    await sleep(200);
  }
  for (const s of /** @type {import('node:dgram').Socket[]} */ (senders)) s.close();

  // Every site keeps decoding the hall and hearing it, and stays connected.
  const start = await Promise.all(sites.map(fromChair));
  await sleep(3000);
  const end = await Promise.all(sites.map(fromChair));
  end.forEach((x, i) => {
    assert.ok(x.frames > start[i].frames + 10, `site ${i + 1} kept decoding the hall (${start[i].frames} → ${x.frames} frames)`);
    assert.ok(x.audio > start[i].audio + 50, `site ${i + 1} kept receiving the hall's audio (${start[i].audio} → ${x.audio})`);
  });
  for (const page of sites) {
    assert.equal(await page.evaluate(() => /** @type {any} */ (window).diemcau.pc?.connectionState), 'connected');
  }
  // The SFU threw the garbage away and said so (polled: the counter may lag the last datagram).
  let droppedAfter = await dropped();
  for (const until = Date.now() + 10_000; droppedAfter - droppedBefore < sent.count * 0.9 && Date.now() < until;) {
    await sleep(250);
    droppedAfter = await dropped();
  }
  assert.ok(droppedAfter - droppedBefore >= sent.count * 0.9,
    `dropped_packets_total grew by ${droppedAfter - droppedBefore} for ${sent.count} garbage datagrams`);
});
