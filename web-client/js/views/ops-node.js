/**
 * The node's line on the operator page (`node-figures.js` decides the figures): sites on
 * the node out of its limit, joins refused because it was full, kernel drops at the media
 * socket. A figure that needs attention is marked (`data-warn`).
 */

import { t } from '../i18n/index.js';
import { nodeFigures } from '../node-figures.js';
import { h, setText } from './dom.js';

/** @typedef {import('../protocol.js').NodeMessage} NodeMessage */

/**
 * @returns {{element: HTMLElement, update: (node: NodeMessage | null, previous: NodeMessage | null) => void}}
 */
export function createOpsNode() {
  /** @type {Record<string, HTMLElement>} */
  const values = {};
  const keys = /** @type {const} */ (['sites', 'refused', 'drops']);
  const element = h('dl', { class: 'ops-totals ops-node', testid: 'ops-node' }, ...keys.map((key) => {
    values[key] = h('dd', {});
    return h('div', { class: 'ops-total', attrs: { 'data-node': key } }, h('dt', { text: t(`ops.node.${key}`) }), values[key]);
  }));
  element.hidden = true;

  /**
   * @param {NodeMessage | null} node
   * @param {NodeMessage | null} previous
   */
  function update(node, previous) {
    const figures = nodeFigures(node, previous);
    element.hidden = figures.length === 0;
    for (const f of figures) {
      setText(values[f.key], f.text);
      const box = /** @type {HTMLElement} */ (values[f.key].parentElement);
      if (f.warn) box.dataset.warn = 'true';
      else delete box.dataset.warn;
    }
  }

  return { element, update };
}
