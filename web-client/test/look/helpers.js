/** Small helpers of the look script: hooks, waits, screenshots, the offer layout check. */

import assert from 'node:assert/strict';
import { join } from 'node:path';

export const OUT = process.env.LOOK_OUT ?? '/tmp/diemcau-look';

/**
 * A JWT-shaped token with a role claim (the fake server does not check signatures).
 * @param {string} role
 */
export const token = (role) => `e30.${Buffer.from(JSON.stringify({ mid: 'm-2f1c', role })).toString('base64url')}.c2ln`;

/**
 * @param {import('playwright-core').Page} page
 * @param {string} name
 */
export async function shot(page, name) {
  await page.screenshot({ path: join(OUT, `${name}.png`) });
  console.log(`wrote ${join(OUT, `${name}.png`)}`);
}

/**
 * A `window.diemcau` value.
 * @param {import('playwright-core').Page} page
 * @param {string} name
 * @returns {Promise<any>}
 */
export const hook = (page, name) => page.evaluate((n) => /** @type {any} */ (window).diemcau[n], name);

/**
 * Waits until a hook expression is true.
 * @param {import('playwright-core').Page} page
 * @param {string} expr JS over `d` (the hooks object)
 */
export const until = (page, expr) => page.waitForFunction(`(() => { const d = window.diemcau; return ${expr}; })()`, null, { timeout: 15_000 });

/** @param {import('playwright-core').Page} page @param {string} state */
export const waitState = (page, state) => until(page, `d?.state === ${JSON.stringify(state)}`);

/** @param {import('playwright-core').Page} page @param {string} selector */
export async function hasPicture(page, selector) {
  await page.waitForFunction((sel) => {
    const v = /** @type {HTMLVideoElement | null} */ (document.querySelector(sel));
    return v !== null && v.videoWidth > 0;
  }, selector, { timeout: 15_000 });
}

/**
 * The client messages the fake server received, of one type.
 * @param {import('playwright-core').Page} page
 * @param {string} type
 * @returns {Promise<any[]>}
 */
export const sentOf = (page, type) => page.evaluate((t) => (/** @type {any} */ (window).fakeSent ?? []).filter((/** @type {any} */ m) => m.type === t), type);

/**
 * The offer follows PROTOCOL.md "Media layout": audio, camera (q/h/f simulcast) and screen
 * sendonly, then the video and audio receive slots, VP8 first on video.
 * @param {string} sdp
 * @param {number} videoSlots
 * @param {number} audioSlots
 */
export function checkOfferLayout(sdp, videoSlots, audioSlots) {
  const sections = sdp.split(/\r\n(?=m=)/).slice(1);
  const layout = sections.map((m) => `${m.slice(2, 7)} ${/a=(sendonly|recvonly|sendrecv|inactive)/.exec(m)?.[1]}`);
  assert.deepEqual(layout, [
    'audio sendonly',
    'video sendonly',
    'video sendonly',
    ...Array(videoSlots).fill('video recvonly'),
    ...Array(audioSlots).fill('audio recvonly'),
  ]);
  assert.match(sections[1], /a=simulcast:send q;h;f/);
  assert.doesNotMatch(sections[2], /a=simulcast/, 'the screen sends one encoding');
  for (const m of sections.filter((s) => s.startsWith('m=video'))) {
    const first = /^m=video \d+ \S+ (\d+)/.exec(m)?.[1];
    assert.match(m, new RegExp(`a=rtpmap:${first} VP8/90000`), 'VP8 is the first video codec');
  }
}
