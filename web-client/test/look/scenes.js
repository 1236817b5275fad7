/**
 * What the look script does on each page: the site (program, hand, floor, muted by the
 * chair, a presentation, messages, the lobby), the chair (hand queue, tile controls, grid
 * pages, roll call, lobby, presenting) and the operator. Each scene checks the hooks and the
 * messages sent, and writes a screenshot.
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { checkOfferLayout, hasPicture, hook, sentOf, shot, token, until, waitState } from './helpers.js';

/** @typedef {import('playwright-core').Page} Page */
/** @param {Page} page */
const fake = (page) => ({
  /** @param {string} method @param {...unknown} args */
  call: (method, ...args) => page.evaluate(([m, a]) => /** @type {any} */ (window).fakeServer[/** @type {string} */ (m)](.../** @type {unknown[]} */ (a)), [method, args]),
});

/**
 * @param {Page} page
 * @param {string} base
 */
export async function siteScenes(page, base) {
  await page.goto(`${base}/join?fake=site#t=${token('site')}`);
  await waitState(page, 'joined');
  await hasPicture(page, '[data-testid="preview-video"]');
  await page.waitForTimeout(500);
  await shot(page, '02-join-site');
  await page.getByTestId('join-button').click();
  await waitState(page, 'connected');
  await hasPicture(page, '[data-testid="program-video"]');
  await page.waitForTimeout(800);
  await shot(page, '03-site-view');
  const sent = await page.evaluate(() => /** @type {any} */ (window).fakeSent.map((/** @type {any} */ m) => m.type));
  assert.deepEqual(sent.slice(0, 2), ['join', 'offer']);
  assert.ok(sent.includes('media_state'));
  checkOfferLayout((await sentOf(page, 'offer'))[0].sdp, 4, 2);
  assert.equal(await hook(page, 'phase'), 'open');
  assert.equal(await page.getByTestId('present-button').isVisible(), false, 'no present button without the floor');

  // Raise the hand; the chair gives the floor; the site presents.
  await page.getByTestId('raise-hand').click();
  await until(page, 'd.floor?.hands.some((h) => h.site_id === "s1")');
  await page.getByTestId('hand-waiting').waitFor();
  await page.evaluate(() => /** @type {any} */ (window).fakeServer.setFloor({ holders: ['s1'], hands: [] }));
  await page.getByTestId('floor-banner').waitFor();
  assert.equal(await page.getByTestId('raise-hand').isVisible(), false, 'no hand while holding the floor');
  await page.getByTestId('present-button').click();
  await until(page, 'd.presenting === true && d.floor?.presenter === "s1"');
  assert.deepEqual((await sentOf(page, 'present')).at(-1), { type: 'present', on: true });
  await hasPicture(page, '[data-testid="own-screen"]');
  await page.waitForTimeout(600);
  await shot(page, '15-site-floor-presenting');
  await page.getByTestId('present-button').click();
  await until(page, 'd.presenting === false');
  assert.deepEqual((await sentOf(page, 'present')).at(-1), { type: 'present', on: false });

  // Muted by the chair: the banner; the mic button still works; unmuted: told to switch on.
  await fake(page).call('setFloor', { holders: [], presenter: null });
  await fake(page).call('setMarks', 's1', { muted: true });
  await page.getByTestId('muted-banner').waitFor();
  await page.getByTestId('mic-toggle').click();
  await page.waitForTimeout(400);
  await shot(page, '16-site-muted-by-chair');
  await fake(page).call('setMarks', 's1', { muted: false });
  await page.getByTestId('chair-notice').waitFor();
  assert.equal(await page.getByTestId('muted-banner').isVisible(), false);
  await page.evaluate(() => /** @type {any} */ (window).diemcau.setMicEnabled(true));
  await page.getByTestId('chair-notice').waitFor({ state: 'hidden' });

  // Another site presents with the floor: its screen large, the speaking cameras beside it.
  await fake(page).call('setFloor', { holders: ['s2'], presenter: 's2' });
  await until(page, 'd.slots.some((s) => s.track === "screen")');
  await hasPicture(page, '[data-testid="program-video"][data-track="screen"]');
  // Messages: from the chair to all, and one written here (markup stays text).
  await fake(page).call('chatFrom', 'chair', 'all', 'Đề nghị các điểm cầu tắt micrô khi không phát biểu.');
  await fake(page).call('chatFrom', 'chair', 's1', '<b>Xã Tả Van</b> chuẩn bị báo cáo sau xã Bản Hồ.');
  await page.getByTestId('chat-input').fill('Xã Tả Van đã sẵn sàng.');
  await page.getByTestId('chat-send').click();
  await until(page, 'd.chat.length === 3');
  assert.equal(await page.getByTestId('chat-message').count(), 3, 'the server copy replaced ours');
  assert.equal(await page.locator('[data-testid="chat-panel"] b').count(), 0, 'no markup from a message');
  await page.waitForTimeout(800);
  await shot(page, '18-site-presentation-chat');

  await page.getByTestId('mic-toggle').click();
  await page.getByTestId('lang-switch').click();
  await page.waitForTimeout(300);
  await shot(page, '04-site-view-en-muted');

  // Made co-chair: the hand queue and the site list with the chair's controls.
  await fake(page).call('handUp', 's4', 20_000);
  await fake(page).call('setMarks', 's1', { cochair: true });
  await fake(page).call('sendRoster');
  await page.locator('[data-testid="site-row"][data-site-id="s4"]').waitFor();
  await page.getByTestId('hand-row').first().waitFor();
  await page.locator('[data-testid="site-row"][data-site-id="s3"] [data-testid="tile-mute"]').click();
  assert.deepEqual((await sentOf(page, 'mute')).at(-1), { type: 'mute', site_id: 's3', muted: true });
  assert.equal(await page.locator('[data-testid="tile-listen"], [data-testid="tile-cochair"]').count(), 0, 'not a co-chair’s to change');
  await page.waitForTimeout(400);
  await shot(page, '17-site-cochair');
  await fake(page).call('setMarks', 's1', { cochair: false });
  await page.getByTestId('lang-switch').click();

  // Removed by the chair.
  await fake(page).call('push', { type: 'ended', reason: 'removed_by_chair' });
  await page.getByTestId('screen-ended').waitFor();
  assert.equal(await hook(page, 'endReason'), 'removed_by_chair');
  await shot(page, '25-ended-removed');

  // Lobby: the site sees itself and waits for the chair to open.
  await page.goto(`${base}/join?fake=site&phase=lobby#t=${token('site')}`);
  await waitState(page, 'joined');
  await page.getByTestId('join-button').click();
  await waitState(page, 'connected');
  await page.getByTestId('lobby-notice').waitFor();
  assert.equal(await hook(page, 'phase'), 'lobby');
  await hasPicture(page, '[data-testid="lobby-preview"]');
  await page.waitForTimeout(500);
  await shot(page, '19-site-lobby');
  await fake(page).call('setPhase', 'open');
  await hasPicture(page, '[data-testid="program-video"]');
  await page.getByTestId('leave-button').click();
  await shot(page, '05-left');
}

