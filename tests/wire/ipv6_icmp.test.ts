import { describe, expect, it } from 'vitest';
import { ETH_P_IP, ETH_P_IPV6, writeEthernet } from '../../src/stack/wire/ethernet.js';
import { ipv4FragWord, writeIpv4 } from '../../src/stack/wire/ipv4.js';
import {
  EXT_DEST, EXT_FRAGMENT, EXT_HOP, EXT_ROUTING, Ipv6View, writeIpv6, writeIpv6Frag, writeIpv6Options, writeIpv6Routing,
} from '../../src/stack/wire/ipv6.js';
import { icmpFillChecksum, IcmpView, writeIcmpEcho, writeIcmpError } from '../../src/stack/wire/icmp.js';
import {
  icmpv6FillChecksum, ND_NA_OVERRIDE, ND_NA_SOLICITED, writeIcmpv6Echo, writeIcmpv6Error, writeNdNa, writeNdNs,
} from '../../src/stack/wire/icmpv6.js';
import { udpFillChecksum6, writeUdp } from '../../src/stack/wire/udp.js';
import { L3_IPV6, parseIpv6 } from '../../src/stack/wire/decode.js';
import {
  dec, FRAG6_LAST, ICMP6_ECHO, ICMP6_UNREACH, ICMP_ECHO, ICMP_UNREACH, MLD, ND_NA, ND_NS, problems, toHex, UDP4_CLOSED, UDP6_CLOSED,
} from './packets.js';

function a6(s: string): Uint8Array {
  const b = new Uint8Array(16);
  parseIpv6(s, b, 0);
  return b;
}
const A1 = a6('2001:db8:1::1'), A2 = a6('2001:db8:1::2');

/** Ethernet + IPv6 with the given extension headers (each [type, bytes]) and a UDP datagram to port 53. */
function chain(exts: Array<[number, (b: Uint8Array, off: number, next: number) => number]>, udpLen = 12): Uint8Array {
  const b = new Uint8Array(200);
  writeEthernet(b, 0, 0x02bb, 1, 0x02aa, 1, ETH_P_IPV6);
  let off = 54;
  const types = exts.map((e) => e[0]);
  for (let k = 0; k < exts.length; k++) off = exts[k][1](b, off, k + 1 < exts.length ? types[k + 1] : 17);
  writeUdp(b, off, 5000, 53, udpLen);
  writeIpv6(b, 14, 0, 0, off + udpLen - 54, exts.length > 0 ? types[0] : 17, 64, A1, 0, A2, 0);
  udpFillChecksum6(b, off, udpLen, b, 22, 38);
  return b.slice(0, off + udpLen);
}
const hop = (b: Uint8Array, o: number, n: number) => writeIpv6Options(b, o, n, 8);
const dst = (b: Uint8Array, o: number, n: number) => writeIpv6Options(b, o, n, 16);
const rt = (b: Uint8Array, o: number, n: number) => writeIpv6Routing(b, o, n, 4, 8);
const frag0 = (b: Uint8Array, o: number, n: number) => writeIpv6Frag(b, o, n, 0, false, 0x1234);

