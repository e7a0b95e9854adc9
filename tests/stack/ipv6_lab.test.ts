/**
 * Table-driven IPv6 datapath tests on small labs. Each expectation is the kernel's behaviour as the
 * IPv6 oracle scenarios recorded it (tests/golden/ipv6, kernel 6.18) or as the cited kernel function
 * does: ip6_rcv_core's checks, fib6 lookups (longest prefix, metric, rules), ip6_forward's checks
 * before FORWARD (all.forwarding, hop limit, link-local source, MTU), neighbour discovery (NS from the
 * link-local address, 3 multicast NS, NOT_SPECIFIED + address unreachable), local delivery (sockets,
 * RST, port unreachable, echo, multicast membership), ip6/inet netfilter (address selectors, ct,
 * reject, fib), NAT66 masquerade and br_netfilter for IPv6.
 */
import { describe, expect, it } from 'vitest';
import { fin, lab, replay } from '../helpers/frames.js';
import { writeEthernet } from '../../src/stack/wire/ethernet.js';
import { writeIpv6 } from '../../src/stack/wire/ipv6.js';
import { writeTcp, tcpFillChecksum6 } from '../../src/stack/wire/tcp.js';
import { writeUdp, udpFillChecksum6 } from '../../src/stack/wire/udp.js';
import { writeIcmpv6Echo, writeNdNa, writeNdNs, ND_NA_SOLICITED, ND_NA_OVERRIDE } from '../../src/stack/wire/icmpv6.js';
import { parseMac } from '../../src/stack/inet.js';
import { parseIpv6Addr, solicitedNode6, Fib6, Fib6Route, Flowi6, Fib6Result, route6Text, parsePrefix6 } from '../../src/stack/route6.js';
import { RTN_UNICAST } from '../../src/stack/route.js';
import type { Emitted, Step } from '../../src/stack/record.js';

const R0 = '02:00:00:00:01:01', R1 = '02:00:00:00:02:01', A = '02:00:00:00:01:02', B = '02:00:00:00:02:02';
const RLL0 = 'fe80::ff:fe00:101', RLL1 = 'fe80::ff:fe00:201';

interface Ip6Opts {
  srcMac?: string;
  dstMac: string;
  src: string;
  dst: string;
  hlim?: number;
  /** Extension header bytes placed before the transport header (first byte: its next header is filled in). */
  ext?: number[];
  extType?: number;
}

function mac(s: string) {
  const m = parseMac(s);
  if (!m) throw new Error(`bad MAC ${s}`);
  return m;
}

function addr(s: string): Uint8Array {
  const a = parseIpv6Addr(s);
  if (!a) throw new Error(`bad address ${s}`);
  return a;
}

function ip6Frame(o: Ip6Opts, nh: number, l4Len: number, fill: (b: Uint8Array, off: number) => void): Uint8Array {
  const ext = o.ext ?? [];
  const b = new Uint8Array(14 + 40 + ext.length + l4Len);
  const d = mac(o.dstMac), s = mac(o.srcMac ?? A);
  writeEthernet(b, 0, d.hi, d.lo, s.hi, s.lo, 0x86dd);
  writeIpv6(b, 14, 0, 0, ext.length + l4Len, ext.length ? o.extType ?? 0 : nh, o.hlim ?? 64, addr(o.src), 0, addr(o.dst), 0);
  if (ext.length) {
    b.set(ext, 54);
    b[54] = nh;
  }
  fill(b, 54 + ext.length);
  return b;
}

function tcp6(o: Ip6Opts & { sport: number; dport: number; flags: string; seq?: number; ack?: number; payload?: number }): Uint8Array {
  const f = (o.flags.includes('S') ? 2 : 0) | (o.flags.includes('A') ? 16 : 0) | (o.flags.includes('F') ? 1 : 0) | (o.flags.includes('R') ? 4 : 0) | (o.flags.includes('P') ? 8 : 0);
  const pl = o.payload ?? 0;
  return ip6Frame(o, 6, 20 + pl, (b, off) => {
    writeTcp(b, off, o.sport, o.dport, o.seq ?? 1000, o.ack ?? 0, f, 64800, 20);
    tcpFillChecksum6(b, off, 20 + pl, b, 22, 38);
  });
}

