// Interval sets (IPv4 prefixes and numeric ranges) are answered by one binary search over their merged
// union (compile.ts spanTest); it must agree with testing each element, and a large blocklist set must
// still decide packets in the datapath.
import { describe, expect, it } from 'vitest';
import { spanTest } from '../../src/stack/netfilter/compile.js';
import { fin, lab, replay, tcp } from '../helpers/frames.js';

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** A router between 198.51.100.0/24 + 172.16.0.0/12 (eth0) and 203.0.113.0/24 (eth1) with this ruleset line(s). */
function router(ruleset: string) {
  return lab(`
namespaces:
  r:
    sysctl: { net.ipv4.ip_forward: 1 }
    links:
      - { name: eth0, kind: ether, mac: "02:00:00:00:01:01" }
      - { name: eth1, kind: ether, mac: "02:00:00:00:02:01" }
    addresses: [ "192.0.2.2/25 dev eth0", "192.0.2.130/25 dev eth1" ]
    routes: [ "198.51.100.0/24 via 192.0.2.1 dev eth0", "172.16.0.0/12 via 192.0.2.1 dev eth0", "203.0.113.0/24 via 192.0.2.129 dev eth1" ]
    neighbours: [ "192.0.2.1 dev eth0 lladdr 02:00:00:00:01:02 permanent", "192.0.2.129 dev eth1 lladdr 02:00:00:00:02:02 permanent" ]
    ${ruleset}
`);
}

describe('interval set membership', () => {
  it('agrees with testing every element, overlaps and nesting included', () => {
    const rand = rng(3);
    let inside = 0;
    for (let t = 0; t < 200; t++) {
      const spans: Array<[number, number]> = [];
      const n = 1 + Math.floor(rand() * 60);
      for (let k = 0; k < n; k++) {
        const lo = Math.floor(rand() * 1000);
        spans.push([lo, lo + Math.floor(rand() * (rand() < 0.2 ? 300 : 20)) - (rand() < 0.05 ? 30 : 0)]); // some empty (lo > hi)
      }
      const test = spanTest(spans);
      const got: boolean[] = [], want: boolean[] = [];
      for (let x = -5; x < 1400; x++) {
        got.push(test(x));
        want.push(spans.some(([lo, hi]) => x >= lo && x <= hi));
      }
      expect(got).toEqual(want);
      inside += want.filter(Boolean).length;
      expect(test('10')).toBe(false); // only numbers are members
    }
    expect(inside).toBeGreaterThan(10_000);
  });

  it('a 20,000-prefix blocklist set drops what it lists and forwards the rest', () => {
    const prefixes: string[] = [];
    for (let i = 0; i < 20_000; i++) prefixes.push(`172.${16 + (i >> 12)}.${(i >> 4) & 255}.${(i & 15) * 16}/28`);
    prefixes.push('198.51.100.64/26', '198.51.100.96/27'); // nested: the union is what counts
    const world = router(`nft: |
      table inet fw {
        set blocked { type ipv4_addr; flags interval; elements = { ${prefixes.join(', ')} } }
        chain forward {
          type filter hook forward priority filter; policy accept;
          ip saddr @blocked counter drop
        }
      }`);
    const from = (src: string) => ['r:eth0', tcp({ srcMac: '02:00:00:00:01:02', dstMac: '02:00:00:00:01:01', src, dst: '203.0.113.10', sport: 40000, dport: 80, flags: 'S' })] as const;
    const rs = replay(world, [from('172.16.0.5'), from('172.20.225.250'), from('172.20.226.1'), from('198.51.100.70'), from('198.51.100.63'), from('198.51.100.128')]);
    expect(rs.map((r) => fin(r).verdict)).toEqual(['dropped', 'dropped', 'transmitted', 'dropped', 'transmitted', 'transmitted']);
    expect(fin(rs[0])).toMatchObject({ reason: 'NETFILTER_DROP', where: { chain: 'forward', rule: expect.stringContaining('@blocked') } });
  });
});

