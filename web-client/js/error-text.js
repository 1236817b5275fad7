/**
 * Plain words for a server error, in the page's language: what the banner shows. Kept apart
 * from the page so the wording of each code is tested without a browser.
 */

import { hasKey, t } from './i18n/index.js';

/**
 * Plain words for a server error; the server's own message when we have none.
 * @param {{code: string, message: string, about?: 'present'}} err
 * @returns {string}
 */
export function errorMessage(err) {
  if (err.code === 'media') return t('banner.mediaFailed');
  if (err.code === 'screen') return t('present.failed');
  if (err.about === 'present') {
    return hasKey(`present.refused.${err.code}`) ? t(`present.refused.${err.code}`) : t('present.refused', { message: err.message });
  }
  if (hasKey(`error.${err.code}`)) return t(`error.${err.code}`);
  return t('error.generic', { message: err.message });
}
