/**
 * Table-driven datapath tests on a small router lab. Each expectation is the kernel's behaviour as
 * datapath-facts.md records it (observed on 6.18 in namespaces) or as the cited kernel function does:
 * ip_forward() checks TTL and DF/MTU before the FORWARD hook (IP_INHDR / PKT_TOO_BIG with ICMP);
 * forwarding follows the arriving interface's flag (IP_INADDRERRORS, silent); strict rp_filter drops
 * with IP_RPFILTER; nf_conntrack_checksum makes a bad TCP checksum INVALID in PREROUTING; a full
 * table with only ASSURED entries drops the new flow's packet (__nf_conntrack_alloc, NETFILTER_DROP).
 */
import { describe, expect, it } from 'vitest';
import { fin, lab, replay, tcp } from '../helpers/frames.js';

const ETH0 = '02:00:00:00:01:01', ETH1 = '02:00:00:00:02:01', GW0 = '02:00:00:00:01:02', GW1 = '02:00:00:00:02:02';

function router(extra: { sysctl?: Record<string, string | number>; mtu1?: number; rules?: string } = {}) {
  const sys = { 'net.ipv4.ip_forward': 1, 'net.ipv4.conf.all.forwarding': 1, ...(extra.sysctl ?? {}) };
  return lab(`
namespaces:
  r:
    sysctl: ${JSON.stringify(sys)}
    links:
      - { name: eth0, kind: ether, mac: "${ETH0}" }
      - { name: eth1, kind: ether, mac: "${ETH1}", mtu: ${extra.mtu1 ?? 1500} }
    addresses: [ "192.0.2.2/25 dev eth0", "192.0.2.130/25 dev eth1" ]
    routes: [ "198.51.100.0/24 via 192.0.2.1 dev eth0", "203.0.113.0/24 via 192.0.2.129 dev eth1" ]
    neighbours: [ "192.0.2.1 dev eth0 lladdr ${GW0} permanent", "192.0.2.129 dev eth1 lladdr ${GW1} permanent" ]
    nft: |
      table inet fw {
        chain forward {
          type filter hook forward priority filter; policy accept;
          ${extra.rules ?? 'ct state invalid counter drop'}
        }
      }
`);
}

const syn = (o: Partial<Parameters<typeof tcp>[0]> = {}) =>
  tcp({ srcMac: GW0, dstMac: ETH0, src: '198.51.100.10', dst: '203.0.113.10', sport: 40000, dport: 80, flags: 'S', ...o });

