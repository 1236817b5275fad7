/**
 * The recorder's CPU cost per recorded track (issue 17): a real Chromium chair publishes its
 * fake camera (simulcast, VP8) and microphone (Opus) to a release `diemcau`; the admin API
 * starts recording (the program is the chair: two tracks, its best camera layer and its
 * audio); the CPU time of the `diemcau-record` thread and of the media thread is read from
 * `/proc/<pid>/task/<tid>/stat` at the start and the end of the window, and the bytes the
 * recording wrote from the API's file list.
 *
 * Usage (from the repository root, after `cargo build --release -p signaling` and
 * `npm ci` in web-client/):
 *   unshare -n bash -c 'ip link set lo up && node load-tests/browser/record_cost.mjs [seconds]'
 */

import { readdirSync, readFileSync } from 'node:fs';

import { joinAs, launchBrowser, startServer, waitConnected } from '../../web-client/test/e2e/harness.js';

const seconds = Number(process.argv[2] ?? 60);
const TICK = 100; // USER_HZ: /proc's CPU times are in 1/100 s on Linux

/** CPU seconds (user + system) of every thread of `pid` named `name`. */
function threadCpu(/** @type {number} */ pid, /** @type {string} */ name) {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    if (comm !== name) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    total += (Number(fields[11]) + Number(fields[12])) / TICK; // utime, stime
  }
  return total;
}

const server = await startServer();
const browser = await launchBrowser();
try {
  const { meeting, http, admin_key: key } = server.info;
  const api = (/** @type {string} */ method, /** @type {string} */ path) =>
    fetch(`${http}/api/v1/meetings/${meeting.id}${path}`, { method, headers: { Authorization: `Bearer ${key}` } });
  const chair = (await joinAs(browser.context, meeting.chair.link)).page;
  // One site watches, so the chair's top layer is wanted and sent.
  const site = (await joinAs(browser.context, meeting.sites[0].link)).page;
  await waitConnected(chair);
  await waitConnected(site);
  await chair.getByTestId('open-meeting').click();
  // Chromium's estimate ramps up over ~10 s before it sends the full layer.
  await new Promise((ok) => setTimeout(ok, 15_000));
  const media0 = threadCpu(server.pid, 'diemcau-media');
  const rec0 = threadCpu(server.pid, 'diemcau-record');
  const t0 = Date.now();
  if ((await api('POST', '/recording')).status !== 200) throw new Error('recording did not start');
  await new Promise((ok) => setTimeout(ok, seconds * 1000));
  const rec1 = threadCpu(server.pid, 'diemcau-record');
  const media1 = threadCpu(server.pid, 'diemcau-media');
  const wall = (Date.now() - t0) / 1000;
  await api('DELETE', '/recording');
  await new Promise((ok) => setTimeout(ok, 1000));
  const files = (await (await api('GET', '/recordings')).json()).files;
  const tracks = new Set(files.map((/** @type {{track: string}} */ f) => f.track));
  const bytes = files.reduce((/** @type {number} */ n, /** @type {{bytes: number}} */ f) => n + f.bytes, 0);
  const rec = rec1 - rec0;
  console.log(JSON.stringify({
    seconds: Number(wall.toFixed(1)),
    tracks: [...tracks],
    segments: files.length,
    record_thread_cpu_s: Number(rec.toFixed(2)),
    record_thread_share_of_a_core_pct: Number((100 * rec / wall).toFixed(2)),
    per_track_share_of_a_core_pct: Number((100 * rec / wall / Math.max(1, tracks.size)).toFixed(2)),
    media_thread_share_of_a_core_pct: Number((100 * (media1 - media0) / wall).toFixed(1)),
    written_kbit_per_s: Math.round(bytes * 8 / wall / 1000),
  }, null, 2));
} finally {
  await browser.close();
  await server.stop();
}
