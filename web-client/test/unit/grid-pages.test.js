/** The chair's grid pages: rotation wraps, buttons do not, page size keeps the view. */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { PAGE_SIZES, nextPage, pageForSize, pageLabel, pageMoves, pageSizeChoices } from '../../js/grid-pages.js';

test('rotation goes to the next page and back to the first after the last', () => {
  assert.equal(nextPage(0, 7), 1);
  assert.equal(nextPage(6, 7), 0);
  assert.equal(nextPage(0, 1), 0);
  assert.equal(nextPage(0, 0), 0);
});

test('Previous and Next stop at the ends', () => {
  assert.deepEqual(pageMoves(0, 3), { prev: false, next: true });
  assert.deepEqual(pageMoves(1, 3), { prev: true, next: true });
  assert.deepEqual(pageMoves(2, 3), { prev: true, next: false });
  assert.deepEqual(pageMoves(0, 0), { prev: false, next: false });
});

test('a new page size keeps the first site of the page in view', () => {
  assert.equal(pageForSize(2, 9, 25), 0, 'site 18 is on the first page of 25');
  assert.equal(pageForSize(2, 16, 9), 3, 'site 32 is on page 3 of nine');
  assert.equal(pageForSize(0, 25, 9), 0);
  assert.equal(pageForSize(4, 9, 0), 0);
});

test('the label is 1-based and never 0/0', () => {
  assert.deepEqual(pageLabel(1, 7), { page: 2, pages: 7 });
  assert.deepEqual(pageLabel(0, 0), { page: 1, pages: 1 });
  assert.deepEqual(pageLabel(9, 3), { page: 3, pages: 3 });
});

test('page sizes are 9, 16, 25, plus a size the server chose', () => {
  assert.deepEqual(pageSizeChoices(16), PAGE_SIZES);
  assert.deepEqual(pageSizeChoices(null), PAGE_SIZES);
  assert.deepEqual(pageSizeChoices(12), [9, 12, 16, 25]);
});
