/**
 * The meeting every network test starts from: the server bound on 0.0.0.0 and announcing the
 * hub's address on the site link, the chair (and any sites on a good line) in a browser on
 * loopback, the sites behind the link in a browser inside its namespace. Sites are taken
 * from the demo meeting in order: the local ones first, then the remote ones.
 */

import { joinAs, launchBrowser, startServer, waitConnected } from '../e2e/harness.js';
import { HUB_IP, createSiteLink } from './netns.js';

/**
 * @param {{ local?: number, remote?: number, operator?: boolean, args?: string[],
 *   beforeServer?: (link: ReturnType<typeof createSiteLink>) => void }} [options]
 *   `local`/`remote`: how many sites join on each side (0 and 1 by default); `operator`: an
 *   operator page joins too (on loopback); `args`: the server's extra flags; `beforeServer`:
 *   what the link needs before anything connects (a firewall rule).
 */
export async function meetingOverLink({ local: localSites = 0, remote: remoteSites = 1, operator = false, args = [], beforeServer } = {}) {
  const link = createSiteLink();
  /** @type {Awaited<ReturnType<typeof startServer>> | undefined} */
  let server;
  /** @type {Awaited<ReturnType<typeof launchBrowser>> | undefined} */
  let local;
  /** @type {Awaited<ReturnType<typeof launchBrowser>> | undefined} */
  let remote;
  const close = async () => {
    await remote?.close();
    await local?.close();
    await server?.stop();
    link.destroy();
  };
  try {
    beforeServer?.(link);
    server = await startServer({ bind: '0.0.0.0', announceIp: HUB_IP, args });
    const info = server.info;
    const at = (/** @type {string} */ l, /** @type {string} */ host) => l.replace('//0.0.0.0:', `//${host}:`);
    local = await launchBrowser();
    remote = await launchBrowser({ netns: link.name });
    const chair = (await joinAs(local.context, at(info.meeting.chair.link, '127.0.0.1'))).page;
    /** @type {import('playwright-core').Page[]} */
    const locals = [];
    for (let i = 0; i < localSites; i++) {
      locals.push((await joinAs(local.context, at(info.meeting.sites[i].link, '127.0.0.1'))).page);
    }
    /** @type {import('playwright-core').Page[]} */
    const remotes = [];
    for (let i = 0; i < remoteSites; i++) {
      remotes.push((await joinAs(remote.context, at(info.meeting.sites[localSites + i].link, HUB_IP))).page);
    }
    const ops = operator ? (await joinAs(local.context, at(info.meeting.operator.link, '127.0.0.1'))).page : undefined;
    for (const p of [chair, ...locals, ...remotes, ...(ops ? [ops] : [])]) await waitConnected(p);
    await chair.getByTestId('open-meeting').click();
    return {
      server,
      link,
      chair,
      locals,
      remotes,
      operator: ops,
      /** The browser on loopback, for pages a test opens later. */
      localBrowser: local,
      /** The API's base address on loopback. */
      base: info.http.replace('//0.0.0.0:', '//127.0.0.1:'),
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
