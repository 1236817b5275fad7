/**
 * A site's signaling socket dies while its media flows on (a proxy, NAT or firewall dropped
 * the TCP connection): its Chromium runs in its own namespace and nftables drops its TCP
 * only. The page notices (unanswered pings), shows "reconnecting", and once TCP passes again
 * it resumes with `join.resume`: the same peer connection, no leave in the roll call, and
 * the chair never stops decoding its camera (the page also restarts ICE on the resumed
 * connection, which costs nothing when the path still works).
 *
 * Then the site's address changes under it: every connection of the old address is dead.
 * Its ICE stalls, a probe of its socket goes unanswered, and it is back from the new address
 * by itself as the same site (here in ~10 s: past the SFU's 8 s silence limit, so as a
 * reconnect in the roll call rather than a resume).
 */

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

// @ts-expect-error -- the package ships no types.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

import { snapshot, startServer } from '../e2e/harness.js';
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
let site;
/** @type {string} */
let base;

const sleep = (/** @type {number} */ ms) => new Promise((ok) => setTimeout(ok, ms));

before(async () => {
  meeting = await meetingOverLink();
  ({ server, link, chair, base } = meeting);
  [site] = meeting.remotes;
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

/** A counter from a parsed `/metrics` scrape. */
async function counter(/** @type {string} */ name) {
  const families = parsePrometheusTextFormat(await (await fetch(`${base}/metrics`)).text());
  const f = families.find((/** @type {any} */ x) => x.name === name);
  assert.ok(f, `${name} exported`);
  return Number(f.metrics[0].value);
}

/** Frames of s1's camera the chair decoded. */
async function siteFrames() {
  const s = await snapshot(chair);
  const mids = s.slots.filter((sl) => sl.kind === 'video' && sl.site_id === 's1').map((sl) => sl.mid);
  return s.stats.filter((x) => x.type === 'inbound-rtp' && mids.includes(x.mid ?? '')).reduce((n, x) => n + (x.framesDecoded ?? 0), 0);
}

test('a site whose socket dies resumes it, and its media never stops', async () => {
  // The hall sees the site before anything breaks.
  const until = Date.now() + 20_000;
  while ((await siteFrames()) === 0 && Date.now() < until) await sleep(500);
  assert.ok((await siteFrames()) > 0, 'the chair decodes the site');
  assert.equal(await counter('diemcau_signaling_resumes_total'), 0);

  link.cutTcp();
  const cutAt = Date.now();
  /** Frames decoded in each 2 s window while the socket is away. */
  const windows = [];
  let last = await siteFrames();
  let reconnecting = false;
  while (Date.now() - cutAt < 45_000) {
    await sleep(2000);
    const now = await siteFrames();
    windows.push(now - last);
    last = now;
    reconnecting = await site.evaluate(() => /** @type {any} */ (window).diemcau.reconnecting === true);
    if (reconnecting) break;
  }
  assert.ok(reconnecting, 'the page noticed its dead socket and shows reconnecting');
  console.log(`# the page noticed the dead socket after ${((Date.now() - cutAt) / 1000).toFixed(1)} s`);
  assert.ok(await site.getByTestId('banner-reconnecting').isVisible(), 'the reconnecting banner is shown');
  assert.equal((await attendance()).s1.state, 'joined', 'still present: its media flows');

  link.restoreTcp();
  const restoredAt = Date.now();
  while (Date.now() - restoredAt < 30_000) {
    await sleep(2000);
    const now = await siteFrames();
    windows.push(now - last);
    last = now;
    if (!(await site.evaluate(() => /** @type {any} */ (window).diemcau.reconnecting))) break;
  }
  assert.equal(await site.evaluate(() => /** @type {any} */ (window).diemcau.reconnecting), false, 'the page reconnected');
  console.log(`# resumed ${((Date.now() - restoredAt) / 1000).toFixed(1)} s after TCP passed again; frames per 2 s: ${windows.join(' ')}`);
  assert.ok(windows.every((n) => n > 4), `the chair decoded the site's camera in every 2 s window (${windows.join(' ')})`);

  assert.equal(await counter('diemcau_signaling_resumes_total'), 1, 'the join resumed the connection');
  const roll = await attendance();
  assert.deepEqual([roll.s1.state, roll.s1.joins, roll.s1.reconnects], ['joined', 1, 0], 'no leave, no new stay');
  // The resumed socket works: the site still takes part (a raised hand reaches the chair).
  await site.getByTestId('raise-hand').click();
  await chair.waitForFunction(() => /** @type {any} */ (window).diemcau.floor.hands.some((/** @type {any} */ h) => h.site_id === 's1'), null, { timeout: 5_000 });
  assert.equal(await site.evaluate(() => /** @type {any} */ (window).diemcau.state), 'connected');
});

test('a site whose address changes is back by itself from its new address, as the same site', async () => {
  const before = await siteFrames();
  link.renumber('127.1.0.3');
  const changedAt = Date.now();
  // The old address's connections are dead. The page notices (its ICE stalls, a probe of
  // its socket goes unanswered), reconnects and starts ICE over from the new address.
  let recovered = false;
  let last = before;
  while (Date.now() - changedAt < 45_000) {
    await sleep(1000);
    const now = await siteFrames();
    const connected = await site.evaluate(() => {
      const d = /** @type {any} */ (window).diemcau;
      return d.state === 'connected' && !d.reconnecting;
    });
    if (connected && now - last > 10 && Date.now() - changedAt > 2000) {
      recovered = true;
      break;
    }
    last = now;
  }
  assert.ok(recovered, 'the chair decodes the site again after its address changed');
  const local = await site.evaluate(async () => {
    const stats = [.../** @type {RTCStatsReport} */ (await /** @type {any} */ (window).diemcau.pc.getStats()).values()];
    const pair = stats.find((s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded');
    return stats.find((s) => s.id === pair?.localCandidateId)?.address;
  });
  assert.equal(local, '127.1.0.3', 'the media runs from the new address');
  const roll = await attendance();
  console.log(`# media back ${((Date.now() - changedAt) / 1000).toFixed(1)} s after the address changed; roll call s1: joins ${roll.s1.joins}, reconnects ${roll.s1.reconnects}`);
  assert.equal(roll.s1.state, 'joined');
  assert.ok(roll.s1.joins <= 2, 'the same site: at most one reconnect in the roll call');
  assert.equal(Object.keys(roll).filter((id) => id === 's1').length, 1);
});
