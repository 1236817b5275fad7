/**
 * HTTPS/WSS served by diemcau itself (rustls) with a certificate made here by the openssl
 * CLI: Chromium joins a meeting over `https://` and `wss://`; SIGHUP swaps in a renewed
 * certificate without a restart; a shutdown tells the connected pages, then exits cleanly.
 *
 * Run inside `unshare -n` (loopback only), after `cargo build --release -p signaling`.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { after, before, test } from 'node:test';

import { inboundBySlot, joinAs, launchBrowser, pollStats, startServer, waitConnected } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'diemcau-tls-'));
const CERT = join(dir, 'cert.pem');
const KEY = join(dir, 'key.pem');

/** Writes a fresh self-signed certificate for 127.0.0.1 / localhost over CERT and KEY. */
function makeCertificate() {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=diemcau e2e', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', KEY, '-out', CERT,
  ], { stdio: 'pipe' });
  return new X509Certificate(readFileSync(CERT)).fingerprint256;
}

/** SHA-256 fingerprint of the certificate the server presents now. */
function servedFingerprint(/** @type {string} */ host, /** @type {number} */ port) {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, rejectUnauthorized: false, servername: 'localhost' }, () => {
      const fp = socket.getPeerX509Certificate()?.fingerprint256;
      socket.end();
      resolve(fp);
    });
    socket.on('error', reject);
  });
}

/** @type {Awaited<ReturnType<typeof startServer>>} */
let server;
/** @type {Awaited<ReturnType<typeof launchBrowser>>} */
let browser;
let firstFingerprint = '';

before(async () => {
  firstFingerprint = makeCertificate();
  server = await startServer({ args: ['--tls-cert', CERT, '--tls-key', KEY], drainSeconds: 2 });
  browser = await launchBrowser({ args: ['--ignore-certificate-errors'] });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('the service answers only over TLS, with the configured certificate', async () => {
  const url = new URL(server.info.http);
  assert.equal(url.protocol, 'https:');
  assert.match(server.info.meeting.chair.link, /^https:\/\//, 'invite links are https');
  assert.equal(await servedFingerprint(url.hostname, Number(url.port)), firstFingerprint);
  await assert.rejects(fetch(`http://${url.host}/healthz`), 'plain HTTP gets no answer');
});

test('a site joins over https and wss and decodes the hall\'s video', async () => {
  const chair = (await joinAs(browser.context, server.info.meeting.chair.link)).page;
  const site = (await joinAs(browser.context, server.info.meeting.sites[0].link)).page;
  await waitConnected(chair);
  await waitConnected(site);
  await chair.getByTestId('open-meeting').click();
  assert.equal(await site.evaluate(() => location.protocol), 'https:');
  assert.equal(await site.evaluate(() => window.isSecureContext), true, 'camera and microphone need a secure context');
  const ready = await site.evaluate(async () => (await fetch('/readyz')).status);
  assert.equal(ready, 200);
  const decoded = await pollStats(site, (s) => inboundBySlot(s).some(
    (x) => x.kind === 'video' && x.site === 'chair' && (x.framesDecoded ?? 0) > 0,
  ), 30_000);
  assert.ok(decoded, 'the site decodes the chair\'s video over a meeting joined through wss');
});

test('SIGHUP serves a renewed certificate without a restart', async () => {
  const url = new URL(server.info.http);
  const renewed = makeCertificate();
  assert.notEqual(renewed, firstFingerprint);
  process.kill(server.pid, 'SIGHUP');
  let served = '';
  for (let i = 0; i < 50 && served !== renewed; i += 1) {
    await new Promise((r) => setTimeout(r, 100));
    served = /** @type {string} */ (await servedFingerprint(url.hostname, Number(url.port)));
  }
  assert.equal(served, renewed, 'the new certificate is served');
  assert.match(server.log.join(''), /TLS certificate reloaded/);
});

test('a shutdown tells the connected pages, drains and exits cleanly', async () => {
  const [site] = browser.context.pages().filter((p) => p.url().includes('#t='));
  assert.ok(site, 'a meeting page is open');
  const stopping = server.stop();
  await site.waitForFunction(() => /** @type {any} */ (window).diemcau?.lastError?.code === 'draining', null, { timeout: 5000 });
  assert.equal(await stopping, 0, 'diemcau exits with 0 after the drain');
  assert.match(server.log.join(''), /closing every session/);
});
