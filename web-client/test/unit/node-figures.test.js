/** The node's figures on the operator page, from the server's `node` message. */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { nodeFigures } from '../../js/node-figures.js';
import { parseServerMessage } from '../../js/protocol.js';

const FIXTURE = new URL('../../../signaling/fixtures/protocol/server/node.json', import.meta.url);

/** @param {Partial<import('../../js/protocol.js').NodeMessage>} over */
const node = (over = {}) => ({
  type: /** @type {const} */ ('node'), at_ms: 1, sites: 10, sites_per_node: 420, refused_capacity: 0, socket_drops: 0, ...over,
});

/** @param {ReturnType<typeof nodeFigures>} figures */
const byKey = (figures) => Object.fromEntries(figures.map((f) => [f.key, f]));

test('the server fixture reads as sites of the limit, refusals and kernel drops', () => {
  const msg = parseServerMessage(readFileSync(FIXTURE, 'utf8'));
  assert.equal(msg.type, 'node');
  if (msg.type !== 'node') return;
  const f = byKey(nodeFigures(msg, null));
  assert.equal(f.sites.text, '401/420');
  assert.equal(f.refused.text, '3');
  assert.equal(f.drops.text, '0');
});

test('nothing is shown before the first node message', () => {
  assert.deepEqual(nodeFigures(null, null), []);
});

test('a full node and a new capacity refusal are marked', () => {
  const f = byKey(nodeFigures(node({ sites: 420, refused_capacity: 2 }), node({ sites: 419, refused_capacity: 1 })));
  assert.equal(f.sites.warn, true);
  assert.equal(f.refused.warn, true);
  const quiet = byKey(nodeFigures(node({ refused_capacity: 2 }), node({ refused_capacity: 2 })));
  assert.equal(quiet.sites.warn, false);
  assert.equal(quiet.refused.warn, false, 'old refusals are shown, not alarmed on');
});

test('kernel drops are marked only while they rise', () => {
  assert.equal(byKey(nodeFigures(node({ socket_drops: 1500 }), node({ socket_drops: 1200 }))).drops.warn, true);
  const still = byKey(nodeFigures(node({ socket_drops: 1500 }), node({ socket_drops: 1500 })));
  assert.equal(still.drops.warn, false);
  assert.equal(still.drops.text, '1500');
});

test('a system that does not tell drops shows a dash, not a false zero', () => {
  const f = byKey(nodeFigures(node({ socket_drops: undefined }), null));
  assert.equal(f.drops.text, '—');
  assert.equal(f.drops.warn, false);
});

test('a node message with a negative count is refused', () => {
  assert.throws(() => parseServerMessage(JSON.stringify(node({ refused_capacity: -1 }))), /refused_capacity/);
});
