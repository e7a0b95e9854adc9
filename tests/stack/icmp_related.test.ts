// ICMP errors the host generates carry their cause's conntrack entry (nf_conntrack_attach): RELATED
// at OUTPUT even when that entry is not confirmed yet. With NAT hooks in the namespace, a redirect is
// dropped by nf_nat_icmp_reply_translation (its connection has not finished NAT), and a redirect
// spends its peer's ICMP tokens. Each was observed in namespaces (tests/kernel/labs/kube-proxy-nft.yaml).
import { describe, expect, it } from 'vitest';
import { fin, lab, ping6, replay, tcp, udp } from '../helpers/frames.js';

const E0 = '02:00:00:00:01:01', GW = '02:00:00:00:01:02';
const host = (nft: string) => lab(`
namespaces:
  h:
    sysctl: { net.ipv4.ip_forward: 1 }
    links:
      - { name: eth0, kind: ether, mac: "${E0}" }
    addresses: [ "198.51.100.2/24 dev eth0" ]
    routes: [ "default via 198.51.100.1 dev eth0" ]
    neighbours: [ "198.51.100.1 dev eth0 lladdr ${GW} permanent", "198.51.100.11 dev eth0 lladdr ${GW} permanent" ]
    nft: |
${nft.split('\n').map((l) => '      ' + l).join('\n')}
`);
const from11 = (o: { dst: string; dport: number; udp?: boolean }) =>
  ['h:eth0', o.udp
    ? udp({ srcMac: GW, dstMac: E0, src: '198.51.100.11', dst: o.dst, sport: 40000, dport: o.dport })
    : tcp({ srcMac: GW, dstMac: E0, src: '198.51.100.11', dst: o.dst, sport: 40000, dport: o.dport, flags: 'S' })] as [string, Uint8Array];
type E = { type: string; detail?: string; fate?: string; steps?: Array<{ kind: string; rule?: string; verdict?: string; state?: string; dir?: string }> };

