/**
 * Sysctl side effects the kernel's handlers have (observed on Linux 6.18 in a fresh namespace with a
 * veth pair va/vb): writing net.ipv4.ip_forward or net.ipv4.conf.all.forwarding sets both, conf.default
 * and every device's forwarding (devinet_sysctl_forward → inet_forward_change), and
 * conf.all.accept_redirects to the negation; a later per-device write wins for that device. Writing
 * net.ipv6.conf.all.forwarding sets conf.default and every device; writing default changes only it.
 */
import { describe, expect, it } from 'vitest';
import { Sysctl } from '../../src/stack/sysctl.js';
import { arp, lab, udp, replay } from '../helpers/frames.js';
import { Datapath } from '../../src/stack/datapath.js';
import { NUD_DELAY, NUD_INCOMPLETE } from '../../src/stack/neigh.js';

/** A router between 192.0.2.0/24 (eth0) and 198.51.100.0/24 (eth1), with extra sysctl and neighbour lines. */
function router(sysctl: string[], neighbours: string[] = []): ReturnType<typeof lab> {
  return lab(`
namespaces:
  r:
    sysctl: { ${sysctl.join(', ')} }
    links:
      - { name: eth0, kind: ether, mac: "02:00:00:00:01:01" }
      - { name: eth1, kind: ether, mac: "02:00:00:00:02:01" }
    addresses: [ "192.0.2.2/24 dev eth0", "198.51.100.2/24 dev eth1" ]
    neighbours: [ ${neighbours.map((n) => JSON.stringify(n)).join(', ')} ]
`);
}

/** A datagram from 192.0.2.10 to 198.51.100.9, into r:eth0. */
const toNine = () => udp({ dstMac: '02:00:00:00:01:01', src: '192.0.2.10', dst: '198.51.100.9', sport: 5000, dport: 53 });

describe('forwarding sysctls', () => {
  it('ip_forward=1 turns on all, default and every device, and accept_redirects off', () => {
    const s = new Sysctl();
    s.set('net.ipv4.conf.va.forwarding', '0');
    s.set('net.ipv4.ip_forward', '1');
    expect([s.forwarding('va'), s.forwarding('vb'), s.int('net.ipv4.conf.all.forwarding'), s.int('net.ipv4.conf.default.forwarding'), s.int('net.ipv4.conf.all.accept_redirects')]).toEqual([true, true, 1, 1, 0]);
    s.set('net.ipv4.conf.va.forwarding', '0');
    expect([s.int('net.ipv4.ip_forward'), s.forwarding('va'), s.forwarding('vb')]).toEqual([1, false, true]);
    s.set('net.ipv4/conf/all/forwarding', '0');
    expect([s.int('net.ipv4.ip_forward'), s.forwarding('vb'), s.int('net.ipv4.conf.all.accept_redirects')]).toEqual([0, false, 1]);
  });

  it('net.ipv6.conf.all.forwarding sets default and every device (addrconf_fixup_forwarding)', () => {
    const s = new Sysctl();
    s.set('net.ipv6.conf.va.forwarding', '0');
    s.set('net.ipv6.conf.all.forwarding', '1');
    expect([s.int('net.ipv6.conf.va.forwarding'), s.int('net.ipv6.conf.default.forwarding')]).toEqual([1, 1]);
    s.set('net.ipv6.conf.default.forwarding', '0');
    expect([s.int('net.ipv6.conf.all.forwarding'), s.int('net.ipv6.conf.va.forwarding')]).toEqual([1, 1]);
  });

  it('a lab that sets only net.ipv4.ip_forward forwards', () => {
    const w = router(['net.ipv4.ip_forward: 1'], ['198.51.100.9 dev eth1 lladdr 02:00:00:00:02:09 permanent']);
    const [r] = replay(w, [['r:eth0', toNine()]]);
    expect(r.final).toMatchObject({ verdict: 'transmitted', dev: 'eth1' });
  });
});

describe('ARP re-validation (neighbour.ts, shared with ND)', () => {
  it('STALE → DELAY → PROBE: ucast_solicit unicast probes retrans_time apart, then mcast_resolicit broadcasts, then FAILED', () => {
    // Observed on Linux 6.18 (veth pair, peer with arp off, the entry set STALE, one ping):
    // three unicast requests 200 ms apart, one broadcast, then FAILED.
    const w = router(
      ['net.ipv4.ip_forward: 1', 'net.ipv4.neigh.eth1.mcast_resolicit: 1', 'net.ipv4.neigh.eth1.retrans_time_ms: 200', 'net.ipv4.neigh.eth1.delay_first_probe_time: 1'],
      ['198.51.100.9 dev eth1 lladdr 02:00:00:00:02:09 stale'],
    );
    const out: Array<[number, string]> = [];
    const dp = new Datapath(w, { verifyChecksums: true, trace: true, allowUnsupported: false, seed: 1 }, () => {});
    dp.tap = (dev, dir, t, frame) => {
      if (dev.name === 'eth1' && dir === 2 && frame[12] === 8 && frame[13] === 6) out.push([Math.round((t - 1000) * 1000), Buffer.from(frame.subarray(0, 6)).toString('hex')]);
    };
    const eth0 = w.byName.get('r')!.byName.get('eth0')!;
    const f = toNine();
    dp.inject(f, f.length, f.length, 1000, 0, eth0, 0);
    dp.inject(f, f.length, f.length, 1003, 0, eth0, 1); // lets the timers run; finds the entry FAILED
    const uni = '020000000209', bcast = 'ffffffffffff';
    // FAILED at 1800 ms; the packet at 3 s finds it FAILED and starts a new resolution: a broadcast.
    expect(out).toEqual([[1000, uni], [1200, uni], [1400, uni], [1600, bcast], [3000, bcast]]);
    expect(w.byName.get('r')!.neigh.lookup(w.byName.get('r')!.byName.get('eth1')!, 0xc6336409)!.state).toBe(NUD_INCOMPLETE);
  });

  it('an ARP request from an unresolved neighbour makes it STALE; the queued packet leaves and the entry goes DELAY', () => {
    // Observed on Linux 6.18: A pings B, B answers no ARP (nft arp output drop) but asks for A itself:
    // A's entry for B goes INCOMPLETE → DELAY and the ping leaves (neigh_update → neigh->output).
    const w = router(['net.ipv4.ip_forward: 1']);
    const recs = replay(w, [
      ['r:eth0', toNine(), 1000],
      ['r:eth1', arp({ op: 1, srcMac: '02:00:00:00:02:09', dstMac: 'ff:ff:ff:ff:ff:ff', spa: '198.51.100.9', tpa: '198.51.100.2' }), 1000.3],
    ]);
    expect(recs[0].final).toMatchObject({ verdict: 'transmitted', dev: 'eth1' });
    const neigh = (recs[0].steps as Array<{ kind: string; state?: string; action?: string }>).filter((x) => x.kind === 'neigh').map((x) => `${x.state}: ${x.action}`);
    expect(neigh).toEqual(['INCOMPLETE: unresolved: packet queued, ARP request sent', 'STALE: resolved: queued packet sent', 'DELAY: STALE → DELAY (will re-validate)']);
    const ns = w.byName.get('r')!;
    expect(ns.neigh.lookup(ns.byName.get('eth1')!, 0xc6336409)!.state).toBe(NUD_DELAY);
  });
});