/**
 * @param {Page} page
 * @param {string} base
 * @param {string[]} authSeen bearer headers the attendance API received
 */
export async function chairScenes(page, base, authSeen) {
  await page.goto(`${base}/join?fake=chair&phase=lobby&hands=s12:95000#t=${token('chair')}`);
  await waitState(page, 'joined');
  await page.getByTestId('join-button').click();
  await waitState(page, 'connected');
  await hasPicture(page, '[data-site-id="s1"] video');
  checkOfferLayout((await sentOf(page, 'offer')).at(-1).sdp, 10, 4);
  await page.getByTestId('lobby-notice').waitFor();
  await page.waitForTimeout(600);
  await shot(page, '23-chair-lobby');
  await page.getByTestId('open-meeting').click();
  await until(page, 'd.phase === "open"');
  assert.equal(await page.getByTestId('open-meeting').isVisible(), false);

  // Hands up, one holder, marks on tiles.
  const f = fake(page);
  await f.call('handUp', 's14');
  await f.call('setFloor', { holders: ['s3'] });
  await f.call('setMarks', 's6', { muted: true });
  await f.call('setMarks', 's2', { video_stopped: true, cochair: true });
  await page.getByTestId('hand-row').nth(1).waitFor();
  assert.equal(await page.getByTestId('site-tile').count(), 9 + 2, 'pinned hands plus one page of 9');
  await page.waitForTimeout(1200);
  assert.match(await page.locator('[data-testid="hand-row"][data-site-id="s12"] .wait').innerText(), /0[12]:\d\d/);
  assert.match(await page.locator('[data-testid="hand-row"][data-site-id="s14"] .wait').innerText(), /00:0\d/);
  await shot(page, '06-chair-view');

  // The tile's buttons, as the e2e test uses them: mute s1 straight from its tile.
  await page.locator('[data-testid="site-tile"][data-site-id="s1"]').getByTestId('tile-mute').click();
  assert.deepEqual((await sentOf(page, 'mute')).at(-1), { type: 'mute', site_id: 's1', muted: true });
  await page.locator('[data-testid="site-tile"][data-site-id="s1"]').getByTestId('tile-unmute').waitFor();
  assert.equal(await page.locator('[data-site-id="s1"] [data-testid="tile-unmute"]').getAttribute('aria-pressed'), 'true');
  await page.locator('[data-site-id="s1"] [data-testid="tile-listen"]').click();
  assert.deepEqual((await sentOf(page, 'listen')).at(-1), { type: 'listen', site_id: 's1', on: false });
  await page.locator('[data-site-id="s1"] [data-testid="tile-listen"][aria-pressed="true"]').waitFor();
  await page.locator('[data-site-id="s1"] [data-testid="tile-spotlight"]').hover();
  await page.waitForTimeout(200);
  await shot(page, '20-chair-tile-controls');

  // Give the floor from the queue; the limit of 2 is then reached.
  await page.locator('[data-testid="hand-queue"] [data-testid="grant-floor"][data-site-id="s12"]').click();
  await until(page, 'd.floor.holders.includes("s12")');
  await page.locator('[data-testid="hand-queue"] [data-testid="grant-floor"][data-site-id="s14"]').click();
  await until(page, 'd.lastError?.code === "floor_full"');
  await page.getByTestId('banner-error').waitFor();
  await page.locator('[data-testid="hand-queue"] [data-testid="revoke-floor"][data-site-id="s3"]').click();
  await until(page, '!d.floor.holders.includes("s3")');

  // Remove a site, with confirmation; its tile offers to let it back.
  await page.locator('[data-site-id="s7"] [data-testid="tile-remove"]').click();
  await page.getByTestId('confirm-remove').waitFor();
  await shot(page, '26-chair-confirm-remove');
  await page.getByTestId('confirm-remove').click();
  await page.locator('[data-site-id="s7"] [data-testid="tile-readmit"]').waitFor();
  assert.deepEqual((await sentOf(page, 'remove_site')).at(-1), { type: 'remove_site', site_id: 's7' });

  // Lock, present, then grid page 2 of 3.
  await page.getByTestId('lock-toggle').click();
  await until(page, 'd.locked === true');
  await page.getByTestId('present-button').click();
  await until(page, 'd.presenting === true');
  await hasPicture(page, '[data-testid="own-screen"]');
  await f.call('setFloor', { presenter: 's12' });
  await until(page, 'd.presenting === false');
  await hasPicture(page, '[data-testid="presentation-video"]');
  await page.getByTestId('grid-next').click();
  await until(page, 'd.grid?.page === 1');
  assert.equal(await page.locator('.grid-page').innerText(), 'Trang 2/3');
  await page.waitForTimeout(800);
  await shot(page, '21-chair-grid-page-2');
  await f.call('setFloor', { presenter: null });
  await page.getByTestId('present-button').click();
  await until(page, 'd.presenting === true');
  await page.waitForTimeout(500);
  await shot(page, '28-chair-presenting');
  await page.getByTestId('present-button').click();
  await until(page, 'd.presenting === false');
  await page.getByTestId('grid-page-size').selectOption('16');
  await until(page, 'd.grid?.page_size === 16 && d.grid?.page === 0');
  await page.getByTestId('grid-rotate').check();
  assert.ok(await page.getByTestId('grid-rotate').isChecked());
  await page.getByTestId('grid-rotate').uncheck();

  // Roll call, with the page's own token as bearer; the CSV downloads by name.
  await page.getByTestId('rollcall-open').click();
  await page.locator('[data-testid="rollcall-row"][data-site-id="s1"] td.num').first().filter({ hasText: /\d/ }).waitFor();
  assert.ok(authSeen.includes(`Bearer ${token('chair')}`), 'bearer token sent');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('rollcall-csv').click()]);
  assert.equal(download.suggestedFilename(), 'diem-danh-m-2f1c.csv');
  const saved = readFileSync(/** @type {string} */ (await download.path()));
  assert.deepEqual([...saved.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'the CSV keeps its byte-order mark');
  assert.match(saved.toString('utf8'), /UBND xã Tả Van/);
  await shot(page, '22-chair-rollcall');
  await page.getByTestId('rollcall-open').click();

  await page.getByTestId('end-meeting').click();
  await shot(page, '07-chair-confirm-end');
  await page.getByTestId('confirm-end').click();
  await waitState(page, 'ended');
  await shot(page, '08-ended');
}

