/**
 * A site on a weak link, for real: its Chromium runs in its own network namespace, joined to
 * the SFU through a veth pair shaped with `tc tbf` and nftables random loss. It keeps hearing
 * the hall, drops to the low layer, pauses video when even that does not fit, and recovers,
 * while a site on a good link is not disturbed.
 */

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

// @ts-expect-error -- the package ships no types.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

import { snapshot, startServer } from '../e2e/harness.js';
import { createSiteLink } from './netns.js';
import { meetingOverLink } from './meeting.js';

/** @type {Awaited<ReturnType<typeof startServer>>} */
let server;
/** @type {Awaited<ReturnType<typeof meetingOverLink>>} */
let meeting;
/** @type {ReturnType<typeof createSiteLink>} */
let link;
/** @type {import('playwright-core').Page} */
let weak;
/** @type {import('playwright-core').Page} */
let good;
/** @type {import('playwright-core').Page} */
let chair;

const sleep = (/** @type {number} */ ms) => new Promise((ok) => setTimeout(ok, ms));
/**
 * Widths the chair encodes each layer at right now: Chromium lowers them when the machine's
 * CPU is short (every participant here shares two cores), so "high" means "the width of the
 * chair's f layer at this moment", not a fixed number.
 */
async function chairWidths() {
  const s = await snapshot(chair);
  /** @type {Record<string, number>} */
  const w = {};
  for (const x of s.stats) {
    if (x.type === 'outbound-rtp' && x.kind === 'video' && x.rid && x.frameWidth) w[x.rid] = x.frameWidth;
  }
  return w;
}

before(async () => {
  meeting = await meetingOverLink({ local: 1, remote: 1 });
  ({ server, link, chair } = meeting);
  [good] = meeting.locals;
  [weak] = meeting.remotes;
});

after(async () => {
  await meeting?.close();
});

/** The chair's camera and audio as received by `page`. */
async function fromChair(/** @type {import('playwright-core').Page} */ page) {
  const s = await snapshot(page);
  const mid = (/** @type {string} */ kind) => s.slots.find((sl) => sl.kind === kind && sl.site_id === 'chair' && (kind === 'audio' || sl.track === 'camera'))?.mid;
  const video = s.stats.find((x) => x.type === 'inbound-rtp' && x.mid === mid('video'));
  const audio = s.stats.find((x) => x.type === 'inbound-rtp' && x.mid === mid('audio'));
  const w = await chairWidths();
  const width = video?.frameWidth ?? 0;
  return {
    width,
    high: width > 0 && width >= (w.f ?? Infinity) && width > (w.h ?? 0),
    low: width > 0 && width <= (w.q ?? 0),
    frames: video?.framesDecoded ?? 0,
    videoBytes: video?.bytesReceived ?? 0,
    audioPackets: audio?.packetsReceived ?? 0,
  };
}

/**
 * The chair's audio as received by `page` (its `inbound-rtp` counters) and the codec it
 * arrives in (`audio/red`: Opus with RFC 2198 redundancy).
 */
async function chairAudio(/** @type {import('playwright-core').Page} */ page) {
  const s = await snapshot(page);
  const mid = s.slots.find((sl) => sl.kind === 'audio' && sl.site_id === 'chair')?.mid;
  /** @type {any} */
  const a = s.stats.find((x) => x.type === 'inbound-rtp' && x.mid === mid);
  /** @type {any} */
  const codec = s.stats.find((x) => x.type === 'codec' && x.id === a?.codecId);
  return {
    received: a?.packetsReceived ?? 0,
    lost: a?.packetsLost ?? 0,
    concealed: a?.concealedSamples ?? 0,
    samples: a?.totalSamplesReceived ?? 0,
    codec: codec?.mimeType ?? '',
  };
}

/** Whether the SFU's answer to `page` negotiated Opus in RED on its audio. */
async function answeredRed(/** @type {import('playwright-core').Page} */ page) {
  return page.evaluate(() => /red\/48000\/2/i.test(/** @type {any} */ (window).diemcau.pc.remoteDescription?.sdp ?? ''));
}

