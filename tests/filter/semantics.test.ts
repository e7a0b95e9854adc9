/**
 * What each primitive selects, on frames built byte by byte here (decoded by decodeFrame) and on
 * PacketInfo values set by hand. Table-driven: each case lists expressions that must select the
 * packet and expressions that must not. The libpcap behaviour each case pins is named in its title.
 */
import { describe, expect, it } from 'vitest';
import { compileFilter } from '../../src/trace/filter.js';
import { decodeFrame, LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_RAW, PacketInfo, parseIpv6 } from '../../src/stack/wire/decode.js';

// ---- frame builders (RFC 791, 8200, 793, 768, 792, 826; IEEE 802.1Q)

const MAC_A = [0x02, 0, 0, 0, 0xaa, 0x01], MAC_B = [0x02, 0, 0, 0, 0xbb, 0x01];
const BCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

function v4(s: string): number[] {
  return s.split('.').map(Number);
}
function v6(s: string): number[] {
  const b = new Uint8Array(16);
  if (!parseIpv6(s, b, 0)) throw new Error(s);
  return [...b];
}
function u16(v: number): number[] {
  return [(v >>> 8) & 255, v & 255];
}

function eth(payload: number[], type: number, opts: { dst?: number[]; src?: number[]; tags?: [number, number][] } = {}): number[] {
  const out = [...(opts.dst ?? MAC_B), ...(opts.src ?? MAC_A)];
  for (const [tpid, vid] of opts.tags ?? []) out.push(...u16(tpid), ...u16(vid));
  return [...out, ...u16(type), ...payload];
}

function ipv4(src: string, dst: string, proto: number, payload: number[], o: { frag?: number; mf?: boolean; options?: number[]; ttl?: number } = {}): number[] {
  const opts = o.options ?? [];
  const hl = 20 + opts.length;
  const fw = ((o.mf ? 0x2000 : 0) | ((o.frag ?? 0) >>> 3)) & 0xffff;
  return [0x40 | (hl >>> 2), 0, ...u16(hl + payload.length), 0, 1, ...u16(fw), o.ttl ?? 64, proto, 0, 0, ...v4(src), ...v4(dst), ...opts, ...payload];
}

function ipv6(src: string, dst: string, nh: number, payload: number[]): number[] {
  return [0x60, 0, 0, 0, ...u16(payload.length), nh, 64, ...v6(src), ...v6(dst), ...payload];
}

function tcp(sport: number, dport: number, flags: number, data: number[] = []): number[] {
  return [...u16(sport), ...u16(dport), 0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, ...u16(1000), 0, 0, 0, 0, ...data];
}

function udp(sport: number, dport: number, data: number[] = []): number[] {
  return [...u16(sport), ...u16(dport), ...u16(8 + data.length), 0, 0, ...data];
}

function icmp(type: number, code: number): number[] {
  return [type, code, 0, 0, 0, 7, 0, 1, ...new Array(8).fill(0)];
}

function arp(op: number, spa: string, tpa: string): number[] {
  return [0, 1, 8, 0, 6, 4, ...u16(op), ...MAC_A, ...v4(spa), 0, 0, 0, 0, 0, 0, ...v4(tpa)];
}

/** Linux cooked header v1 (LINKTYPE_LINUX_SLL): pkttype, ARPHRD_ETHER, halen 6, address, protocol. */
function sll(payload: number[], type: number): number[] {
  return [0, 0, 0, 1, 0, 6, ...MAC_A, 0, 0, ...u16(type), ...payload];
}

interface Case {
  name: string;
  frame: number[];
  linktype?: number;
  /** Bytes captured, when fewer than the frame (a snaplen cut). */
  caplen?: number;
  yes: string[];
  no: string[];
}