describe('router lab', () => {
  it('forwards and rewrites only the TTL and MACs', () => {
    const [r] = replay(router(), [['r:eth0', syn()]]);
    expect(fin(r)).toMatchObject({ verdict: 'transmitted', dev: 'eth1' });
  });

  it('TTL 1: ICMP time exceeded back to the sender, IP_INHDR, before FORWARD', () => {
    const [r] = replay(router(), [['r:eth0', syn({ ttl: 1 })]]);
    expect(fin(r)).toMatchObject({ verdict: 'dropped', reason: 'IP_INHDR', where: { stage: 'ip_forward' } });
    expect(r.emitted[0]).toMatchObject({ type: 'icmp-error', src: '192.0.2.2', dst: '198.51.100.10', detail: expect.stringContaining('ttl-exceeded'), fate: 'transmitted on r:eth0' });
    expect((r.steps as Array<{ kind: string; hook?: string }>).some((s) => s.kind === 'nf' && s.hook === 'forward')).toBe(false);
  });

  it('DF and larger than the egress MTU: frag needed with the MTU, PKT_TOO_BIG', () => {
    const [r] = replay(router({ mtu1: 1400 }), [['r:eth0', syn({ payload: 1420, df: true })]]);
    expect(fin(r)).toMatchObject({ verdict: 'dropped', reason: 'PKT_TOO_BIG' });
    expect(r.emitted[0]).toMatchObject({ type: 'icmp-error', detail: expect.stringContaining('frag-needed') });
  });

  it('forwarding off on the arriving interface: silent IP_INADDRERRORS', () => {
    const [r] = replay(router({ sysctl: { 'net.ipv4.conf.eth0.forwarding': 0 } }), [['r:eth0', syn()]]);
    expect(fin(r)).toMatchObject({ verdict: 'dropped', reason: 'IP_INADDRERRORS', where: { stage: 'ip_error' } });
    expect(r.emitted).toEqual([]);
  });

  it('strict rp_filter drops a source whose route back is another interface', () => {
    const [r] = replay(router({ sysctl: { 'net.ipv4.conf.all.rp_filter': 1 } }), [['r:eth1', syn({ srcMac: GW1, dstMac: ETH1, src: '198.51.100.10', dst: '192.0.2.1' })]]);
    expect(fin(r)).toMatchObject({ verdict: 'dropped', reason: 'IP_RPFILTER' });
    const loose = replay(router({ sysctl: { 'net.ipv4.conf.all.rp_filter': 2 } }), [['r:eth1', syn({ srcMac: GW1, dstMac: ETH1, src: '198.51.100.10', dst: '192.0.2.1' })]]);
    expect(fin(loose[0])).toMatchObject({ verdict: 'transmitted', dev: 'eth0' });
  });

  it('a bad TCP checksum is ct state invalid in PREROUTING (nf_conntrack_checksum)', () => {
    const f = syn();
    f[14 + 20 + 16] ^= 0xff; // corrupt the TCP checksum
    const [r] = replay(router(), [['r:eth0', f]]);
    expect(r.problems).toContain('TCP_CSUM');
    expect(fin(r)).toMatchObject({ verdict: 'dropped', reason: 'NETFILTER_DROP', where: { table: 'fw', chain: 'forward' } });
  });

  it('conntrack table full of ASSURED entries drops the new flow, established flows carry on', () => {
    const w = router({ sysctl: { 'net.netfilter.nf_conntrack_max': 2 } });
    const frames: Array<[string, Uint8Array]> = [];
    for (const sport of [40001, 40002]) {
      frames.push(['r:eth0', syn({ sport, seq: 100 })]);
      frames.push(['r:eth1', tcp({ srcMac: GW1, dstMac: ETH1, src: '203.0.113.10', dst: '198.51.100.10', sport: 80, dport: sport, flags: 'SA', seq: 500, ack: 101 })]);
      frames.push(['r:eth0', syn({ sport, flags: 'A', seq: 101, ack: 501 })]);
    }
    frames.push(['r:eth0', syn({ sport: 40003 })]);
    frames.push(['r:eth0', syn({ sport: 40001, flags: 'PA', seq: 101, ack: 501, payload: 10 })]);
    const recs = replay(w, frames);
    expect(recs.slice(0, 6).map((r) => fin(r).verdict)).toEqual(Array(6).fill('transmitted'));
    expect(fin(recs[6])).toMatchObject({ verdict: 'dropped', reason: 'NETFILTER_DROP', detail: 'conntrack table full' });
    expect(fin(recs[7])).toMatchObject({ verdict: 'transmitted', dev: 'eth1' });
  });

  it('an IPv4 fragment where conntrack runs is reported as not modelled, not guessed', () => {
    const f = syn();
    f[14 + 6] = 0x20; // MF set, offset 0
    f[14 + 7] = 0;
    // fix the IP header checksum after the change
    let sum = 0;
    f[14 + 10] = f[14 + 11] = 0;
    for (let k = 0; k < 20; k += 2) sum += (f[14 + k] << 8) | f[14 + k + 1];
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    f[14 + 10] = (~sum >> 8) & 255;
    f[14 + 11] = ~sum & 255;
    const [r] = replay(router(), [['r:eth0', f]]);
    expect(fin(r)).toMatchObject({ verdict: 'unmodelled', detail: expect.stringContaining('nf_defrag_ipv4') });
  });
});

describe('lab: numeric arguments of ip route / ip rule', () => {
  const one = (line: string, key: 'routes' | 'rules') => () => lab(`
namespaces:
  r:
    links: [ { name: eth0, kind: ether, mac: "${ETH0}" } ]
    addresses: [ "192.0.2.2/25 dev eth0" ]
    ${key}: [ "${line}" ]
`);

  it.each([
    ['198.51.100.0/24 via 192.0.2.1 dev eth0 metric 1O', 'routes', /metric "1O" is not a whole number/],
    ['2001:db8::/32 dev eth0 metric x', 'routes', /metric "x" is not a whole number/],
    ['from 192.0.2.0/24 lookup 100 pref ten', 'rules', /pref "ten" is not a whole number/],
    ['from all ipproto tcp dport 80-8o lookup 100', 'rules', /dport "8o" is not a whole number from 0 to 65535/],
    ['from all lookup main suppress_prefixlength 200', 'rules', /suppress_prefixlength "200" is not a whole number from 0 to 128/],
  ] as const)('"%s" fails with the line and the bad argument', (line, key, msg) => {
    expect(one(line, key)).toThrow(msg);
    expect(one(line, key)).toThrow(/lab\.yaml.*line \d+/s);
  });

  it('good numbers still load', () => {
    const w = one('from 192.0.2.0/24 dport 80-8080 lookup 100 pref 1000', 'rules')();
    expect(w.byName.get('r')!.fib4.rules.some((r) => r.pref === 1000 && r.dportLo === 80 && r.dportHi === 8080)).toBe(true);
  });
});