describe('IPv6 (RFC 8200)', () => {
  it('deconstructs', () => {
    const i = dec(ICMP6_ECHO);
    expect([i.l3, i.l3Off, i.l3Len, i.ipHdrLen, i.tos, i.ttl, i.srcOff, i.dstOff, i.src4, i.l4proto, i.l4Off, i.l4Len]).toEqual([L3_IPV6, 14, 104, 40, 0, 64, 22, 38, 0, 58, 54, 64]);
    expect([i.ip6ExtMask, i.ipId, i.fragOff, i.problems]).toEqual([0, -1, 0, 0]);
    const v = new Ipv6View().reset(ICMP6_ECHO, 14);
    expect([v.check(ICMP6_ECHO.length), v.version(), v.flowLabel(), v.payloadLen(), v.nextHeader(), v.hopLimit()]).toEqual([true, 6, 0xdadfa, 64, 58, 64]);
  });

  it('constructs the captured header', () => {
    const b = ICMP6_ECHO.slice();
    b.fill(0, 14, 54);
    expect(writeIpv6(b, 14, 0, 0xdadfa, 64, 58, 64, A1, 0, A2, 0)).toBe(54);
    expect(toHex(b)).toBe(toHex(ICMP6_ECHO));
  });

  it('walks a hop-by-hop header (captured MLDv2 report)', () => {
    const i = dec(MLD);
    expect([i.ip6ExtMask, i.ipHdrLen, i.l4proto, i.l4Off, i.icmpType, i.ttl, i.problems]).toEqual([EXT_HOP, 48, 58, 62, 143, 1, 0]);
  });

  it('walks a chain: hop-by-hop, destination options, routing, fragment (offset 0), UDP', () => {
    const b = chain([[0, hop], [60, dst], [43, rt], [44, frag0]]);
    const i = dec(b);
    expect([i.ip6ExtMask, i.ipHdrLen, i.l4proto, i.l4Off, i.sport, i.dport, i.ipId, i.fragOff, i.moreFrags, i.problems])
      .toEqual([EXT_HOP | EXT_DEST | EXT_ROUTING | EXT_FRAGMENT, 80, 17, 94, 5000, 53, 0x1234, 0, false, 0]);
  });

  it('flags a hop-by-hop header that is not first (IPV6_BAD_EXTHDR)', () => {
    expect(problems(dec(chain([[60, dst], [0, hop]])))).toEqual(['IPV6_BAD_EXTHDR']);
  });

  it('flags an extension header running past the payload (IPV6_BAD_EXTHDR)', () => {
    const b = chain([[60, dst]]);
    b[55] = 9; // 80 bytes of options in a 28-byte payload
    expect(problems(dec(b))).toEqual(['IPV6_BAD_EXTHDR']);
  });

  it('stops at no next header (59)', () => {
    const b = new Uint8Array(54);
    writeEthernet(b, 0, 0x02bb, 1, 0x02aa, 1, ETH_P_IPV6);
    writeIpv6(b, 14, 0, 0, 0, 59, 64, A1, 0, A2, 0);
    const i = dec(b);
    expect([i.l4proto, i.l4Off, i.problems]).toEqual([59, -1, 0]);
  });

  it('decodes a non-first fragment without a transport header, and constructs it', () => {
    const i = dec(FRAG6_LAST);
    expect([i.ip6ExtMask, i.fragOff, i.moreFrags, i.ipId, i.l4proto, i.l4Off, i.icmpType, i.ipHdrLen, i.problems]).toEqual([EXT_FRAGMENT, 2896, false, 0x60a0b9e0, 58, -1, -1, 48, 0]);
    const b = new Uint8Array(FRAG6_LAST.length);
    b.set(FRAG6_LAST.subarray(0, 14));
    b.set(FRAG6_LAST.subarray(62), 62);
    writeIpv6(b, 14, 0, 0xdadfa, 0x78, 44, 64, A1, 0, A2, 0);
    expect(writeIpv6Frag(b, 54, 58, 2896, false, 0x60a0b9e0)).toBe(62);
    expect(toHex(b)).toBe(toHex(FRAG6_LAST));
  });

  it('flags a bad version and short headers', () => {
    const v4 = ICMP6_ECHO.slice();
    v4[14] = 0x40;
    expect(problems(dec(v4))).toEqual(['IP_INHDR']);
    expect(problems(dec(ICMP6_ECHO.slice(0, 50)))).toEqual(['IP_INHDR']);
    expect(problems(dec(ICMP6_ECHO, 1, ICMP6_ECHO.length, 50))).toEqual(['HDR_TRUNC']);
  });

  it('flags a payload length beyond the frame (PKT_TOO_SMALL)', () => {
    const b = ICMP6_ECHO.slice();
    b[18] = 0x02;
    const i = dec(b);
    expect(problems(i)).toEqual(['PKT_TOO_SMALL']);
    expect(i.icmpId).toBe(0x6eac);
  });
});

