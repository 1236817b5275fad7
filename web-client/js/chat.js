/**
 * Text messages between sites and the chair, as the page keeps them: what arrived (`chat`
 * messages) and what this page sent, in one list, and whom a participant may write to.
 * Pure; the text is only ever shown with `textContent`.
 *
 * Whether the server echoes a message to its sender is not promised by the protocol, so a
 * sent message shows at once as `pending` and is replaced by the server's copy if one comes.
 */

/** @typedef {import('./protocol.js').ChatMessage} ChatMessage */
/** @typedef {import('./protocol.js').Role} Role */
/** @typedef {import('./roster.js').RosterEntry} RosterEntry */

/** How many messages a page keeps (a long meeting must not grow memory without end). */
export const CHAT_KEEP = 500;

/**
 * @typedef {object} ChatEntry
 * @property {{id: string, name: string, role: Role}} from
 * @property {string} to `chair`, `all` or a site id
 * @property {string} text
 * @property {number} atMs on the local clock
 * @property {boolean} own written on this page
 * @property {boolean} pending sent, and no copy from the server yet
 * @property {number} [serverMs] the server's `at_ms` (a copy sent again is recognised by it)
 */

/**
 * The log with a received message added; the server's copy of one of our own pending
 * messages replaces it in place.
 * @param {readonly ChatEntry[]} log
 * @param {ChatMessage} msg
 * @param {number} atMs local time of the message
 * @param {string | null} youId
 * @returns {ChatEntry[]}
 */
export function addReceived(log, msg, atMs, youId) {
  const own = msg.from.id === youId;
  // The server sends the kept history to a page that joins again: what it has stays once.
  const same = (/** @type {ChatEntry} */ e) =>
    e.serverMs === msg.at_ms && e.from.id === msg.from.id && e.to === msg.to && e.text === msg.text;
  if (log.some(same)) return /** @type {ChatEntry[]} */ (log);
  /** @type {ChatEntry} */
  const entry = { from: msg.from, to: msg.to, text: msg.text, atMs, own, pending: false, serverMs: msg.at_ms };
  if (own) {
    const i = log.findIndex((e) => e.pending && e.to === msg.to && e.text === msg.text);
    if (i !== -1) return log.map((e, j) => (j === i ? { ...entry, atMs: e.atMs } : e));
  }
  return [...log, entry].slice(-CHAT_KEEP);
}

/**
 * The log with a message this page just sent.
 * @param {readonly ChatEntry[]} log
 * @param {{id: string, name: string, role: Role}} you
 * @param {string} to
 * @param {string} text
 * @param {number} atMs
 * @returns {ChatEntry[]}
 */
export function addSent(log, you, to, text, atMs) {
  return [...log, { from: you, to, text, atMs, own: true, pending: true }].slice(-CHAT_KEEP);
}

/**
 * Whom this participant may write to: a site writes to the chair (co-chairs and operators
 * read it too); the chair, a co-chair and an operator write to everyone or to one site (the
 * chair's own site id included). `name` is null for the fixed choices (`chair`, `all`),
 * whose label is an i18n key.
 * @param {Role} role
 * @param {boolean} cochair
 * @param {readonly RosterEntry[]} roster
 * @param {string | null} youId
 * @returns {{to: string, name: string | null}[]}
 */
export function recipients(role, cochair, roster, youId) {
  if (role === 'site' && !cochair) return [{ to: 'chair', name: null }];
  const sites = roster.filter((s) => s.id !== youId && s.role !== 'operator').map((s) => ({ to: s.id, name: s.name }));
  return [{ to: 'all', name: null }, ...sites];
}