/**
 * @param {Page} page
 * @param {string} base
 */
export async function operatorScenes(page, base) {
  await page.goto(`${base}/join?fake=operator#t=${token('operator')}`);
  await waitState(page, 'joined');
  await shot(page, '09-join-operator');
  await page.getByTestId('join-button').click();
  await waitState(page, 'connected');
  const f = fake(page);
  await f.call('handUp', 's8', 12_000);
  await f.call('setFloor', { holders: ['s1'] });
  await f.call('setMarks', 's2', { muted: true, video_stopped: true });
  await f.call('chatFrom', 's3', 'chair', 'Xã Sa Pả không nghe rõ tiếng hội trường.');
  await until(page, 'd.chat.length === 1');
  await operatorDashboard(page);
  await page.getByTestId('rollcall-open').click();
  await page.getByTestId('rollcall-row').first().waitFor();
  await page.waitForTimeout(500);
  await shot(page, '27-operator-rollcall');
  await page.getByTestId('rollcall-open').click();
  await siteFromOperators(page, base);
}

/**
 * The dashboard: a row per expected participant with its alerts, the totals, a site's
 * detail with charts, and the actions sending what the contract says.
 * @param {Page} page
 */
async function operatorDashboard(page) {
  await until(page, 'd.stats !== null && d.stats.sites.length > 0');
  const rows = page.getByTestId('ops-row');
  await page.locator('[data-testid="ops-row"][data-site-id="s1"][data-alert~="silent"]').waitFor();
  assert.equal(await rows.count(), 25, 'the chair and 24 communes, not the operator');
  assert.equal(await page.locator('[data-testid="ops-row"][data-site-id="s3"]').getAttribute('data-alert'), 'loss');
  assert.equal(await page.locator('[data-testid="ops-row"][data-site-id="s6"]').getAttribute('data-alert'), 'rtt');
  assert.equal(await page.locator('[data-testid="ops-row"][data-site-id="s7"]').getAttribute('data-state'), 'waiting');
  // Worst first: the silent floor holder (the order follows within 5 s, so rows do not jump).
  await page.waitForFunction(() => document.querySelector('[data-testid="ops-row"]')?.getAttribute('data-site-id') === 's1', null, { timeout: 8000 });
  const relay = page.locator('[data-testid="ops-row"][data-site-id="s10"] [data-col="transport"]');
  assert.match(await relay.innerText(), /TURN/);
  assert.equal(await page.getByTestId('ops-spark').count(), 25);
  assert.ok((await page.locator('[data-testid="ops-row"][data-site-id="s2"] [data-testid="ops-spark"] path.down').getAttribute('d'))?.includes('L'),
    'the sparkline of a connected site has a line');
  await page.waitForTimeout(600);
  await shot(page, '10-operator-view');

  await page.locator('[data-testid="ops-row"][data-site-id="s3"]').click();
  const detail = page.getByTestId('ops-detail');
  await detail.waitFor();
  assert.equal(await detail.getAttribute('data-site-id'), 's3');
  await page.getByTestId('ops-notice-text').fill('Xã Sa Pả: đường truyền đang mất gói, đề nghị tắt các ứng dụng khác.');
  await page.getByTestId('ops-send-notice').click();
  await page.getByTestId('ops-audio-only').click();
  await page.locator('[data-testid="ops-audio-only"][aria-pressed="true"]').waitFor();
  assert.deepEqual(await sentOf(page, 'notice'), [{ type: 'notice', site_id: 's3', text: 'Xã Sa Pả: đường truyền đang mất gói, đề nghị tắt các ứng dụng khác.' }]);
  assert.deepEqual(await sentOf(page, 'force_audio_only'), [{ type: 'force_audio_only', site_id: 's3', on: true }]);
  await page.waitForTimeout(1200);
  await detail.evaluate((el) => { /** @type {HTMLElement} */ (el.parentElement).scrollTop = 0; });
  await shot(page, '10b-operator-detail');

  await page.getByTestId('ops-sort-down').click();
  await page.waitForTimeout(300);
  assert.equal(await rows.first().getAttribute('data-site-id'), 's3', 'lowest down bitrate first: forced to audio only');
  await page.getByTestId('ops-sort-severity').click();
}

