// Packets the stack generates (ICMP errors, RSTs) wait in a neighbour queue like any other
// (__neigh_event_send); each must get its own fate and steps on its own `emitted` entry, even when its
// cause generated other packets (ARP probes) meanwhile, and its cause's record must wait for it.
import { describe, expect, it } from 'vitest';
import { arp, fin, lab, replay, tcp } from '../helpers/frames.js';

const R0 = '02:00:00:00:01:01', R1 = '02:00:00:00:02:01', GW = '02:00:00:00:01:02', POD = '02:00:00:00:02:07';

const world = () => lab(`
namespaces:
  r:
    sysctl: { net.ipv4.ip_forward: 1 }
    links:
      - { name: eth0, kind: ether, mac: "${R0}" }
      - { name: eth1, kind: ether, mac: "${R1}" }
    addresses: [ "192.0.2.2/24 dev eth0", "172.16.0.1/24 dev eth1" ]
    neighbours: [ "192.0.2.1 dev eth0 lladdr ${GW} permanent" ]
    nft: |
      table ip fw {
        chain forward {
          type filter hook forward priority filter; policy accept;
          tcp dport 81 reject
        }
      }
`);
// From a host on eth1 that the router has no neighbour entry for: the reject's ICMP error must
// resolve 172.16.0.7 first.
const syn = (sport: number) => ['r:eth1', tcp({ srcMac: POD, dstMac: R1, src: '172.16.0.7', dst: '192.0.2.50', sport, dport: 81, flags: 'S' })] as [string, Uint8Array];

describe('generated packets in a neighbour queue', () => {
  it('each gets its own fate when the resolution fails, after its cause sent ARP probes', () => {
    const rs = replay(world(), [syn(40000), syn(40001)]);
    expect(rs.map((r) => fin(r).reason)).toEqual(['NETFILTER_DROP', 'NETFILTER_DROP']);
    const first = rs[0].emitted as Array<{ type: string; fate?: string }>;
    expect(first[0].type).toBe('icmp-error');
    expect(first.slice(1).map((e) => e.type)).toEqual(['arp-request', 'arp-request', 'arp-request']); // the probes came after it
    expect(first[0].fate).toMatch(/^dropped NEIGH_FAILED/);
    expect((rs[1].emitted as Array<{ fate?: string }>)[0].fate).toMatch(/^dropped NEIGH_FAILED/);
  });

  it('when the ARP reply comes, the queued ICMP error leaves with its steps on its own entry', () => {
    const reply = ['r:eth1', arp({ op: 2, srcMac: POD, dstMac: R1, spa: '172.16.0.7', tpa: '172.16.0.1', tha: R1 })] as [string, Uint8Array];
    const rs = replay(world(), [syn(40000), reply]);
    const e = (rs[0].emitted as Array<{ type: string; fate?: string; steps?: Array<{ kind: string; action?: string; dev?: string }> }>)[0];
    expect(e.type).toBe('icmp-error');
    expect(e.fate).toBe('transmitted on r:eth1');
    expect(e.steps!.some((s) => s.kind === 'neigh' && s.action === 'resolved: queued packet sent')).toBe(true);
    expect(e.steps!.at(-1)).toMatchObject({ kind: 'tx', dev: 'eth1' });
    // The cause's own steps end at its drop: nothing of the ICMP error's path leaks into them.
    expect((rs[0].steps as Array<{ kind: string }>).at(-1)!.kind).toBe('drop');
    expect(fin(rs[1]).verdict).toBe('consumed');
  });
});
