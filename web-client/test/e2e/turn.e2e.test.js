/**
 * TURN through a real coturn (Debian `coturn`, `use-auth-secret`) on loopback: diemcau hands
 * each site a short-lived REST credential in `joined.ice_servers`; a site that may only use
 * relayed candidates (`?relay=1`) joins through TURN over TCP and decodes the hall's video;
 * coturn refuses a credential whose expiry has passed.
 *
 * Run inside `unshare -n` (loopback only), after `cargo build --release -p signaling`.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createConnection, createServer } from 'node:net';
import { after, before, test } from 'node:test';

import { inboundBySlot, joinAs, launchBrowser, pollStats, snapshot, startServer, waitConnected } from './harness.js';

const SECRET = 'turn-e2e-static-auth-secret';
/** coturn's port: from the OS, not 3478, which another coturn on this host may hold. */
let turnPort = 0;

/** @type {import('node:child_process').ChildProcess} */
let coturn;
/** @type {string[]} */
const coturnLog = [];
/** @type {Awaited<ReturnType<typeof startServer>>} */
let server;
/** @type {Awaited<ReturnType<typeof launchBrowser>>} */
let browser;

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`. */
async function waitListening(/** @type {number} */ port, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((done) => {
      const s = createConnection({ host: '127.0.0.1', port }, () => { s.end(); done(true); });
      s.on('error', () => done(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on ${port}:\n${coturnLog.join('')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** coturn's REST credential for a user name. */
const credentialFor = (/** @type {string} */ username) => createHmac('sha1', SECRET).update(username).digest('base64');

/** A loopback TCP port the OS reports free. */
async function freePort() {
  const srv = createServer();
  await new Promise((ok) => srv.listen(0, '127.0.0.1', () => ok(undefined)));
  const port = /** @type {import('node:net').AddressInfo} */ (srv.address()).port;
  await new Promise((ok) => srv.close(() => ok(undefined)));
  return port;
}

before(async () => {
  turnPort = await freePort();
  coturn = spawn('turnserver', [
    '-n', '--listening-ip=127.0.0.1', '--relay-ip=127.0.0.1', `--listening-port=${turnPort}`,
    '--min-port=49152', '--max-port=49300', '--realm=diemcau.test', '--use-auth-secret',
    `--static-auth-secret=${SECRET}`, '--no-tls', '--no-dtls', '--no-cli', '--allow-loopback-peers',
    '--log-file=stdout', '--simple-log', '--verbose',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  coturn.stdout?.on('data', (d) => coturnLog.push(String(d)));
  coturn.stderr?.on('data', (d) => coturnLog.push(String(d)));
  await waitListening(turnPort);
  // What answered must be our coturn, not some other process that took the port.
  assert.equal(coturn.exitCode, null, `coturn exited:\n${coturnLog.join('')}`);
  server = await startServer({
    args: ['--turn-urls', `turn:127.0.0.1:${turnPort}?transport=tcp`, '--turn-ttl-seconds', '600'],
    env: { DIEMCAU_TURN_SECRET: SECRET },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  coturn?.kill('SIGTERM');
});

test('a relay-only site joins through TURN over TCP and decodes the hall\'s video', async () => {
  const chair = (await joinAs(browser.context, server.info.meeting.chair.link)).page;
  const siteLink = server.info.meeting.sites[0].link.replace('/join#', '/join?relay=1#');
  assert.notEqual(siteLink, server.info.meeting.sites[0].link, 'the invite link has the /join#t= form');
  const site = (await joinAs(browser.context, siteLink)).page;
  await waitConnected(chair);
  await waitConnected(site, 30_000);
  await chair.getByTestId('open-meeting').click();

  const decoded = await pollStats(site, (s) => inboundBySlot(s).some(
    (x) => x.kind === 'video' && x.site === 'chair' && (x.framesDecoded ?? 0) > 0,
  ), 30_000);
  assert.ok(decoded, 'the relay-only site decodes the chair\'s video');

  const s = await snapshot(site);
  /** @type {any[]} */
  const stats = s.stats;
  const transport = stats.find((x) => x.type === 'transport' && x.selectedCandidatePairId);
  const pair = stats.find((x) => x.id === transport?.selectedCandidatePairId);
  const local = stats.find((x) => x.id === pair?.localCandidateId);
  assert.equal(local?.candidateType, 'relay', `the site's media goes through TURN: ${JSON.stringify(local)}`);
  assert.equal(local?.relayProtocol, 'tcp', 'the site reaches TURN over TCP');
  const gathered = stats.filter((x) => x.type === 'local-candidate').map((x) => x.candidateType);
  assert.deepEqual([...new Set(gathered)], ['relay'], 'relay-only: no host candidate was gathered');
  assert.match(coturnLog.join(''), /user <\d+:s1>/, 'coturn served the site under its REST user name');

  // The site's credential in `joined` is `<expiry>:<site id>`, signed with the shared secret.
  const ice = await site.evaluate(() => /** @type {any} */ (window).diemcau.pc.getConfiguration().iceServers);
  const turn = ice.find((/** @type {any} */ x) => [x.urls].flat().includes(`turn:127.0.0.1:${turnPort}?transport=tcp`));
  const [expiry, siteId] = String(turn.username).split(':');
  assert.equal(siteId, 's1');
  const now = Math.floor(Date.now() / 1000);
  assert.ok(Number(expiry) > now + 500 && Number(expiry) <= now + 600, `expiry ${expiry} is about 600 s ahead`);
  assert.equal(turn.credential, credentialFor(turn.username));
  await chair.close();
  await site.close();
});

test('coturn refuses an expired credential and accepts a fresh one', async () => {
  const page = await browser.context.newPage();
  await page.goto(server.info.http);
  const now = Math.floor(Date.now() / 1000);
  const expired = `${now - 60}:s2`;
  const fresh = `${now + 600}:s2`;
  /** Relay candidates a relay-only peer connection gathers with this credential. */
  const relayCandidates = (/** @type {string} */ username) => page.evaluate(async ([url, username, credential]) => {
    const pc = new RTCPeerConnection({ iceServers: [{ urls: url, username, credential }], iceTransportPolicy: 'relay' });
    /** @type {string[]} */
    const found = [];
    const done = new Promise((resolve) => {
      pc.onicecandidate = (e) => { if (e.candidate) found.push(e.candidate.candidate); else resolve(null); };
      setTimeout(resolve, 10_000);
    });
    pc.createDataChannel('probe');
    await pc.setLocalDescription(await pc.createOffer());
    await done;
    pc.close();
    return found.filter((c) => c.includes(' typ relay'));
  }, [`turn:127.0.0.1:${turnPort}?transport=tcp`, username, credentialFor(username)]);

  assert.deepEqual(await relayCandidates(expired), [], 'no relay candidate with an expired user name');
  assert.ok(
    coturnLog.join('').includes(`Cannot find credentials of user <${expired}>`),
    'coturn refused the expired user name (401)',
  );
  const ok = await relayCandidates(fresh);
  assert.ok(ok.length >= 1, 'a fresh credential gets a relay allocation');
  await page.close();
});
