/**
 * Figures for a site on a weak link (issue 4): its Chromium runs in its own network namespace
 * behind a veth pair; after it reaches the high layer its link is shaped to 300 kbit/s with 3%
 * random loss for 20 s, then lifted. Per run: seconds to the low layer, seconds back to the
 * high layer, audio packets lost vs received during the shaped window; and a CSV trace
 * (time, received video bitrate, frame width, the layer the SFU forwards, audio packets, the
 * SFU's bandwidth estimate towards the site, loss towards the site, RTT) of the
 * last run, drawn as an SVG chart by `chart.mjs`.
 *
 * Usage (root, from the repository root, after `cargo build --release -p signaling` and
 * `npm ci` in web-client/):
 *   unshare -n bash -c 'ip link set lo up && node load-tests/browser/weak_link.mjs [runs] [trace.csv]'
 */

import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

// The web client's dev dependency (a real Prometheus text-format parser).
const parsePrometheusTextFormat = createRequire(new URL('../../web-client/package.json', import.meta.url))('parse-prometheus-text-format');

import { joinAs, launchBrowser, snapshot, startServer, waitConnected } from '../../web-client/test/e2e/harness.js';
import { HUB_IP, createSiteLink } from '../../web-client/test/network/netns.js';

const runs = Number(process.argv[2] ?? 5);
const tracePath = process.argv[3] ?? '/tmp/diemcau-weak-link-trace.csv';
const sleep = (/** @type {number} */ ms) => new Promise((ok) => setTimeout(ok, ms));

/** @param {import('playwright-core').Page} page */
async function sample(page) {
  const s = await snapshot(page);
  const mid = (/** @type {string} */ kind) => s.slots.find((sl) => sl.kind === kind && sl.site_id === 'chair' && (kind === 'audio' || sl.track === 'camera'))?.mid;
  const v = s.stats.find((x) => x.type === 'inbound-rtp' && x.mid === mid('video'));
  const a = s.stats.find((x) => x.type === 'inbound-rtp' && x.mid === mid('audio'));
  return {
    t: Date.now(),
    width: v?.frameWidth ?? 0,
    videoBytes: v?.bytesReceived ?? 0,
    audioReceived: a?.packetsReceived ?? 0,
    audioLost: /** @type {any} */ (a)?.packetsLost ?? 0,
    // Samples the decoder had to invent (loss not repaired by Opus FEC or retransmission).
    concealed: /** @type {any} */ (a)?.concealedSamples ?? 0,
    samples: /** @type {any} */ (a)?.totalSamplesReceived ?? 0,
  };
}

/**
 * The layer the SFU forwards to `site` (3 high, 2 mid, 1 low, 0 none or paused) and its
 * bandwidth estimate towards the site (bit/s), parsed from `/metrics`.
 * @param {string} base
 * @param {string} site
 */
async function sfuView(base, site) {
  const text = await (await fetch(`${base}/metrics`)).text();
  /** @type {{name: string, metrics: {labels?: Record<string, string>, value: string}[]}[]} */
  const families = parsePrometheusTextFormat(text);
  const of = (/** @type {string} */ name, direction = '') => {
    const m = families
      .find((f) => f.name === name)
      ?.metrics.find((x) => x.labels?.site === site && (!direction || x.labels?.direction === direction));
    return m ? Number(m.value) : -1;
  };
  return {
    layer: of('diemcau_site_video_layer'),
    estimate: of('diemcau_site_estimated_bandwidth_bps'),
    lossDown: of('diemcau_site_packet_loss_ratio', 'down'),
    rtt: of('diemcau_site_rtt_seconds'),
  };
}

/** @param {import('playwright-core').Page} chair */
async function chairWidths(chair) {
  const s = await snapshot(chair);
  /** @type {Record<string, number>} */
  const w = {};
  for (const x of s.stats) if (x.type === 'outbound-rtp' && x.kind === 'video' && x.rid && x.frameWidth) w[x.rid] = x.frameWidth;
  return w;
}

