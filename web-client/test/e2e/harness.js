/**
 * End-to-end harness: starts the real `diemcau` binary with a demo meeting and drives real
 * Chromium pages (fake camera and microphone) through the real web client.
 *
 * Run inside a private network namespace that has only loopback (`scripts/e2e.sh` does it),
 * so Chromium and the SFU can only meet on 127.0.0.1.
 *
 * Environment: `DIEMCAU_BIN` (default `$CARGO_TARGET_DIR/release/diemcau`, else the
 * workspace's `target/release/diemcau`),
 * `CHROMIUM` (default `/usr/bin/chromium`).
 */

import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const targetDir = process.env.CARGO_TARGET_DIR ?? resolve(here, '../../../target');
export const DIEMCAU_BIN = process.env.DIEMCAU_BIN ?? join(targetDir, 'release', 'diemcau');

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--autoplay-policy=no-user-gesture-required',
  // Background tabs must keep decoding: every participant is a tab of one browser.
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

/**
 * @typedef {{site_id: string, name: string, role: string, link: string}} Invite
 * @typedef {{id: string, title: string, chair: Invite, operator: Invite, sites: Invite[]}} DemoMeeting
 * @typedef {{http: string, udp: string, ice_tcp: string | null, admin_key: string, meeting: DemoMeeting}} DemoInfo
 * @typedef {{info: DemoInfo, pid: number, udpPort: number, stop: () => Promise<number | null>, log: string[]}} Server
 *   `stop` sends SIGINT (SIGKILL after 5 s) and resolves with the exit code (null if killed)
 */

/**
 * @typedef {object} ServerOptions
 * @property {string} [bind] listen address (default 127.0.0.1)
 * @property {string} [announceIp] media address announced to browsers (sites in other namespaces)
 * @property {string[]} [args] extra command-line flags (e.g. `--tls-cert`, `--turn-urls`)
 * @property {Record<string, string>} [env] extra environment (e.g. `DIEMCAU_TURN_SECRET`)
 * @property {string} [config] TOML text, written to a file and passed with `--config`
 * @property {number} [drainSeconds] drain time at stop (default 1: tests do not wait for sites)
 * @property {string} [dataDir] data directory to use and keep (default: a fresh one, deleted at stop)
 * @property {number} [httpPort] HTTP port (default: any free one)
 * @property {number} [busyPortWaitMs] with `httpPort`: how long to keep starting again while
 *   another socket holds the port (default 10 000; a restart must come back on the same port)
 */

/**
 * Starts `diemcau --demo --json` on ephemeral ports and waits for its links. With
 * `--tls-cert` in `args`, `info.http` and the links are `https://`.
 * @param {ServerOptions} [options]
 * @returns {Promise<Server>}
 */
export async function startServer(options = {}) {
  // A fixed port (a restart) can be held for a moment by another socket, e.g. an outgoing
  // connection given it as its ephemeral port; the server then exits with "address in use".
  // Start again until it is free, within a bound, rather than fail on a race.
  const deadline = Date.now() + (options.httpPort ? (options.busyPortWaitMs ?? 10_000) : 0);
  for (;;) {
    try {
      return await launchServer(options);
    } catch (e) {
      const busy = /** @type {any} */ (e).portBusy === true;
      if (!busy || Date.now() >= deadline) throw e;
      await new Promise((ok) => setTimeout(ok, 200));
    }
  }
}

/**
 * One attempt of `startServer`; an error with `portBusy` set when the HTTP port was taken.
 * @param {ServerOptions} options
 * @returns {Promise<Server>}
 */
