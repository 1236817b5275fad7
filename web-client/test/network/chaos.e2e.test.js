/**
 * A site's network is cut mid-meeting (its router died): its Chromium runs in its own
 * network namespace and nftables drops every packet in and out. The SFU notices within
 * 10 s, the site is shown as left to the chair and in the roll call, the other site goes on
 * undisturbed; when the link is back the site rejoins by itself, as the same site.
 */

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

// @ts-expect-error -- the package ships no types.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

import { snapshot, startServer, waitConnected } from '../e2e/harness.js';
import { createSiteLink } from './netns.js';
import { meetingOverLink } from './meeting.js';

/** @type {Awaited<ReturnType<typeof startServer>>} */
let server;
/** @type {Awaited<ReturnType<typeof meetingOverLink>>} */
let meeting;
/** @type {ReturnType<typeof createSiteLink>} */
let link;
/** @type {import('playwright-core').Page} */
let chair;
/** @type {import('playwright-core').Page} */
let good;
/** @type {import('playwright-core').Page} */
let cut;
/** @type {string} */
let base;

const sleep = (/** @type {number} */ ms) => new Promise((ok) => setTimeout(ok, ms));

before(async () => {
  meeting = await meetingOverLink({ local: 1, remote: 1 });
  ({ server, link, chair, base } = meeting);
  [good] = meeting.locals;
  [cut] = meeting.remotes;
});

after(async () => {
  await meeting?.close();
});

/** The roll call of the demo meeting, as the admin API gives it. */
async function attendance() {
  const res = await fetch(`${base}/api/v1/meetings/${server.info.meeting.id}/attendance`, {
    headers: { authorization: `Bearer ${server.info.admin_key}` },
  });
  assert.equal(res.status, 200);
  /** @type {{sites: {site_id: string, state: string, joins: number, reconnects: number}[]}} */
  const body = await res.json();
  return Object.fromEntries(body.sites.map((s) => [s.site_id, s]));
}

/** Media peers the SFU holds with ICE connected, from a parsed `/metrics` scrape. */
async function peersConnected() {
  const families = parsePrometheusTextFormat(await (await fetch(`${base}/metrics`)).text());
  const f = families.find((/** @type {any} */ x) => x.name === 'diemcau_sfu_peers_connected');
  assert.ok(f, 'diemcau_sfu_peers_connected exported');
  return Number(f.metrics[0].value);
}

/** Frames of the chair's camera that `page` decoded. */
async function chairFrames(/** @type {import('playwright-core').Page} */ page) {
  const s = await snapshot(page);
  const mid = s.slots.find((sl) => sl.kind === 'video' && sl.site_id === 'chair' && sl.track === 'camera')?.mid;
  return s.stats.find((x) => x.type === 'inbound-rtp' && x.mid === mid)?.framesDecoded ?? 0;
}

/** The chair's roster entry for `id`. */
function rosterOf(/** @type {string} */ id) {
  return chair.evaluate((id) => /** @type {any} */ (window).diemcau.roster.find((/** @type {any} */ s) => s.id === id), id);
}

test('a cut site is noticed within 10 s, shown as left, and the other site is undisturbed', async () => {
  assert.equal((await attendance()).s2.state, 'joined');
  assert.equal(await peersConnected(), 3);
  const goodBefore = await chairFrames(good);
  link.cut();
  const cutAt = Date.now();
  let noticed = null;
  while (Date.now() - cutAt < 10_000) {
    if ((await peersConnected()) === 2) {
      noticed = (Date.now() - cutAt) / 1000;
      break;
    }
    await sleep(250);
  }
  assert.ok(noticed !== null, 'the SFU dropped the cut site within 10 s');
  console.log(`# cut site noticed by the SFU after ${noticed.toFixed(1)} s`);
  const roll = await attendance();
  assert.equal(roll.s2.state, 'left', 'the roll call records the leave');
  assert.equal(roll.s1.state, 'joined');
  await chair.waitForFunction(() => {
    const s = /** @type {any} */ (window).diemcau.roster.find((/** @type {any} */ x) => x.id === 's2');
    return s && s.state === 'left';
  }, null, { timeout: 5_000 });
  const goodAfter = await chairFrames(good);
  assert.ok(goodAfter - goodBefore > 60, `the good site kept decoding the chair (${goodAfter - goodBefore} frames; at least 6 fps over the 8-10 s the SFU takes)`);
  assert.equal((await rosterOf('s1')).state, 'joined');
});

test('when the link is back the site rejoins by itself, as the same site', async () => {
  link.restore();
  const restoredAt = Date.now();
  const back = await chair.waitForFunction(() => {
    const s = /** @type {any} */ (window).diemcau.roster.find((/** @type {any} */ x) => x.id === 's2');
    return s && s.state === 'joined';
  }, null, { timeout: 60_000 }).then(() => true, () => false);
  assert.ok(back, 'the chair sees the site joined again');
  console.log(`# the site joined again ${((Date.now() - restoredAt) / 1000).toFixed(1)} s after the link came back`);
  await waitConnected(cut);
  const before = await chairFrames(cut);
  await sleep(3000);
  assert.ok((await chairFrames(cut)) - before > 20, 'the rejoined site decodes the chair again');
  const roll = await attendance();
  assert.equal(roll.s2.state, 'joined');
  assert.equal(roll.s2.joins, 2, 'one site, joined twice');
  assert.equal(roll.s2.reconnects, 1);
  assert.equal(Object.keys(roll).filter((id) => id === 's2').length, 1);
});
