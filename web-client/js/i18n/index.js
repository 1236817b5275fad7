/**
 * The UI language: which one is in use (Vietnamese by default, the user's choice kept in
 * localStorage) and `t(key, params)` to look strings up. No other module holds UI text.
 */

import en from './en.js';
import vi from './vi.js';

/** @typedef {'vi' | 'en'} Language */

/** @type {Record<Language, Record<string, string>>} */
export const STRINGS = { vi, en };

const STORAGE_KEY = 'diemcau.lang';

/** @type {Language} */
let current = readStoredLanguage();
/** @type {Set<(lang: Language) => void>} */
const listeners = new Set();

/** @returns {Language} */
function readStoredLanguage() {
  try {
    return globalThis.localStorage?.getItem(STORAGE_KEY) === 'en' ? 'en' : 'vi';
  } catch {
    // Storage can be blocked (privacy settings); the default is fine then.
    return 'vi';
  }
}

/** @returns {Language} */
export function getLanguage() {
  return current;
}

/**
 * Switches the language, remembers it and tells listeners (which re-render).
 * @param {Language} lang
 */
export function setLanguage(lang) {
  if (lang === current) return;
  current = lang;
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, lang);
  } catch {
    // Not remembered across visits; the switch still works for this page.
  }
  for (const fn of listeners) fn(lang);
}

/**
 * @param {(lang: Language) => void} fn
 * @returns {() => void} removes the listener
 */
export function onLanguageChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/**
 * The string for `key` in the current language with `{name}` parameters filled in. A key
 * missing in English falls back to Vietnamese, then to the key itself, so a slip shows up
 * in the UI rather than as a blank.
 * @param {string} key
 * @param {Record<string, string | number>} [params]
 * @returns {string}
 */
export function t(key, params) {
  const template = STRINGS[current][key] ?? STRINGS.vi[key] ?? key;
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/**
 * Whether a key exists, for choosing between a specific and a generic message.
 * @param {string} key
 */
export function hasKey(key) {
  return Object.hasOwn(STRINGS.vi, key);
}