const CASES: Case[] = [
  {
    name: 'IPv4 TCP SYN',
    frame: eth(ipv4('192.0.2.1', '192.0.2.2', 6, tcp(40000, 80, 0x02)), 0x0800),
    yes: ['tcp', 'ip', 'host 192.0.2.1', 'src host 192.0.2.1', 'dst host 192.0.2.2', 'host 192.0.2.1 and host 192.0.2.2',
      'src and dst net 192.0.2.0/24', 'net 192.0.2', 'net 192.0.2.0 mask 255.255.255.0', 'dst port 80', 'port http', 'tcp port 80',
      'src portrange 40000-40010', 'portrange 79-81', 'tcp[tcpflags] = tcp-syn', 'tcp[13] & 2 != 0', 'tcp[tcpflags] & (tcp-syn|tcp-ack) != 0',
      'ip proto 6', 'proto \\tcp', 'ip proto tcp', 'greater 50', 'less 60', 'len = 54', 'ether src host 02:00:00:00:aa:01',
      'ether dst 02:00:00:00:bb:01', 'ether host 2:0:0:0:bb:1', 'ether host 0200.0000.bb01', 'ether proto \\ip', 'ip[9] = 6',
      'ether[12:2] = 0x800', 'ip[0] >> 4 = 4', 'ip[2:2] = 40', 'tcp[0:2] = 40000', 'tcp[2:4] >> 16 = 80', 'ip[8] = 64',
      'not udp', 'not vlan', 'tcp or udp and dst port 80', 'host 198.51.100.9 or 192.0.2.2', 'src or dst port 80'],
    no: ['udp', 'ip6', 'arp', 'icmp', 'src port 80', 'udp port 80', 'sctp port 80', 'tcp[13] & 16 != 0', 'tcp[tcpflags] & tcp-ack != 0',
      'vlan', 'host 192.0.2.3', 'dst host 192.0.2.1', 'net 198.51.100.0/24', 'src and dst port 80', 'greater 55', 'less 53',
      'ether broadcast', 'ether multicast', 'ip multicast', 'ether src host 02:00:00:00:bb:01', 'port 80 and not tcp'],
  },
  {
    name: 'IPv4 options (IHL 6): ports and tcp[] count from the header length',
    frame: eth(ipv4('192.0.2.1', '192.0.2.2', 6, tcp(1234, 8080, 0x18), { options: [1, 1, 1, 0] }), 0x0800),
    yes: ['tcp dst port 8080', 'port 1234', 'tcp[13] = 0x18', 'tcp[tcpflags] & tcp-push != 0', 'ip[0] & 0xf > 5', 'tcp[2:2] = 8080'],
    no: ['port 80', 'ip[0] & 0xf = 5'],
  },
  {
    name: 'IPv4 non-first fragment: protocol yes, ports and udp[] no (gen_ipfrag)',
    frame: eth(ipv4('192.0.2.1', '192.0.2.2', 17, udp(53, 53), { frag: 1480 }), 0x0800),
    // The protocol check is part of the relation, so `not` turns it round.
    yes: ['udp', 'ip proto 17', 'ip[6:2] & 0x1fff != 0', 'host 192.0.2.2', 'not udp[0:2] = 53'],
    no: ['port 53', 'udp port 53', 'udp[0:2] = 53', 'portrange 1-65535'],
  },
  {
    name: 'IPv4 first fragment (MF): ports are read',
    frame: eth(ipv4('192.0.2.1', '192.0.2.2', 17, udp(5000, 53), { mf: true }), 0x0800),
    yes: ['udp port 53', 'ip[6:2] & 0x2000 != 0', 'udp[2:2] = 53'],
    no: ['ip[6:2] & 0x1fff != 0'],
  },
  {
    name: 'IPv6 TCP to port 80',
    frame: eth(ipv6('2001:db8:1::1', '2001:db8:1::2', 6, tcp(40000, 80, 0x12)), 0x86dd),
    yes: ['ip6', 'tcp', 'ip6 proto 6', 'proto 6', 'host 2001:db8:1::1', 'src host 2001:db8:1:0::1', 'dst host 2001:0db8:0001::2',
      'net 2001:db8::/32', 'net 2001:db8:1::/64', 'src net 2001:db8:1::/127', 'ip6 host 2001:db8:1::2', 'port 80', 'tcp dst port http',
      'ip6[6] = 6', 'ip6[53] = 0x12', 'ether proto 0x86dd'],
    // tcp[] indexes IPv4 only in libpcap.
    no: ['ip', 'udp', 'ip proto 6', 'host 2001:db8:1::3', 'net 2001:db9::/32', 'src net 2001:db8:1::2/128', 'tcp[13] = 0x12',
      'not tcp[13] = 0x12 and ip', 'host 192.0.2.1'],
  },
  {
    name: 'IPv6 hop-by-hop then UDP: libpcap sees next header 0 only',
    frame: eth(ipv6('2001:db8:1::1', '2001:db8:1::2', 0, [17, 0, 1, 4, 0, 0, 0, 0, ...udp(5000, 53)]), 0x86dd),
    yes: ['ip6', 'ip6 proto 0', 'host 2001:db8:1::2', 'ip6[40] = 17'],
    no: ['udp', 'port 53', 'ip6 proto 17', 'proto \\udp'],
  },
  {
    name: 'IPv6 first fragment of UDP: `udp` yes (fragment clause), `port` no (gen_port6)',
    frame: eth(ipv6('2001:db8:1::1', '2001:db8:1::2', 44, [17, 0, 0, 1, 0, 0, 0xab, 0xcd, ...udp(5001, 53, [1, 2, 3, 4, 5, 6, 7, 8])]), 0x86dd),
    yes: ['udp', 'ip6 proto 17', 'ip6 proto 44'],
    no: ['port 53', 'udp port 53', 'tcp'],
  },
  {
    name: 'ICMPv6 echo request',
    frame: eth(ipv6('2001:db8:1::1', 'ff02::1', 58, [128, 0, 0, 0, 0, 7, 0, 1]), 0x86dd, { dst: [0x33, 0x33, 0, 0, 0, 1] }),
    yes: ['icmp6', 'icmp6[icmp6type] = icmp6-echo', 'icmp6[0] = 128', 'ip6 multicast', 'ether multicast', 'multicast', 'dst net ff00::/8'],
    no: ['icmp', 'icmp[icmptype] = icmp-echo', 'icmp6[icmp6type] = icmp6-echoreply', 'broadcast', 'ip multicast'],
  },
  {
    name: 'ICMP port unreachable quoting a UDP datagram: not `port 53`',
    frame: eth(ipv4('192.0.2.2', '192.0.2.1', 1, [3, 3, 0, 0, 0, 0, 0, 0, ...ipv4('192.0.2.1', '192.0.2.2', 17, udp(5000, 53))]), 0x0800),
    yes: ['icmp', 'icmp[icmptype] = icmp-unreach', 'icmp[icmpcode] = 3', 'icmp[icmptype] != icmp-echo'],
    no: ['port 53', 'udp', 'icmp6'],
  },
  {
    name: 'ARP request: `host` reads the sender and target protocol addresses',
    frame: eth(arp(1, '192.0.2.1', '192.0.2.2'), 0x0806, { dst: BCAST }),
    yes: ['arp', 'host 192.0.2.2', 'src host 192.0.2.1', 'dst host 192.0.2.2', 'arp host 192.0.2.1', 'arp dst host 192.0.2.2',
      'net 192.0.2.0/24', 'broadcast', 'ether broadcast', 'ether dst host ff:ff:ff:ff:ff:ff', 'arp[7] = 1', 'arp[6:2] = 1', 'not ip'],
    no: ['ip', 'ip host 192.0.2.2', 'src host 192.0.2.2', 'port 80', 'tcp', 'ip6'],
  },
  {
    name: 'VLAN 10 over IPv4 ICMP: tag tests, inner packet for the rest',
    frame: eth(ipv4('192.0.2.1', '192.0.2.2', 1, icmp(8, 0)), 0x0800, { tags: [[0x8100, 10]] }),
    yes: ['vlan', 'vlan 10', 'icmp', 'vlan and icmp', 'vlan 10 and host 192.0.2.1', 'host 192.0.2.1', 'ip', 'not vlan 11',
      'icmp[icmptype] = icmp-echo', 'vlan 10 or vlan 11', 'ether proto \\ip'],
    no: ['vlan 11', 'vlan and vlan', 'vlan 10 and vlan', 'arp', 'tcp'],
  },
  {
    name: 'QinQ 200/300: the k-th `vlan` tests the k-th tag',
    frame: eth(ipv4('203.0.113.1', '203.0.113.2', 17, udp(5353, 53)), 0x0800, { tags: [[0x88a8, 200], [0x8100, 300]] }),
    yes: ['vlan', 'vlan 200', 'vlan and vlan', 'vlan 200 and vlan 300', 'vlan 200 and vlan 300 and udp port 53', 'udp port 53',
      'net 203.0.113.0/24', 'vlan 200 and not vlan 301'],
    no: ['vlan 300', 'vlan 300 and vlan 200', 'vlan 200 and vlan 200', 'tcp'],
  },
  {
    name: 'IPv4 SCTP: `port` covers SCTP',
    frame: eth(ipv4('192.0.2.1', '192.0.2.2', 132, [...u16(5000), ...u16(80), 0, 0, 0, 0, 0, 0, 0, 0]), 0x0800),
    yes: ['sctp', 'port 80', 'sctp dst port 80', 'sctp[2:2] = 80', 'portrange 5000-5000'],
    no: ['tcp port 80', 'udp', 'port http'],
  },
  {
    name: 'Linux cooked capture: no destination MAC, addresses still work',
    frame: sll(ipv4('192.0.2.1', '192.0.2.2', 17, udp(1000, 123)), 0x0800),
    linktype: LINKTYPE_LINUX_SLL,
    yes: ['ip', 'udp port ntp', 'host 192.0.2.2', 'ether src host 02:00:00:00:aa:01', 'ip[9] = 17'],
    no: ['ether dst host 02:00:00:00:bb:01', 'ether broadcast', 'tcp'],
  },
  {
    name: 'Raw IP (LINKTYPE_RAW)',
    frame: ipv4('198.51.100.1', '203.0.113.9', 17, udp(1000, 53)),
    linktype: LINKTYPE_RAW,
    yes: ['ip', 'udp port 53', 'src net 198.51.100.0/24', 'ether[0] = 0x45', 'ip[0] = 0x45'],
    no: ['ether host 02:00:00:00:aa:01', 'vlan', 'ip6'],
  },
  {
    name: 'Snaplen cut inside the IPv4 destination: a read past the capture rejects, whatever surrounds it',
    frame: eth(ipv4('192.0.2.1', '192.0.2.2', 6, tcp(1, 2, 0x02)), 0x0800),
    caplen: 32,
    yes: ['src host 192.0.2.1', 'src host 192.0.2.1 or dst host 192.0.2.2', 'ip', 'greater 50', 'tcp'],
    no: ['dst host 192.0.2.2', 'not dst host 192.0.2.2', 'dst host 192.0.2.9 or ip', 'host 192.0.2.9', 'port 2', 'not port 2'],
  },
  {
    name: 'Reads past the end of a full frame reject too (BPF out-of-bounds)',
    frame: eth(ipv4('192.0.2.1', '192.0.2.2', 6, tcp(1, 2, 0x02)), 0x0800),
    yes: ['tcp or tcp[100] = 0', 'tcp[19] = 0'],
    no: ['tcp[100] = 0', 'not tcp[100] = 0', 'tcp[100] = 0 or tcp', 'ip[0] / (ip[1] & 0) = 0', 'len % (len - len) = 0'],
  },
  {
    name: 'Arithmetic: unsigned 32-bit, precedence as grammar.y ("^" takes the rest)',
    frame: eth(ipv4('192.0.2.1', '192.0.2.2', 6, tcp(1, 2, 0x02)), 0x0800), // len 54
    yes: ['len * 2 ^ 1 + 1 = 0', 'len | 1 ^ 3 = 54', 'len ^ 1 | 3 = 53', 'len - 1 - 1 = 52', 'len - 60 > 1000', '0 - 1 = 0xffffffff',
      '-1 = 4294967295', 'len / 4 = 13', 'len % 5 = 4', 'len << 1 = 108', 'len >> 1 = 27', 'len & 0x0f = 6', '2 + 3 * 4 = 14',
      '(2 + 3) * 4 = 20', '1 << 40 = 0', 'len << 32 = 0', '010 = 8', '0x10 = 16', 'len >= 54', 'len <= 54', 'len != 53',
      '(len - 4) / 10 = 5', 'tcp[tcpflags] & (tcp-syn | tcp-fin) = 2', 'ip[2:2] - 20 - 20 = 0'],
    no: ['len > 54', 'len < 54', '-len > 0 and 1 = 0'],
  },
];