describe('ICMP errors and their cause\'s conntrack entry', () => {
  it('a reject\'s port unreachable passes `ct state invalid drop` in OUTPUT: it is RELATED', () => {
    const rs = replay(host(`table inet f {
  chain in { type filter hook input priority 0; policy accept; udp dport 82 reject }
  chain out { type filter hook output priority 0; policy accept; ct state invalid drop; ct state related counter accept }
}`), [from11({ dst: '198.51.100.2', dport: 82, udp: true })]);
    expect(fin(rs[0]).reason).toBe('NETFILTER_DROP');
    const e = (rs[0].emitted as E[])[0];
    expect(e.fate).toBe('transmitted on h:eth0');
    expect(e.steps!.some((s) => s.kind === 'nf' && s.rule?.includes('ct state related') && s.verdict === 'accept')).toBe(true);
    expect(e.steps!.find((s) => s.kind === 'ct')).toMatchObject({ state: 'RELATED', dir: 'reply' });
  });

  it('so is the reset of `reject with tcp reset` (nf_send_reset), not the stack\'s own reset', () => {
    const rs = replay(host(`table inet f {
  chain in { type filter hook input priority 0; policy accept; tcp dport 81 reject with tcp reset }
  chain out { type filter hook output priority 0; policy accept; ct state invalid drop; ct state related counter accept }
}`), [from11({ dst: '198.51.100.2', dport: 81 }), from11({ dst: '198.51.100.2', dport: 83 })]);
    const reject = (rs[0].emitted as E[])[0], closed = (rs[1].emitted as E[])[0];
    expect(reject).toMatchObject({ type: 'tcp-rst', fate: 'transmitted on h:eth0' });
    expect(reject.steps!.find((s) => s.kind === 'ct')).toMatchObject({ state: 'RELATED', dir: 'reply' });
    // No socket on 83: tcp_v4_send_reset looks its entry up like any packet (confirmed at INPUT).
    expect(closed).toMatchObject({ type: 'tcp-rst', fate: 'transmitted on h:eth0' });
    expect(closed.steps!.find((s) => s.kind === 'ct')).toMatchObject({ state: 'ESTABLISHED', dir: 'reply' });
  });

  it('IPv6 too: a reject\'s ICMPv6 error is RELATED at OUTPUT (observed)', () => {
    const w = lab(`
namespaces:
  h:
    links:
      - { name: eth0, kind: ether, mac: "${E0}" }
    addresses: [ "2001:db8::2/64 dev eth0" ]
    neighbours: [ "2001:db8::11 dev eth0 lladdr ${GW} reachable" ]
    nft: |
      table inet f {
        chain in { type filter hook input priority 0; policy accept; icmpv6 type echo-request reject }
        chain out { type filter hook output priority 0; policy accept; ct state invalid drop; ct state related counter accept }
      }
`);
    const rs = replay(w, [['h:eth0', ping6({ srcMac: GW, dstMac: E0, src: '2001:db8::11', dst: '2001:db8::2', id: 7 })]]);
    const e = (rs[0].emitted as E[]).find((x) => x.type === 'icmp-error')!;
    expect(e.fate).toBe('transmitted on h:eth0');
    expect(e.steps!.find((s) => s.kind === 'ct')).toMatchObject({ state: 'RELATED', dir: 'reply' });
  });

  it('with NAT hooks, the redirect of a hairpin dies in the NAT hook; without, it is sent', () => {
    // Conntrack on in both (a ct rule: an empty nat chain alone does not load it, nf_ct_netns_get).
    const fwd = 'chain fw { type filter hook forward priority 0; policy accept; ct state established accept; }';
    const withNat = replay(host(`table ip f {\n  ${fwd}\n  chain post { type nat hook postrouting priority srcnat; policy accept; }\n}`), [from11({ dst: '203.0.113.9', dport: 80 })]);
    const plain = replay(host(`table ip f {\n  ${fwd}\n}`), [from11({ dst: '203.0.113.9', dport: 80 })]);
    expect(fin(withNat[0]).verdict).toBe('transmitted');
    expect((withNat[0].emitted as E[])[0]).toMatchObject({ detail: expect.stringContaining('redirect'), fate: expect.stringContaining('dropped NETFILTER_DROP') });
    expect((plain[0].emitted as E[])[0]).toMatchObject({ detail: expect.stringContaining('redirect'), fate: 'transmitted on h:eth0' });
  });

  it('the retransmitted SYN\'s redirect: sent once NAT finished untranslated, never with masquerade (observed)', () => {
    const fwd = 'chain fw { type filter hook forward priority 0; policy accept; ct state established accept; }';
    const syn = from11({ dst: '203.0.113.9', dport: 80 });
    const twice: Array<[string, Uint8Array, number]> = [[syn[0], syn[1], 1000], [syn[0], syn[1], 1001]];
    const fates = (nat: string) => replay(host(`table ip f {\n  ${fwd}\n  chain post { type nat hook postrouting priority srcnat; policy accept; ${nat} }\n}`), twice)
      .map((r) => ((r.emitted as E[]).find((e) => e.detail?.includes('redirect'))?.fate ?? '').split(' (')[0]);
    expect(fates('')).toEqual(['dropped NETFILTER_DROP', 'transmitted on h:eth0']);
    expect(fates('oifname "eth0" masquerade')).toEqual(['dropped NETFILTER_DROP', 'dropped NETFILTER_DROP']);
  });

  it('a redirect spends the peer\'s ICMP tokens: the reject right after it sends nothing', () => {
    const rs = replay(host(`table ip f {
  chain fw { type filter hook forward priority 0; policy accept; tcp dport 81 reject }
}`), [from11({ dst: '203.0.113.9', dport: 81 })]);
    const e = rs[0].emitted as E[];
    expect(e.map((x) => x.detail)).toEqual([expect.stringContaining('redirect')]); // no port unreachable
    expect((rs[0].steps as Array<{ kind: string; what?: string }>).some((s) => s.kind === 'local' && s.what?.includes('suppressed by icmp_ratelimit'))).toBe(true);
  });
});
