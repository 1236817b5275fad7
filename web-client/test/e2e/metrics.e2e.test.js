/**
 * Monitoring end to end: the files under `deploy/monitoring/` checked by the real `promtool`,
 * then a real meeting (chair + 2 sites in headless Chromium, meeting opened so media flows)
 * whose `/metrics` is parsed with a real Prometheus text-format parser and scraped by a real
 * Prometheus started here.
 *
 * Needs the Debian package `prometheus` (`/usr/bin/prometheus`, `/usr/bin/promtool`; override
 * with `PROMETHEUS`, `PROMTOOL`), Debian `chromium` and `target/release/diemcau`. A missing
 * tool fails the test with the install command; nothing is skipped.
 *
 *   cd web-client && unshare -n bash -c 'ip link set lo up && \
 *     node --test --test-concurrency=1 test/e2e/metrics.e2e.test.js'
 */

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
// @ts-expect-error -- the package ships no types; `Family` below describes what it returns.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

import { joinAs, launchBrowser, startServer, waitConnected } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const MONITORING = resolve(here, '../../../deploy/monitoring');
const SCRAPE_CONFIG = join(MONITORING, 'prometheus.yml');
const RULES = join(MONITORING, 'rules/diemcau.yml');
const RULES_TEST = join(MONITORING, 'rules/diemcau_test.yml');
const DASHBOARD = join(MONITORING, 'grafana/diemcau.json');
const PROMETHEUS = process.env.PROMETHEUS ?? '/usr/bin/prometheus';
const PROMTOOL = process.env.PROMTOOL ?? '/usr/bin/promtool';

/**
 * One metric family as the parser returns it (prom2json's shape). Histograms and summaries
 * carry `buckets`/`quantiles`, `count` and `sum` instead of `value`.
 * @typedef {{value?: string, labels?: Record<string, string>, buckets?: Record<string, string>,
 *   count?: string, sum?: string}} Sample
 * @typedef {{name: string, help: string, type: string, metrics: Sample[]}} Family
 * @typedef {{text: string, families: Map<string, Family>}} Scrape
 */

const sleep = (/** @type {number} */ ms) => new Promise((ok) => setTimeout(ok, ms));

/** Fails with the install command when a tool of the `prometheus` package is missing. */
function requireTool(/** @type {string} */ path) {
  try {
    accessSync(path, constants.X_OK);
  } catch {
    assert.fail(`${path} not found: this test needs Debian's prometheus package (apt-get install -y prometheus), `
      + 'or set PROMETHEUS / PROMTOOL to the binaries');
  }
}

/**
 * Runs a command; resolves with its exit code and output (never rejects on a non-zero exit).
 * @param {string} cmd @param {string[]} args @param {string} [input]
 * @returns {Promise<{code: number, out: string}>}
 */
