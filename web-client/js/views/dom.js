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
