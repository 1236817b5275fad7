/**
 * Looks at the client as a person would: serves this folder on 127.0.0.1 (with `/join`
 * mapped to `index.html`, as the Rust binary does), opens it in headless Chromium at
 * 1366×768 with fake camera and microphone, drives each screen against the in-page fake
 * server (`fake-server.js`) and writes PNGs to `$LOOK_OUT` (default `/tmp/diemcau-look`).
 * It also checks what it can see: the hook states, the messages sent, and that received
 * video has pixels. The scenes are in `scenes.js`; the meeting and its attendance report,
 * which this server also answers at `/api/v1/meetings/{id}/attendance(.csv)`, in
 * `meeting.js`.
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
import { OUT, hasPicture, hook, shot, token, waitState } from './helpers.js';
import { MEETING, attendanceCsv, attendanceReport } from './meeting.js';
import { chairScenes, messageScenes, operatorScenes, siteScenes } from './scenes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** @type {Record<string, string>} */
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-ui-for-media-stream',
];
const FAKE_DEVICES = '--use-fake-device-for-media-stream';

/** Bearer headers the stand-in attendance API received. */
/** @type {string[]} */
const authSeen = [];

/**
 * The attendance API as the Rust binary will serve it: chair and operator tokens only.
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 * @param {string} path
 */
function attendance(req, res, path) {
  const auth = req.headers.authorization ?? '';
  authSeen.push(auth);
  if (auth !== `Bearer ${token('chair')}` && auth !== `Bearer ${token('operator')}`) {
    res.writeHead(401, { 'content-type': 'application/json' }).end('{"code":"unauthorized"}');
    return;
  }
  const report = attendanceReport(Date.now());
  if (path.endsWith('.csv')) res.writeHead(200, { 'content-type': 'text/csv; charset=utf-8' }).end(attendanceCsv(report));
  else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(report));
}

function serve() {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (/^\/api\/v1\/meetings\/[^/]+\/attendance(\.csv)?$/.test(path)) {
      attendance(req, res, path);
      return;
    }
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
    acceptDownloads: true,
  });
  await context.addInitScript(installFakeServer, MEETING);
  return { context, close: async () => { await context.close(); rmSync(profile, { recursive: true, force: true }); } };
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
    assert.equal(await hook(page, 'state'), 'idle');
    await shot(page, '01-no-token');

    await siteScenes(page, base);
    await chairScenes(page, base, authSeen);
    await operatorScenes(page, base);
    await messageScenes(page, base);

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
