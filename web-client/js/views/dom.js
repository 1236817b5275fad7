/**
 * Small DOM helpers shared by the views. Text always goes in through `textContent` (never
 * `innerHTML`): names and titles come from the server and must not be read as markup.
 */

/**
 * @typedef {object} ElementOptions
 * @property {string} [class] CSS class names
 * @property {string} [text] text content
 * @property {string} [testid] `data-testid`, for end-to-end tests
 * @property {Record<string, string>} [attrs] other attributes
 * @property {Record<string, (ev: Event) => void>} [on] event listeners
 */

/**
 * Creates an element.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {ElementOptions} [options]
 * @param {(Node | string | null | undefined | false)[]} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, options = {}, ...children) {
  const el = document.createElement(tag);
  if (options.class) el.className = options.class;
  if (options.text !== undefined) el.textContent = options.text;
  if (options.testid) el.dataset.testid = options.testid;
  for (const [name, value] of Object.entries(options.attrs ?? {})) el.setAttribute(name, value);
  for (const [type, fn] of Object.entries(options.on ?? {})) el.addEventListener(type, fn);
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child);
  }
  return el;
}

/**
 * A muted, inline, autoplaying `<video>`: sound always goes through separate `<audio>`
 * elements, so a video can be re-attached without a gap in the sound.
 * @param {ElementOptions} [options]
 * @returns {HTMLVideoElement}
 */
export function videoElement(options = {}) {
  const video = h('video', options);
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  return video;
}

/**
 * Shows a stream in a video element, touching it only when the stream changed (assigning
 * `srcObject` again restarts the picture with a black flash).
 * @param {HTMLVideoElement} video
 * @param {MediaStream | null} stream
 */
export function setVideo(video, stream) {
  if (video.srcObject === stream) return;
  video.srcObject = stream;
  if (stream) {
    video.play().catch(() => {
      // Muted video may autoplay; a refusal only happens while the tab is hidden.
    });
  }
}

/**
 * Sets text only when it differs, to keep screen readers and selection calm.
 * @param {Element} el
 * @param {string} text
 */
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/**
 * Keeps a container's children in the order of `keys`: one item per key, created once by
 * `create`, moved only when out of place, dropped when its key is gone (so videos keep
 * playing and focus stays where it was).
 * @template {{element: Element}} T
 * @param {Element} container
 * @param {Map<string, T>} items the items by key, kept by the caller between calls
 * @param {readonly string[]} keys
 * @param {(key: string) => T} create
 * @returns {T[]} the items in order
 */
export function syncChildren(container, items, keys, create) {
  const wanted = new Set(keys);
  for (const [key, item] of items) {
    if (!wanted.has(key)) {
      item.element.remove();
      items.delete(key);
    }
  }
  /** @type {Element | null} */
  let prev = null;
  return keys.map((key) => {
    let item = items.get(key);
    if (!item) {
      item = create(key);
      items.set(key, item);
    }
    /** @type {Element | null} */
    const expected = prev ? prev.nextElementSibling : container.firstElementChild;
    if (expected !== item.element) container.insertBefore(item.element, expected);
    prev = item.element;
    return item;
  });
}

/**
 * Replaces a node's children only when `key` changed since the last call (a list rebuilt on
 * every session change would lose focus and flicker).
 * @param {HTMLElement} el
 * @param {string} key
 * @param {() => (Node | string)[]} build
 */
export function rebuildIfChanged(el, key, build) {
  if (el.dataset.key === key) return;
  el.dataset.key = key;
  el.replaceChildren(...build());
}
