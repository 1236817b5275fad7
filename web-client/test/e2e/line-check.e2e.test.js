/**
 * The pre-meeting line check in real Chromium against the real server: a chair and one site
 * in the lobby. The site presses "Check my line"; its own camera and sound come back
 * through the SFU (the loopback), the page shows a verdict with figures, and the chair
 * receives the site's `check_result`. Once the chair opens the meeting the server refuses
 * a check with `conflict`.
 */

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { joinAs, launchBrowser, startServer, waitConnected } from './harness.js';

/** @type {Awaited<ReturnType<typeof startServer>>} */
let server;
/** @type {Awaited<ReturnType<typeof launchBrowser>>} */
let browser;
/** @type {import('playwright-core').Page} */
let chair;
/** @type {import('playwright-core').Page} */
let site;
/** @type {string} */
let siteId;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  chair = (await joinAs(browser.context, server.info.meeting.chair.link)).page;
  const invite = server.info.meeting.sites[0];
  siteId = invite.site_id;
  site = (await joinAs(browser.context, invite.link)).page;
  for (const page of [chair, site]) await waitConnected(page);
  // The meeting stays in the lobby until the last test.
  await site.waitForFunction(() => /** @type {any} */ (window).diemcau.phase === 'lobby', null, { timeout: 10_000 });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a site checks its line in the lobby: video on loopback, figures shown, the chair told', async () => {
  const button = site.getByTestId('line-check');
  await button.waitFor({ state: 'visible', timeout: 10_000 });
  await button.click();
  assert.equal(await site.evaluate(() => /** @type {any} */ (window).diemcau.lineCheck.state), 'running');

  // The loopback: the site's first video slot carries its own camera, and its sound is not played.
  await site.waitForFunction(() => {
    const d = /** @type {any} */ (window).diemcau;
    return d.slots.some((/** @type {any} */ s) => s.kind === 'video' && s.site_id === d.you.id && s.track === 'camera');
  }, null, { timeout: 20_000 });
  const playing = await site.evaluate(() => [...document.querySelectorAll('audio')].filter((a) => !a.muted).length);
  assert.equal(playing, 0, 'no audio element plays while the loopback runs');

  const panel = site.getByTestId('line-check-result');
  await panel.waitFor({ state: 'visible', timeout: 30_000 });
  const hook = await site.evaluate(() => /** @type {any} */ (window).diemcau.lineCheck);
  assert.equal(hook.state, 'done');
  assert.equal(hook.result?.type, 'check_result');
  assert.equal(await panel.getAttribute('data-verdict'), 'video', `result: ${JSON.stringify(hook.result)}`);
  assert.equal(hook.result.verdict, 'video');
  assert.equal(hook.result.camera, true, 'the fake camera works');
  assert.equal(hook.result.mic, true, 'the fake microphone beeps above silence');
  assert.equal(typeof hook.result.rtt_ms, 'number');
  assert.ok(hook.result.recv_kbps >= 250, `received ${hook.result.recv_kbps} kbit/s`);
  assert.match(await site.getByTestId('line-check-rtt').innerText(), /\d\s*ms/);
  assert.match(await site.getByTestId('line-check-recv').innerText(), /\d\s*kbit\/s/);

  // The chair hears of it (and the site itself, from the server).
  await chair.waitForFunction((id) => /** @type {any} */ (window).diemcau.checks[id]?.verdict === 'video', siteId, { timeout: 10_000 });
  const reported = await chair.evaluate((id) => /** @type {any} */ (window).diemcau.checks[id], siteId);
  assert.equal(reported.site_id, siteId);
  assert.equal(reported.rtt_ms, hook.result.rtt_ms);
  assert.ok(Number.isSafeInteger(reported.at_ms) && Math.abs(reported.at_ms - Date.now()) < 60_000, `at_ms ${reported.at_ms}`);
  await chair.locator(`[data-testid="site-tile"][data-site-id="${siteId}"] [data-testid="check-badge"][data-verdict="video"]`)
    .waitFor({ timeout: 5_000 });
  await site.waitForFunction((id) => /** @type {any} */ (window).diemcau.checks[id]?.verdict === 'video', siteId, { timeout: 10_000 });
});

test('once the chair opened the meeting a check is refused with conflict', async () => {
  await chair.getByTestId('open-meeting').click();
  await site.waitForFunction(() => /** @type {any} */ (window).diemcau.phase === 'open', null, { timeout: 10_000 });
  assert.equal(await site.getByTestId('line-check').isVisible(), false, 'the button is gone once the meeting is open');
  await site.evaluate(() => {
    const d = /** @type {any} */ (window).diemcau;
    if (!d.send({ type: 'check', on: true })) throw new Error('the socket is not open');
  });
  await site.waitForFunction(() => /** @type {any} */ (window).diemcau.lastError?.code === 'conflict', null, { timeout: 10_000 });
  // The last result stays with the chair.
  assert.equal(await chair.evaluate((id) => /** @type {any} */ (window).diemcau.checks[id]?.verdict, siteId), 'video');
});