const info = new PacketInfo();

function decode(c: Case): PacketInfo {
  const bytes = Uint8Array.from(c.frame);
  decodeFrame(info, bytes, c.caplen ?? bytes.length, bytes.length, c.linktype ?? LINKTYPE_ETHERNET, { verifyChecksums: false });
  return info;
}

describe('primitives on built frames', () => {
  for (const c of CASES) {
    describe(c.name, () => {
      for (const e of c.yes) it(`selects: ${e}`, () => expect(compileFilter(e)(decode(c))).toBe(true));
      for (const e of c.no) it(`skips: ${e}`, () => expect(compileFilter(e)(decode(c))).toBe(false));
    });
  }
});

describe('primitives on PacketInfo fields set by hand', () => {
  function make(set: Partial<Record<'vlanCount' | 'vlan0' | 'vlan1' | 'len' | 'srcMacHi' | 'srcMacLo' | 'dstMacHi' | 'dstMacLo' | 'ethertype', number>>): PacketInfo {
    const p = new PacketInfo();
    Object.assign(p, set);
    return p;
  }

  it('vlan reads vlanCount, vlan0 and vlan1', () => {
    const p = make({ vlanCount: 2, vlan0: 5, vlan1: 6 });
    expect(compileFilter('vlan 5 and vlan 6')(p)).toBe(true);
    expect(compileFilter('vlan 6')(p)).toBe(false);
    expect(compileFilter('vlan and vlan')(p)).toBe(true);
    expect(compileFilter('vlan')(make({}))).toBe(false);
  });

  it('greater, less and len read the wire length', () => {
    const p = make({ len: 1500 });
    expect(compileFilter('greater 1500')(p)).toBe(true);
    expect(compileFilter('greater 1501')(p)).toBe(false);
    expect(compileFilter('less 1500 and len = 1500')(p)).toBe(true);
  });

  it('ether host reads the MAC fields; an absent MAC (-1) never matches', () => {
    const p = make({ srcMacHi: 0x0200, srcMacLo: 0x0000aa01, dstMacHi: 0xffff, dstMacLo: 0xffffffff });
    expect(compileFilter('ether src 02:00:00:00:aa:01 and ether broadcast')(p)).toBe(true);
    expect(compileFilter('ether dst 02:00:00:00:aa:01')(p)).toBe(false);
    const none = make({});
    expect(compileFilter('ether multicast or ether broadcast or ether host ff:ff:ff:ff:ff:ff')(none)).toBe(false);
  });

  it('ip / ip6 / arp test the ethertype (of the inner packet)', () => {
    expect(compileFilter('ip')(make({ ethertype: 0x0800, vlanCount: 1, vlan0: 3 }))).toBe(true);
    expect(compileFilter('ip6 or arp')(make({ ethertype: 0x0800 }))).toBe(false);
    expect(compileFilter('rarp')(make({ ethertype: 0x8035 }))).toBe(true);
  });

  it('a filter keeps working after a packet it rejected for a short read', () => {
    const f = compileFilter('not tcp[100] = 1');
    const short = CASES[0]!;
    expect(f(decode(short))).toBe(false);
    const big = eth(ipv4('192.0.2.1', '192.0.2.2', 6, tcp(1, 2, 0x02, new Array(100).fill(0))), 0x0800);
    const b = Uint8Array.from(big);
    decodeFrame(info, b, b.length, b.length, LINKTYPE_ETHERNET, { verifyChecksums: false });
    expect(f(info)).toBe(true);
  });
});