/**
 * A site told something by the operators, and switched to audio only.
 * @param {Page} page
 * @param {string} base
 */
async function siteFromOperators(page, base) {
  await page.goto(`${base}/join?fake=site#t=${token('site')}`);
  await waitState(page, 'joined');
  await page.getByTestId('join-button').click();
  await waitState(page, 'connected');
  const f = fake(page);
  await f.call('push', { type: 'notice', from: 'operator', text: 'Xã Tả Van: hội trường không nghe được tiếng, đề nghị kiểm tra micrô.' });
  await f.call('setMarks', 's1', { audio_only_forced: true });
  await page.getByTestId('operator-notice').waitFor();
  await page.getByTestId('audio-only-forced').waitFor();
  await page.waitForTimeout(600);
  await shot(page, '10c-site-operator-notice');
  await page.getByTestId('operator-notice').getByRole('button').click();
  await page.getByTestId('operator-notice').waitFor({ state: 'detached' });
  await f.call('setMarks', 's1', { audio_only_forced: false });
  await page.getByTestId('audio-only-forced').waitFor({ state: 'hidden' });
}

/**
 * @param {Page} page
 * @param {string} base
 */
export async function messageScenes(page, base) {
  await page.goto(`${base}/join?fake=expired#t=${token('site')}`);
  await waitState(page, 'error');
  await shot(page, '13-failed-expired');
  await page.goto(`${base}/join?fake=locked#t=${token('site')}`);
  await waitState(page, 'error');
  await page.getByRole('button', { name: 'Thử lại' }).waitFor();
  await shot(page, '24-failed-locked');
  await page.goto(`${base}/join?fake=site&banner#t=${token('site')}`);
  await waitState(page, 'joined');
  await page.getByTestId('banner-error').waitFor();
  await page.getByTestId('lang-switch').click();
  await shot(page, '14-join-banner-en');
  await page.getByTestId('lang-switch').click();
}
