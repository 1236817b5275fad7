/**
 * The invite token as the page sees it: read from the URL fragment (`/join#t=<token>`,
 * kept out of HTTP request lines and proxy logs on purpose) and peeked at for its role.
 *
 * The peek is only a hint for the page (an operator's page need not ask for the camera); the
 * server checks the signature and the answer in `joined` is what counts.
 */

/**
 * The token in a URL fragment, or null when the link has none.
 * @param {string} hash `location.hash`, with or without the leading `#`
 * @returns {string | null}
 */
export function tokenFromHash(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const token = params.get('t');
  return token && token.trim() !== '' ? token.trim() : null;
}

/**
 * The `role` claim of a JWT, unverified, or null when it cannot be read.
 * @param {string} token
 * @returns {'chair' | 'site' | 'operator' | null}
 */
export function peekTokenRole(token) {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const json = new TextDecoder().decode(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
    const role = JSON.parse(json).role;
    return role === 'chair' || role === 'site' || role === 'operator' ? role : null;
  } catch {
    return null;
  }
}
