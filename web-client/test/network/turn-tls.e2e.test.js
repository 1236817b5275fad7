/**
 * TURN over TLS for a site behind the strictest firewall: its Chromium runs in its own network
 * namespace where nftables drops every UDP datagram and every TCP connection except to the
 * web server's port and to coturn's TLS port (in deployment: 443 on two addresses). diemcau
 * hands out `turn:` (UDP, TCP) and `turns:` URLs with a short-lived REST credential and has
 * its ICE-TCP port on; only `turns:` gets through, and the site still joins (no `?relay=1`:
 * the browser finds the one path by itself), decodes the chair's video and is seen by the
 * chair. getStats proves the path: the selected pair's local candidate is a relay reached
 * over TLS. The certificate is made with openssl at run time (never committed).
 *
 *   cd web-client && unshare -n bash -c 'ip link set lo up && \
 *     node --test --test-concurrency=1 test/network/turn-tls.e2e.test.js'
 */

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { joinAs, launchBrowser, snapshot, startServer, waitConnected } from '../e2e/harness.js';
import { HUB_IP, createSiteLink } from './netns.js';

const SECRET = 'turn-tls-e2e-static-auth-secret';
const TTL_SECONDS = 600;

/** @type {ReturnType<typeof createSiteLink>} */
let link;
/** @type {import('node:child_process').ChildProcess} */
let coturn;
/** @type {string[]} */
const coturnLog = [];
/** Plain TURN (UDP and TCP) and TURN over TLS: ports from the OS. */
let plainPort = 0;
let tlsPort = 0;
let certDir = '';
/** @type {Awaited<ReturnType<typeof startServer>>} */
let server;
/** @type {Awaited<ReturnType<typeof launchBrowser>>} */
let local;
/** @type {Awaited<ReturnType<typeof launchBrowser>>} */
let remote;
/** @type {import('playwright-core').Page} */
let chair;
/** @type {import('playwright-core').Page} */
let site;

