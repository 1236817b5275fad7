/** `client_info`: the browser named from its user agent, the route from `getStats()`, sent once per change. */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ClientInfoReporter, browserName, selectedRoute } from '../../js/client-info.js';
import { classifyClientFrame } from '../../js/protocol.js';

const UA = {
  chromeWin7: 'Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36',
  edge: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91',
  firefox: 'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0',
  coccoc: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) coc_coc_browser/117.0.196 Chrome/111.0.5563.196 Safari/537.36',
  headless: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/140.0.0.0 Safari/537.36',
  safari: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15',
  android: 'Mozilla/5.0 (Linux; Android 13; SM-A515F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36',
};

test('the browser is named with its major version and the system', () => {
  assert.equal(browserName(UA.chromeWin7), 'Chrome 109 (Windows 7)');
  assert.equal(browserName(UA.edge), 'Edge 120 (Windows 10/11)');
  assert.equal(browserName(UA.firefox), 'Firefox 115 (Linux)');
  assert.equal(browserName(UA.coccoc), 'Cốc Cốc 117 (Windows 10/11)');
  assert.equal(browserName(UA.headless), 'Chrome headless 140 (Linux)');
  assert.equal(browserName(UA.safari), 'Safari 17 (macOS)');
  assert.equal(browserName(UA.android), 'Chrome 120 (Android)');
  assert.equal(browserName('curl/8.0'), null);
});

/** A Chromium-like report: transport → selected pair → local candidate. */
function chromiumReport(local = {}) {
  return [
    { id: 'T01', type: 'transport', selectedCandidatePairId: 'CP2' },
    { id: 'CP1', type: 'candidate-pair', localCandidateId: 'L1', state: 'failed', nominated: false },
    { id: 'CP2', type: 'candidate-pair', localCandidateId: 'L2', state: 'succeeded', nominated: true },
    { id: 'L1', type: 'local-candidate', candidateType: 'host', protocol: 'tcp' },
    { id: 'L2', type: 'local-candidate', candidateType: 'srflx', protocol: 'udp', ...local },
  ];
}

test('the route is the selected pair\'s local candidate type and protocol', () => {
  assert.deepEqual(selectedRoute(chromiumReport()), { candidate: 'srflx', transport: 'udp' });
});

test('through TURN the protocol is the one to the TURN server, TLS counting as tcp', () => {
  assert.deepEqual(selectedRoute(chromiumReport({ candidateType: 'relay', relayProtocol: 'tcp' })), { candidate: 'relay', transport: 'tcp' });
  assert.deepEqual(selectedRoute(chromiumReport({ candidateType: 'relay', relayProtocol: 'tls' })), { candidate: 'relay', transport: 'tcp' });
});

test('Firefox: no transport entry, the pair is marked selected', () => {
  const report = [
    { id: 'p1', type: 'candidate-pair', localCandidateId: 'a', selected: false, state: 'succeeded', nominated: true },
    { id: 'p2', type: 'candidate-pair', localCandidateId: 'b', selected: true, state: 'succeeded', nominated: true },
    { id: 'a', type: 'local-candidate', candidateType: 'host', protocol: 'udp' },
    { id: 'b', type: 'local-candidate', candidateType: 'relay', protocol: 'udp', relayProtocol: 'udp' },
  ];
  assert.deepEqual(selectedRoute(report), { candidate: 'relay', transport: 'udp' });
});

test('nothing selected yet reads as unknown', () => {
  assert.deepEqual(selectedRoute([{ id: 'T', type: 'transport' }]), { candidate: null, transport: null });
});

test('the reporter sends once, again only when the route changes, and the server accepts it', async () => {
  let report = chromiumReport();
  /** @type {any[]} */
  const sent = [];
  const reporter = new ClientInfoReporter({
    getStats: async () => new Map(report.map((s) => [s.id, s])),
    send: (msg) => { sent.push(msg); return true; },
    userAgent: UA.chromeWin7,
  });
  await reporter.check();
  await reporter.check();
  assert.deepEqual(sent, [{ type: 'client_info', browser: 'Chrome 109 (Windows 7)', candidate: 'srflx', transport: 'udp' }]);
  assert.equal(classifyClientFrame(JSON.stringify(sent[0])), null);
  report = chromiumReport({ candidateType: 'relay', relayProtocol: 'tcp' });
  await reporter.check();
  assert.equal(sent.length, 2);
  assert.equal(sent[1].candidate, 'relay');
  reporter.stop();
  report = chromiumReport();
  await reporter.check();
  assert.equal(sent.length, 2, 'nothing after stop');
});

test('a message the socket could not carry is sent again at the next look', async () => {
  let open = false;
  /** @type {any[]} */
  const sent = [];
  const reporter = new ClientInfoReporter({
    getStats: async () => new Map(chromiumReport().map((s) => [s.id, s])),
    send: (msg) => { if (open) sent.push(msg); return open; },
    userAgent: UA.firefox,
  });
  await reporter.check();
  open = true;
  await reporter.check();
  assert.equal(sent.length, 1);
  reporter.stop();
});
