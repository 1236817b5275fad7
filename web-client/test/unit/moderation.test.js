/** The chair's and co-chair's per-site actions and the marks on a tile. */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { classifyClientFrame } from '../../js/protocol.js';
import { siteActions, primaryAction, siteMarks } from '../../js/moderation.js';

/** @type {import('../../js/roster.js').RosterEntry} */
const SITE = { id: 's2', name: 'UBND xã Bản Hồ', role: 'site', state: 'joined', muted: false, video_stopped: false, cochair: false };
/** @type {import('../../js/protocol.js').FloorMessage} */
const FLOOR = { type: 'floor', holders: ['s4'], hands: [{ site_id: 's2', since_ms: 1 }], spotlight: 's2', presenter: null };
/** @type {import('../../js/moderation.js').SiteContext} */
const CHAIR = { floor: FLOOR, moderator: 'chair', removed: false, listening: true };

test('the quick action grants the floor, revokes it from a holder, readmits a removed site', () => {
  assert.deepEqual(primaryAction(SITE, CHAIR)?.message, { type: 'grant_floor', site_id: 's2' });
  assert.equal(primaryAction(SITE, CHAIR)?.testid, 'grant-floor');
  const holder = { ...SITE, id: 's4' };
  assert.deepEqual(primaryAction(holder, CHAIR)?.message, { type: 'revoke_floor', site_id: 's4' });
  assert.equal(primaryAction({ ...SITE, state: 'waiting' }, CHAIR), null, 'no floor for a site that is not here');
  assert.deepEqual(primaryAction(SITE, { ...CHAIR, removed: true })?.message, { type: 'readmit_site', site_id: 's2' });
  assert.equal(primaryAction({ ...SITE, role: 'chair' }, CHAIR), null);
});

test('the chair’s tile has every action, each a valid message with an icon', () => {
  const actions = siteActions(SITE, CHAIR);
  assert.deepEqual(actions.map((a) => a.testid), [
    'lower-hand', 'tile-mute', 'tile-stop-video', 'tile-spotlight', 'tile-listen', 'tile-cochair', 'tile-reissue-link', 'tile-remove',
  ]);
  for (const a of actions) {
    assert.equal(classifyClientFrame(JSON.stringify(a.message)), null, a.id);
    assert.ok(a.icon, `${a.id} has an icon`);
  }
  assert.deepEqual(actions.filter((a) => a.pressed).map((a) => a.id), ['spotlight'], 'only the spotlight is on');
  assert.deepEqual(actions.find((a) => a.id === 'spotlight')?.message, { type: 'spotlight', site_id: null }, 'spotlit: the action clears it');
  assert.deepEqual(actions.find((a) => a.id === 'listen')?.message, { type: 'listen', site_id: 's2', on: false });
  assert.ok(actions.find((a) => a.id === 'remove')?.confirm, 'removing asks first');
});

test('a muted, stopped co-chair site offers the way back', () => {
  const site = { ...SITE, muted: true, video_stopped: true, cochair: true };
  const byId = Object.fromEntries(siteActions(site, { ...CHAIR, listening: false }).map((a) => [a.id, a]));
  assert.deepEqual(byId.unmute.message, { type: 'mute', site_id: 's2', muted: false });
  assert.deepEqual(byId.allowVideo.message, { type: 'stop_video', site_id: 's2', stopped: false });
  assert.deepEqual(byId.cochair.message, { type: 'cochair', site_id: 's2', on: false });
  assert.deepEqual(byId.listen.message, { type: 'listen', site_id: 's2', on: true });
});

test('a co-chair may not change listening or co-chairs; a removed site has only readmit', () => {
  const ids = siteActions(SITE, { ...CHAIR, moderator: 'cochair' }).map((a) => a.id);
  assert.ok(!ids.includes('listen') && !ids.includes('cochair'));
  assert.ok(ids.includes('mute') && ids.includes('remove'));
  assert.deepEqual(siteActions(SITE, { ...CHAIR, removed: true }), []);
  assert.deepEqual(siteActions({ ...SITE, role: 'operator' }, CHAIR), []);
});

test('marks show the floor, the hand, what the chair did, and removal alone', () => {
  const keys = (/** @type {any} */ site, /** @type {any} */ ctx) => siteMarks(site, ctx).map((m) => m.key);
  assert.deepEqual(keys(SITE, CHAIR), ['mark.hand', 'mark.spotlight']);
  assert.deepEqual(keys({ ...SITE, id: 's4', muted: true, video_stopped: true, cochair: true }, { ...CHAIR, listening: false }),
    ['mark.floor', 'mark.muted', 'mark.videoStopped', 'mark.notListening', 'mark.cochair']);
  assert.deepEqual(keys({ ...SITE, muted: true }, { ...CHAIR, removed: true }), ['mark.removed']);
});

test('a site on a weak link is marked for the chair, only while it is in', () => {
  const keys = (/** @type {any} */ site) => siteMarks(site, { ...CHAIR, floor: null }).map((m) => m.key);
  assert.deepEqual(keys({ ...SITE, reception: 'full' }), []);
  assert.deepEqual(keys({ ...SITE, reception: 'reduced' }), ['mark.reduced']);
  assert.deepEqual(keys({ ...SITE, reception: 'audio_only' }), ['mark.audioOnly']);
  assert.deepEqual(keys({ ...SITE, state: 'left', reception: 'audio_only' }), []);
});

test('a site held to a lower picture by design gets a calm mark, never the weak-link one', () => {
  const marks = (/** @type {any} */ site) => siteMarks(site, { ...CHAIR, floor: null });
  const held = marks({ ...SITE, reception: 'full', reduced_by_design: true });
  assert.deepEqual(held.map((m) => m.key), ['mark.byDesign']);
  assert.equal(held[0].tone, 'info');
  assert.deepEqual(marks({ ...SITE, state: 'left', reduced_by_design: true }), []);
});

test('only the chair may reissue a site’s link, and only after confirming', () => {
  const reissue = siteActions(SITE, CHAIR).find((a) => a.id === 'reissueLink');
  assert.deepEqual(reissue?.message, { type: 'reissue_link', site_id: 's2' });
  assert.equal(reissue?.confirm, 'reissue', 'asks first, with its own question');
  assert.equal(siteActions(SITE, CHAIR).find((a) => a.id === 'remove')?.confirm, 'remove');
  assert.ok(!siteActions(SITE, { ...CHAIR, moderator: 'cochair' }).some((a) => a.id === 'reissueLink'), 'not a co-chair');
  for (const role of /** @type {const} */ (['chair', 'operator'])) {
    assert.deepEqual(siteActions({ ...SITE, role }, CHAIR), [], `nothing for the ${role}`);
  }
});
