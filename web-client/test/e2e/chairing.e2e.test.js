/**
 * Chairing in real Chromium: a chair and three sites (A, B, C) in the real pages. The floor
 * is enforced by the SFU: every assertion compares packet counters from the browsers' own
 * `getStats()` over a time window, attributed to sites through the page's slot map.
 */

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { joinAs, launchBrowser, snapshot, startServer, waitConnected } from './harness.js';

/** @type {Awaited<ReturnType<typeof startServer>>} */
let server;
/** @type {Awaited<ReturnType<typeof launchBrowser>>} */
let browser;
/** @type {import('playwright-core').Page} */
let chair;
/** @type {Record<string, import('playwright-core').Page>} */
const site = {};

const sleep = (/** @type {number} */ ms) => new Promise((ok) => setTimeout(ok, ms));

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  chair = (await joinAs(browser.context, server.info.meeting.chair.link)).page;
  for (const [i, id] of ['s1', 's2', 's3'].entries()) {
    site[id] = (await joinAs(browser.context, server.info.meeting.sites[i].link)).page;
  }
  for (const page of [chair, ...Object.values(site)]) await waitConnected(page);
  await chair.getByTestId('open-meeting').click();
  for (const page of Object.values(site)) {
    await page.waitForFunction(() => /** @type {any} */ (window).diemcau.phase === 'open');
  }
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/**
 * Per-slot counters that grew between two snapshots `windowMs` apart, with the site each
 * slot carried at both ends of the window.
 * @param {import('playwright-core').Page} page
 */
async function flowing(page, windowMs = 1500) {
  const a = await snapshot(page);
  await sleep(windowMs);
  const b = await snapshot(page);
  const count = (/** @type {any} */ x) => (x.kind === 'audio' ? x.packetsReceived : x.framesDecoded) ?? 0;
  /** @type {{mid: string, kind: string, sites: (string|null)[], grew: number}[]} */
  const out = [];
  for (const x of b.stats.filter((s) => s.type === 'inbound-rtp')) {
    const before = a.stats.find((s) => s.type === 'inbound-rtp' && s.mid === x.mid);
    const grew = count(x) - (before ? count(before) : 0);
    const sites = [a, b].map((s) => s.slots.find((sl) => sl.mid === x.mid)?.site_id ?? null);
    out.push({ mid: /** @type {string} */ (x.mid), kind: /** @type {string} */ (x.kind), sites, grew });
  }
  return out;
}

/**
 * Sites whose media of `kind` flowed into `page` during a window. A slot that changed source
 * inside the window cannot be attributed: in a steady meeting that is a failure; while a
 * grant is still settling (`settling`), the slot is left out and the caller polls again.
 */
async function heardFrom(
  /** @type {import('playwright-core').Page} */ page,
  /** @type {string} */ kind,
  settling = false,
) {
  const f = await flowing(page);
  const grown = f.filter((x) => x.kind === kind && x.grew > 0);
  const steady = grown.filter((x) => x.sites[0] === x.sites[1]);
  if (!settling) {
    for (const x of grown) {
      assert.ok(x.sites[0] === x.sites[1], `slot ${x.mid} changed source during the window: ${x.sites}`);
    }
  }
  return new Set(steady.map((x) => x.sites[1]));
}

/** Polls until `check` holds on what flows into `page`, or fails after `timeout`. */
async function eventually(/** @type {() => Promise<boolean>} */ check, timeout = 20_000) {
  const until = Date.now() + timeout;
  while (Date.now() < until) {
    if (await check()) return true;
    await sleep(250);
  }
  return false;
}

test('before any grant no site receives audio from another site', async () => {
  for (const [id, page] of Object.entries(site)) {
    // Poll until the chair's audio is flowing (it may still be starting), then what flowed in
    // that same window must be the chair's alone.
    /** @type {Set<string | null>} */
    let heard = new Set();
    const ok = await eventually(async () => {
      heard = await heardFrom(page, 'audio');
      return heard.has('chair');
    });
    assert.ok(ok, `${id} hears the chair`);
    assert.deepEqual([...heard], ['chair'], `${id} hears only the chair`);
  }
});