function udp6(o: Ip6Opts & { sport: number; dport: number; payload?: number }): Uint8Array {
  const pl = o.payload ?? 8;
  return ip6Frame(o, 17, 8 + pl, (b, off) => {
    writeUdp(b, off, o.sport, o.dport, 8 + pl);
    udpFillChecksum6(b, off, 8 + pl, b, 22, 38);
  });
}

function echo6(o: Ip6Opts & { id?: number; seq?: number; payload?: number; type?: number }): Uint8Array {
  const pl = o.payload ?? 56;
  return ip6Frame(o, 58, 8 + pl, (b, off) => writeIcmpv6Echo(b, off, o.type ?? 128, o.id ?? 7, o.seq ?? 1, pl, b, 22, 38));
}

function ns6(o: Omit<Ip6Opts, 'dst' | 'dstMac'> & { target: string; dst?: string; dstMac?: string; lladdr?: string }): Uint8Array {
  const t = addr(o.target);
  const sn = solicitedNode6(t, 0, new Uint8Array(16));
  const dstText = o.dst ?? [0, 2, 4, 6, 8, 10, 12, 14].map((k) => ((sn[k] << 8) | sn[k + 1]).toString(16)).join(':');
  const dstMac = o.dstMac ?? `33:33:ff:${[13, 14, 15].map((k) => t[k].toString(16).padStart(2, '0')).join(':')}`;
  const ll = o.lladdr === undefined ? mac(o.srcMac ?? A) : o.lladdr === '' ? null : mac(o.lladdr);
  return ip6Frame({ ...o, dst: dstText, dstMac, hlim: o.hlim ?? 255 }, 58, ll ? 32 : 24, (b, off) => writeNdNs(b, off, t, 0, ll ? ll.hi : -1, ll ? ll.lo : 0, b, 22, 38));
}

function na6(o: Ip6Opts & { target: string; flags?: number; lladdr?: string }): Uint8Array {
  const ll = o.lladdr ? mac(o.lladdr) : null;
  return ip6Frame({ ...o, hlim: o.hlim ?? 255 }, 58, ll ? 32 : 24, (b, off) => writeNdNa(b, off, o.flags ?? ND_NA_SOLICITED | ND_NA_OVERRIDE, addr(o.target), 0, ll ? ll.hi : -1, ll ? ll.lo : 0, b, 22, 38));
}

function router(extra: { sysctl?: Record<string, string | number>; nft?: string; neigh?: 'both' | 'a' | 'none'; routes?: string[]; rules?: string[]; sockets?: string[] } = {}) {
  const sys = { 'net.ipv6.conf.all.forwarding': 1, ...(extra.sysctl ?? {}) };
  const na = `2001:db8:1::2 dev eth0 lladdr ${A} reachable`, nb = `2001:db8:2::2 dev eth1 lladdr ${B} reachable`;
  const neigh = extra.neigh === 'none' ? [] : extra.neigh === 'a' ? [na] : [na, nb];
  return lab(`
namespaces:
  r:
    sysctl: ${JSON.stringify(sys)}
    links:
      - { name: eth0, kind: ether, mac: "${R0}" }
      - { name: eth1, kind: ether, mac: "${R1}", mtu: 1400 }
    addresses: [ "2001:db8:1::1/64 dev eth0", "2001:db8:2::1/64 dev eth1" ]
    routes: ${JSON.stringify(extra.routes ?? ['2001:db8:3::/64 via 2001:db8:2::2 dev eth1'])}
    rules: ${JSON.stringify(extra.rules ?? [])}
    neighbours: ${JSON.stringify(neigh)}
    sockets: ${JSON.stringify(extra.sockets ?? [])}
${extra.nft ? `    nft: |\n${extra.nft.split('\n').map((l) => '      ' + l).join('\n')}` : ''}
`);
}

const fromA = (o: Partial<Ip6Opts> = {}) => ({ srcMac: A, dstMac: R0, src: '2001:db8:1::2', dst: '2001:db8:2::2', ...o });
const steps = (r: { steps: unknown[] }) => r.steps as Step[];
const emitted = (r: { emitted: unknown[] }) => r.emitted as Emitted[];