const sleep = (/** @type {number} */ ms) => new Promise((ok) => setTimeout(ok, ms));
const inSite = (/** @type {string[]} */ args) =>
  execFileSync('ip', ['netns', 'exec', link.name, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/** A TCP port on `host` the OS reports free. */
async function freePort(host = HUB_IP) {
  const srv = createServer();
  await new Promise((ok) => srv.listen(0, host, () => ok(undefined)));
  const port = /** @type {import('node:net').AddressInfo} */ (srv.address()).port;
  await new Promise((ok) => srv.close(() => ok(undefined)));
  return port;
}

/** Resolves once something accepts TCP connections on `HUB_IP:port`. */
async function waitListening(/** @type {number} */ port, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((done) => {
      const s = createConnection({ host: HUB_IP, port }, () => { s.end(); done(true); });
      s.on('error', () => done(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on ${port}:\n${coturnLog.join('')}`);
    await sleep(100);
  }
}

/**
 * The site's firewall: only TCP to (and back from) `ports` on the hub passes; every other
 * packet off the site's loopback, UDP included, is counted and dropped.
 * @param {number[]} ports
 */
function onlyTcpTo(ports) {
  const set = `{ ${ports.join(', ')} }`;
  inSite(['nft', 'add', 'table', 'inet', 'diemcau_tlsonly']);
  for (const [hook, dir, port] of [['output', 'oifname', 'dport'], ['input', 'iifname', 'sport']]) {
    inSite(['nft', 'add', 'chain', 'inet', 'diemcau_tlsonly', hook, `{ type filter hook ${hook} priority -10; }`]);
    inSite(['nft', 'add', 'rule', 'inet', 'diemcau_tlsonly', hook, dir, 'lo', 'accept']);
    inSite(['nft', 'add', 'rule', 'inet', 'diemcau_tlsonly', hook, 'tcp', port, set, 'accept']);
    inSite(['nft', 'add', 'rule', 'inet', 'diemcau_tlsonly', hook, 'meta', 'l4proto', 'udp', 'counter', 'drop']);
    inSite(['nft', 'add', 'rule', 'inet', 'diemcau_tlsonly', hook, 'meta', 'l4proto', 'tcp', 'counter', 'drop']);
    inSite(['nft', 'add', 'rule', 'inet', 'diemcau_tlsonly', hook, 'drop']);
  }
}

/** Packets the firewall dropped, UDP and TCP. */
function dropped() {
  const out = inSite(['nft', 'list', 'table', 'inet', 'diemcau_tlsonly']);
  const sum = (/** @type {string} */ proto) => [...out.matchAll(new RegExp(`l4proto ${proto} counter packets (\\d+)`, 'g'))]
    .reduce((n, m) => n + Number(m[1]), 0);
  return { udp: sum('udp'), tcp: sum('tcp') };
}

before(async () => {
  link = createSiteLink();
  certDir = mkdtempSync(join(tmpdir(), 'diemcau-turn-tls-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem'),
    '-subj', '/CN=turn.diemcau.test', '-addext', `subjectAltName=IP:${HUB_IP}`,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  plainPort = await freePort();
  tlsPort = await freePort();
  coturn = spawn('turnserver', [
    '-n', `--listening-ip=${HUB_IP}`, `--relay-ip=${HUB_IP}`, `--listening-port=${plainPort}`,
    `--tls-listening-port=${tlsPort}`, `--cert=${join(certDir, 'cert.pem')}`, `--pkey=${join(certDir, 'key.pem')}`,
    '--no-tlsv1', '--no-tlsv1_1', '--no-dtls', '--min-port=49152', '--max-port=49300', '--realm=diemcau.test',
    '--use-auth-secret', `--static-auth-secret=${SECRET}`, '--no-cli', '--allow-loopback-peers',
    '--log-file=stdout', '--simple-log', '--verbose',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  coturn.stdout?.on('data', (d) => coturnLog.push(String(d)));
  coturn.stderr?.on('data', (d) => coturnLog.push(String(d)));
  await waitListening(tlsPort);
  assert.equal(coturn.exitCode, null, `coturn exited:\n${coturnLog.join('')}`);
  const urls = [
    `turn:${HUB_IP}:${plainPort}?transport=udp`,
    `turn:${HUB_IP}:${plainPort}?transport=tcp`,
    `turns:${HUB_IP}:${tlsPort}?transport=tcp`,
  ];
  server = await startServer({
    bind: '0.0.0.0', announceIp: HUB_IP,
    args: ['--ice-tcp', '0.0.0.0:0', '--turn-urls', urls.join(','), '--turn-ttl-seconds', String(TTL_SECONDS)],
    env: { DIEMCAU_TURN_SECRET: SECRET },
  });
  assert.ok(server.info.ice_tcp, 'the SFU\'s own TCP port is on (and must be blocked for the site)');
  const httpPort = Number(new URL(server.info.http).port);
  onlyTcpTo([httpPort, tlsPort]);
  const at = (/** @type {string} */ l, /** @type {string} */ host) => l.replace('//0.0.0.0:', `//${host}:`);
  local = await launchBrowser();
  // Chromium checks a TURN server's certificate (the second test shows it); this one is made
  // for the test, so the site's browser is told to accept it.
  remote = await launchBrowser({ netns: link.name, args: ['--ignore-certificate-errors'] });
  chair = (await joinAs(local.context, at(server.info.meeting.chair.link, '127.0.0.1'))).page;
  site = (await joinAs(remote.context, at(server.info.meeting.sites[0].link, HUB_IP))).page;
  await waitConnected(chair);
  await waitConnected(site, 40_000);
  await chair.getByTestId('open-meeting').click();
});

after(async () => {
  await remote?.close();
  await local?.close();
  await server?.stop();
  coturn?.kill('SIGTERM');
  link?.destroy();
  if (certDir) rmSync(certDir, { recursive: true, force: true });
});

/** Frames `page` decoded of `siteId`'s camera. */
async function framesFrom(/** @type {import('playwright-core').Page} */ page, /** @type {string} */ siteId) {
  const s = await snapshot(page);
  const mids = s.slots.filter((sl) => sl.kind === 'video' && sl.site_id === siteId).map((sl) => sl.mid);
  return s.stats.filter((x) => x.type === 'inbound-rtp' && mids.includes(String(x.mid)))
    .reduce((n, x) => n + (x.framesDecoded ?? 0), 0);
}

test('a site that may only reach TURN over TLS joins through turns: and decodes the chair\'s video', async () => {
  // Media both ways, only through the TLS relay.
  const until = Date.now() + 30_000;
  while ((await framesFrom(site, 'chair')) === 0 && Date.now() < until) await sleep(250);
  const a = await framesFrom(site, 'chair');
  const up = await framesFrom(chair, 's1');
  await sleep(3000);
  const b = await framesFrom(site, 'chair');
  assert.ok(b - a > 20, `the site decodes the chair's video over TURN/TLS (${b - a} frames in 3 s)`);
  assert.ok((await framesFrom(chair, 's1')) - up > 10, 'the chair decodes the site\'s camera');

  // The selected pair's local end is a relay candidate allocated over TLS.
  const s = await snapshot(site);
  /** @type {any[]} */
  const stats = s.stats;
  const transport = stats.find((x) => x.type === 'transport' && x.selectedCandidatePairId);
  const pair = stats.find((x) => x.id === transport?.selectedCandidatePairId);
  const localCandidate = stats.find((x) => x.id === pair?.localCandidateId);
  assert.equal(localCandidate?.candidateType, 'relay', `relayed: ${JSON.stringify(localCandidate)}`);
  assert.equal(localCandidate?.relayProtocol, 'tls', `the site reaches TURN over TLS: ${JSON.stringify(localCandidate)}`);
  assert.equal(localCandidate?.url, `turns:${HUB_IP}:${tlsPort}?transport=tcp`);

  // The other routes were tried and refused by the firewall, not left unused.
  const d = dropped();
  console.log(`turn-tls figures: ${b - a} frames decoded in 3 s; firewall dropped ${d.udp} UDP, ${d.tcp} TCP packets`);
  assert.ok(d.udp > 0, `the site tried UDP and the firewall dropped it (${d.udp})`);
  assert.ok(d.tcp > 0, `the site tried the SFU's TCP port or plain TURN/TCP and the firewall dropped it (${d.tcp})`);

  // coturn served the site's REST user name over TLS.
  const log = coturnLog.join('');
  assert.match(log, /user <\d+:s1>/, 'coturn allocated for the site\'s REST user name');
  assert.match(log, /TLS\/TCP/, 'coturn served a TLS session');

  // The credential is short-lived: `<expiry>:<site>` about TTL_SECONDS ahead, signed with the secret.
  const ice = await site.evaluate(() => /** @type {any} */ (window).diemcau.pc.getConfiguration().iceServers);
  const turns = ice.find((/** @type {any} */ x) => [x.urls].flat().includes(`turns:${HUB_IP}:${tlsPort}?transport=tcp`));
  assert.ok(turns, `diemcau handed out the turns: URL: ${JSON.stringify(ice)}`);
  const [expiry, siteId] = String(turns.username).split(':');
  assert.equal(siteId, 's1');
  const now = Math.floor(Date.now() / 1000);
  assert.ok(Number(expiry) > now + TTL_SECONDS - 120 && Number(expiry) <= now + TTL_SECONDS,
    `expiry ${expiry} is about ${TTL_SECONDS} s ahead of ${now}`);
  assert.equal(turns.credential, createHmac('sha1', SECRET).update(turns.username).digest('base64'));
});

test('a browser that does not trust the certificate gets no relay from turns:', async () => {
  // Why deployment needs a real certificate (deploy/README.md): Chromium verifies TURN/TLS.
  const page = await local.context.newPage();
  await page.goto(server.info.http.replace('//0.0.0.0:', '//127.0.0.1:'));
  const username = `${Math.floor(Date.now() / 1000) + 600}:s2`;
  const credential = createHmac('sha1', SECRET).update(username).digest('base64');
  const found = await page.evaluate(async ([url, username, credential]) => {
    const pc = new RTCPeerConnection({ iceServers: [{ urls: url, username, credential }], iceTransportPolicy: 'relay' });
    /** @type {string[]} */
    const candidates = [];
    const done = new Promise((resolve) => {
      pc.onicecandidate = (e) => { if (e.candidate) candidates.push(e.candidate.candidate); else resolve(null); };
      setTimeout(resolve, 10_000);
    });
    pc.createDataChannel('probe');
    await pc.setLocalDescription(await pc.createOffer());
    await done;
    pc.close();
    return candidates.filter((c) => c.includes(' typ relay'));
  }, [`turns:${HUB_IP}:${tlsPort}?transport=tcp`, username, credential]);
  assert.deepEqual(found, [], 'no relay allocation over TLS with an untrusted certificate');
  await page.close();
});