test('after the chair grants B, A and C hear and see B; after revoke it stops within 1 s', async () => {
  await site.s2.getByTestId('raise-hand').click();
  const row = chair.locator('[data-testid="hand-row"][data-site-id="s2"]');
  await row.waitFor({ timeout: 10_000 });
  await row.getByTestId('grant-floor').click();
  for (const id of ['s1', 's3']) {
    const ok = await eventually(async () => {
      const [audio, video] = [await heardFrom(site[id], 'audio', true), await heardFrom(site[id], 'video', true)];
      return audio.has('s2') && video.has('s2');
    });
    assert.ok(ok, `${id} hears and sees B after the grant`);
  }
  await site.s2.getByTestId('floor-banner').waitFor({ timeout: 5_000 });

  await chair.locator('[data-testid="revoke-floor"][data-site-id="s2"]').first().click();
  // The 1 s counts from the server's confirmation (the floor update reaching the sites), not
  // from the click, which a loaded machine may take a while to deliver and apply.
  for (const id of ['s1', 's3']) {
    await site[id].waitForFunction(() => {
      const floor = /** @type {any} */ (window).diemcau.floor;
      return floor !== undefined && floor !== null && !floor.holders.includes('s2');
    }, null, { timeout: 10_000 });
  }
  const confirmedAt = Date.now();
  // A deliberate window: media still in flight or in the jitter buffer may play out for up to
  // 1 s after the confirmation; from then on nothing but the chair may flow.
  await sleep(Math.max(0, confirmedAt + 1000 - Date.now()));
  for (const id of ['s1', 's3']) {
    const f = await flowing(site[id]);
    const fromOthers = f.filter((x) => x.grew > 0 && x.sites.some((s) => s !== 'chair'));
    assert.deepEqual(fromOthers, [], `${id}: nothing but the chair flows 1 s after the revoke took effect`);
  }
});

test('a site muted by the chair is not heard even when it switches its microphone back on', async () => {
  // Give B the floor again, then mute it at the SFU.
  await chair.evaluate(() => /** @type {any} */ (window).diemcau.send({ type: 'grant_floor', site_id: 's2' }));
  assert.ok(await eventually(async () => (await heardFrom(site.s1, 'audio', true)).has('s2')), 'A hears B with the floor');
  await chair.locator('[data-testid="site-tile"][data-site-id="s2"]').getByTestId('tile-mute').click();
  await site.s2.getByTestId('muted-banner').waitFor({ timeout: 5_000 });
  await site.s2.evaluate(() => {
    const d = /** @type {any} */ (window).diemcau;
    d.setMicEnabled(false);
    d.setMicEnabled(true);
  });
  await sleep(1000);
  for (const id of ['s1', 's3']) {
    const heard = await heardFrom(site[id], 'audio');
    assert.ok(!heard.has('s2'), `${id} does not hear muted B`);
    assert.ok(heard.has('chair'), `${id} still hears the chair`);
  }
  const seen = await heardFrom(site.s1, 'video');
  assert.ok(seen.has('s2'), 'B keeps the floor: its camera is still on the program');
});

test('a shared screen reaches every site', async () => {
  await chair.getByTestId('present-button').click();
  await chair.waitForFunction(() => /** @type {any} */ (window).diemcau.presenting === true, null, { timeout: 10_000 });
  for (const [id, page] of Object.entries(site)) {
    const ok = await eventually(async () => {
      const f = await flowing(page);
      const s = await snapshot(page);
      const screenMids = new Set(s.slots.filter((sl) => sl.track === 'screen' && sl.site_id === 'chair').map((sl) => sl.mid));
      return f.some((x) => x.kind === 'video' && screenMids.has(x.mid) && x.grew > 0);
    });
    assert.ok(ok, `${id} decodes the chair's shared screen`);
  }
});