async function launchServer(options) {
  const bind = options.bind ?? '127.0.0.1';
  const keepData = options.dataDir !== undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'diemcau-data-'));
  const args = ['--demo', '--json', '--http', `${bind}:${options.httpPort ?? 0}`, '--udp', `${bind}:0`, '--data-dir', dataDir,
    '--drain-seconds', String(options.drainSeconds ?? 1)];
  if (options.announceIp) args.push('--announce-ip', options.announceIp);
  if (options.config !== undefined) {
    const file = join(dataDir, 'diemcau.toml');
    writeFileSync(file, options.config);
    args.push('--config', file);
  }
  args.push(...(options.args ?? []));
  const proc = spawn(DIEMCAU_BIN, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'info,str0m=warn,str0m::format=error', ...options.env },
  });
  /** @type {string[]} */
  const log = [];
  // DIEMCAU_SERVER_LOG=<file> keeps the whole server log (e.g. with RUST_LOG=sfu=debug).
  const logFile = process.env.DIEMCAU_SERVER_LOG;
  proc.stderr.on('data', (d) => {
    log.push(String(d));
    if (log.length > 2000) log.shift();
    if (logFile) appendFileSync(logFile, d);
  });
  const lines = createInterface({ input: /** @type {import('node:stream').Readable} */ (proc.stdout) });
  let started = false;
  const info = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`diemcau printed no links in 20 s:\n${log.join('')}`)), 20_000);
    proc.once('error', (e) => { clearTimeout(timer); fail(new Error(`cannot start ${DIEMCAU_BIN}: ${e.message}`)); });
    // 'close' (not 'exit'): the whole log is in once the process's stdio has closed.
    proc.once('close', (code) => {
      clearTimeout(timer);
      if (started) return;
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
      const text = log.join('');
      const error = new Error(`diemcau exited with ${code}:\n${text}`);
      /** @type {any} */ (error).portBusy = /cannot listen on .*Address (already )?in use/i.test(text);
      fail(error);
    });
    lines.once('line', (line) => { clearTimeout(timer); started = true; ok(JSON.parse(line)); });
  });
  const udpPort = Number(String(info.udp).split(':').pop());
  return {
    info,
    pid: /** @type {number} */ (proc.pid),
    udpPort,
    log,
    stop: async () => {
      if (proc.exitCode !== null) {
        if (!keepData) rmSync(dataDir, { recursive: true, force: true });
        return proc.exitCode;
      }
      /** @type {Promise<number | null>} */
      const exited = new Promise((ok) => proc.once('exit', (code) => ok(code)));
      proc.kill('SIGINT');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(t);
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}

/**
 * Launches headless Chromium with a fresh profile, optionally inside network namespace
 * `netns` (a site on its own shaped link), with extra command-line `args` (e.g.
 * `--ignore-certificate-errors` for a test certificate).
 * @param {{netns?: string, args?: string[]}} [options]
 */
export async function launchBrowser(options = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'diemcau-e2e-'));
  let executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
  if (options.netns) {
    // Playwright talks to Chromium over inherited pipes, which `ip netns exec` keeps.
    const wrapper = join(profile, 'chromium-in-netns.sh');
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${options.netns} ${executablePath} "$@"\n`, { mode: 0o755 });
    executablePath = wrapper;
  }
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
    viewport: { width: 1280, height: 800 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Opens an invite link in a new tab and presses Join. Returns the page and the time the
 * button was pressed (ms, `performance.timeOrigin`-independent wall clock).
 * @param {import('playwright-core').BrowserContext} context
 * @param {string} link
 */
export async function joinAs(context, link) {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`[page error] ${link.slice(-12)}: ${e.message}`));
  await page.goto(link);
  try {
    await page.getByTestId('join-button').waitFor({ state: 'visible', timeout: 30_000 });
    await page.waitForFunction(() => !document.querySelector('[data-testid="join-button"]')?.hasAttribute('disabled'), null, { timeout: 30_000 });
  } catch (e) {
    // Say what the page shows instead, so a failure explains itself.
    const shown = await page.evaluate(() => {
      const d = /** @type {any} */ (window).diemcau;
      return JSON.stringify({ screen: d?.screen, state: d?.state, lastError: d?.lastError, text: document.body.innerText.slice(0, 300) });
    }).catch(() => 'page not readable');
    throw new Error(`join page for ${new URL(link).host} never offered Join: ${shown}\n${e}`);
  }
  const pressedAt = Date.now();
  await page.getByTestId('join-button').click();
  return { page, pressedAt };
}

/**
 * Waits until the page's test hook reports a connected peer connection.
 * @param {import('playwright-core').Page} page
 */
export async function waitConnected(page, timeout = 20_000) {
  await page.waitForFunction(() => /** @type {any} */ (window).diemcau?.state === 'connected', null, { timeout });
}

/**
 * @typedef {{type: string, id: string, kind?: string, mid?: string, rid?: string,
 *   packetsReceived?: number, framesDecoded?: number, framesReceived?: number, packetsSent?: number, bytesReceived?: number,
 *   state?: string, nominated?: boolean, remoteCandidateId?: string, localCandidateId?: string,
 *   port?: number, address?: string, ip?: string, protocol?: string, selectedCandidatePairId?: string,
 *   frameWidth?: number}} Stat
 */

/**
 * The page's `getStats()` report, plus its slot map.
 * @param {import('playwright-core').Page} page
 * @returns {Promise<{stats: Stat[], slots: {mid: string, kind: string, site_id: string|null, track?: string|null}[]}>}
 */
export async function snapshot(page) {
  return page.evaluate(async () => {
    const d = /** @type {any} */ (window).diemcau;
    const report = await d.pc.getStats();
    return { stats: JSON.parse(JSON.stringify([...report.values()])), slots: JSON.parse(JSON.stringify(d.slots)) };
  });
}

/**
 * Polls `check` on fresh snapshots until it returns a truthy value or time runs out.
 * @template T
 * @param {import('playwright-core').Page} page
 * @param {(s: Awaited<ReturnType<typeof snapshot>>) => T} check
 * @param {number} timeout
 * @returns {Promise<T>}
 */
export async function pollStats(page, check, timeout) {
  const until = Date.now() + timeout;
  let last = await snapshot(page);
  for (;;) {
    const r = check(last);
    if (r) return r;
    if (Date.now() > until) return r;
    await new Promise((ok) => setTimeout(ok, 250));
    last = await snapshot(page);
  }
}

/**
 * CPU seconds (user+system) and RSS bytes of a process, from /proc.
 * @param {number} pid
 */
export function processUsage(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpuSeconds: ticks / 100, rssBytes: rssKb * 1024 };
}

/** Inbound RTP entries with their slot's source site. */
export function inboundBySlot(/** @type {Awaited<ReturnType<typeof snapshot>>} */ s) {
  return s.stats
    .filter((x) => x.type === 'inbound-rtp')
    .map((x) => ({ ...x, site: s.slots.find((sl) => sl.mid === x.mid)?.site_id ?? null }));
}

/** The remote candidate of the selected (nominated, succeeded) pair. */
export function selectedRemote(/** @type {Stat[]} */ stats) {
  const transport = stats.find((x) => x.type === 'transport' && x.selectedCandidatePairId);
  const pair = stats.find((x) => x.id === transport?.selectedCandidatePairId)
    ?? stats.find((x) => x.type === 'candidate-pair' && x.nominated && x.state === 'succeeded');
  return stats.find((x) => x.id === pair?.remoteCandidateId);
}