describe('ICMP (RFC 792)', () => {
  it('deconstructs an echo request', () => {
    const i = dec(ICMP_ECHO);
    expect([i.icmpType, i.icmpCode, i.icmpId, i.icmpSeq, i.icmpInnerOff, i.sport, i.problems]).toEqual([8, 0, 0x6e93, 1, -1, -1, 0]);
    const v = new IcmpView().reset(ICMP_ECHO, 34);
    expect([v.check(98), v.type(), v.id(), v.seq(), v.checksumOk(64)]).toEqual([true, 8, 0x6e93, 1, true]);
  });

  it('constructs the captured echo request', () => {
    const b = ICMP_ECHO.slice();
    b.fill(0, 34, 42);
    expect(writeIcmpEcho(b, 34, 8, 0x6e93, 1, 56)).toBe(98);
    expect(toHex(b)).toBe(toHex(ICMP_ECHO));
  });

  it('deconstructs a port unreachable and finds the quoted header', () => {
    const i = dec(ICMP_UNREACH);
    expect([i.tos, i.icmpType, i.icmpCode, i.icmpInnerOff, i.icmpId, i.problems]).toEqual([0xc0, 3, 3, 42, -1, 0]);
    const inner = dec(ICMP_UNREACH.subarray(i.icmpInnerOff), 228);
    expect([inner.src4, inner.dst4, inner.sport, inner.dport]).toEqual([0xc0000201, 0xc0000202, 0xa03a, 9999]);
  });

  it('constructs the captured port unreachable from the offending datagram', () => {
    const b = new Uint8Array(ICMP_UNREACH.length);
    writeEthernet(b, 0, 0x02aa, 1, 0x02bb, 1, ETH_P_IP);
    writeIpv4(b, 14, 20, 0xc0, 58, 0x935d, ipv4FragWord(false, false, 0), 64, 1, 0xc0000202, 0xc0000201);
    expect(writeIcmpError(b, 34, 3, 3, 0, UDP4_CLOSED, 14, 30)).toBe(72);
    expect(toHex(b)).toBe(toHex(ICMP_UNREACH));
  });

  it('flags a bad checksum (ICMP_CSUM) and types above NR_ICMP_TYPES (UNHANDLED_PROTO)', () => {
    const b = ICMP_ECHO.slice();
    b[60] ^= 1;
    expect(problems(dec(b))).toEqual(['ICMP_CSUM']);
    const t = ICMP_ECHO.slice();
    t[34] = 42;
    icmpFillChecksum(t, 34, 64);
    expect(problems(dec(t))).toEqual(['UNHANDLED_PROTO']);
  });

  it('flags a message shorter than its 8-byte header', () => {
    const b = ICMP_ECHO.slice(0, 14 + 20 + 4);
    b[17] = 24;
    b[24] = b[25] = 0;
    const v = new DataView(b.buffer);
    let s = 0;
    for (let k = 14; k < 34; k += 2) s += v.getUint16(k);
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    v.setUint16(24, ~s & 0xffff);
    expect(problems(dec(b))).toEqual(['PKT_TOO_SMALL']);
  });
});

