/**
 * Tokens for the hall's own equipment, issued to the chair: `POST
 * /api/v1/meetings/{id}/media-tokens` with the page's own invite token as the bearer
 * credential (the server takes the chair's and refuses any other site's; the admin key never
 * reaches a browser). A `chair-camera` token lets the hall's mixer or OBS publish over WHIP in
 * place of this page's camera; a `viewer` token is the watch page's link (WHEP). No DOM:
 * `fetch` is passed in, so this is tested in node; `views/equipment.js` draws the panel.
 */

/** @typedef {'chair-camera' | 'presentation' | 'viewer'} MediaTokenRole */

/**
 * An issued token as the panel shows it.
 * @typedef {object} MediaToken
 * @property {MediaTokenRole} role
 * @property {string} token the bearer token (OBS: "Bearer Token")
 * @property {string} url the endpoint (OBS: "Server")
 * @property {number} expiresAt when it stops working, seconds since the Unix epoch
 * @property {string | null} watchLink the watch page with the token, for `viewer`
 */

/**
 * Why no token came: the page's link is not accepted here (401), it is not the chair's
 * (403), the meeting is gone (404) or has ended (409), the network or the server failed, or
 * the answer was not the expected shape.
 * @typedef {'unauthorized' | 'forbidden' | 'not_found' | 'ended' | 'network' | 'server' | 'bad_data'} MediaTokenFailure
 */

/**
 * The minimal `fetch` this module needs (the browser's, or a fake in tests).
 * @typedef {(url: string, init: {method: string, headers: Record<string, string>, body: string}) =>
 *   Promise<{ok: boolean, status: number, text: () => Promise<string>}>} PostLike
 */

/** @param {string} meetingId */
export function mediaTokensUrl(meetingId) {
  return `/api/v1/meetings/${encodeURIComponent(meetingId)}/media-tokens`;
}

/**
 * Asks the server for a token of `role`, valid as long as the server's default (a working
 * day, never past the meeting's end).
 * @param {PostLike} fetchFn
 * @param {string} meetingId
 * @param {string} token the page's invite token
 * @param {MediaTokenRole} role
 * @returns {Promise<{ok: true, issued: MediaToken} | {ok: false, failure: MediaTokenFailure}>}
 */
export async function issueMediaToken(fetchFn, meetingId, token, role) {
  let res;
  let text;
  try {
    res = await fetchFn(mediaTokensUrl(meetingId), {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ role }),
    });
    text = await res.text();
  } catch {
    return { ok: false, failure: 'network' };
  }
  const failure = failureOf(res.status);
  if (failure) return { ok: false, failure };
  if (!res.ok) return { ok: false, failure: 'server' };
  try {
    return { ok: true, issued: parseMediaToken(JSON.parse(text), role) };
  } catch {
    return { ok: false, failure: 'bad_data' };
  }
}

/**
 * @param {number} status
 * @returns {MediaTokenFailure | null}
 */
function failureOf(status) {
  switch (status) {
    case 401: return 'unauthorized';
    case 403: return 'forbidden';
    case 404: return 'not_found';
    case 409: return 'ended';
    default: return null;
  }
}

/**
 * Checks the server's answer; throws on the first field that is wrong. The role must be the
 * one asked for, so a token is never shown under the wrong label.
 * @param {unknown} value
 * @param {MediaTokenRole} role
 * @returns {MediaToken}
 */
export function parseMediaToken(value, role) {
  const fail = (/** @type {string} */ what) => {
    throw new TypeError(`media token: ${what}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('not an object');
  const v = /** @type {Record<string, unknown>} */ (value);
  if (v.role !== role) fail('role');
  if (typeof v.token !== 'string' || v.token === '') fail('token');
  if (typeof v.url !== 'string' || !/^https?:\/\//.test(v.url)) fail('url');
  if (typeof v.expires_at !== 'number' || !Number.isFinite(v.expires_at)) fail('expires_at');
  const watch = v.watch_link;
  if (role === 'viewer' && (typeof watch !== 'string' || !/^https?:\/\//.test(watch))) fail('watch_link');
  return {
    role,
    token: /** @type {string} */ (v.token),
    url: /** @type {string} */ (v.url),
    expiresAt: /** @type {number} */ (v.expires_at),
    watchLink: typeof watch === 'string' ? watch : null,
  };
}

/**
 * When a token stops working, in the browser's own time zone (the chair reads it against the
 * clock on the wall), date included: a token may outlive the day.
 * @param {number} expiresAt seconds since the Unix epoch
 * @param {'vi' | 'en'} lang
 * @param {string} [timeZone] for tests; the browser's own otherwise
 */
export function formatExpiry(expiresAt, lang, timeZone) {
  return new Intl.DateTimeFormat(lang === 'vi' ? 'vi-VN' : 'en-GB', {
    hour: '2-digit', minute: '2-digit', day: '2-digit', month: '2-digit', year: 'numeric', timeZone,
  }).format(new Date(expiresAt * 1000));
}
