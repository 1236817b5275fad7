/**
 * Page arithmetic of the chair's grid (`grid` messages): which page comes next, what a new
 * page size does to the current page, the choices offered. Pure; the session sends the
 * `grid` requests and owns the rotation timer.
 */

/** Tiles per page the chair may choose (3×3, 4×4, 5×5). */
export const PAGE_SIZES = [9, 16, 25];

/** Seconds between pages when the grid rotates by itself. */
export const ROTATE_SECONDS = [10, 20, 30];

/**
 * The page after `page`, back to the first after the last (for rotation).
 * @param {number} page from 0
 * @param {number} pages
 */
export function nextPage(page, pages) {
  return pages <= 1 ? 0 : (page + 1) % pages;
}

/**
 * Whether Previous / Next have somewhere to go (the buttons do not wrap, rotation does).
 * @param {number} page
 * @param {number} pages
 */
export function pageMoves(page, pages) {
  return { prev: page > 0, next: page < pages - 1 };
}

/**
 * The page that keeps the first site of the current page in view after the page size changes.
 * @param {number} page
 * @param {number} oldSize
 * @param {number} newSize
 */
export function pageForSize(page, oldSize, newSize) {
  if (newSize <= 0) return 0;
  return Math.floor((page * oldSize) / newSize);
}

/**
 * What the "Page n/m" label shows: 1-based, and never "0/0" before any site joined.
 * @param {number} page
 * @param {number} pages
 * @returns {{page: number, pages: number}}
 */
export function pageLabel(page, pages) {
  const total = Math.max(1, pages);
  return { page: Math.min(page, total - 1) + 1, pages: total };
}

/**
 * The page sizes to offer: the usual ones, plus the server's current one when it differs
 * (the server caps the size at the chair's video slots less one).
 * @param {number | null} current
 * @returns {number[]}
 */
export function pageSizeChoices(current) {
  if (current == null || PAGE_SIZES.includes(current)) return [...PAGE_SIZES];
  return [...PAGE_SIZES, current].sort((a, b) => a - b);
}
