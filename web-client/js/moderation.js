/**
 * What the chair (or a co-chair) may do to a site, and the marks a site's tile shows. Pure:
 * each action is an i18n label, an icon, a `data-testid` and the client message it sends,
 * so the grid tiles, the co-chair's list and the hand queue all offer the same things the
 * same way. A toggle (mute, video, spotlight, listen, co-chair) is `pressed` while the site
 * is in the state the button puts it in; its label says what pressing does now.
 *
 * Rights (PROTOCOL.md, client → server table): the chair may do everything; a co-chair may
 * do everything except `listen`, `cochair` and `reissue_link` (revoking a leaked link and
 * handing out a new one is the chair's). Nobody moderates the chair or an operator.
 */

import {
  cochairMessage, grantFloorMessage, listenMessage, lowerHandMessage, muteMessage, readmitSiteMessage,
  reissueLinkMessage, removeSiteMessage, revokeFloorMessage, spotlightMessage, stopVideoMessage,
} from './messages.js';
import { holdsFloor, queuePosition } from './floor.js';

/** @typedef {import('./protocol.js').ClientMessage} ClientMessage */
/** @typedef {import('./protocol.js').FloorMessage} FloorMessage */
/** @typedef {import('./roster.js').RosterEntry} RosterEntry */

/**
 * What is known about one site besides its roster entry.
 * @typedef {object} SiteContext
 * @property {FloorMessage | null} floor
 * @property {'chair' | 'cochair'} moderator who is looking
 * @property {boolean} removed the site was removed and not readmitted
 * @property {boolean} listening the hall hears it (chair only; true unless turned off)
 */

/**
 * One thing a moderator can do to a site.
 * @typedef {object} SiteAction
 * @property {string} id stable name, e.g. `mute`
 * @property {string} testid `data-testid` of its button
 * @property {string} label i18n key
 * @property {ClientMessage} message what it sends
 * @property {string} [icon] name in `views/icons.js`
 * @property {boolean} [pressed] a toggle that is on (site muted, video stopped, …)
 * @property {'remove' | 'reissue'} [confirm] ask first, with this question (removing a site
 *   cuts it off; reissuing its link cuts off whoever holds the old one)
 * @property {boolean} [danger]
 */

/**
 * A mark on a site's tile or row: i18n key and a tone for its colour.
 * @typedef {{key: string, tone: 'floor' | 'hand' | 'warn' | 'info' | 'off'}} SiteMark
 */

/**
 * Whether a roster entry can be moderated at all.
 * @param {RosterEntry} site
 */
export function isModeratable(site) {
  return site.role === 'site';
}

/**
 * The quick action shown on the tile itself: readmit a removed site, else revoke or grant
 * the floor; null for the chair and operators.
 * @param {RosterEntry} site
 * @param {SiteContext} ctx
 * @returns {SiteAction | null}
 */
export function primaryAction(site, ctx) {
  if (!isModeratable(site)) return null;
  if (ctx.removed) {
    return { id: 'readmit', testid: 'tile-readmit', label: 'action.readmit', message: readmitSiteMessage(site.id) };
  }
  if (holdsFloor(ctx.floor, site.id)) {
    return { id: 'revoke', testid: 'revoke-floor', label: 'action.revoke', message: revokeFloorMessage(site.id) };
  }
  if (site.state !== 'joined') return null;
  return { id: 'grant', testid: 'grant-floor', label: 'action.grant', message: grantFloorMessage(site.id) };
}

/**
 * The rest, as the row of icon buttons on the tile (the quick action is not repeated).
 * @param {RosterEntry} site
 * @param {SiteContext} ctx
 * @returns {SiteAction[]}
 */