describe('ICMPv6 (RFC 4443) and neighbour discovery (RFC 4861)', () => {
  it('deconstructs and constructs an echo request', () => {
    const i = dec(ICMP6_ECHO);
    expect([i.icmpType, i.icmpCode, i.icmpId, i.icmpSeq, i.problems]).toEqual([128, 0, 0x6eac, 1, 0]);
    const b = ICMP6_ECHO.slice();
    b.fill(0, 54, 62);
    expect(writeIcmpv6Echo(b, 54, 128, 0x6eac, 1, 56, b, 22, 38)).toBe(118);
    expect(toHex(b)).toBe(toHex(ICMP6_ECHO));
  });

  it('deconstructs and constructs a port unreachable', () => {
    const i = dec(ICMP6_UNREACH);
    expect([i.icmpType, i.icmpCode, i.icmpInnerOff, i.problems]).toEqual([1, 4, 62, 0]);
    const inner = dec(ICMP6_UNREACH.subarray(62), 229);
    expect([inner.sport, inner.dport]).toEqual([0xe605, 9999]);
    const b = new Uint8Array(ICMP6_UNREACH.length);
    writeEthernet(b, 0, 0x02aa, 1, 0x02bb, 1, ETH_P_IPV6);
    writeIpv6(b, 14, 0, 0x2527f, 58, 58, 64, A2, 0, A1, 0);
    expect(writeIcmpv6Error(b, 54, 1, 4, 0, UDP6_CLOSED, 14, 50, b, 22, 38)).toBe(112);
    expect(toHex(b)).toBe(toHex(ICMP6_UNREACH));
  });

  it('deconstructs a neighbour solicitation and advertisement', () => {
    const s = dec(ND_NS);
    expect([s.icmpType, s.ttl, s.ndTargetOff, s.ndLladdrOff, s.problems]).toEqual([135, 255, 62, 80, 0]);
    expect(toHex(ND_NS.subarray(80, 86))).toBe('02aa00000001');
    const a = dec(ND_NA);
    expect([a.icmpType, a.ndTargetOff, a.ndLladdrOff, a.problems]).toEqual([136, 62, 80, 0]);
    expect(toHex(ND_NA.subarray(80, 86))).toBe('02bb00000001');
  });

  it('constructs the captured solicitation and advertisement', () => {
    const ns = new Uint8Array(ND_NS.length);
    writeEthernet(ns, 0, 0x3333, 0xff000002, 0x02aa, 1, ETH_P_IPV6);
    writeIpv6(ns, 14, 0, 0, 32, 58, 255, A1, 0, a6('ff02::1:ff00:2'), 0);
    expect(writeNdNs(ns, 54, A2, 0, 0x02aa, 1, ns, 22, 38)).toBe(86);
    expect(toHex(ns)).toBe(toHex(ND_NS));
    const na = new Uint8Array(ND_NA.length);
    writeEthernet(na, 0, 0x02aa, 1, 0x02bb, 1, ETH_P_IPV6);
    writeIpv6(na, 14, 0, 0, 32, 58, 255, A2, 0, A1, 0);
    expect(writeNdNa(na, 54, ND_NA_SOLICITED | ND_NA_OVERRIDE, A2, 0, 0x02bb, 1, na, 22, 38)).toBe(86);
    expect(toHex(na)).toBe(toHex(ND_NA));
  });

  it('applies ndisc_rcv checks: hop limit, code, options', () => {
    const hl = ND_NS.slice();
    hl[21] = 64; // not in the pseudo-header: the checksum still holds
    expect(problems(dec(hl))).toEqual(['IPV6_NDISC_HOP_LIMIT']);
    const code = ND_NS.slice();
    code[55] = 1;
    icmpv6FillChecksum(code, 54, 32, code, 22, 38);
    expect(problems(dec(code))).toEqual(['IPV6_NDISC_BAD_CODE']);
    const opt = ND_NS.slice();
    opt[79] = 0; // option length 0
    icmpv6FillChecksum(opt, 54, 32, opt, 22, 38);
    expect(problems(dec(opt))).toEqual(['IPV6_NDISC_BAD_OPTIONS']);
  });

  it('flags a bad checksum (ICMP_CSUM)', () => {
    const b = ICMP6_ECHO.slice();
    b[100] ^= 4;
    expect(problems(dec(b))).toEqual(['ICMP_CSUM']);
  });
});