describe('fib6', () => {
  it('longest prefix, then the lowest metric; rules in priority order, a table miss goes on', () => {
    const w = router({
      routes: ['2001:db8:3::/64 via 2001:db8:2::2 dev eth1 metric 2048', '2001:db8:3::/64 via 2001:db8:1::2 dev eth0 metric 100', '2001:db8:3::/48 dev eth1', 'default via 2001:db8:2::2 dev eth1 table 100'],
      rules: ['from 2001:db8:1::/64 to 2001:db8:9::/48 lookup 100 pref 100'],
    });
    const ns = w.byName.get('r')!;
    const fl = new Flowi6(), res = new Fib6Result();
    const look = (dst: string, src = '2001:db8:1::2') => {
      fl.daddr.set(addr(dst));
      fl.saddr.set(addr(src));
      ns.fib6.lookup(fl, res);
      return res.err ?? res.route!.text;
    };
    expect(look('2001:db8:3::5')).toBe('2001:db8:3::/64 via 2001:db8:1::2 dev eth0 metric 100 pref medium');
    expect(look('2001:db8:3:1::5')).toBe('2001:db8:3::/48 dev eth1 metric 1024 pref medium');
    expect(look('2001:db8:9::5')).toBe('default via 2001:db8:2::2 dev eth1 table 100 metric 1024 pref medium');
    expect(look('2001:db8:9::5', '2001:db8:5::1')).toBe('ENETUNREACH');
    expect(look('2001:db8:1::77')).toBe('2001:db8:1::/64 dev eth0 proto kernel metric 256 pref medium');
    expect(look('2001:db8:1::1')).toBe('local 2001:db8:1::1 dev eth0 table local proto kernel metric 0 pref medium');
  });

  it('a link-local destination only matches routes through the flow\'s interface', () => {
    const f = new Fib6();
    for (const dev of ['eth0', 'eth1']) {
      const r = new Fib6Route();
      r.dst = parsePrefix6('fe80::/64')!.addr;
      r.len = 64;
      r.metric = 256;
      r.type = RTN_UNICAST;
      r.nh.push({ gw: null, dev: { name: dev, up: true } as never, weight: 1 });
      r.text = route6Text(r);
      f.add(r);
    }
    f.defaultRules();
    const fl = new Flowi6(), res = new Fib6Result();
    fl.daddr.set(addr('fe80::1'));
    fl.oif = f.table(254).routes[1].nh[0].dev;
    fl.strict = true;
    f.lookup(fl, res);
    expect(res.route?.nh[0].dev?.name).toBe('eth1');
  });

  it('kernel routes of a lab: connected /64 metric 256, fe80::/64 per device, local and multicast in table local, anycast when forwarding', () => {
    const ns = router().byName.get('r')!;
    const texts = ns.fib6.all.map((r) => r.text);
    expect(texts).toContain('2001:db8:1::/64 dev eth0 proto kernel metric 256 pref medium');
    expect(texts).toContain('fe80::/64 dev eth1 proto kernel metric 256 pref medium');
    expect(texts).toContain(`local ${RLL0} dev eth0 table local proto kernel metric 0 pref medium`);
    expect(texts).toContain('anycast 2001:db8:2:: dev eth1 table local proto kernel metric 0 pref medium');
    expect(texts).toContain('multicast ff00::/8 dev eth0 table local proto kernel metric 256 pref medium');
    expect(texts).toContain('local ::1 dev lo table local proto kernel metric 0 pref medium');
  });
});

