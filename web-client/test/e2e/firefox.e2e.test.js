/**
 * A site in Firefox ESR (Debian `firefox-esr`, driven by puppeteer-core over WebDriver BiDi:
 * playwright-core's Firefox is a patched build and cannot drive it) joins a meeting with a
 * Chromium chair and a Chromium site. Both directions decode: the Firefox site decodes the
 * chair's camera and hears it, and the Chromium chair decodes the Firefox site's camera.
 */

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import puppeteer from 'puppeteer-core';

import { joinAs, launchBrowser, snapshot, startServer, waitConnected } from './harness.js';

const FIREFOX = process.env.DIEMCAU_FIREFOX ?? '/usr/bin/firefox-esr';

/** @type {Awaited<ReturnType<typeof startServer>>} */
let server;
/** @type {Awaited<ReturnType<typeof launchBrowser>>} */
let chromium;
/** @type {import('puppeteer-core').Browser} */
let firefox;
/** @type {import('puppeteer-core').Page} */
let ff;
/** @type {import('playwright-core').Page} */
let chair;
/** @type {string} */
let profile;

const sleep = (/** @type {number} */ ms) => new Promise((ok) => setTimeout(ok, ms));

before(async () => {
  server = await startServer();
  chromium = await launchBrowser();
  profile = mkdtempSync(join(tmpdir(), 'diemcau-firefox-'));
  firefox = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    userDataDir: profile,
    extraPrefsFirefox: {
      'media.navigator.streams.fake': true,
      'media.navigator.permission.disabled': true,
      // Without it Firefox gathers no ICE candidate.
      'media.navigator.permission.fake': true,
      'media.peerconnection.ice.loopback': true,
      'media.peerconnection.ice.obfuscate_host_addresses': false,
      'network.manage-offline-status': false,
    },
  });
  chair = (await joinAs(chromium.context, server.info.meeting.chair.link)).page;
  await joinAs(chromium.context, server.info.meeting.sites[0].link);
  ff = await firefox.newPage();
  ff.on('pageerror', (e) => console.error(`[firefox page error] ${/** @type {Error} */ (e).message}`));
  await ff.goto(server.info.meeting.sites[1].link);
  await ff.waitForSelector('[data-testid="join-button"]:not([disabled])', { timeout: 30_000 });
  await ff.click('[data-testid="join-button"]');
  await waitConnected(chair);
  await ff.waitForFunction(() => /** @type {any} */ (window).diemcau?.state === 'connected', { timeout: 30_000 });
  await chair.getByTestId('open-meeting').click();
});

after(async () => {
  await firefox?.close();
  await chromium?.close();
  await server?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** The Firefox page's inbound counters from the chair (frames of its camera, audio packets). */
async function firefoxFromChair() {
  return ff.evaluate(async () => {
    const d = /** @type {any} */ (window).diemcau;
    const stats = [...(await d.pc.getStats()).values()];
    const mid = (/** @type {string} */ kind) =>
      d.slots.find((/** @type {any} */ s) => s.kind === kind && s.site_id === 'chair' && (kind === 'audio' || s.track === 'camera'))?.mid;
    const video = stats.find((s) => s.type === 'inbound-rtp' && s.mid === mid('video'));
    const audio = stats.find((s) => s.type === 'inbound-rtp' && s.mid === mid('audio'));
    return {
      frames: video?.framesDecoded ?? 0,
      width: video?.frameWidth ?? 0,
      audio: audio?.packetsReceived ?? 0,
      browser: navigator.userAgent,
    };
  });
}

test('the Firefox site decodes the chair\'s camera and receives its audio', async () => {
  const until = Date.now() + 20_000;
  let a = await firefoxFromChair();
  while (a.frames === 0 && Date.now() < until) {
    await sleep(500);
    a = await firefoxFromChair();
  }
  assert.match(a.browser, /Firefox/);
  await sleep(3000);
  const b = await firefoxFromChair();
  assert.ok(b.frames - a.frames > 20, `Firefox decoded the chair's camera (${b.frames - a.frames} frames in 3 s)`);
  assert.ok(b.width > 0);
  assert.ok(b.audio - a.audio > 100, `Firefox received the chair's audio (${b.audio - a.audio} packets in 3 s)`);
});

test('the Chromium chair decodes the Firefox site\'s camera', async () => {
  const frames = async () => {
    const s = await snapshot(chair);
    const mids = s.slots.filter((sl) => sl.site_id === 's2' && sl.kind === 'video').map((sl) => sl.mid);
    return s.stats
      .filter((x) => x.type === 'inbound-rtp' && mids.includes(String(x.mid)))
      .reduce((n, x) => n + (x.framesDecoded ?? 0), 0);
  };
  const until = Date.now() + 20_000;
  let a = await frames();
  while (a === 0 && Date.now() < until) {
    await sleep(500);
    a = await frames();
  }
  await sleep(3000);
  const b = await frames();
  assert.ok(b - a > 20, `the chair decoded the Firefox site's camera (${b - a} frames in 3 s)`);
});
