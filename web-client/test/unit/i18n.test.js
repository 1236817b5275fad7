/** Both languages carry the same keys, every device problem has a message, and `t` fills params. */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import en from '../../js/i18n/en.js';
import { getLanguage, setLanguage, t } from '../../js/i18n/index.js';
import vi from '../../js/i18n/vi.js';

test('vi and en have exactly the same keys', () => {
  const viKeys = Object.keys(vi).sort();
  const enKeys = Object.keys(en).sort();
  assert.deepEqual(viKeys.filter((k) => !(k in en)), [], 'keys missing in en.js');
  assert.deepEqual(enKeys.filter((k) => !(k in vi)), [], 'keys missing in vi.js');
});

test('no string is empty, and parameters match between languages', () => {
  /** @param {string} s */
  const params = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  for (const key of Object.keys(vi)) {
    assert.ok(vi[key].trim() !== '' && en[key].trim() !== '', key);
    assert.deepEqual(params(vi[key]), params(en[key]), key);
  }
});

test('every device problem the devices module can report has a message', () => {
  const reasons = ['denied', 'notFound', 'busy', 'constraint', 'security', 'unknown'];
  for (const reason of reasons) {
    for (const kind of ['audio', 'video', 'both']) assert.ok(`device.${reason}.${kind}` in vi, `${reason}.${kind}`);
  }
  assert.ok('device.insecure.both' in vi);
  assert.ok('device.unsupported.both' in vi);
});

test('Vietnamese is the default and t fills parameters', () => {
  assert.equal(getLanguage(), 'vi');
  assert.equal(t('join.button'), 'Vào họp');
  assert.equal(t('quality.label', { mark: t('quality.good') }), 'Chất lượng kết nối: Tốt');
  setLanguage('en');
  assert.equal(t('join.button'), 'Join');
  assert.equal(t('meeting.sitesJoined', { joined: 3, total: 5 }), '3/5 sites joined');
  setLanguage('vi');
  assert.equal(t('no.such.key'), 'no.such.key');
});

test('every key the code looks up exists', async () => {
  const { readFileSync, readdirSync } = await import('node:fs');
  const root = new URL('../../js/', import.meta.url);
  /** @param {URL} dir @returns {URL[]} */
  const files = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory()
    ? files(new URL(`${e.name}/`, dir))
    : e.name.endsWith('.js') ? [new URL(e.name, dir)] : []));
  const used = new Set();
  for (const file of files(root)) {
    for (const m of readFileSync(file, 'utf8').matchAll(/\bt\('([\w.]+)'/g)) used.add(m[1]);
  }
  // Keys built at run time from protocol values.
  for (const role of ['chair', 'site', 'operator']) used.add(`role.${role}`);
  for (const state of ['waiting', 'joined', 'left']) used.add(`site.${state}`);
  for (const mark of ['good', 'fair', 'poor', 'connecting', 'disconnected']) used.add(`quality.${mark}`);
  for (const code of ['invalid_token', 'token_expired', 'unknown_meeting', 'site_removed', 'unsupported_version', 'replaced', 'locked']) {
    used.add(`failed.${code}.title`);
    used.add(`failed.${code}.body`);
  }
  for (const failure of ['unauthorized', 'not_found', 'network', 'server', 'bad_data']) used.add(`rollcall.failed.${failure}`);
  for (const failure of ['unauthorized', 'forbidden', 'not_found', 'ended', 'network', 'server', 'bad_data']) used.add(`equipment.failed.${failure}`);
  for (const notice of ['maySpeak', 'videoAllowed']) used.add(`notice.${notice}`);
  // Labels and marks the moderation rules name, in every state a site can be in.
  const { siteActions, primaryAction, siteMarks } = await import('../../js/moderation.js');
  /** @type {import('../../js/protocol.js').FloorMessage} */
  const floor = { type: 'floor', holders: ['a'], hands: [{ site_id: 'b', since_ms: 0 }], spotlight: 'b', presenter: 'a' };
  for (const flags of [false, true]) {
    for (const id of ['a', 'b']) {
      /** @type {import('../../js/roster.js').RosterEntry} */
      const site = { id, name: id, role: 'site', state: 'joined', muted: flags, video_stopped: flags, cochair: flags, reception: flags ? /** @type {const} */ ('audio_only') : /** @type {const} */ ('reduced') };
      for (const removed of [false, true]) {
        const ctx = { floor, moderator: /** @type {const} */ ('chair'), removed, listening: flags };
        for (const a of [primaryAction(site, ctx), ...siteActions(site, ctx)]) if (a) used.add(a.label);
        for (const m of siteMarks(site, ctx)) used.add(m.key);
      }
    }
  }
  assert.ok(used.size > 40, 'the scan found the lookups');
  assert.deepEqual([...used].filter((k) => !(k in vi)), []);
});