describe('map and verdict map lookups', () => {
  // A verdict map keyed by ip daddr . tcp dport (exact concatenations), then one keyed by tcp dport
  // mixing exact ports, overlapping ranges and a wildcard-free catch: the first element in order
  // that matches decides, as a scan would (firstMatch keeps exact keys in a hash map).
  const rand = rng(5);
  const concat: Array<[string, number, string]> = [];
  for (let i = 0; i < 3000; i++) concat.push([`203.0.113.${i % 200}`, 1000 + Math.floor(i / 200) * 7 + (i % 3), i % 4 === 0 ? 'drop' : 'accept']);
  const ports: Array<[number | [number, number], string]> = [];
  for (let i = 0; i < 300; i++) {
    const lo = 20000 + Math.floor(rand() * 2000);
    ports.push([rand() < 0.5 ? lo : [lo, lo + Math.floor(rand() * 60)], rand() < 0.5 ? 'accept' : 'drop']);
  }
  const verdict = (v: string) => ({ [v]: null });
  const nft = {
    nftables: [
      { table: { family: 'inet', name: 'fw', handle: 1 } },
      { chain: { family: 'inet', table: 'fw', name: 'forward', handle: 1, type: 'filter', hook: 'forward', prio: 0, policy: 'accept' } },
      { rule: { family: 'inet', table: 'fw', chain: 'forward', handle: 2, expr: [{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: { range: [1000, 1999] } } },
        { vmap: { key: { concat: [{ payload: { protocol: 'ip', field: 'daddr' } }, { payload: { protocol: 'tcp', field: 'dport' } }] }, data: { set: concat.map(([a, p, v]) => [{ concat: [a, p] }, verdict(v)]) } } }] } },
      { rule: { family: 'inet', table: 'fw', chain: 'forward', handle: 3, expr: [{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: { range: [1000, 1999] } } }, { drop: null }] } },
      { rule: { family: 'inet', table: 'fw', chain: 'forward', handle: 4, expr: [
        { vmap: { key: { payload: { protocol: 'tcp', field: 'dport' } }, data: { set: ports.map(([p, v]) => [typeof p === 'number' ? p : { range: p }, verdict(v)]) } } }] } },
    ],
  };
  const world = () => router(`nft-json: '${JSON.stringify(nft)}'`);
  const syn = (dst: string, dport: number) => ['r:eth0', tcp({ srcMac: '02:00:00:00:01:02', dstMac: '02:00:00:00:01:01', src: '198.51.100.7', dst, sport: 40000 + (dport % 20000), dport, flags: 'S' })] as [string, Uint8Array];

  it('decide as the first matching element in order', () => {
    const probes: Array<[string, number]> = [];
    const want: string[] = [];
    for (let q = 0; q < 400; q++) {
      if (q % 2 === 0) {
        const [a, p] = concat[Math.floor(rand() * concat.length)];
        const dport = rand() < 0.8 ? p : p + 1; // some miss: then rule 3 drops
        probes.push([a, dport]);
        const hit = concat.find(([ca, cp]) => ca === a && cp === dport);
        want.push(hit ? (hit[2] === 'drop' ? 'dropped' : 'transmitted') : 'dropped');
      } else {
        const dport = 19990 + Math.floor(rand() * 2100);
        probes.push(['203.0.113.5', dport]);
        const hit = ports.find(([p]) => (typeof p === 'number' ? p === dport : dport >= p[0] && dport <= p[1]));
        want.push(hit && hit[1] === 'drop' ? 'dropped' : 'transmitted');
      }
    }
    const rs = replay(world(), probes.map(([a, p]) => syn(a, p)));
    expect(rs.map((r) => fin(r).verdict)).toEqual(want);
    expect(want.filter((v) => v === 'dropped').length).toBeGreaterThan(80);
    expect(want.filter((v) => v === 'transmitted').length).toBeGreaterThan(80);
  });
});
