/**
 * The hall's encoder in a real browser: the chair's page issues the tokens ("Thiết bị hội
 * trường", its own invite token, opened and used by keyboard) and shows the WHIP URL, the
 * bearer token and a watch link; Chromium's own WebRTC stack publishes a 352x288 canvas and a
 * tone over WHIP (RFC 9725, a plain fetch with the token read from the chair's page) as the
 * chair's camera; a site in Chromium decodes it in the chair's slot (352 wide: not the chair's
 * browser camera, whose simulcast layers are 160/320/640) and the panel's watch link plays it.
 * DELETE ends it: the slot goes back to the chair's browser camera.
 *
 *   cd web-client && unshare -n bash -c 'ip link set lo up && \
 *     node --test --test-concurrency=1 test/e2e/whip.e2e.test.js'
 */

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { inboundBySlot, joinAs, launchBrowser, pollStats, startServer, waitConnected } from './harness.js';

/** @type {Awaited<ReturnType<typeof startServer>>} */
let server;
/** @type {Awaited<ReturnType<typeof launchBrowser>>} */
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The width of the chair-slot video a site decodes now (0: none decoded yet). */
function chairWidth(/** @type {Awaited<ReturnType<typeof import('./harness.js').snapshot>>} */ s, /** @type {string} */ chairId) {
  const x = inboundBySlot(s).find((r) => r.kind === 'video' && r.site === chairId && (r.framesDecoded ?? 0) > 0);
  return x?.frameWidth ?? 0;
}

test('the chair\'s panel issues a WHIP token a browser publishes with as the chair camera, its watch link plays it, and DELETE gives the slot back', async () => {
  const { info } = server;
  const meeting = info.meeting;
  const chair = (await joinAs(browser.context, meeting.chair.link)).page;
  const site = (await joinAs(browser.context, meeting.sites[0].link)).page;
  for (const p of [chair, site]) await waitConnected(p);
  await chair.getByTestId('open-meeting').click();
  await site.waitForFunction(() => /** @type {any} */ (window).diemcau.phase === 'open', null, { timeout: 20_000 });

  const issued = await fetch(`${info.http}/api/v1/meetings/${meeting.id}/media-tokens`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${info.admin_key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ role: 'chair-camera', ttl_seconds: 600 }),
  });
  assert.equal(issued.status, 201);
  const admin = /** @type {{token: string, url: string}} */ (await issued.json());

  // The chair's own page issues the token (its invite token, no admin key), by keyboard:
  // the toolbar button opens the dialog with the focus on "create", Enter creates.
  const open = chair.getByTestId('equipment-open');
  await open.focus();
  await chair.keyboard.press('Enter');
  await chair.getByTestId('equipment-panel').waitFor({ state: 'visible', timeout: 5_000 });
  assert.equal(await chair.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'equipment-issue');
  await chair.keyboard.press('Enter');
  await chair.waitForFunction(() => /** @type {HTMLInputElement | null} */ (document.querySelector('[data-testid="watch-link"]'))?.value !== '', null, { timeout: 10_000 });
  const field = (/** @type {string} */ id) => chair.getByTestId(id).inputValue();
  const url = await field('whip-url');
  const token = await field('whip-token');
  const watchLink = await field('watch-link');
  assert.equal(url, admin.url, 'the page shows the same WHIP endpoint the admin API names');
  assert.notEqual(token, admin.token);
  assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  assert.ok(watchLink.startsWith(`${info.http}/watch#m=${meeting.id}&t=`), watchLink);
  assert.match(await chair.getByTestId('whip-expiry').innerText(), /\d{2}:\d{2}/);
  const audit = await (await fetch(`${info.http}/api/v1/meetings/${meeting.id}/audit`, { headers: { Authorization: `Bearer ${info.admin_key}` } })).json();
  const byChair = audit.entries.filter((/** @type {any} */ e) => e.action === 'media_token_issue' && e.actor.role === 'chair').map((/** @type {any} */ e) => e.target);
  assert.deepEqual(byChair, ['chair-camera', 'viewer'], 'the chair\'s issues are audited');
  await chair.keyboard.press('Escape');
  await chair.getByTestId('equipment-panel').waitFor({ state: 'hidden', timeout: 5_000 });

  // The encoder: a page of the server's origin (the watch page) running a WHIP client.
  const encoder = await browser.context.newPage();
  await encoder.goto(`${info.http}/watch`);
  const created = await encoder.evaluate(async ({ url, token }) => {
    const canvas = document.createElement('canvas');
    canvas.width = 352;
    canvas.height = 288;
    const g = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
    let n = 0;
    setInterval(() => {
      g.fillStyle = `hsl(${(n += 7) % 360} 80% 50%)`;
      g.fillRect(0, 0, 352, 288);
    }, 40);
    const video = canvas.captureStream(25).getVideoTracks()[0];
    const audioCtx = new AudioContext();
    const osc = audioCtx.createOscillator();
    const dest = audioCtx.createMediaStreamDestination();
    osc.connect(dest);
    osc.start();
    const audio = dest.stream.getAudioTracks()[0];
    const pc = new RTCPeerConnection();
    pc.addTransceiver(audio, { direction: 'sendonly' });
    pc.addTransceiver(video, { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((ok) => {
      if (pc.iceGatheringState === 'complete') return ok(undefined);
      pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && ok(undefined);
      setTimeout(ok, 2000);
    });
    const r = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${token}` },
      body: pc.localDescription?.sdp,
    });
    const body = await r.text();
    if (r.status === 201) await pc.setRemoteDescription({ type: 'answer', sdp: body });
    /** @type {any} */ (window).whipPc = pc;
    return { status: r.status, location: r.headers.get('Location'), body: r.status === 201 ? '' : body };
  }, { url, token });
  assert.equal(created.status, 201, created.body);
  assert.ok(created.location?.startsWith(`/whip/v1/${meeting.id}/`), String(created.location));

  const chairId = meeting.chair.site_id;
  const width = await pollStats(site, (s) => chairWidth(s, chairId) === 352 && 352, 20_000);
  assert.equal(width, 352, 'the site decodes the WHIP camera in the chair slot');

  // The panel's watch link plays the program: the WHIP camera, 352 wide.
  const viewer = await browser.context.newPage();
  await viewer.goto(watchLink);
  await viewer.getByRole('button', { name: 'Xem' }).click();
  await viewer.waitForFunction(() => /** @type {HTMLVideoElement} */ (document.getElementById('program')).videoWidth === 352, null, { timeout: 20_000 });
  await viewer.close();

  const deleted = await fetch(`${info.http}${created.location}`, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } });
  assert.equal(deleted.status, 200);
  const back = await pollStats(site, (s) => {
    const w = chairWidth(s, chairId);
    return w !== 0 && w !== 352 && w;
  }, 20_000);
  assert.ok(back && back !== 352, `the chair slot shows the chair's browser camera again (width ${back})`);
  await encoder.close();
});
