/**
 * The operators' dashboard in real Chromium against the real server: a chair, two sites and
 * an operator; the meeting is opened so media flows. The operator sees a row per expected
 * site with live figures, and its actions reach the site: a notice shown until dismissed,
 * audio only forced on and off (checked with the site's own `getStats()`: video frames stop
 * while audio keeps coming, then video comes back), and a reconnect (a new peer connection
 * that connects again). A screenshot of the operator page goes to
 * `web-client/test-artifacts/operator.png`.
 *
 *   cd web-client && unshare -n bash -c 'ip link set lo up && \
 *     node --test --test-concurrency=1 test/e2e/operator.e2e.test.js'
 */

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';

import { joinAs, launchBrowser, snapshot, startServer, waitConnected } from './harness.js';

/** @typedef {import('playwright-core').Page} Page */

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

/** @type {Awaited<ReturnType<typeof startServer>>} */
let server;
/** @type {Awaited<ReturnType<typeof launchBrowser>>} */
let browser;
/** @type {Page} */
let chair;
/** @type {Page} */
let operator;
/** @type {Record<string, Page>} */
const site = {};

const sleep = (/** @type {number} */ ms) => new Promise((ok) => setTimeout(ok, ms));

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  chair = (await joinAs(browser.context, server.info.meeting.chair.link)).page;
  for (const [i, id] of ['s1', 's2'].entries()) {
    site[id] = (await joinAs(browser.context, server.info.meeting.sites[i].link)).page;
  }
  operator = (await joinAs(browser.context, server.info.meeting.operator.link)).page;
  for (const page of [chair, operator, ...Object.values(site)]) await waitConnected(page);
  await chair.getByTestId('open-meeting').click();
  for (const page of Object.values(site)) {
    await page.waitForFunction(() => /** @type {any} */ (window).diemcau.phase === 'open', null, { timeout: 10_000 });
  }
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** @param {string} id */
const row = (id) => operator.locator(`[data-testid="ops-row"][data-site-id="${id}"]`);

/**
 * What a page has received so far: decoded-or-not video frames and audio packets, over all
 * receive slots (padding probes grow video packet counts, not frames).
 * @param {Page} page
 */
async function received(page) {
  const s = await snapshot(page);
  let frames = 0;
  let audio = 0;
  for (const x of s.stats) {
    if (x.type !== 'inbound-rtp') continue;
    if (x.kind === 'video') frames += x.framesReceived ?? x.framesDecoded ?? 0;
    else if (x.kind === 'audio') audio += x.packetsReceived ?? 0;
  }
  return { frames, audio };
}

/**
 * Polls windows of `windowMs` until one shows what `check` wants, or `timeout` passes.
 * @param {Page} page
 * @param {(grew: {frames: number, audio: number}) => boolean} check
 * @param {number} timeout
 * @returns {Promise<{frames: number, audio: number}>} the last window's growth
 */
async function flowUntil(page, check, timeout, windowMs = 2000) {
  const until = Date.now() + timeout;
  for (;;) {
    const a = await received(page);
    await sleep(windowMs);
    const b = await received(page);
    const grew = { frames: b.frames - a.frames, audio: b.audio - a.audio };
    if (check(grew) || Date.now() > until) return grew;
  }
}

/** Opens a site's detail panel on the operator page (a click on its row toggles it). */
async function openDetail(/** @type {string} */ id) {
  const detail = operator.getByTestId('ops-detail');
  if (await detail.isVisible() && await detail.getAttribute('data-site-id') === id) return;
  await row(id).click();
  await operator.locator(`[data-testid="ops-detail"][data-site-id="${id}"]`).waitFor({ timeout: 5_000 });
}

test('the operator sees a row per expected site, with data flowing down to the connected ones', async () => {
  await operator.getByTestId('ops-table').waitFor();
  const expected = await operator.evaluate(() => /** @type {any} */ (window).diemcau.roster
    .filter((/** @type {any} */ s) => s.role !== 'operator').map((/** @type {any} */ s) => s.id));
  assert.ok(expected.includes('s1') && expected.includes('s2') && expected.includes('chair'));
  await operator.waitForFunction((n) => document.querySelectorAll('[data-testid="ops-row"]').length === n, expected.length, { timeout: 10_000 });
  for (const id of ['s1', 's2']) {
    // The cell shows the server's figure, grouped the Vietnamese way (1.234): digits only.
    await operator.waitForFunction((siteId) => {
      const cell = document.querySelector(`[data-testid="ops-row"][data-site-id="${siteId}"] [data-col="down"]`);
      const kbps = Number((cell?.textContent ?? '').replace(/\D/g, ''));
      const stat = /** @type {any} */ (window).diemcau.stats?.sites.find((/** @type {any} */ s) => s.site_id === siteId);
      return kbps > 0 && stat?.down_kbps > 0;
    }, id, { timeout: 30_000 });
    assert.equal(await row(id).getAttribute('data-state'), 'joined');
  }
  const waiting = expected.filter((/** @type {string} */ id) => !['chair', 's1', 's2'].includes(id));
  for (const id of waiting) assert.equal(await row(id).getAttribute('data-state'), 'waiting', id);
  assert.ok(await operator.getByTestId('ops-spark').count() >= expected.length);
  assert.match(await operator.getByTestId('ops-totals').innerText(), /3\/\d+/, 'chair and two sites joined');
});