function run(cmd, args, input) {
  return new Promise((ok) => {
    const child = execFile(cmd, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      ok({ code, out: `${stdout}${stderr}${err && typeof err.code !== 'number' ? err.message : ''}` });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Every `diemcau_*` / `process_*` metric name in a PromQL text (or a whole rules file). */
function metricNames(/** @type {string} */ text) {
  return new Set(text.match(/\b(?:diemcau|process)_[a-z_]+/g) ?? []);
}

/**
 * The `expr` of every rule in a rules file: plain scalars and `|`/`>` block scalars, the only
 * forms it uses (Node has no YAML parser; promtool has already checked the file).
 */
function ruleExprs(/** @type {string} */ path) {
  const lines = readFileSync(path, 'utf8').split('\n');
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)(?:- )?expr:\s*(.*)$/.exec(lines[i]);
    if (!m) continue;
    if (!/^[|>][+-]?$/.test(m[2])) {
      out.push(m[2]);
      continue;
    }
    const block = [];
    while (i + 1 < lines.length && (lines[i + 1].trim() === '' || lines[i + 1].length - lines[i + 1].trimStart().length > m[1].length)) {
      block.push(lines[++i]);
    }
    out.push(block.join('\n'));
  }
  return out;
}

/**
 * Every PromQL expression of the dashboard: panel targets and query-variable definitions.
 * @returns {{panels: {title: string, expr: string}[], variables: string[]}}
 */
function dashboardQueries() {
  const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
  /** @type {{title: string, expr: string}[]} */
  const panels = [];
  const walk = (/** @type {any[]} */ list) => {
    for (const p of list ?? []) {
      for (const t of p.targets ?? []) if (t.expr) panels.push({ title: p.title, expr: t.expr });
      walk(p.panels);
    }
  };
  walk(dash.panels);
  const variables = (dash.templating?.list ?? [])
    .filter((/** @type {any} */ v) => v.type === 'query')
    .map((/** @type {any} */ v) => (typeof v.query === 'string' ? v.query : v.query?.query ?? v.definition));
  return { panels, variables };
}

describe('monitoring files', () => {
  test('promtool accepts the scrape config and the alert rules, and the rules pass their unit tests', async () => {
    requireTool(PROMTOOL);
    for (const args of [['check', 'config', SCRAPE_CONFIG], ['check', 'rules', RULES], ['test', 'rules', RULES_TEST]]) {
      const { code, out } = await run(PROMTOOL, args);
      assert.equal(code, 0, `promtool ${args.join(' ')} failed:\n${out}`);
    }
  });

  test('the Grafana dashboard is importable: a Prometheus datasource variable, the three rows, meeting and site variables', () => {
    const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
    const vars = new Map(dash.templating.list.map((/** @type {any} */ v) => [v.name, v]));
    assert.equal(vars.get('datasource')?.type, 'datasource');
    assert.equal(vars.get('datasource')?.query, 'prometheus');
    for (const name of ['meeting', 'site']) assert.equal(vars.get(name)?.type, 'query', `variable ${name}`);
    const rows = dash.panels.filter((/** @type {any} */ p) => p.type === 'row').map((/** @type {any} */ p) => p.title);
    assert.deepEqual(rows, ['Node overview', 'Meeting $meeting', 'Site $site']);
    assert.equal(dash.id, null, 'an exported dashboard has no database id');
    const ids = new Set();
    for (const p of dash.panels) {
      assert.ok(!ids.has(p.id), `panel id ${p.id} is unique`);
      ids.add(p.id);
      if (p.type === 'row') continue;
      assert.equal(p.datasource?.uid, '${datasource}', `panel "${p.title}" uses the datasource variable`);
      for (const t of p.targets) assert.equal(t.datasource?.uid, '${datasource}', `a target of "${p.title}" uses the datasource variable`);
    }
  });
});

describe('a live meeting', () => {
  /** @type {Awaited<ReturnType<typeof startServer>>} */
  let server;
  /** @type {Awaited<ReturnType<typeof launchBrowser>>} */
  let browser;
  /** @type {import('playwright-core').Page} */
  let chair;
  /** @type {import('playwright-core').Page[]} */
  const sitePages = [];
  /** Site ids of the participants, the chair first. */
  /** @type {string[]} */
  let ids = [];
  /** @type {{url: string, stop: () => Promise<void>, log: string[]} | undefined} */
  let prometheus;

  before(async () => {
    requireTool(PROMETHEUS);
    server = await startServer();
    browser = await launchBrowser();
    const meeting = server.info.meeting;
    chair = (await joinAs(browser.context, meeting.chair.link)).page;
    for (const invite of meeting.sites.slice(0, 2)) sitePages.push((await joinAs(browser.context, invite.link)).page);
    ids = [meeting.chair.site_id, ...meeting.sites.slice(0, 2).map((s) => s.site_id)];
    for (const page of [chair, ...sitePages]) await waitConnected(page);
    await chair.getByTestId('open-meeting').click();
    for (const page of sitePages) {
      await page.waitForFunction(() => /** @type {any} */ (window).diemcau.phase === 'open', null, { timeout: 20_000 });
    }
  });

  after(async () => {
    await prometheus?.stop();
    await browser?.close();
    await server?.stop();
  });

  /** @returns {Promise<Scrape>} */
  async function scrape() {
    const res = await fetch(`${server.info.http}/metrics`);
    assert.equal(res.status, 200, 'GET /metrics answers 200');
    const text = await res.text();
    /** @type {Family[]} */
    const parsed = parsePrometheusTextFormat(text);
    return { text, families: new Map(parsed.map((f) => [f.name, f])) };
  }

  /**
   * The samples of family `name` of this meeting whose labels include `labels`.
   * @param {Scrape} s @param {string} name @param {Record<string, string>} labels
   */
  function samples(s, name, labels) {
    return nodeSamples(s, name, { meeting: server.info.meeting.id, ...labels });
  }

  /** The one value of a series, or undefined when it is absent. */
  function value(/** @type {Scrape} */ s, /** @type {string} */ name, /** @type {Record<string, string>} */ labels) {
    const found = samples(s, name, labels);
    assert.ok(found.length <= 1, `one ${name} series for ${JSON.stringify(labels)}, got ${found.length}`);
    return found.length ? Number(found[0].value) : undefined;
  }

  const PER_SITE = ['diemcau_site_packets_total', 'diemcau_site_bytes_total', 'diemcau_site_bitrate_bps'];

  /** What is missing from a scrape for per-site series of `site` (empty when all are there and flowing). */
  function missingFor(/** @type {Scrape} */ s, /** @type {string} */ site) {
    const out = [];
    for (const name of PER_SITE) {
      for (const direction of ['up', 'down']) {
        const v = value(s, name, { site, direction });
        if (v === undefined) out.push(`${name}{site="${site}",direction="${direction}"} absent`);
        else if (!(v > 0)) out.push(`${name}{site="${site}",direction="${direction}"} = ${v}`);
      }
    }
    return out;
  }

  /** Names of the `diemcau_site_*` families present, for failure messages. */
  const siteFamilies = (/** @type {Scrape} */ s) => [...s.families.keys()].filter((n) => n.startsWith('diemcau_site_')).join(', ') || 'none';

  test('every connected site has up and down series whose counters grow between two scrapes', { timeout: 60_000 }, async () => {
    // Bitrates need a moment of media: wait until every participant's series are non-zero.
    const until = Date.now() + 30_000;
    let first = await scrape();
    let missing = ids.flatMap((id) => missingFor(first, id));
    while (missing.length && Date.now() < until) {
      await sleep(500);
      first = await scrape();
      missing = ids.flatMap((id) => missingFor(first, id));
    }
    assert.deepEqual(missing, [], `per-site series within 30 s (diemcau_site_* families present: ${siteFamilies(first)})`);

    await sleep(3000);
    const second = await scrape();
    for (const id of ids) {
      for (const name of ['diemcau_site_packets_total', 'diemcau_site_bytes_total']) {
        for (const direction of ['up', 'down']) {
          const [a, b] = [value(first, name, { site: id, direction }), value(second, name, { site: id, direction })];
          assert.ok(a !== undefined && b !== undefined && b > a, `${name}{site="${id}",direction="${direction}"} grew: ${a} → ${b}`);
        }
      }
      const role = id === server.info.meeting.chair.site_id ? 'chair' : 'site';
      const info = samples(second, 'diemcau_site_info', { site: id });
      assert.equal(info.length, 1, `diemcau_site_info for ${id}`);
      assert.equal(info[0].labels?.role, role, `${id} has role ${role}`);
      assert.equal(Number(info[0].value), 1);
      for (const m of samples(second, 'diemcau_site_bitrate_bps', { site: id })) assert.equal(m.labels?.role, role, `bitrate of ${id} labelled role=${role}`);
    }
  });

  test('a real Prometheus scraping every second returns one bitrate series per site and direction', { timeout: 60_000 }, async () => {
    prometheus = await startPrometheus(new URL(server.info.http).host);
    const expected = ids.flatMap((id) => [`${id}/down`, `${id}/up`]).sort();
    /** @type {any[]} */
    let result = [];
    const until = Date.now() + 20_000;
    for (;;) {
      result = await promQuery(prometheus.url, 'diemcau_site_bitrate_bps');
      const got = result.map((r) => `${r.metric.site}/${r.metric.direction}`).sort();
      if (JSON.stringify(got) === JSON.stringify(expected) || Date.now() > until) break;
      await sleep(500);
    }
    assert.deepEqual(result.map((r) => `${r.metric.site}/${r.metric.direction}`).sort(), expected,
      `diemcau_site_bitrate_bps in Prometheus: one series per site and direction\n${prometheus.log.join('').slice(-2000)}`);
    for (const r of result) {
      assert.equal(r.metric.meeting, server.info.meeting.id);
      assert.equal(r.metric.job, 'diemcau');
      assert.ok(Number(r.value[1]) > 0, `bitrate of ${r.metric.site} ${r.metric.direction} is positive: ${r.value[1]}`);
    }
  });

  test('the alert rules evaluate without errors on the live meeting, and the chair-audio alert stays quiet', { timeout: 60_000 }, async () => {
    assert.ok(prometheus, 'Prometheus was started by the previous test');
    // Every rule evaluated at least once, with health ok.
    /** @type {any[]} */
    let rules = [];
    const until = Date.now() + 20_000;
    for (;;) {
      const body = await promGet(prometheus.url, '/api/v1/rules');
      rules = body.data.groups.flatMap((/** @type {any} */ g) => g.rules);
      if ((rules.length && rules.every((r) => r.health === 'ok')) || Date.now() > until) break;
      await sleep(500);
    }
    assert.ok(rules.length >= 3, `rules loaded: ${rules.map((r) => r.name)}`);
    for (const r of rules) assert.equal(r.health, 'ok', `rule ${r.name}: ${r.lastError ?? ''}`);

    // Once the chair's audio rate is measurable, the meeting (sites connected, chair heard)
    // must not match the no-chair-audio expression, while its "sites connected" half does.
    assert.ok(await eventuallyQuery(prometheus.url, 'rate(diemcau_site_audio_packets_total{role="chair"}[1m]) > 0', 20_000),
      'Prometheus measures the chair\'s audio packet rate');
    const noChairAudio = rules.find((r) => r.name === 'DiemcauMeetingNoChairAudio');
    assert.ok(noChairAudio, 'rule DiemcauMeetingNoChairAudio');
    assert.deepEqual(await promQuery(prometheus.url, noChairAudio.query), [], 'chair heard: no-chair-audio expression is empty');
    const withSites = await promQuery(prometheus.url, 'count by (instance, meeting) (diemcau_site_info{role="site"}) > 0');
    assert.deepEqual(withSites.map((r) => r.metric.meeting), [server.info.meeting.id], 'the meeting counts as having connected sites');
  });

  test('every metric the dashboard and the alert rules use is in /metrics', { timeout: 60_000 }, async () => {
    // A refused message makes diemcau_signaling_errors_total{code} exist, as in any real day.
    const reply = await chair.evaluate(() => new Promise((ok, fail) => {
      const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
      const t = setTimeout(() => fail(new Error('no reply to a non-JSON frame')), 5000);
      ws.onopen = () => ws.send('this is not json');
      ws.onmessage = (e) => { clearTimeout(t); ws.close(); ok(String(e.data)); };
    }));
    assert.equal(JSON.parse(reply).code, 'bad_json');

    const s = await scrape();
    const lint = await run(PROMTOOL, ['check', 'metrics'], s.text);
    assert.ok(!/error while linting|parsing error/.test(lint.out), `promtool parses /metrics:\n${lint.out}`);
    if (lint.code !== 0) console.log(`promtool check metrics (lint, not failing the test):\n${lint.out}`);
    const badJson = nodeSamples(s, 'diemcau_signaling_errors_total', { code: 'bad_json' });
    assert.ok(badJson.length === 1 && Number(badJson[0].value) >= 1,
      `diemcau_signaling_errors_total{code="bad_json"} counts the refused frame: ${JSON.stringify(badJson)}`);

    const { panels, variables } = dashboardQueries();
    /** @type {Map<string, string>} name → where it is used */
    const used = new Map();
    for (const p of panels) for (const n of metricNames(p.expr)) used.set(n, `dashboard panel "${p.title}"`);
    for (const v of variables) for (const n of metricNames(v)) used.set(n, 'dashboard variable');
    const exprs = ruleExprs(RULES);
    assert.ok(exprs.length >= 3, `alert expressions found in rules/diemcau.yml: ${exprs.length}`);
    for (const e of exprs) for (const n of metricNames(e)) used.set(n, 'rules/diemcau.yml');
    assert.ok(used.size >= 20, `names found in the dashboard and rules: ${used.size}`);

    const missing = [];
    for (const [name, where] of used) {
      if (s.families.has(name)) continue;
      const base = name.replace(/_(bucket|sum|count)$/, '');
      const fam = s.families.get(base);
      if (base !== name && fam && (fam.type === 'HISTOGRAM' || fam.type === 'SUMMARY')) continue;
      missing.push(`${name} (${where})`);
    }
    assert.deepEqual(missing, [], `metric names used but not in /metrics; /metrics has: ${[...s.families.keys()].join(', ')}`);
  });

  test('every dashboard query, with its variables filled in, runs in Prometheus', { timeout: 60_000 }, async () => {
    const { panels } = dashboardQueries();
    // Every panel query, with Grafana's variables filled in, is valid PromQL for Prometheus.
    assert.ok(prometheus, 'Prometheus was started by an earlier test');
    for (const p of panels) {
      const expr = p.expr
        .replaceAll('$__rate_interval', '5s')
        .replaceAll('"$instance"', '".+"')
        .replaceAll('$meeting', server.info.meeting.id)
        .replaceAll('$site', ids[1]);
      const body = await promGet(prometheus.url, `/api/v1/query?query=${encodeURIComponent(expr)}`, false);
      assert.equal(body.status, 'success', `panel "${p.title}": ${expr}\n${body.error ?? ''}`);
    }
  });

  test('a site that leaves loses its series within 10 s while the others keep theirs', { timeout: 60_000 }, async () => {
    const [leaving, staying] = [ids[2], ids.slice(0, 2)];
    await sitePages[1].getByTestId('leave-button').click();
    const leftAt = Date.now();
    /** @type {Scrape} */
    let s;
    /** @type {string[]} */
    let left;
    for (;;) {
      s = await scrape();
      left = [...s.families.values()].flatMap((f) => f.metrics
        .filter((m) => m.labels?.site === leaving)
        .map((m) => `${f.name}${JSON.stringify(m.labels)}`));
      if (!left.length || Date.now() - leftAt > 10_000) break;
      await sleep(250);
    }
    assert.deepEqual(left, [], `series of ${leaving} gone within 10 s of leaving`);
    for (const id of staying) assert.deepEqual(missingFor(s, id), [], `${id} keeps its series`);

    // Prometheus marks the vanished series stale at its next scrape.
    assert.ok(prometheus, 'Prometheus was started by an earlier test');
    const gone = await eventuallyQuery(prometheus.url, `diemcau_site_bitrate_bps{site="${leaving}"}`, 10_000, true);
    assert.ok(gone, `Prometheus no longer returns ${leaving}'s bitrate`);
    const rest = await promQuery(prometheus.url, 'diemcau_site_bitrate_bps');
    assert.deepEqual(rest.map((r) => r.metric.site).sort(), [...staying, ...staying].sort(), 'the other sites remain in Prometheus');
  });
});

/**
 * The samples of family `name` whose labels include `labels`.
 * @param {Scrape} s @param {string} name @param {Record<string, string>} labels
 */
function nodeSamples(s, name, labels) {
  return (s.families.get(name)?.metrics ?? [])
    .filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
}

/** A free TCP port on 127.0.0.1. */
async function freePort() {
  const srv = createServer();
  await new Promise((ok) => srv.listen(0, '127.0.0.1', () => ok(undefined)));
  const port = /** @type {import('node:net').AddressInfo} */ (srv.address()).port;
  await new Promise((ok) => srv.close(() => ok(undefined)));
  return port;
}

/**
 * Starts `/usr/bin/prometheus` on a free loopback port with a temporary TSDB, scraping
 * `target` (host:port) every second and evaluating the project's alert rules. Prometheus
 * cannot listen on port 0, so the port is found free first and may be taken by another
 * socket before Prometheus binds it: that start is retried on a new port (up to 5 times).
 * @param {string} target
 */
async function startPrometheus(target) {
  for (let attempt = 1; ; attempt++) {
    const started = await startPrometheusOnce(target, await freePort());
    if (started.ok) return started.prometheus;
    if (!started.portTaken || attempt === 5) assert.fail(started.error);
  }
}

/**
 * One start of Prometheus on `port`: ready, or why not (and whether the port was taken).
 * @param {string} target
 * @param {number} port
 * @returns {Promise<{ok: true, prometheus: {url: string, stop: () => Promise<void>, log: string[]}} | {ok: false, portTaken: boolean, error: string}>}
 */
async function startPrometheusOnce(target, port) {
  const dir = mkdtempSync(join(tmpdir(), 'diemcau-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    '  evaluation_interval: 1s',
    'rule_files:',
    `  - ${JSON.stringify(RULES)}`,
    'scrape_configs:',
    '  - job_name: diemcau',
    '    metrics_path: /metrics',
    '    static_configs:',
    `      - targets: [${JSON.stringify(target)}]`,
    '',
  ].join('\n'));
  const proc = spawn(PROMETHEUS, [
    `--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  /** @type {string[]} */
  const log = [];
  const keep = (/** @type {Buffer} */ d) => { log.push(String(d)); if (log.length > 500) log.shift(); };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((ok) => proc.once('exit', ok));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const until = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) {
      await stop();
      const text = log.join('');
      return { ok: false, portTaken: /address already in use/i.test(text), error: `prometheus exited with ${proc.exitCode}:\n${text}` };
    }
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > until) {
      await stop();
      return { ok: false, portTaken: false, error: `prometheus not ready in 30 s:\n${log.join('')}` };
    }
    await sleep(250);
  }
  return { ok: true, prometheus: { url, stop, log } };
}

/**
 * GET on Prometheus' HTTP API; the JSON body. With `strict`, a non-success status fails.
 * @param {string} base @param {string} path
 * @returns {Promise<any>}
 */
async function promGet(base, path, strict = true) {
  const res = await fetch(`${base}${path}`);
  const body = await res.json();
  if (strict) assert.equal(body.status, 'success', `${path}: ${body.error ?? res.status}`);
  return body;
}

/** An instant query's result vector. */
async function promQuery(/** @type {string} */ base, /** @type {string} */ query) {
  /** @type {any[]} */
  const result = (await promGet(base, `/api/v1/query?query=${encodeURIComponent(query)}`)).data.result;
  return result;
}

/**
 * Polls an instant query until it returns something (or, with `empty`, nothing).
 * @returns {Promise<boolean>} whether that happened within `timeout` ms
 */
async function eventuallyQuery(/** @type {string} */ base, /** @type {string} */ query, /** @type {number} */ timeout, empty = false) {
  const until = Date.now() + timeout;
  for (;;) {
    const n = (await promQuery(base, query)).length;
    if (empty ? n === 0 : n > 0) return true;
    if (Date.now() > until) return false;
    await sleep(500);
  }
}
