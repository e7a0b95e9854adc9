/**
 * The example labs in captures/labs behave as their descriptions say (expectations as the kernel
 * behaves in shared/oracle/policy-routing and datapath-facts §4 for kube-proxy).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fin, lab, ping, replay, tcp } from '../helpers/frames.js';

const read = (n: string) => readFileSync(resolve(__dirname, `../../captures/labs/${n}.yaml`), 'utf8');

describe('kube-node lab', () => {
  it('spreads ClusterIP connections over both endpoints, DNATs to port 8080, masquerades from outside', () => {
    const frames: Array<[string, Uint8Array]> = [];
    for (let k = 0; k < 40; k++)
      frames.push(['node:eth0', tcp({ srcMac: '02:00:cb:00:71:01', dstMac: '02:00:cb:00:71:02', src: '203.0.113.1', dst: '198.51.100.100', sport: 30000 + k, dport: 80, flags: 'S' })]);
    const recs = replay(lab(read('kube-node')), frames);
    const sockets = recs.map((r) => fin(r).socket);
    expect(recs.every((r) => fin(r).verdict === 'delivered')).toBe(true);
    const a = sockets.filter((s) => s?.includes('web-a')).length, b = sockets.filter((s) => s?.includes('web-b')).length;
    expect(a + b).toBe(40);
    expect(a).toBeGreaterThan(5);
    expect(b).toBeGreaterThan(5);
    const nat = recs[0].nat as Array<{ kind: string; after: { dst: string; dport: number; src: string } }>;
    expect(nat.find((n) => n.kind === 'dnat')!.after.dport).toBe(8080);
    // KUBE-MARK-MASQ (source outside 172.16/16) → MASQUERADE out of cni0 with the node's address there.
    expect(nat.find((n) => n.kind === 'snat')!.after.src).toBe('172.16.1.1');
  });
});

describe('policy-routing lab', () => {
  const w = () => lab(read('policy-routing'));
  it('br1 traffic follows the source rule to table 100 and leaves by eth1, masqueraded', () => {
    const [r] = replay(w(), [['host:vethc2', tcp({ srcMac: '02:42:ac:12:00:02', dstMac: '02:42:ac:12:00:01', src: '172.18.0.2', dst: '198.51.100.230', sport: 42002, dport: 7000, flags: 'S' })]]);
    expect(fin(r)).toMatchObject({ verdict: 'transmitted', dev: 'eth1', out: { src: '203.0.113.2' } });
  });
  it('br0 traffic to the blackhole, unreachable and prohibit prefixes dies in ip_error with the kernel\'s ICMP', () => {
    const c1 = (dst: string, id: number) => ping({ srcMac: '02:42:ac:11:00:02', dstMac: '02:42:ac:11:00:01', src: '172.17.0.2', dst, id });
    const recs = replay(w(), [['host:vethc1', c1('198.51.100.230', 1)], ['host:vethc1', c1('198.51.100.170', 2)], ['host:vethc1', c1('198.51.100.140', 3)]]);
    // (The host must also ARP for c1 to send the ICMP error: no neighbour entry in this lab.)
    const icmp = (r: (typeof recs)[number]) => r.emitted.filter((e) => e.type === 'icmp-error').length;
    expect(recs.map((r) => [fin(r).verdict, fin(r).reason, icmp(r)])).toEqual([
      ['dropped', 'NOT_SPECIFIED', 0],
      ['dropped', 'NOT_SPECIFIED', 1],
      ['dropped', 'NOT_SPECIFIED', 1],
    ]);
    expect(recs[1].emitted.find((e) => e.type === 'icmp-error')!.detail).toContain('host-unreachable');
    expect(recs[2].emitted.find((e) => e.type === 'icmp-error')!.detail).toContain('admin-prohibited');
  });
});