export function siteActions(site, ctx) {
  if (!isModeratable(site) || ctx.removed) return [];
  const chair = ctx.moderator === 'chair';
  const spotlit = ctx.floor?.spotlight === site.id;
  const muted = Boolean(site.muted);
  const stopped = Boolean(site.video_stopped);
  const cochair = Boolean(site.cochair);
  /** @type {(SiteAction | false)[]} */
  const all = [
    queuePosition(ctx.floor, site.id) > 0
      && { id: 'lowerHand', testid: 'lower-hand', label: 'action.lowerHand', icon: 'handDown', message: lowerHandMessage(site.id) },
    muted
      ? { id: 'unmute', testid: 'tile-unmute', label: 'action.unmute', icon: 'micOff', pressed: true, message: muteMessage(site.id, false) }
      : { id: 'mute', testid: 'tile-mute', label: 'action.mute', icon: 'mic', pressed: false, message: muteMessage(site.id, true) },
    stopped
      ? { id: 'allowVideo', testid: 'tile-allow-video', label: 'action.allowVideo', icon: 'cameraOff', pressed: true, message: stopVideoMessage(site.id, false) }
      : { id: 'stopVideo', testid: 'tile-stop-video', label: 'action.stopVideo', icon: 'camera', pressed: false, message: stopVideoMessage(site.id, true) },
    {
      id: 'spotlight', testid: 'tile-spotlight', label: spotlit ? 'action.unspotlight' : 'action.spotlight', icon: 'star', pressed: spotlit,
      message: spotlightMessage(spotlit ? null : site.id),
    },
    chair && {
      id: 'listen', testid: 'tile-listen', label: ctx.listening ? 'action.listenOff' : 'action.listenOn',
      icon: ctx.listening ? 'speaker' : 'speakerOff', pressed: !ctx.listening, message: listenMessage(site.id, !ctx.listening),
    },
    chair && {
      id: 'cochair', testid: 'tile-cochair', label: cochair ? 'action.cochairOff' : 'action.cochairOn', icon: 'crown', pressed: cochair,
      message: cochairMessage(site.id, !cochair),
    },
    chair && {
      id: 'reissueLink', testid: 'tile-reissue-link', label: 'action.reissueLink', icon: 'link',
      message: reissueLinkMessage(site.id), confirm: 'reissue',
    },
    { id: 'remove', testid: 'tile-remove', label: 'action.remove', icon: 'exit', message: removeSiteMessage(site.id), confirm: 'remove', danger: true },
  ];
  return all.filter((a) => a !== false);
}

/**
 * Marks for a site: removed, floor, hand (with its place), the chair's mute and video stop,
 * co-chair, spotlight, presenter, (chair only) not heard in the hall, and a weak link (its
 * line makes it receive a lower layer, or audio only) or, in a calm tone, a lower picture
 * that is not its line's doing (the first ramp).
 * @param {RosterEntry} site
 * @param {Omit<SiteContext, 'moderator'>} ctx
 * @returns {SiteMark[]}
 */
export function siteMarks(site, ctx) {
  if (ctx.removed) return [{ key: 'mark.removed', tone: 'off' }];
  /** @type {(SiteMark | false)[]} */
  const marks = [
    holdsFloor(ctx.floor, site.id) && { key: 'mark.floor', tone: 'floor' },
    queuePosition(ctx.floor, site.id) > 0 && { key: 'mark.hand', tone: 'hand' },
    ctx.floor?.presenter === site.id && { key: 'mark.presenter', tone: 'info' },
    ctx.floor?.spotlight === site.id && { key: 'mark.spotlight', tone: 'info' },
    Boolean(site.muted) && { key: 'mark.muted', tone: 'warn' },
    Boolean(site.video_stopped) && { key: 'mark.videoStopped', tone: 'warn' },
    !ctx.listening && { key: 'mark.notListening', tone: 'warn' },
    Boolean(site.cochair) && { key: 'mark.cochair', tone: 'info' },
    site.state === 'joined' && site.reception === 'reduced' && { key: 'mark.reduced', tone: 'warn' },
    site.state === 'joined' && site.reception === 'audio_only' && { key: 'mark.audioOnly', tone: 'warn' },
    site.state === 'joined' && Boolean(site.reduced_by_design) && { key: 'mark.byDesign', tone: 'info' },
  ];
  return marks.filter((m) => m !== false);
}
