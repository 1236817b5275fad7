/** Which video a site shows large, and which beside it. */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { programLayout } from '../../js/program.js';

/** @typedef {import('../../js/protocol.js').Slot} Slot */
/** @typedef {import('../../js/protocol.js').FloorMessage} FloorMessage */

/**
 * @param {string} mid
 * @param {string | null} site
 * @param {'camera' | 'screen' | null} [track]
 * @returns {Slot}
 */
const video = (mid, site, track = 'camera') => ({ mid, kind: 'video', site_id: site, name: site, layer: 'high', track });

/**
 * @param {Partial<FloorMessage>} f
 * @returns {FloorMessage}
 */
const floor = (f) => ({ type: 'floor', holders: [], hands: [], spotlight: null, presenter: null, ...f });

/** @param {{main: Slot | null, side: Slot[]}} layout */
const ids = ({ main, side }) => ({ main: main?.mid ?? null, side: side.map((s) => s.mid) });

test('the chair is large and the floor holders beside it', () => {
  const slots = [video('3', 's4'), video('4', 'chair'), video('5', 's2'), video('6', null, null)];
  assert.deepEqual(ids(programLayout(slots, floor({ holders: ['s2', 's4'] }), 'chair')), { main: '4', side: ['5', '3'] });
});

test('a shared screen is large, with the speaking cameras beside it', () => {
  const slots = [video('3', 'chair'), video('4', 's2', 'screen'), video('5', 's2')];
  assert.deepEqual(ids(programLayout(slots, floor({ holders: ['s2'], presenter: 's2' }), 'chair')), { main: '4', side: ['3', '5'] });
});

test('a spotlighted site is large unless a screen is shared', () => {
  const slots = [video('3', 'chair'), video('4', 's7')];
  assert.deepEqual(ids(programLayout(slots, floor({ spotlight: 's7' }), 'chair')), { main: '4', side: ['3'] });
  const withScreen = [...slots, video('5', 'chair', 'screen')];
  assert.deepEqual(ids(programLayout(withScreen, floor({ spotlight: 's7', presenter: 'chair' }), 'chair')), { main: '5', side: ['3', '4'] });
});

test('without the chair the first camera is large; without slots nothing is', () => {
  assert.deepEqual(ids(programLayout([video('3', null, null), video('4', 's2')], null, 'chair')), { main: '4', side: [] });
  assert.deepEqual(ids(programLayout([], null, 'chair')), { main: null, side: [] });
});

test('slots from an older server (no track field) count as cameras', () => {
  /** @type {Slot[]} */
  const slots = [{ mid: '2', kind: 'video', site_id: 'chair', name: 'Hội trường', layer: 'high' }];
  assert.equal(programLayout(slots, null, 'chair').main?.mid, '2');
});