/**
 * The layer the SFU forwards to `site` now (3 high, 2 mid, 1 low, 0 none), from the
 * `diemcau_site_video_layer` series of a real `/metrics` scrape, parsed.
 */
async function forwardedLayer(/** @type {string} */ site) {
  const text = await (await fetch(`${server.info.http.replace('//0.0.0.0:', '//127.0.0.1:')}/metrics`)).text();
  /** @type {{name: string, metrics: {labels?: Record<string, string>, value: string}[]}[]} */
  const families = parsePrometheusTextFormat(text);
  const layer = families.find((f) => f.name === 'diemcau_site_video_layer');
  const sample = layer?.metrics.find((m) => m.labels?.site === site);
  return sample ? Number(sample.value) : -1;
}

/** Bit/s of the chair's camera received by `page` over `ms`. */
async function chairBitrate(/** @type {import('playwright-core').Page} */ page, /** @type {number} */ ms) {
  const a = await fromChair(page);
  const t = Date.now();
  await sleep(ms);
  const b = await fromChair(page);
  return ((b.videoBytes - a.videoBytes) * 8 * 1000) / (Date.now() - t);
}

/**
 * Samples `page` every 250 ms until `done` holds (returns the seconds it took) or `limitS`
 * passes (returns null); audio must grow in every whole second meanwhile. `each` runs
 * before every check (to sample something else `done` looks at).
 */
async function watch(
  /** @type {import('playwright-core').Page} */ page,
  /** @type {(x: Awaited<ReturnType<typeof fromChair>>) => boolean} */ done,
  /** @type {number} */ limitS,
  /** @type {() => Promise<void>} */ each = async () => {},
) {
  const t0 = Date.now();
  let secondStart = await fromChair(page);
  let secondAt = t0;
  for (;;) {
    const now = Date.now();
    const x = await fromChair(page);
    await each();
    if (now - secondAt >= 1000) {
      assert.ok(x.audioPackets > secondStart.audioPackets, `audio kept flowing (second ending ${((now - t0) / 1000).toFixed(1)} s)`);
      secondStart = x;
      secondAt = now;
    }
    if (done(x)) return (now - t0) / 1000;
    if (now - t0 > limitS * 1000) return null;
    await sleep(250);
  }
}

test('a weak site gets the high layer on a good link, drops to low within 5 s at 300 kbit/s and 3% loss, and is back within 15 s', async () => {
  const first = await watch(weak, (x) => x.high, 60);
  assert.ok(first !== null, 'the weak site reached the high layer before shaping');
  // The good site's own estimate ramps up too (Chromium's takes ~10 s, longer when the two
  // cores are busy): wait for its high layer before the limit, up to 30 s.
  let goodLayer = await forwardedLayer('s1');
  for (let t = Date.now(); goodLayer !== 3 && Date.now() - t < 30_000; goodLayer = await forwardedLayer('s1')) await sleep(250);
  assert.equal(goodLayer, 3, 'the site on a good link receives the high layer before shaping');
  const goodBefore = await chairBitrate(good, 3000);
  link.shape(300, 3);
  const down = await watch(weak, (x) => x.low, 5);
  assert.ok(down !== null, 'low layer within 5 s of the limit');
  // Meanwhile the site on a good link keeps the high layer (as the SFU forwards it: the
  // width its browser decodes lags the chair's encoder, which itself rescales when the two
  // shared cores are busy) and its bitrate, measured by its browser over the same 5 s.
  let goodHigh = 0;
  const samples = 20;
  const goodAt = await fromChair(good);
  const goodT = Date.now();
  for (let i = 0; i < samples; i++) {
    if ((await forwardedLayer('s1')) === 3) goodHigh += 1;
    await sleep(250);
  }
  const goodDuring = (((await fromChair(good)).videoBytes - goodAt.videoBytes) * 8 * 1000) / (Date.now() - goodT);
  console.log(`# good site: ${goodHigh}/${samples} samples on high, ${(goodBefore / 1000).toFixed(0)} kbit/s before, ${(goodDuring / 1000).toFixed(0)} kbit/s during`);
  assert.ok(goodHigh >= samples * 0.9, `the site on a good link kept the high layer (${goodHigh}/${samples} samples)`);
  assert.ok(goodDuring >= goodBefore * 0.6, `the site on a good link kept its bitrate (${goodBefore.toFixed(0)} → ${goodDuring.toFixed(0)} bit/s)`);
  const steady = await fromChair(weak);
  assert.ok(steady.low, `still low while limited (${steady.width})`);
  link.lift();
  const up = await watch(weak, (x) => x.high, 15);
  assert.ok(up !== null, 'high layer within 15 s of lifting the limit');
  console.log(`# weak link: down-switch ${down.toFixed(1)} s, up-switch ${up.toFixed(1)} s`);
});

