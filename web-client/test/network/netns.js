/**
 * A site on its own link: a network namespace joined to the test's namespace by a veth pair,
 * with loopback-range addresses (127.1.0.1 on our side, 127.1.0.2 on the site's), so nothing
 * can leave the machine. Its link is shaped with `tc tbf` (rate) and nftables (random loss).
 *
 * Needs root, inside the loopback-only namespace the e2e tests run in.
 */

import { execFileSync } from 'node:child_process';

const run = (/** @type {string[]} */ args) => execFileSync(args[0], args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

export const HUB_IP = '127.1.0.1';
export const SITE_IP = '127.1.0.2';

/**
 * Deletes the hub ends of earlier site links still holding an address in 127.1.0.0/16 (a
 * test that died before its `after` hook): two connected routes to the same /16 would send
 * the new site's replies down the old pair.
 */
function removeStaleLinks() {
  const out = run(['ip', '-4', '-o', 'addr', 'show', 'to', '127.1.0.0/16']);
  for (const line of out.split('\n')) {
    const dev = line.match(/^\d+:\s+([^\s@]+)/)?.[1];
    if (!dev || !/^vh\d+$/.test(dev)) continue;
    try {
      run(['ip', 'link', 'del', dev]);
    } catch {
      // Gone meanwhile.
    }
  }
}

/** Creates the namespace and the veth pair; returns controls for its link. */
export function createSiteLink(name = `dcsite${process.pid}`) {
  const hubIf = `vh${process.pid % 100000}`;
  const siteIf = `vs${process.pid % 100000}`;
  const inNs = (/** @type {string[]} */ args) => run(['ip', 'netns', 'exec', name, ...args]);
  removeStaleLinks();
  run(['ip', 'netns', 'add', name]);
  run(['ip', 'link', 'add', hubIf, 'type', 'veth', 'peer', 'name', siteIf]);
  run(['ip', 'link', 'set', siteIf, 'netns', name]);
  // 127.x off the loopback device needs route_localnet on both ends.
  run(['sysctl', '-qw', 'net.ipv4.conf.all.route_localnet=1']);
  run(['sysctl', '-qw', `net.ipv4.conf.${hubIf}.route_localnet=1`]);
  // No IPv6 on the pair: its link-local address settles seconds later, and Chromium takes
  // that for a network change and aborts the page loads in flight (ERR_NETWORK_CHANGED).
  run(['sysctl', '-qw', `net.ipv6.conf.${hubIf}.disable_ipv6=1`]);
  inNs(['sysctl', '-qw', `net.ipv6.conf.${siteIf}.disable_ipv6=1`]);
  run(['ip', 'addr', 'add', `${HUB_IP}/16`, 'dev', hubIf]);
  run(['ip', 'link', 'set', hubIf, 'up']);
  inNs(['ip', 'link', 'set', 'lo', 'up']);
  inNs(['sysctl', '-qw', 'net.ipv4.conf.all.route_localnet=1']);
  inNs(['sysctl', '-qw', `net.ipv4.conf.${siteIf}.route_localnet=1`]);
  inNs(['ip', 'addr', 'add', `${SITE_IP}/16`, 'dev', siteIf]);
  inNs(['ip', 'link', 'set', siteIf, 'up']);
  let lossy = false;
  return {
    name,
    /**
     * Limits the link both ways to `kbit` kbit/s, dropping `lossPct`% of UDP at random.
     * @param {number} kbit
     * @param {number} [lossPct]
     */
    shape(kbit, lossPct = 0) {
      for (const [ns, dev] of [[null, hubIf], [name, siteIf]]) {
        const tc = ['tc', 'qdisc', 'replace', 'dev', /** @type {string} */ (dev), 'root', 'tbf', 'rate', `${kbit}kbit`, 'burst', '32kbit', 'latency', '400ms'];
        if (ns) inNs(tc); else run(tc);
      }
      this.loss(lossPct);
    },
    /**
     * Drops `lossPct`% of UDP at random both ways, without limiting the rate.
     * @param {number} lossPct
     */
    loss(lossPct) {
      this.clearLoss();
      if (lossPct > 0) {
        inNs(['nft', 'add', 'table', 'inet', 'diemcau_loss']);
        for (const hook of ['input', 'output']) {
          inNs(['nft', 'add', 'chain', 'inet', 'diemcau_loss', hook, `{ type filter hook ${hook} priority 0; }`]);
          inNs(['nft', 'add', 'rule', 'inet', 'diemcau_loss', hook, 'meta', 'l4proto', 'udp', 'numgen', 'random', 'mod', '100', '<', String(lossPct), 'drop']);
        }
        lossy = true;
      }
    },
    /**
     * Drops every UDP datagram in and out of the site (a firewall that lets only TCP
     * through), counting them.
     */
    blockUdp() {
      inNs(['nft', 'add', 'table', 'inet', 'diemcau_noudp']);
      for (const hook of ['input', 'output']) {
        inNs(['nft', 'add', 'chain', 'inet', 'diemcau_noudp', hook, `{ type filter hook ${hook} priority 0; }`]);
        inNs(['nft', 'add', 'rule', 'inet', 'diemcau_noudp', hook, 'meta', 'l4proto', 'udp', 'counter', 'drop']);
      }
    },
    /** Cuts the site off: every packet in and out is dropped (a router that died). */
    cut() {
      inNs(['nft', 'add', 'table', 'inet', 'diemcau_cut']);
      for (const hook of ['input', 'output']) {
        inNs(['nft', 'add', 'chain', 'inet', 'diemcau_cut', hook, `{ type filter hook ${hook} priority -10; }`]);
        inNs(['nft', 'add', 'rule', 'inet', 'diemcau_cut', hook, hook === 'input' ? 'iifname' : 'oifname', '!=', 'lo', 'drop']);
      }
    },
    /** Undoes `cut`. */
    restore() {
      inNs(['nft', 'delete', 'table', 'inet', 'diemcau_cut']);
    },
    /**
     * Drops the site's TCP (its signaling socket; a proxy or NAT that lost the connection)
     * while its UDP media flows on.
     */
    cutTcp() {
      inNs(['nft', 'add', 'table', 'inet', 'diemcau_notcp']);
      for (const hook of ['input', 'output']) {
        inNs(['nft', 'add', 'chain', 'inet', 'diemcau_notcp', hook, `{ type filter hook ${hook} priority -10; }`]);
        inNs(['nft', 'add', 'rule', 'inet', 'diemcau_notcp', hook, hook === 'input' ? 'iifname' : 'oifname', '!=', 'lo', 'meta', 'l4proto', 'tcp', 'drop']);
      }
    },
    /**
     * The site's address changes (its router got a new address from the provider): `ip`
     * replaces the current one; connections bound to the old address are dead.
     * @param {string} ip
     */
    renumber(ip) {
      const current = inNs(['ip', '-4', '-o', 'addr', 'show', 'dev', siteIf]).match(/inet (\S+)/)?.[1];
      // Deleting a primary address deletes its secondaries too, unless they are promoted.
      inNs(['sysctl', '-qw', `net.ipv4.conf.${siteIf}.promote_secondaries=1`]);
      inNs(['ip', 'addr', 'add', `${ip}/16`, 'dev', siteIf]);
      if (current) inNs(['ip', 'addr', 'del', current, 'dev', siteIf]);
    },
    /** Undoes `cutTcp`. */
    restoreTcp() {
      inNs(['nft', 'delete', 'table', 'inet', 'diemcau_notcp']);
    },
    /**
     * Drops every `n`th RTP packet of payload type `pt` coming in to the site, counting
     * them: deterministic (`numgen inc`, not random), and only those packets (the RTP header
     * is in the clear in SRTP: version 2, then the payload type), so audio, RTCP, STUN and the
     * retransmissions (their own RTX payload type) pass.
     * @param {number} n
     * @param {number} pt
     */
    dropEveryNthRtp(n, pt) {
      inNs(['nft', 'add', 'table', 'inet', 'diemcau_nth']);
      inNs(['nft', 'add', 'chain', 'inet', 'diemcau_nth', 'input', '{ type filter hook input priority 0; }']);
      inNs(['nft', 'add', 'rule', 'inet', 'diemcau_nth', 'input', 'iifname', '!=', 'lo', 'meta', 'l4proto', 'udp',
        '@th,64,2', '2', '@th,73,7', String(pt), 'numgen', 'inc', 'mod', String(n), '==', '0', 'counter', 'drop']);
    },
    /** Undoes `dropEveryNthRtp`; returns how many datagrams it dropped. */
    stopDroppingNth() {
      const out = inNs(['nft', 'list', 'table', 'inet', 'diemcau_nth']);
      inNs(['nft', 'delete', 'table', 'inet', 'diemcau_nth']);
      return Number(out.match(/counter packets (\d+)/)?.[1] ?? NaN);
    },
    /** UDP datagrams `blockUdp` has dropped so far. */
    udpDropped() {
      const out = inNs(['nft', 'list', 'table', 'inet', 'diemcau_noudp']);
      return [...out.matchAll(/counter packets (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
    },
    clearLoss() {
      if (lossy) inNs(['nft', 'delete', 'table', 'inet', 'diemcau_loss']);
      lossy = false;
    },
    /** Lifts every limit. */
    lift() {
      this.clearLoss();
      for (const [ns, dev] of [[null, hubIf], [name, siteIf]]) {
        const tc = ['tc', 'qdisc', 'del', 'dev', /** @type {string} */ (dev), 'root'];
        try {
          if (ns) inNs(tc); else run(tc);
        } catch {
          // No qdisc installed: nothing to lift.
        }
      }
    },
    /**
     * Removes the namespace and both veth ends. A namespace outlives `ip netns del` while any
     * process is still in it (a Chromium helper slow to exit), and its veth pair with it:
     * the processes are killed and the pair deleted from our side, so the next test's link
     * does not find 127.1.0.1 routed to a dead one.
     */
    destroy() {
      try {
        const pids = run(['ip', 'netns', 'pids', name]).split(/\s+/).filter(Boolean);
        for (const pid of pids) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // Exited meanwhile.
          }
        }
      } catch {
        // No such namespace.
      }
      try {
        run(['ip', 'link', 'del', hubIf]);
      } catch {
        // Gone with its namespace already.
      }
      try {
        run(['ip', 'netns', 'del', name]);
      } catch {
        // Already gone.
      }
    },
  };
}