describe('IPv6 forwarding (ip6_forward)', () => {
  it('forwards with the hop limit one lower and FORWARD after the decrement', () => {
    const [r] = replay(router(), [['r:eth0', echo6(fromA())]]);
    expect(fin(r)).toMatchObject({ verdict: 'transmitted', dev: 'eth1', out: { src: '2001:db8:1::2', dst: '2001:db8:2::2', icmp_id: 7 } });
    expect(steps(r).find((s) => s.kind === 'forward')).toMatchObject({ ttl: 63 });
  });

  it('hop limit 1: time exceeded from the ingress interface\'s address, IP_INHDR, no FORWARD hook', () => {
    const w = router({ nft: 'table ip6 t {\n  chain f { type filter hook forward priority 0; policy accept; }\n}' });
    const [r] = replay(w, [['r:eth0', echo6(fromA({ hlim: 1 }))]]);
    expect(fin(r)).toMatchObject({ verdict: 'dropped', reason: 'IP_INHDR', where: { stage: 'ip6_forward' } });
    expect(emitted(r)[0]).toMatchObject({ type: 'icmp-error', src: '2001:db8:1::1', dst: '2001:db8:1::2', detail: expect.stringContaining('hop-limit-exceeded'), fate: 'transmitted on r:eth0' });
    expect(steps(r).some((s) => s.kind === 'nf' && s.hook === 'forward')).toBe(false);
  });

  it('larger than the egress MTU: packet too big with the MTU, PKT_TOO_BIG (routers never fragment)', () => {
    const [big] = replay(router(), [['r:eth0', echo6({ ...fromA(), payload: 1452 })]]);
    expect(fin(big)).toMatchObject({ verdict: 'dropped', reason: 'PKT_TOO_BIG' });
    expect(emitted(big)[0]).toMatchObject({ type: 'icmp-error', src: '2001:db8:1::1', detail: expect.stringContaining('packet-too-big mtu 1400') });
  });

  it('net.ipv6.conf.all.forwarding 0: IP_INADDRERRORS, silent, even with the interface\'s forwarding on', () => {
    const w = router({ sysctl: { 'net.ipv6.conf.all.forwarding': 0, 'net.ipv6.conf.eth0.forwarding': 1 } });
    const [r] = replay(w, [['r:eth0', echo6(fromA())]]);
    expect(fin(r)).toMatchObject({ verdict: 'dropped', reason: 'IP_INADDRERRORS', where: { stage: 'ip6_forward' } });
    expect(r.emitted).toEqual([]);
  });

  it('a link-local source cannot be forwarded: beyond scope, IP_INADDRERRORS', () => {
    const [r] = replay(router(), [['r:eth0', echo6(fromA({ src: 'fe80::2' }))]]);
    expect(fin(r)).toMatchObject({ verdict: 'dropped', reason: 'IP_INADDRERRORS' });
    expect(emitted(r)[0]).toMatchObject({ type: 'icmp-error', detail: expect.stringContaining('beyond-scope') });
  });

  it('no route: ICMPv6 no route, IP_INNOROUTES; unreachable/prohibit/blackhole routes as the kernel\'s dst.input', () => {
    const w = router({ routes: ['unreachable 2001:db8:5::/64', 'prohibit 2001:db8:6::/64', 'blackhole 2001:db8:7::/64'] });
    const recs = replay(w, ['2001:db8:9::1', '2001:db8:5::1', '2001:db8:6::1', '2001:db8:7::1'].map((dst) => ['r:eth0', echo6(fromA({ dst }))] as [string, Uint8Array]));
    expect(recs.map((r) => fin(r).reason)).toEqual(['IP_INNOROUTES', 'IP_INNOROUTES', 'IP_INNOROUTES', 'NOT_SPECIFIED']);
    expect(recs.map((r) => emitted(r).map((e) => e.detail?.split(' (')[0]))).toEqual([['no-route'], ['no-route'], ['admin-prohibited'], []]);
  });
});

