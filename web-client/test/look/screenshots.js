/**
 * Looks at the client as a person would: serves this folder on 127.0.0.1 (with `/join`
 * mapped to `index.html`, as the Rust binary does), opens it in headless Chromium at
 * 1366×768 with fake camera and microphone, drives each screen against the in-page fake
 * server (`fake-server.js`) and writes PNGs to `$LOOK_OUT` (default `/tmp/diemcau-look`).
 * It also checks what it can see: the hook states, and that received video has pixels.
 *
 *   npm run look          (needs /usr/bin/chromium; not part of `npm test`)
 *
 * Everything it starts (HTTP server, browsers) is stopped before it exits.
 */

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { installFakeServer } from './fake-server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = process.env.LOOK_OUT ?? '/tmp/diemcau-look';
/** @type {Record<string, string>} */
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-ui-for-media-stream',
];
const FAKE_DEVICES = '--use-fake-device-for-media-stream';

/**
 * A JWT-shaped token with a role claim (the fake server does not check signatures).
 * @param {string} role
 */
const token = (role) => `e30.${Buffer.from(JSON.stringify({ mid: 'm-2f1c', role })).toString('base64url')}.c2ln`;

function serve() {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const file = path === '/' || path === '/join' ? 'index.html' : normalize(path).replace(/^\/+/, '');
    if (file.startsWith('..') || !/^(index\.html|js\/|css\/)/.test(file)) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = readFileSync(join(ROOT, file));
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/**
 * @param {boolean} fakeDevices
 */
async function launch(fakeDevices) {
  const profile = mkdtempSync(join(tmpdir(), 'diemcau-look-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    args: fakeDevices ? [...ARGS, FAKE_DEVICES] : ARGS,
    viewport: { width: 1366, height: 768 },
    permissions: ['camera', 'microphone'],
  });
  await context.addInitScript(installFakeServer);
  return { context, close: async () => { await context.close(); rmSync(profile, { recursive: true, force: true }); } };
}

/**
 * @param {import('playwright-core').Page} page
 * @param {string} name
 */
async function shot(page, name) {
  await page.screenshot({ path: join(OUT, `${name}.png`) });
  console.log(`wrote ${join(OUT, `${name}.png`)}`);
}

/** @param {import('playwright-core').Page} page @param {string} state */
const waitState = (page, state) => page.waitForFunction((s) => /** @type {any} */ (window).diemcau?.state === s, state, { timeout: 15_000 });

/** @param {import('playwright-core').Page} page @param {string} selector */
async function hasPicture(page, selector) {
  await page.waitForFunction((sel) => {
    const v = /** @type {HTMLVideoElement | null} */ (document.querySelector(sel));
    return v !== null && v.videoWidth > 0;
  }, selector, { timeout: 15_000 });
}

/**
 * The offer follows PROTOCOL.md "Media layout": audio and video sendonly (video with the
 * q/h/f simulcast rids), then the video and audio receive slots, VP8 first on video.
 * @param {string} sdp
 * @param {number} videoSlots
 * @param {number} audioSlots
 */
function checkOfferLayout(sdp, videoSlots, audioSlots) {
  const sections = sdp.split(/\r\n(?=m=)/).slice(1);
  const layout = sections.map((m) => `${m.slice(2, 7)} ${/a=(sendonly|recvonly|sendrecv|inactive)/.exec(m)?.[1]}`);
  assert.deepEqual(layout, [
    'audio sendonly',
    'video sendonly',
    ...Array(videoSlots).fill('video recvonly'),
    ...Array(audioSlots).fill('audio recvonly'),
  ]);
  assert.match(sections[1], /a=simulcast:send q;h;f/);
  for (const m of sections.filter((s) => s.startsWith('m=video'))) {
    const first = /^m=video \d+ \S+ (\d+)/.exec(m)?.[1];
    assert.match(m, new RegExp(`a=rtpmap:${first} VP8/90000`), 'VP8 is the first video codec');
  }
}

async function main() {
  mkdirSync(OUT, { recursive: true });
  const server = /** @type {import('node:http').Server} */ (await serve());
  const address = /** @type {import('node:net').AddressInfo} */ (server.address());
  const base = `http://127.0.0.1:${address.port}`;
  const withDevices = await launch(true);
  const noDevices = await launch(false);
  try {
    const page = await withDevices.context.newPage();
    page.on('console', (m) => m.type() === 'error' && console.log('page error:', m.text()));
    page.on('pageerror', (e) => console.log('page exception:', e.message));

    await page.goto(`${base}/join`);
    await page.getByText('Chưa có đường liên kết mời họp').waitFor();
    assert.equal(await page.evaluate(() => /** @type {any} */ (window).diemcau.state), 'idle');
    await shot(page, '01-no-token');

    // Site: join page with preview, then the meeting.
    await page.goto(`${base}/join?fake=site#t=${token('site')}`);
    await waitState(page, 'joined');
    await hasPicture(page, '[data-testid="preview-video"]');
    await page.waitForTimeout(500);
    await shot(page, '02-join-site');
    await page.getByTestId('join-button').click();
    await waitState(page, 'connected');
    await hasPicture(page, '[data-testid="program-video"]');
    await page.waitForTimeout(800);
    await shot(page, '03-site-view');
    const sent = await page.evaluate(() => /** @type {any} */ (window).fakeSent.map((/** @type {any} */ m) => m.type));
    assert.deepEqual(sent.slice(0, 2), ['join', 'offer']);
    assert.ok(sent.includes('media_state'));
    checkOfferLayout(await page.evaluate(() => /** @type {any} */ (window).fakeSent.find((/** @type {any} */ m) => m.type === 'offer').sdp), 1, 1);
    await page.getByTestId('mic-toggle').click();
    await page.getByTestId('lang-switch').click();
    await page.waitForTimeout(300);
    await shot(page, '04-site-view-en-muted');
    await page.getByTestId('lang-switch').click();
    await page.getByTestId('leave-button').click();
    await shot(page, '05-left');

    // Chair: grid of sites, end meeting with confirmation.
    await page.goto(`${base}/join?fake=chair#t=${token('chair')}`);
    await waitState(page, 'joined');
    await page.getByTestId('join-button').click();
    await waitState(page, 'connected');
    await hasPicture(page, '[data-site-id="s1"] video');
    checkOfferLayout(await page.evaluate(() => /** @type {any} */ (window).fakeSent.filter((/** @type {any} */ m) => m.type === 'offer').at(-1).sdp), 3, 2);
    await page.waitForTimeout(800);
    await shot(page, '06-chair-view');
    assert.equal(await page.getByTestId('site-tile').count(), 8);
    await page.getByTestId('end-meeting').click();
    await shot(page, '07-chair-confirm-end');
    await page.getByTestId('confirm-end').click();
    await waitState(page, 'ended');
    await shot(page, '08-ended');

    // Operator: roster table, no devices asked for.
    await page.goto(`${base}/join?fake=operator#t=${token('operator')}`);
    await waitState(page, 'joined');
    await shot(page, '09-join-operator');
    await page.getByTestId('join-button').click();
    await waitState(page, 'connected');
    await page.waitForTimeout(500);
    await shot(page, '10-operator-view');

    // An expired link, and a non-fatal server error in the banner.
    await page.goto(`${base}/join?fake=expired#t=${token('site')}`);
    await waitState(page, 'error');
    await shot(page, '13-failed-expired');
    await page.goto(`${base}/join?fake=site&banner#t=${token('site')}`);
    await waitState(page, 'joined');
    await page.getByTestId('banner-error').waitFor();
    await page.getByTestId('lang-switch').click();
    await shot(page, '14-join-banner-en');
    await page.getByTestId('lang-switch').click();

    // A PC with no camera or microphone: the advice, and joining still works.
    const bare = await noDevices.context.newPage();
    await bare.goto(`${base}/join?fake=site#t=${token('site')}`);
    await waitState(bare, 'joined');
    await bare.getByTestId('device-error').waitFor();
    await shot(bare, '11-join-no-devices');
    await bare.getByTestId('join-button').click();
    await waitState(bare, 'connected');
    await hasPicture(bare, '[data-testid="program-video"]');
    await shot(bare, '12-site-view-no-devices');
  } finally {
    await withDevices.close();
    await noDevices.close();
    server.close();
  }
  console.log('look: all screens rendered and checked');
}

await main();