const results = [];
/** @type {string[]} */
let trace = [];
for (let run = 1; run <= runs; run++) {
  const link = createSiteLink();
  const server = await startServer({ bind: '0.0.0.0', announceIp: HUB_IP });
  const at = (/** @type {string} */ l, /** @type {string} */ host) => l.replace('//0.0.0.0:', `//${host}:`);
  const local = await launchBrowser();
  const remote = await launchBrowser({ netns: link.name });
  try {
    const chair = (await joinAs(local.context, at(server.info.meeting.chair.link, '127.0.0.1'))).page;
    const weak = (await joinAs(remote.context, at(server.info.meeting.sites[1].link, HUB_IP))).page;
    for (const p of [chair, weak]) await waitConnected(p);
    await chair.getByTestId('open-meeting').click();
    trace = ['seconds,phase,video_kbps,frame_width,sfu_layer,audio_packets,estimate_kbps,loss_down,rtt_ms'];
    const base = server.info.http.replace('//0.0.0.0:', '//127.0.0.1:');
    const t0 = Date.now();
    let prev = await sample(weak);
    /** @param {string} phase */
    const record = async (phase) => {
      const x = await sample(weak);
      const kbps = ((x.videoBytes - prev.videoBytes) * 8) / Math.max(1, x.t - prev.t);
      const sfu = await sfuView(base, 's2');
      trace.push(`${((x.t - t0) / 1000).toFixed(2)},${phase},${kbps.toFixed(0)},${x.width},${sfu.layer},${x.audioReceived},${(sfu.estimate / 1000).toFixed(0)},${sfu.lossDown.toFixed(3)},${(sfu.rtt * 1000).toFixed(0)}`);
      prev = x;
      return x;
    };
    // Good link until the high layer arrives (60 s at most).
    let high = false;
    for (let i = 0; i < 240 && !high; i++) {
      const x = await record('good');
      high = x.width > 0 && x.width >= ((await chairWidths(chair)).f ?? Infinity);
      await sleep(250);
    }
    if (!high) throw new Error('never reached the high layer on the good link');
    const before = await sample(weak);
    link.shape(300, 3);
    const shapedAt = Date.now();
    let down = null;
    while (Date.now() - shapedAt < 20_000) {
      const x = await record('shaped');
      if (down === null && x.width > 0 && x.width <= ((await chairWidths(chair)).q ?? 0)) down = (Date.now() - shapedAt) / 1000;
      await sleep(250);
    }
    const during = await sample(weak);
    link.lift();
    const liftedAt = Date.now();
    let up = null;
    while (Date.now() - liftedAt < 30_000 && up === null) {
      const x = await record('lifted');
      if (x.width > 0 && x.width >= ((await chairWidths(chair)).f ?? Infinity)) up = (Date.now() - liftedAt) / 1000;
      await sleep(250);
    }
    const r = {
      run,
      downS: down,
      upS: up,
      audioReceived: during.audioReceived - before.audioReceived,
      audioLost: during.audioLost - before.audioLost,
      concealed: during.concealed - before.concealed,
      samples: during.samples - before.samples,
    };
    results.push(r);
    console.log(`run ${run}: low layer after ${down ?? 'never (20 s)'} s, high again after ${up ?? 'never (30 s)'} s, ` +
      `audio in the shaped 20 s: ${r.audioReceived} received, ${r.audioLost} lost, ` +
      `${((100 * r.concealed) / Math.max(1, r.samples)).toFixed(1)}% of samples concealed`);
  } catch (e) {
    console.log(`run ${run}: failed: ${/** @type {Error} */ (e).message.split('\n')[0]}`);
  } finally {
    await remote.close();
    await local.close();
    await server.stop();
    link.destroy();
  }
}

const median = (/** @type {number[]} */ xs) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
};
const downs = results.map((r) => r.downS).filter((x) => x !== null);
const ups = results.map((r) => r.upS).filter((x) => x !== null);
const received = results.reduce((a, r) => a + r.audioReceived, 0);
const lost = results.reduce((a, r) => a + r.audioLost, 0);
const concealed = results.reduce((a, r) => a + r.concealed, 0);
const samples = results.reduce((a, r) => a + r.samples, 0);
console.log(`\n${results.length}/${runs} runs completed; down-switch median ${median(downs)} s (${downs.length} runs), ` +
  `up-switch median ${median(ups)} s (${ups.length} runs); audio while shaped: ${received} received, ${lost} lost ` +
  `(${received + lost ? ((100 * lost) / (received + lost)).toFixed(1) : '-'}%), ` +
  `${((100 * concealed) / Math.max(1, samples)).toFixed(1)}% of audio samples concealed`);
writeFileSync(tracePath, `${trace.join('\n')}\n`);
console.log(`trace of the last run: ${tracePath}`);