describe('IPv6 neighbour discovery', () => {
  it('the first packet waits: NS from the link-local address to the solicited-node group, the NA releases it', () => {
    const w = router({ neigh: 'a' });
    const recs = replay(w, [
      ['r:eth0', echo6(fromA()), 10],
      ['r:eth1', na6({ srcMac: B, dstMac: R1, src: '2001:db8:2::2', dst: RLL1, target: '2001:db8:2::2', lladdr: B }), 10.001],
    ]);
    expect(emitted(recs[0])[0]).toMatchObject({ type: 'ndisc-ns', src: RLL1, dst: 'ff02::1:ff00:2', fate: 'transmitted on r:eth1' });
    expect(fin(recs[0])).toMatchObject({ verdict: 'transmitted', dev: 'eth1' });
    expect(fin(recs[1])).toMatchObject({ verdict: 'consumed' });
  });

  it('no answer: 3 multicast NS a second apart, then NOT_SPECIFIED at neigh_invalidate with an address unreachable', () => {
    const [r] = replay(router({ neigh: 'a' }), [['r:eth0', echo6(fromA({ dst: '2001:db8:2::99' })), 10]]);
    expect(fin(r)).toMatchObject({ verdict: 'dropped', reason: 'NOT_SPECIFIED', where: { stage: 'neigh_invalidate', dev: 'eth1' } });
    expect(emitted(r).map((e) => e.type)).toEqual(['ndisc-ns', 'ndisc-ns', 'ndisc-ns', 'icmp-error']);
    expect(emitted(r)[3]).toMatchObject({ src: '2001:db8:1::1', dst: '2001:db8:1::2', detail: expect.stringContaining('address-unreachable') });
  });

  it('an NS for our address: NA with router/solicited/override and the target link-layer option; the sender STALE', () => {
    const w = router({ neigh: 'none' });
    const [r] = replay(w, [['r:eth0', ns6({ srcMac: A, src: '2001:db8:1::2', target: '2001:db8:1::1' })]]);
    expect(fin(r)).toMatchObject({ verdict: 'consumed' });
    expect(steps(r).find((s) => s.kind === 'neigh')).toMatchObject({ state: 'STALE', lladdr: A });
    expect(emitted(r)[0]).toMatchObject({ type: 'ndisc-na', src: '2001:db8:1::1', dst: '2001:db8:1::2', detail: expect.stringContaining('[RSO]'), fate: 'transmitted on r:eth0' });
    // The NA goes out through the neighbour: STALE → DELAY (then PROBE 5 s later).
    expect((emitted(r)[0].steps ?? []).some((s) => s.kind === 'neigh' && s.state === 'DELAY')).toBe(true);
  });

  it('NS checks: not ours IPV6_NDISC_NS_OTHERHOST; hop limit ≠ 255 IPV6_NDISC_HOP_LIMIT; NA for an unknown target NOT_SPECIFIED', () => {
    const recs = replay(router({ neigh: 'none' }), [
      ['r:eth0', ns6({ src: '2001:db8:1::2', dst: '2001:db8:1::1', dstMac: R0, target: '2001:db8:1::77' })],
      ['r:eth0', ns6({ src: '2001:db8:1::2', target: '2001:db8:1::1', hlim: 64 })],
      ['r:eth0', na6({ srcMac: A, dstMac: R0, src: '2001:db8:1::2', dst: '2001:db8:1::1', target: '2001:db8:1::2', lladdr: A })],
    ]);
    expect(recs.map((r) => fin(r).reason)).toEqual(['IPV6_NDISC_NS_OTHERHOST', 'IPV6_NDISC_HOP_LIMIT', 'NOT_SPECIFIED']);
  });

  it('DELAY then PROBE: a unicast NS delay_first_probe_time after the entry was used', () => {
    const w = router({ neigh: 'none' });
    const recs = replay(w, [
      ['r:eth0', ns6({ src: '2001:db8:1::2', target: '2001:db8:1::1' }), 10],
      ['r:eth0', na6({ srcMac: A, dstMac: R0, src: '2001:db8:1::2', dst: RLL0, target: '2001:db8:1::2', flags: ND_NA_SOLICITED }), 15.1],
    ]);
    expect(fin(recs[1])).toMatchObject({ verdict: 'consumed', detail: expect.stringContaining('2001:db8:1::2') });
    expect(steps(recs[1]).find((s) => s.kind === 'neigh')).toMatchObject({ state: 'REACHABLE', action: expect.stringContaining('PROBE → REACHABLE') });
  });
});

