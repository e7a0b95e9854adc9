/**
 * Bridged traffic between two ports of one bridge, with br_netfilter on and off (datapath-facts §1,
 * observed on 6.18: with bridge-nf-call-iptables = 1 a bridged IPv4 frame traverses the inet
 * PREROUTING, FORWARD (iif = oif = the bridge) and POSTROUTING hooks and is not routed (no TTL
 * change); with 0 only bridge-family chains see it). FDB learning decides forward vs flood.
 */
import { describe, expect, it } from 'vitest';
import { arp, fin, lab, replay, udp } from '../helpers/frames.js';

const A = '02:00:00:00:0a:01', B = '02:00:00:00:0b:01', BR = '02:00:00:00:00:fe';

function world(brnf: 0 | 1) {
  return lab(`
namespaces:
  h:
    sysctl: { net.bridge.bridge-nf-call-iptables: ${brnf} }
    links:
      - { name: br0, kind: bridge, mac: "${BR}" }
      - { name: pa, kind: veth, peer: none, master: br0, mac: "02:00:00:00:0a:fe" }
      - { name: pb, kind: veth, peer: none, master: br0, mac: "02:00:00:00:0b:fe" }
    addresses: [ "192.0.2.1/24 dev br0" ]
    nft: |
      table ip filter {
        chain forward { type filter hook forward priority filter; policy drop; }
      }
`);
}

const aToB = () => udp({ srcMac: A, dstMac: B, src: '192.0.2.10', dst: '192.0.2.11', sport: 5000, dport: 53, ttl: 7 });
const bLearn = () => arp({ op: 1, srcMac: B, dstMac: 'ff:ff:ff:ff:ff:ff', spa: '192.0.2.11', tpa: '192.0.2.12' });

describe('bridge with br_netfilter', () => {
  it('on: the IP FORWARD hook sees the bridged frame (iif = oif = br0) and its drop policy applies', () => {
    const recs = replay(world(1), [['h:pb', bLearn()], ['h:pa', aToB()]]);
    expect(fin(recs[1])).toMatchObject({ verdict: 'dropped', reason: 'NETFILTER_DROP', where: { table: 'filter', chain: 'forward', rule: 'policy' } });
  });

  it('off: only bridge chains run; the frame is forwarded to the port the FDB learned, TTL unchanged', () => {
    const recs = replay(world(0), [['h:pb', bLearn()], ['h:pa', aToB()]]);
    expect(fin(recs[1])).toMatchObject({ verdict: 'transmitted', dev: 'pb' });
    expect((recs[1].steps as Array<{ kind: string; action?: string }>).find((s) => s.kind === 'bridge')).toMatchObject({ action: 'forward' });
    expect((recs[1].steps as Array<{ kind: string }>).some((s) => s.kind === 'nf')).toBe(false);
  });

  it('an unknown destination MAC is flooded to every other port', () => {
    const recs = replay(world(0), [['h:pa', aToB()]]);
    expect(fin(recs[0])).toMatchObject({ verdict: 'transmitted', dev: 'pb' });
    expect((recs[0].steps as Array<{ kind: string; action?: string }>).find((s) => s.kind === 'bridge')?.action).toContain('flood');
  });
});
