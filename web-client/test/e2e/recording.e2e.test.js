/**
 * Recording in real Chromium: the chair presses "Ghi hình", a site's page and a join page
 * not yet entered show "Đang ghi hình" (the law requires telling participants), the chair
 * stops, and the chair's camera and microphone files exist, list through the API, and
 * Debian's ffprobe and ffmpeg read and decode them (VP8, Opus) without an error.
 */

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { joinAs, launchBrowser, startServer, waitConnected } from './harness.js';

/** @type {Awaited<ReturnType<typeof startServer>>} */
let server;
/** @type {Awaited<ReturnType<typeof launchBrowser>>} */
let browser;
const dataDir = mkdtempSync(join(tmpdir(), 'diemcau-rec-e2e-'));

const sleep = (/** @type {number} */ ms) => new Promise((ok) => setTimeout(ok, ms));

before(async () => {
  server = await startServer({ dataDir });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/**
 * @param {string} path under `/api/v1`
 * @returns {Promise<Response>}
 */
function api(path) {
  return fetch(`${server.info.http}/api/v1${path}`, { headers: { Authorization: `Bearer ${server.info.admin_key}` } });
}

/**
 * ffprobe's codec name and duration (s) of a one-track file.
 * @param {string} file
 */
function probe(file) {
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name:format=duration', '-of', 'default=nw=1:nk=1', file]).toString();
  const [codec, duration] = out.trim().split('\n');
  return { codec, duration: Number(duration) };
}

test('the chair records, every page says so, and the files decode', async () => {
  const meeting = server.info.meeting;
  const chair = (await joinAs(browser.context, meeting.chair.link)).page;
  const site = (await joinAs(browser.context, meeting.sites[0].link)).page;
  await waitConnected(chair);
  await waitConnected(site);
  await chair.getByTestId('open-meeting').click();
  await site.getByTestId('recording-badge').waitFor({ state: 'hidden' });

  await chair.getByTestId('record-toggle').click();
  const startedAt = Date.now();
  for (const page of [chair, site]) {
    const badge = page.getByTestId('recording-badge');
    await badge.waitFor({ state: 'visible', timeout: 10_000 });
    assert.match(await badge.innerText(), /Đang ghi hình/);
  }
  // A site that opens its link now is told before it presses Join.
  const late = await browser.context.newPage();
  await late.goto(meeting.sites[1].link);
  await late.getByTestId('join-recording-notice').waitFor({ state: 'visible', timeout: 20_000 });
  assert.match(await late.getByTestId('recording-badge').innerText(), /Đang ghi hình/);
  await late.close();

  await sleep(Math.max(0, startedAt + 8000 - Date.now()));
  await chair.getByTestId('record-toggle').click();
  const seconds = (Date.now() - startedAt) / 1000;
  await site.getByTestId('recording-badge').waitFor({ state: 'hidden', timeout: 10_000 });

  // The files: listed by the API, downloaded, read by ffprobe, decoded by ffmpeg.
  /** @type {{file: string, track: string, bytes: number}[]} */
  let files = [];
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    const res = await api(`/meetings/${meeting.id}/recordings`);
    assert.equal(res.status, 200);
    files = (await res.json()).files;
    if (files.some((f) => f.track === 'chair-audio') && files.some((f) => f.track === 'chair-camera')) break;
    await sleep(250);
  }
  const work = mkdtempSync(join(tmpdir(), 'diemcau-rec-dl-'));
  try {
    for (const [track, codec] of [['chair-camera', 'vp8'], ['chair-audio', 'opus']]) {
      const mine = files.filter((f) => f.track === track);
      assert.ok(mine.length >= 1, `${track} was recorded: ${JSON.stringify(files)}`);
      let total = 0;
      for (const f of mine) {
        const res = await api(`/meetings/${meeting.id}/recordings/${f.file}`);
        assert.equal(res.status, 200);
        const path = join(work, f.file);
        writeFileSync(path, Buffer.from(await res.arrayBuffer()));
        const got = probe(path);
        assert.equal(got.codec, codec, `${f.file} is ${codec}`);
        total += got.duration;
        const decoded = spawnSync('ffmpeg', ['-v', 'error', '-nostdin', '-i', path, '-f', 'null', '-']);
        assert.equal(decoded.status, 0, `ffmpeg read ${f.file}`);
        // Known and left open (see the branch's report): at a Chromium VP8 segment's start
        // two blocks sometimes carry one timestamp, which ffmpeg's muxer (not its decoder)
        // reports; every decoder error still fails here.
        const errors = decoded.stderr.toString().split('\n')
          .filter((l) => l !== '' && !/non monotonically increasing dts to muxer/.test(l));
        assert.deepEqual(errors, [], `${f.file} decodes without an error`);
      }
      // Audio is one segment as long as the recording; video may start a new segment when
      // Chromium's layers change size, and waits for a keyframe at each start.
      if (codec === 'opus') assert.ok(Math.abs(total - seconds) <= 1, `${track}: ${total} s of ${seconds} s`);
      else assert.ok(total > seconds - 3 && total <= seconds + 1, `${track}: ${total} s of ${seconds} s`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('the minutes (biên bản) open in Chromium with the chair token, in Vietnamese, listing the recording', async () => {
  const meeting = server.info.meeting;
  const token = new URL(meeting.chair.link).hash.replace(/^#t=/, '');
  const page = await browser.context.newPage();
  await page.setExtraHTTPHeaders({ Authorization: `Bearer ${decodeURIComponent(token)}` });
  const res = await page.goto(`${server.info.http}/api/v1/meetings/${meeting.id}/minutes.html`);
  assert.equal(res?.status(), 200);
  const text = await page.locator('body').innerText();
  for (const heading of ['BIÊN BẢN CUỘC HỌP TRỰC TUYẾN', 'I. Thành phần tham dự', 'II. Diễn biến phát biểu',
    'III. Quyết định điều hành', 'IV. Trao đổi bằng văn bản', 'V. Tệp ghi hình']) {
    assert.ok(text.includes(heading), `the page shows "${heading}"`);
  }
  // The chair's recording of the test above is listed, and the chair is among those present.
  assert.match(await page.locator('#recordings').innerText(), /chair-audio-\d+\.webm/);
  assert.ok(text.includes(meeting.chair.name), 'the chair is named');
  // DIEMCAU_MINUTES_PNG=<file> keeps a screenshot (docs/minutes.png is one).
  if (process.env.DIEMCAU_MINUTES_PNG) await page.screenshot({ path: process.env.DIEMCAU_MINUTES_PNG, fullPage: true });
  await page.close();
});