describe('IPv6 local delivery', () => {
  const host = () => router({ sysctl: { 'net.ipv6.conf.all.forwarding': 0 }, sockets: ['tcp [::]:80 LISTEN nginx', 'udp [::]:5353 UNCONN mdns', 'tcp 0.0.0.0:22 LISTEN sshd'] });

  it('TCP to a [::]:80 listener is delivered; a closed port gets a RST; an IPv4-only listener does not take IPv6', () => {
    const recs = replay(host(), [
      ['r:eth0', tcp6({ ...fromA({ dst: '2001:db8:1::1' }), sport: 40000, dport: 80, flags: 'S' })],
      ['r:eth0', tcp6({ ...fromA({ dst: '2001:db8:2::1' }), sport: 40001, dport: 22, flags: 'S' })],
    ]);
    expect(fin(recs[0])).toMatchObject({ verdict: 'delivered', socket: 'tcp [::]:80 LISTEN nginx' });
    expect(fin(recs[1])).toMatchObject({ verdict: 'dropped', reason: 'NO_SOCKET', where: { stage: 'tcp_v6_rcv' } });
    expect(emitted(recs[1])[0]).toMatchObject({ type: 'tcp-rst', src: '[2001:db8:2::1]:22', dst: '[2001:db8:1::2]:40001', fate: 'transmitted on r:eth0' });
  });

  it('UDP: bound socket delivered, closed port: port unreachable and NO_SOCKET', () => {
    const recs = replay(host(), [
      ['r:eth0', udp6({ ...fromA({ dst: '2001:db8:1::1' }), sport: 40000, dport: 5353 })],
      ['r:eth0', udp6({ ...fromA({ dst: '2001:db8:1::1' }), sport: 40000, dport: 53 })],
    ]);
    expect(fin(recs[0])).toMatchObject({ verdict: 'delivered' });
    expect(fin(recs[1])).toMatchObject({ verdict: 'dropped', reason: 'NO_SOCKET' });
    expect(emitted(recs[1])[0]).toMatchObject({ type: 'icmp-error', src: '2001:db8:1::1', detail: expect.stringContaining('port-unreachable') });
  });

  it('echo to a global and to a link-local address is answered; to a group we are not in: ip6_mc_input', () => {
    const recs = replay(host(), [
      ['r:eth0', echo6(fromA({ dst: '2001:db8:1::1' }))],
      ['r:eth0', echo6(fromA({ src: 'fe80::ff:fe00:102', dst: RLL0 }))],
      ['r:eth0', echo6(fromA({ dst: 'ff02::1234', dstMac: '33:33:00:00:12:34' }))],
      ['r:eth0', echo6(fromA({ dst: 'ff02::1', dstMac: '33:33:00:00:00:01' }))],
    ]);
    expect(fin(recs[0])).toMatchObject({ verdict: 'consumed' });
    expect(emitted(recs[0])[0]).toMatchObject({ type: 'icmp-echo-reply', src: '2001:db8:1::1', dst: '2001:db8:1::2' });
    expect(emitted(recs[1])[0]).toMatchObject({ type: 'icmp-echo-reply', src: RLL0 });
    expect(fin(recs[2])).toMatchObject({ verdict: 'dropped', reason: 'NOT_SPECIFIED', where: { stage: 'ip6_mc_input' } });
    expect(fin(recs[3])).toMatchObject({ verdict: 'consumed' });
    expect(emitted(recs[3])[0]).toMatchObject({ type: 'icmp-echo-reply', src: '2001:db8:1::1' });
  });

  it('ip6_rcv_core: multicast source and loopback destination IP_INHDR; another host\'s MAC OTHERHOST; disable_ipv6 IPV6DISABLED', () => {
    const recs = replay(host(), [
      ['r:eth0', echo6(fromA({ src: 'ff02::1', dst: '2001:db8:1::1' }))],
      ['r:eth0', echo6(fromA({ dst: '::1' }))],
      ['r:eth0', echo6(fromA({ dst: '2001:db8:1::1', dstMac: '02:00:00:00:09:09' }))],
    ]);
    expect(recs.map((r) => fin(r).reason)).toEqual(['IP_INHDR', 'IP_INHDR', 'OTHERHOST']);
    const off = router({ sysctl: { 'net.ipv6.conf.eth0.disable_ipv6': 1 } });
    expect(fin(replay(off, [['r:eth0', echo6(fromA())]])[0]).reason).toBe('IPV6DISABLED');
  });

  it('hop-by-hop options: an unknown option with action 10 gets a parameter problem, UNHANDLED_PROTO; 00 is skipped', () => {
    const hbh = (opt: number) => [0, 0, opt, 1, 0, 1, 1, 0]; // the option, then PadN
    const recs = replay(host(), [
      ['r:eth0', echo6({ ...fromA({ dst: '2001:db8:1::1' }), ext: hbh(0x9e) })],
      ['r:eth0', echo6({ ...fromA({ dst: '2001:db8:1::1' }), ext: hbh(0x1e) })],
    ]);
    expect(fin(recs[0])).toMatchObject({ verdict: 'dropped', reason: 'UNHANDLED_PROTO' });
    expect(emitted(recs[0])[0]).toMatchObject({ type: 'icmp-error', detail: expect.stringContaining('unknown option') });
    expect(fin(recs[1])).toMatchObject({ verdict: 'consumed' });
  });
});

