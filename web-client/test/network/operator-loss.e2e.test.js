/**
 * The operator page marks a site losing packets, for real: the site's Chromium runs in its own
 * network namespace behind a veth pair on which nftables drops 10% of UDP at random both ways.
 * The operator (on the good side) sees that site's row highlighted for loss within 20 s while
 * a site on a clean link is not; a screenshot goes to
 * `web-client/test-artifacts/operator-loss.png`.
 *
 *   cd web-client && unshare -n bash -c 'ip link set lo up && \
 *     node --test --test-concurrency=1 test/network/operator-loss.e2e.test.js'
 */

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';

import { startServer } from '../e2e/harness.js';
import { createSiteLink } from './netns.js';
import { meetingOverLink } from './meeting.js';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

/** @type {Awaited<ReturnType<typeof startServer>>} */
let server;
/** @type {Awaited<ReturnType<typeof meetingOverLink>>} */
let meeting;
/** @type {ReturnType<typeof createSiteLink>} */
let link;
/** @type {import('playwright-core').Page} */
let operator;

before(async () => {
  meeting = await meetingOverLink({ local: 1, remote: 1, operator: true });
  ({ server, link } = meeting);
  operator = /** @type {import('playwright-core').Page} */ (meeting.operator);
});

after(async () => {
  await meeting?.close();
});

test('a site losing 10% of its packets is highlighted on the operator page, a clean one is not', async () => {
  const row = (/** @type {string} */ id) => operator.locator(`[data-testid="ops-row"][data-site-id="${id}"]`);
  // Both rows carry live figures before any loss.
  await operator.waitForFunction(() => ['s1', 's2'].every((id) => {
    const cell = document.querySelector(`[data-testid="ops-row"][data-site-id="${id}"] [data-col="down"]`);
    return Number.parseFloat(cell?.textContent ?? '') > 0;
  }), null, { timeout: 30_000 });
  assert.ok(!((await row('s2').getAttribute('data-alert')) ?? '').includes('loss'), 'no loss alert before the loss');
  link.loss(10);
  await operator.waitForFunction(
    () => (document.querySelector('[data-testid="ops-row"][data-site-id="s2"]')?.getAttribute('data-alert') ?? '').split(' ').includes('loss'),
    null,
    { timeout: 20_000 },
  );
  const clean = (await row('s1').getAttribute('data-alert')) ?? '';
  assert.ok(!clean.split(' ').includes('loss'), `the clean site is not marked for loss (${clean})`);
  const stats = await operator.evaluate(() => /** @type {any} */ (window).diemcau.stats);
  const s2 = stats.sites.find((/** @type {any} */ s) => s.site_id === 's2');
  assert.ok(Math.max(s2.up_loss_pct ?? 0, s2.down_loss_pct ?? 0) > 5, `the server measured the loss: ${JSON.stringify(s2)}`);
  mkdirSync(ARTIFACTS, { recursive: true });
  await operator.screenshot({ path: `${ARTIFACTS}operator-loss.png`, fullPage: true });
  link.loss(0);
});