test('every participant reports its browser and route: loopback means a host candidate over UDP', async () => {
  const reported = await operator.waitForFunction(() => {
    const sites = /** @type {any} */ (window).diemcau.stats?.sites ?? [];
    const mine = sites.filter((/** @type {any} */ s) => ['chair', 's1', 's2'].includes(s.site_id));
    return mine.length === 3 && mine.every((/** @type {any} */ s) => s.browser && s.candidate) ? mine : null;
  }, null, { timeout: 30_000 });
  for (const s of /** @type {any[]} */ (await reported.jsonValue())) {
    assert.match(s.browser, /Chrom/, s.site_id);
    assert.equal(s.candidate, 'host', s.site_id);
    assert.equal(s.transport, 'udp', s.site_id);
  }
});

test('a notice from the operator shows on that site until it is dismissed', async () => {
  await openDetail('s1');
  const text = 'Xã Tả Van: hội trường không nghe rõ, đề nghị kiểm tra micrô.';
  await operator.getByTestId('ops-notice-text').fill(text);
  await operator.getByTestId('ops-send-notice').click();
  const notice = site.s1.getByTestId('operator-notice');
  await notice.waitFor({ timeout: 5_000 });
  assert.match(await notice.innerText(), /hội trường không nghe rõ/);
  assert.equal(await site.s2.getByTestId('operator-notice').count(), 0, 'only the site it was sent to');

  mkdirSync(ARTIFACTS, { recursive: true });
  await operator.screenshot({ path: `${ARTIFACTS}operator.png` });

  await notice.getByRole('button').click();
  await notice.waitFor({ state: 'detached', timeout: 5_000 });
});

test('audio only stops the video a site receives but not its audio; switching it off brings video back', async () => {
  const before = await flowUntil(site.s1, (g) => g.frames > 0 && g.audio > 0, 20_000);
  assert.ok(before.frames > 0 && before.audio > 0, `s1 receives video and audio before: ${JSON.stringify(before)}`);

  await openDetail('s1');
  await operator.getByTestId('ops-audio-only').click();
  await operator.locator('[data-testid="ops-audio-only"][aria-pressed="true"]').waitFor({ timeout: 5_000 });
  await site.s1.getByTestId('audio-only-forced').waitFor({ timeout: 5_000 });
  const forced = await flowUntil(site.s1, (g) => g.frames === 0 && g.audio > 0, 10_000);
  assert.equal(forced.frames, 0, `no video frames reach s1 while forced: ${JSON.stringify(forced)}`);
  assert.ok(forced.audio > 0, 'audio keeps coming');
  const other = await flowUntil(site.s2, (g) => g.frames > 0, 10_000);
  assert.ok(other.frames > 0, 's2 still receives video');

  await operator.getByTestId('ops-audio-only').click();
  await operator.locator('[data-testid="ops-audio-only"][aria-pressed="false"]').waitFor({ timeout: 5_000 });
  await site.s1.getByTestId('audio-only-forced').waitFor({ state: 'hidden', timeout: 5_000 });
  const back = await flowUntil(site.s1, (g) => g.frames > 0, 15_000);
  assert.ok(back.frames > 0, `video comes back to s1: ${JSON.stringify(back)}`);
});

test('reconnect makes the site drop its connection and join again at once', async () => {
  await site.s1.evaluate(() => {
    const w = /** @type {any} */ (window);
    w.pcBeforeReconnect = w.diemcau.pc;
  });
  await openDetail('s1');
  await operator.getByTestId('ops-reconnect').click();
  await site.s1.waitForFunction(() => {
    const w = /** @type {any} */ (window);
    return w.diemcau.pc !== null && w.diemcau.pc !== w.pcBeforeReconnect && w.diemcau.state === 'connected';
  }, null, { timeout: 30_000 });
  // And it is a site in the meeting again: media flows to it.
  const again = await flowUntil(site.s1, (g) => g.frames > 0 && g.audio > 0, 20_000);
  assert.ok(again.frames > 0 && again.audio > 0, `s1 receives media after rejoining: ${JSON.stringify(again)}`);
});