describe('IPv6 netfilter', () => {
  const fw = (rules: string, extra = '') => router({
    nft: `table inet fw {\n  chain forward {\n    type filter hook forward priority filter; policy accept;\n${rules.split('\n').map((l) => '    ' + l).join('\n')}\n  }\n${extra}}`,
  });

  it('ip6 saddr/daddr: prefixes, sets and ranges compare 16 bytes; ip saddr never matches IPv6', () => {
    const w = fw('ip saddr 0.0.0.0/0 counter drop\nip6 saddr 2001:db8:1::/64 ip6 daddr { 2001:db8:2::3, 2001:db8:2::4 } counter drop\nip6 daddr 2001:db8:2::10-2001:db8:2::1f counter drop\nip6 daddr != 2001:db8:2::/48 counter drop');
    const recs = replay(w, ['2001:db8:2::2', '2001:db8:2::4', '2001:db8:2::1e', '2001:db8:2::20', '2001:db8:3::1'].map((dst) => ['r:eth0', echo6(fromA({ dst }))] as [string, Uint8Array]));
    // ::20 passes every rule and then waits for a neighbour that never answers.
    expect(recs.map((r) => fin(r).reason ?? fin(r).verdict)).toEqual(['transmitted', 'NETFILTER_DROP', 'NETFILTER_DROP', 'NOT_SPECIFIED', 'NETFILTER_DROP']);
    expect(recs.map((r) => (fin(r).where as { handle?: number } | undefined)?.handle ?? null)).toEqual([null, 2, 3, null, 4]);
  });

  it('ct state: the reply of a forwarded flow is established; ND is untracked', () => {
    const w = fw('ct state established accept\niifname "eth0" accept\ncounter drop', '');
    const recs = replay(w, [
      ['r:eth0', tcp6({ ...fromA(), sport: 40000, dport: 80, flags: 'S', seq: 100 })],
      ['r:eth1', tcp6({ srcMac: B, dstMac: R1, src: '2001:db8:2::2', dst: '2001:db8:1::2', sport: 80, dport: 40000, flags: 'SA', seq: 500, ack: 101 })],
      ['r:eth1', tcp6({ srcMac: B, dstMac: R1, src: '2001:db8:2::2', dst: '2001:db8:1::2', sport: 81, dport: 40000, flags: 'S', seq: 500 })],
      ['r:eth0', ns6({ src: '2001:db8:1::2', target: '2001:db8:1::1' })],
    ]);
    expect(recs.slice(0, 3).map((r) => fin(r).verdict)).toEqual(['transmitted', 'transmitted', 'dropped']);
    expect(recs[1].ct).toMatchObject({ state: 'ESTABLISHED', dir: 'reply' });
    expect(steps(recs[3]).find((s) => s.kind === 'ct')).toMatchObject({ state: 'UNTRACKED' });
  });

  it('reject: ICMPv6 port unreachable by default, admin-prohibited for icmpx, RST for tcp reset', () => {
    const w = fw('udp dport 53 reject\nudp dport 54 reject with icmpx type admin-prohibited\ntcp dport 23 reject with tcp reset');
    const recs = replay(w, [
      ['r:eth0', udp6({ ...fromA(), sport: 1000, dport: 53 })],
      ['r:eth0', udp6({ ...fromA(), sport: 1000, dport: 54 })],
      ['r:eth0', tcp6({ ...fromA(), sport: 1000, dport: 23, flags: 'S' })],
    ]);
    expect(recs.map((r) => fin(r).reason)).toEqual(['NETFILTER_DROP', 'NETFILTER_DROP', 'NETFILTER_DROP']);
    expect(recs.map((r) => emitted(r)[0]?.type)).toEqual(['icmp-error', 'icmp-error', 'tcp-rst']);
    expect(emitted(recs[0])[0].detail).toContain('port-unreachable');
    expect(emitted(recs[1])[0].detail).toContain('admin-prohibited');
  });

  it('fib daddr type local and fib saddr . iif oif missing for IPv6', () => {
    const w = router({
      nft: 'table inet fw {\n  chain in {\n    type filter hook input priority filter; policy accept;\n    fib daddr type local tcp dport 2222 counter drop\n  }\n  chain pre {\n    type filter hook prerouting priority filter; policy accept;\n    fib saddr . iif oif missing counter drop\n  }\n}',
    });
    const recs = replay(w, [
      ['r:eth0', tcp6({ ...fromA({ dst: '2001:db8:2::1' }), sport: 1, dport: 2222, flags: 'S' })],
      ['r:eth0', tcp6({ ...fromA({ dst: '2001:db8:2::1' }), sport: 1, dport: 2223, flags: 'S' })],
      ['r:eth1', tcp6({ srcMac: B, dstMac: R1, src: '2001:db8:1::9', dst: '2001:db8:2::1', sport: 1, dport: 2223, flags: 'S' })],
    ]);
    expect(fin(recs[0])).toMatchObject({ verdict: 'dropped', where: { chain: 'in' } });
    expect(fin(recs[1])).toMatchObject({ verdict: 'dropped', reason: 'NO_SOCKET' });
    expect(fin(recs[2])).toMatchObject({ verdict: 'dropped', where: { chain: 'pre' } });
  });

  it('NAT66: masquerade takes the egress address; the reply is translated back', () => {
    const w = router({ nft: 'table ip6 nat {\n  chain post { type nat hook postrouting priority srcnat; oifname "eth1" masquerade }\n}' });
    const recs = replay(w, [
      ['r:eth0', tcp6({ ...fromA(), sport: 40000, dport: 80, flags: 'S', seq: 100 })],
      ['r:eth1', tcp6({ srcMac: B, dstMac: R1, src: '2001:db8:2::2', dst: '2001:db8:2::1', sport: 80, dport: 40000, flags: 'SA', seq: 500, ack: 101 })],
    ]);
    expect(fin(recs[0])).toMatchObject({ verdict: 'transmitted', dev: 'eth1', out: { src: '2001:db8:2::1', sport: 40000 } });
    expect(fin(recs[1])).toMatchObject({ verdict: 'transmitted', dev: 'eth0', out: { dst: '2001:db8:1::2', dport: 40000 } });
  });
});

