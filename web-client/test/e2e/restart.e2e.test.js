/**
 * The server restarts mid-meeting (an upgrade, a crash recovered by systemd): the pages
 * reconnect by themselves once it is back, and the meeting comes back from the data
 * directory — open (not in the lobby), the floor where the chair left it, the roll call
 * counting a reconnect of the same site, not a new one.
 */

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { joinAs, launchBrowser, snapshot, startServer, waitConnected } from './harness.js';

const dataDir = mkdtempSync(join(tmpdir(), 'diemcau-restart-'));
/** @type {Awaited<ReturnType<typeof startServer>>} */
let server;
/** @type {Awaited<ReturnType<typeof launchBrowser>>} */
let browser;
/** @type {import('playwright-core').Page} */
let chair;
/** @type {import('playwright-core').Page} */
let site;
/** The demo meeting the pages are in (the restarted server makes another demo meeting). */
let meetingId = '';

const sleep = (/** @type {number} */ ms) => new Promise((ok) => setTimeout(ok, ms));

before(async () => {
  server = await startServer({ dataDir });
  meetingId = server.info.meeting.id;
  browser = await launchBrowser();
  chair = (await joinAs(browser.context, server.info.meeting.chair.link)).page;
  site = (await joinAs(browser.context, server.info.meeting.sites[0].link)).page;
  for (const p of [chair, site]) await waitConnected(p);
  await chair.getByTestId('open-meeting').click();
  await chair.evaluate(() => /** @type {any} */ (window).diemcau.send({ type: 'grant_floor', site_id: 's1' }));
  await site.waitForFunction(() => /** @type {any} */ (window).diemcau.floor?.holders.includes('s1'), null, { timeout: 5_000 });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Frames of `from`'s camera that `page` decoded. */
async function framesFrom(/** @type {import('playwright-core').Page} */ page, /** @type {string} */ from) {
  const s = await snapshot(page);
  const mids = s.slots.filter((sl) => sl.kind === 'video' && sl.site_id === from).map((sl) => sl.mid);
  return s.stats.filter((x) => x.type === 'inbound-rtp' && mids.includes(x.mid ?? '')).reduce((n, x) => n + (x.framesDecoded ?? 0), 0);
}

test('after a restart the pages come back by themselves to the same meeting, open, with its floor and roll call', async () => {
  const port = Number(new URL(server.info.http).port);
  const code = await server.stop();
  assert.equal(code, 0, 'the server stopped cleanly');
  const downAt = Date.now();
  // Another socket takes the freed port for a moment (as an outgoing connection given it as
  // its ephemeral port could): the restart must wait for it and still come back on this port.
  const squatter = createServer((socket) => socket.destroy());
  await new Promise((ok, fail) => { squatter.once('error', fail); squatter.listen(port, '127.0.0.1', () => ok(undefined)); });
  const released = sleep(1500).then(() => new Promise((ok) => squatter.close(() => ok(undefined))));
  server = await startServer({ dataDir, httpPort: port });
  await released;
  console.log(`# server back on port ${port} after ${((Date.now() - downAt) / 1000).toFixed(1)} s`);

  for (const p of [chair, site]) {
    await p.waitForFunction(() => {
      const d = /** @type {any} */ (window).diemcau;
      return d.state === 'connected' && !d.reconnecting;
    }, null, { timeout: 30_000 });
  }
  console.log(`# both pages connected again ${((Date.now() - downAt) / 1000).toFixed(1)} s after the stop`);
  assert.equal(await site.evaluate(() => /** @type {any} */ (window).diemcau.meeting.id), meetingId, 'the same meeting');
  assert.equal(await chair.evaluate(() => /** @type {any} */ (window).diemcau.phase), 'open', 'still open, not back in the lobby');
  assert.deepEqual(await site.evaluate(() => /** @type {any} */ (window).diemcau.floor.holders), ['s1'], 'the floor is where the chair left it');

  // The hall sees and the site receives again.
  const before = await framesFrom(chair, 's1');
  const until = Date.now() + 20_000;
  while ((await framesFrom(chair, 's1')) - before < 30 && Date.now() < until) await sleep(500);
  assert.ok((await framesFrom(chair, 's1')) - before >= 30, 'the chair decodes the site again');

  const res = await fetch(`${server.info.http}/api/v1/meetings/${meetingId}/attendance`, {
    headers: { authorization: `Bearer ${server.info.admin_key}` },
  });
  assert.equal(res.status, 200);
  /** @type {{sites: {site_id: string, state: string, joins: number, reconnects: number}[]}} */
  const roll = await res.json();
  const s1 = roll.sites.find((s) => s.site_id === 's1');
  assert.deepEqual([s1?.state, s1?.joins, s1?.reconnects], ['joined', 2, 1], 'the same site, reconnected once');
  assert.equal(roll.sites.filter((s) => s.site_id === 's1').length, 1);
});