test('at 60 kbit/s video pauses and audio continues; lifted, video comes back', async () => {
  link.shape(60, 3);
  // The SFU pauses the site's video: the chair sees it as audio-only. Audio must keep
  // flowing every second meanwhile.
  const receptionOf = () =>
    chair.evaluate(() => /** @type {any} */ (window).diemcau.roster.find((/** @type {any} */ s) => s.id === 's2')?.reception);
  /** @type {boolean} */
  let audioOnly = false;
  const pausedAfter = await watch(weak, () => audioOnly, 20, async () => {
    audioOnly = (await receptionOf()) === 'audio_only';
  });
  assert.ok(pausedAfter !== null, 'the chair sees the site as audio-only within 20 s at 60 kbit/s');
  // Paused by the SFU, not merely starved: almost no video payload arrives for 3 s while
  // audio keeps flowing (a starved stream would still fill the link).
  const a = await fromChair(weak);
  await sleep(3000);
  const b = await fromChair(weak);
  assert.ok(b.videoBytes - a.videoBytes < 3000, `video paused (${b.videoBytes - a.videoBytes} bytes in 3 s)`);
  assert.ok(b.audioPackets > a.audioPackets + 50, `audio continues (${b.audioPackets - a.audioPackets} packets in 3 s)`);
  console.log(`# weak link at 60 kbit/s: audio-only after ${pausedAfter.toFixed(1)} s; then ${b.audioPackets - a.audioPackets} audio packets in 3 s`);
  // Audio first (issue 18): over 10 s of audio alone, the chair's audio as the site's
  // browser counts it. Chromium offers Opus in RED and the SFU answers it.
  const red = await answeredRed(weak);
  const a0 = await chairAudio(weak);
  await sleep(10_000);
  const a1 = await chairAudio(weak);
  const received = a1.received - a0.received;
  const lost = a1.lost - a0.lost;
  const lostShare = lost / Math.max(1, received + lost);
  const concealedShare = (a1.concealed - a0.concealed) / Math.max(1, a1.samples - a0.samples);
  console.log(
    `# weak link audio at 60 kbit/s + 3%: received ${received}, lost ${lost} (${(lostShare * 100).toFixed(1)}%), concealed ${(concealedShare * 100).toFixed(1)}% of samples, codec ${a1.codec}, RED answered: ${red}`,
  );
  assert.ok(red, 'the SFU negotiated Opus RED with the site');
  // What is met with margin on this line (load-tests/RESULTS.md, issue 18): 279-292 packets
  // and 10-17% of samples concealed in 3 runs with RED (20-25% without it); the goals
  // (loss within 1% of the line's, 5% concealed) are not: RED (about twice Opus's payload)
  // and str0m's padding floor (ARCHITECTURE.md) do not fit in 60 kbit/s beside each other.
  assert.ok(received > 200, `audio kept arriving over 10 s (${received} packets)`);
  assert.ok(concealedShare < 0.3, `concealed ${(concealedShare * 100).toFixed(1)}% of samples`);
  link.lift();
  const before = (await fromChair(weak)).frames;
  const back = await watch(weak, (x) => x.frames > before + 10, 30);
  assert.ok(back !== null, 'video back after lifting the limit');
  await chair.waitForFunction(
    () => /** @type {any} */ (window).diemcau.roster.find((/** @type {any} */ s) => s.id === 's2')?.reception !== 'audio_only',
    null,
    { timeout: 10_000 },
  );
});
