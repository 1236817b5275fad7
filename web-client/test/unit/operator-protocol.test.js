/** The operators' messages in `protocol.js`: `stats` read leniently where it must, strictly where it can. */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { classifyClientFrame, parseServerMessage } from '../../js/protocol.js';
import { site, stats } from './stats-sample.js';

test('stats with null figures and a layer value this client does not know still parse', () => {
  const msg = stats(1, [site('s1', { rtt_ms: null, audio_level: null, layer: 'ultra', transport: null })]);
  const parsed = parseServerMessage(JSON.stringify(msg));
  assert.equal(parsed.type, 'stats');
});

test('stats with mistyped figures are refused with the field named', () => {
  const bad = (/** @type {object} */ over) => JSON.stringify(stats(1, [{ ...site('s1'), ...over }]));
  assert.throws(() => parseServerMessage(bad({ up_kbps: '5' })), /stats\.sites\[0\]\.up_kbps/);
  assert.throws(() => parseServerMessage(bad({ rtt_ms: -1 })), /stats\.sites\[0\]\.rtt_ms/);
  assert.throws(() => parseServerMessage(bad({ audio_only_forced: 'no' })), /audio_only_forced/);
  assert.throws(() => parseServerMessage('{"type":"stats","at_ms":1,"totals":{"expected":1,"joined":0,"up_kbps":0},"sites":[]}'), /stats\.totals\.down_kbps/);
});

test('site_state may carry audio_only_forced, as a boolean', () => {
  const s = { id: 's1', name: 'x', role: 'site', state: 'joined' };
  assert.equal(parseServerMessage(JSON.stringify({ type: 'site_state', site: s, audio_only_forced: true })).type, 'site_state');
  assert.throws(() => parseServerMessage(JSON.stringify({ type: 'site_state', site: s, audio_only_forced: 1 })), /audio_only_forced/);
});

test('operator actions and client_info follow the server\'s rules', () => {
  assert.equal(classifyClientFrame('{"type":"notice","site_id":"s1","text":"  "}'), 'bad_message');
  assert.equal(classifyClientFrame(JSON.stringify({ type: 'notice', site_id: 's1', text: 'ệ'.repeat(500) })), null, '500 letters fit');
  assert.equal(classifyClientFrame('{"type":"reconnect"}'), 'bad_message');
  assert.equal(classifyClientFrame('{"type":"force_audio_only","site_id":"s1"}'), 'bad_message');
  assert.equal(classifyClientFrame('{"type":"client_info","browser":null,"candidate":null,"transport":null}'), null);
  assert.equal(classifyClientFrame(JSON.stringify({ type: 'client_info', browser: 'x'.repeat(65), candidate: null, transport: null })), 'too_large');
});
