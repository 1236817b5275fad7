/**
 * Figures for the 4-party meeting in real Chromium (1 chair + 3 sites):
 *   - join → first remote video frame, per site, measured inside the page
 *     (button click → first inbound video frame decoded, polled every 10 ms);
 *   - the diemcau process's CPU (share of one core) and RSS during a steady meeting.
 *
 * Usage (from the repository root, after `cargo build --release -p signaling` and
 * `npm ci` in web-client/); env SITES (default 3) sites join one after the other,
 * CHAIR_SETTLE_MS (default 0) waits after the chair joins before the first site does:
 *   unshare -n bash -c 'ip link set lo up && node load-tests/browser/four_party.mjs [runs] [steady_seconds]'
 */

import {
  joinAs, launchBrowser, processUsage, startServer, waitConnected,
} from '../../web-client/test/e2e/harness.js';

const runs = Number(process.argv[2] ?? 5);
const steadySeconds = Number(process.argv[3] ?? 20);

/** Installs the in-page stopwatch before the Join click. */
async function armStopwatch(/** @type {import('playwright-core').Page} */ page) {
  await page.evaluate(() => {
    const w = /** @type {any} */ (window);
    w.__firstFrame = {};
    const button = document.querySelector('[data-testid="join-button"]');
    button?.addEventListener('click', () => {
      w.__firstFrame.t0 = performance.now();
      const tick = async () => {
        const pc = w.diemcau?.pc;
        if (pc) {
          const report = await pc.getStats();
          for (const x of report.values()) {
            if (x.type === 'inbound-rtp' && x.kind === 'video' && x.framesDecoded > 0) {
              w.__firstFrame.t1 = performance.now();
              return;
            }
          }
        }
        setTimeout(tick, 10);
      };
      tick();
    }, { capture: true });
  });
}

/** Opens a link, arms the stopwatch, presses Join, returns ms to first frame. */
async function timedJoin(/** @type {import('playwright-core').BrowserContext} */ context, /** @type {string} */ link) {
  const page = await context.newPage();
  await page.goto(link);
  await page.getByTestId('join-button').waitFor({ state: 'visible' });
  await page.waitForFunction(() => !document.querySelector('[data-testid="join-button"]')?.hasAttribute('disabled'));
  await armStopwatch(page);
  await page.getByTestId('join-button').click();
  await page.waitForFunction(() => /** @type {any} */ (window).__firstFrame?.t1 !== undefined, null, { timeout: 30_000 });
  const ms = await page.evaluate(() => {
    const f = /** @type {any} */ (window).__firstFrame;
    return f.t1 - f.t0;
  });
  return { page, ms };
}

const samples = [];
let usage = null;
for (let run = 0; run < runs; run++) {
  const server = await startServer();
  const browser = await launchBrowser();
  const { meeting } = server.info;
  const chair = (await joinAs(browser.context, meeting.chair.link)).page;
  await waitConnected(chair);
  // Open the meeting first: the figure is a site joining a running meeting.
  await chair.getByTestId('open-meeting').click();
  // Optional settle time after the chair joins (its encoder ramps its layers up meanwhile).
  await new Promise((ok) => setTimeout(ok, Number(process.env.CHAIR_SETTLE_MS ?? 0)));
  const pages = [chair];
  for (const invite of meeting.sites.slice(0, Number(process.env.SITES ?? 3))) {
    const { page, ms } = await timedJoin(browser.context, invite.link);
    samples.push(ms);
    pages.push(page);
    console.log(`run ${run + 1}: ${invite.name}: join → first remote video frame ${ms.toFixed(0)} ms`);
  }
  if (run === runs - 1) {
    // Steady state: every page connected, Chromium's bandwidth ramp done.
    await new Promise((ok) => setTimeout(ok, 10_000));
    const a = processUsage(server.pid);
    const t0 = Date.now();
    await new Promise((ok) => setTimeout(ok, steadySeconds * 1000));
    const b = processUsage(server.pid);
    const wall = (Date.now() - t0) / 1000;
    usage = { cpuPercentOfOneCore: (100 * (b.cpuSeconds - a.cpuSeconds)) / wall, rssMiB: b.rssBytes / 2 ** 20, seconds: wall };
  }
  await browser.close();
  await server.stop();
}

samples.sort((x, y) => x - y);
const pct = (/** @type {number} */ p) => samples[Math.min(samples.length - 1, Math.ceil((p / 100) * samples.length) - 1)];
console.log(`\njoin → first remote video frame over ${samples.length} joins: min ${samples[0].toFixed(0)} ms, ` +
  `p50 ${pct(50).toFixed(0)} ms, p95 ${pct(95).toFixed(0)} ms, max ${samples[samples.length - 1].toFixed(0)} ms`);
if (usage) {
  console.log(`diemcau during the 4-party meeting (${usage.seconds.toFixed(0)} s steady): ` +
    `CPU ${usage.cpuPercentOfOneCore.toFixed(1)}% of one core, RSS ${usage.rssMiB.toFixed(1)} MiB`);
}