describe('IPv6 through br_netfilter', () => {
  it('bridged IPv6 runs the ip6 forward chain with iif = oif = the bridge; bridge-nf-call-ip6tables 0 skips it', () => {
    const mk = (call: number) => lab(`
namespaces:
  h:
    sysctl: { net.bridge.bridge-nf-call-ip6tables: ${call} }
    links:
      - { name: br0, kind: bridge, mac: "02:00:00:00:0b:01" }
      - { name: p1, kind: veth, master: br0, mac: "02:00:00:00:0b:02" }
      - { name: p2, kind: veth, master: br0, mac: "02:00:00:00:0b:03" }
    addresses: [ "2001:db8:b::1/64 dev br0" ]
    nft: |
      table ip6 f {
        chain fwd { type filter hook forward priority 0; policy accept; iifname "br0" oifname "br0" tcp dport 25 drop }
      }
`);
    const seg = tcp6({ srcMac: '02:00:00:00:0c:01', dstMac: '02:00:00:00:0c:02', src: '2001:db8:b::10', dst: '2001:db8:b::20', sport: 1, dport: 25, flags: 'S' });
    const [on] = replay(mk(1), [['h:p1', seg]]);
    expect(fin(on)).toMatchObject({ verdict: 'dropped', reason: 'NETFILTER_DROP', where: { table: 'f', chain: 'fwd' } });
    const [off] = replay(mk(0), [['h:p1', seg]]);
    expect(fin(off)).toMatchObject({ verdict: 'transmitted' });
  });
});
