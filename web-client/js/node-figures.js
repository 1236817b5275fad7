/**
 * The node's own figures on the operator page, from the server's `node` message: how full
 * the node is, joins refused because it was full, and datagrams the kernel dropped at the
 * media socket. None of these shows on any site's link, so without them an operator sees a
 * site that cannot join, or media breaking up everywhere at once, and not why. Pure: the
 * view only draws what this returns.
 */

/** @typedef {import('./protocol.js').NodeMessage} NodeMessage */

/**
 * @typedef {object} NodeFigure
 * @property {'sites' | 'refused' | 'drops'} key
 * @property {string} text what the figure shows
 * @property {boolean} warn needs attention now
 */

/**
 * @param {NodeMessage | null} node the last `node` message
 * @param {NodeMessage | null} previous the one before (drops are a total since start: only
 *   a rise says the media thread is falling behind now)
 * @returns {NodeFigure[]} empty before the first message
 */
export function nodeFigures(node, previous) {
  if (!node) return [];
  const drops = node.socket_drops;
  const before = previous?.socket_drops;
  return [
    { key: 'sites', text: `${node.sites}/${node.sites_per_node}`, warn: node.sites >= node.sites_per_node },
    { key: 'refused', text: String(node.refused_capacity), warn: node.refused_capacity > (previous?.refused_capacity ?? 0) },
    {
      key: 'drops',
      text: drops === undefined ? '—' : String(drops),
      warn: drops !== undefined && before !== undefined && drops > before,
    },
  ];
}
