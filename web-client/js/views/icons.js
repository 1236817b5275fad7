/**
 * The few line icons of the moderation buttons (24×24, drawn with the text colour), built
 * with DOM calls from fixed path data: no markup strings, nothing from the server.
 */

const SVG = 'http://www.w3.org/2000/svg';

const MIC = ['M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3z', 'M19 11a7 7 0 0 1-14 0', 'M12 18v3', 'M8 21h8'];
const CAMERA = ['M3 7h12v10H3z', 'M15 10l6-3v10l-6-3z'];
const SPEAKER = ['M4 9h4l5-4v14l-5-4H4z'];
const SLASH = ['M3 3l18 18'];

/** @type {Record<string, string[]>} */
export const ICONS = {
  mic: MIC,
  micOff: [...MIC, ...SLASH],
  camera: CAMERA,
  cameraOff: [...CAMERA, ...SLASH],
  star: ['M12 3l2.7 5.6 6.1.9-4.4 4.3 1 6.1L12 17l-5.4 2.9 1-6.1-4.4-4.3 6.1-.9z'],
  speaker: [...SPEAKER, 'M16 9a4 4 0 0 1 0 6', 'M18.5 6.5a8 8 0 0 1 0 11'],
  speakerOff: [...SPEAKER, 'M16.5 9.5l5 5', 'M21.5 9.5l-5 5'],
  crown: ['M3 8l4.5 4 4.5-7 4.5 7L21 8l-2 11H5z'],
  exit: ['M10 4H5v16h5', 'M15 8l4 4-4 4', 'M19 12H9'],
  handDown: ['M12 4v14', 'M6 12l6 6 6-6'],
  link: ['M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1', 'M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1'],
};

/**
 * @param {keyof typeof ICONS} name
 * @returns {SVGSVGElement}
 */
export function icon(name) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', 'icon');
  for (const d of ICONS[name]) {
    const path = document.createElementNS(SVG, 'path');
    path.setAttribute('d', d);
    svg.append(path);
  }
  return svg;
}
