import { describe, expect, it } from 'vitest';
import { ArpView, writeArp } from '../../src/stack/wire/arp.js';
import { ETH_P_ARP, ETH_P_IP, writeEthernet } from '../../src/stack/wire/ethernet.js';
import { ipv4FillChecksum, ipv4FragWord, Ipv4View, writeIpv4 } from '../../src/stack/wire/ipv4.js';
import { L3_ARP, L3_IPV4 } from '../../src/stack/wire/decode.js';
import { ARP_REP, ARP_REQ, dec, FRAG4_LAST, ICMP_ECHO, problems, toHex, UDP4 } from './packets.js';

describe('ARP (RFC 826)', () => {
  it('deconstructs a request and a reply', () => {
    const q = dec(ARP_REQ);
    expect([q.l3, q.l3Off, q.l3Len, q.arpOp, q.arpShaOff, q.arpSpaOff, q.arpThaOff, q.arpTpaOff]).toEqual([L3_ARP, 14, 28, 1, 22, 28, 32, 38]);
    expect([q.src4, q.dst4, q.srcOff, q.dstOff, q.l4proto, q.problems]).toEqual([0xc0000201, 0xc0000202, 28, 38, -1, 0]);
    const r = dec(ARP_REP);
    expect([r.arpOp, r.src4, r.dst4]).toEqual([2, 0xc0000202, 0xc0000201]);
    const v = new ArpView().reset(ARP_REP, 14);
    expect(v.check(ARP_REP.length)).toBe(true);
    expect([v.op(), v.shaHi(), v.shaLo(), v.spa(), v.thaHi(), v.thaLo(), v.tpa()]).toEqual([2, 0x02bb, 1, 0xc0000202, 0x02aa, 1, 0xc0000201]);
  });

  it('constructs the captured request and reply', () => {
    const b = new Uint8Array(42);
    writeEthernet(b, 0, 0xffff, 0xffffffff, 0x02aa, 1, ETH_P_ARP);
    expect(writeArp(b, 14, 1, 0x02aa, 1, 0xc0000201, 0, 0, 0xc0000202)).toBe(42);
    expect(toHex(b)).toBe(toHex(ARP_REQ));
    writeEthernet(b, 0, 0x02aa, 1, 0x02bb, 1, ETH_P_ARP);
    writeArp(b, 14, 2, 0x02bb, 1, 0xc0000202, 0x02aa, 1, 0xc0000201);
    expect(toHex(b)).toBe(toHex(ARP_REP));
  });

  it('accepts Ethernet padding', () => {
    const padded = new Uint8Array(60);
    padded.set(ARP_REQ);
    expect(dec(padded).problems).toBe(0);
  });

  it('flags short, truncated and foreign ARP', () => {
    expect(problems(dec(ARP_REQ.slice(0, 20)))).toEqual(['PKT_TOO_SMALL']);
    expect(problems(dec(ARP_REQ.slice(0, 30)))).toEqual(['PKT_TOO_SMALL']);
    expect(problems(dec(ARP_REQ, 1, 42, 30))).toEqual(['HDR_TRUNC']);
    const hln = ARP_REQ.slice();
    hln[18] = 8; // hardware address length 8 in a 42-byte frame: runs past the end
    expect(problems(dec(hln))).toEqual(['PKT_TOO_SMALL']);
    const pro = ARP_REQ.slice();
    pro[16] = 0x86; pro[17] = 0xdd;
    expect(problems(dec(pro))).toEqual(['INVALID_PROTO']);
    const op = ARP_REQ.slice();
    op[21] = 5;
    const i = dec(op);
    expect(problems(i)).toEqual(['INVALID_PROTO']);
    expect(i.arpOp).toBe(5);
  });
});

describe('IPv4 (RFC 791)', () => {
  it('deconstructs', () => {
    const i = dec(ICMP_ECHO);
    expect([i.l3, i.l3Off, i.l3Len, i.ipHdrLen, i.tos, i.ipId, i.ttl, i.l4proto]).toEqual([L3_IPV4, 14, 84, 20, 0, 0x5038, 64, 1]);
    expect([i.fragOff, i.moreFrags, i.dontFrag, i.src4, i.dst4, i.srcOff, i.dstOff, i.l4Off, i.l4Len]).toEqual([0, false, true, 0xc0000201, 0xc0000202, 26, 30, 34, 64]);
    const v = new Ipv4View().reset(ICMP_ECHO, 14);
    expect(v.check(ICMP_ECHO.length)).toBe(true);
    expect([v.version(), v.headerLen(), v.totalLen(), v.id(), v.dontFrag(), v.ttl(), v.proto(), v.src(), v.dst(), v.checksumOk()])
      .toEqual([4, 20, 84, 0x5038, true, 64, 1, 0xc0000201, 0xc0000202, true]);
  });

  it('constructs the captured header', () => {
    const b = ICMP_ECHO.slice();
    b.fill(0, 14, 34);
    expect(writeIpv4(b, 14, 20, 0, 84, 0x5038, ipv4FragWord(true, false, 0), 64, 1, 0xc0000201, 0xc0000202)).toBe(34);
    expect(toHex(b)).toBe(toHex(ICMP_ECHO));
  });

  it('rewrites addresses and TTL with incremental checksums (RFC 1624)', () => {
    const b = ICMP_ECHO.slice();
    const v = new Ipv4View().reset(b, 14);
    v.setSrc(0xcb007101);
    v.setDst(0xc6336402);
    v.decTtl();
    expect([v.src(), v.dst(), v.ttl(), v.checksumOk()]).toEqual([0xcb007101, 0xc6336402, 63, true]);
  });

  it('ignores Ethernet padding after the datagram', () => {
    const padded = new Uint8Array(60);
    padded.set(UDP4);
    const i = dec(padded);
    expect([i.l3Len, i.l4Len, i.problems]).toEqual([33, 13, 0]);
  });

  it('flags a bad version or IHL (IP_INHDR)', () => {
    const v5 = ICMP_ECHO.slice();
    v5[14] = 0x55;
    expect(problems(dec(v5))).toEqual(['IP_INHDR']);
    const ihl4 = ICMP_ECHO.slice();
    ihl4[14] = 0x44;
    expect(problems(dec(ihl4))).toEqual(['IP_INHDR']);
  });

  it('flags a header shorter than 20 bytes (IP_INHDR, as ip_rcv_core) and a cut capture (HDR_TRUNC)', () => {
    expect(problems(dec(ICMP_ECHO.slice(0, 30)))).toEqual(['IP_INHDR']);
    const cut = dec(ICMP_ECHO, 1, ICMP_ECHO.length, 30);
    expect(problems(cut)).toEqual(['HDR_TRUNC']);
    expect(cut.caplen < cut.len).toBe(true);
  });

  it('flags a bad header checksum (IP_CSUM) and keeps decoding', () => {
    const b = ICMP_ECHO.slice();
    b[24] ^= 0xff;
    const i = dec(b);
    expect(problems(i)).toEqual(['IP_CSUM']);
    expect(i.icmpType).toBe(8);
    expect(dec(b, 1, b.length, b.length, false).problems).toBe(0);
  });

  it('flags a total length beyond the frame (PKT_TOO_SMALL) or below the header (IP_INHDR)', () => {
    const long = ICMP_ECHO.slice();
    long[16] = 0x01; long[17] = 0x00;
    ipv4FillChecksum(long, 14);
    const i = dec(long);
    expect(problems(i)[0]).toBe('PKT_TOO_SMALL');
    expect(i.l3Len).toBe(84); // clamped to what was captured
    const short = ICMP_ECHO.slice();
    short[16] = 0; short[17] = 16;
    ipv4FillChecksum(short, 14);
    expect(problems(dec(short))).toEqual(['IP_INHDR']);
  });

  it('parses options for the header length', () => {
    const b = new Uint8Array(14 + 24 + 8);
    writeEthernet(b, 0, 0x02bb, 1, 0x02aa, 1, ETH_P_IP);
    b.set([0x01, 0x01, 0x01, 0x00], 34); // NOP NOP NOP EOL (RFC 791 §3.1 options)
    writeIpv4(b, 14, 24, 0, 32, 7, 0, 64, 17, 0xc0000201, 0xc0000202);
    b.set([0x30, 0x39, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00], 38); // UDP, no checksum
    const i = dec(b);
    expect([i.ipHdrLen, i.l4Off, i.sport, i.dport, i.problems]).toEqual([24, 38, 12345, 53, 0]);
    b[14] = 0x4f; // IHL 15: 60 bytes, more than the datagram
    ipv4FillChecksum(b, 14);
    expect(problems(dec(b))).toEqual(['IP_INHDR']);
  });

  it('decodes a non-first fragment without a transport header', () => {
    const i = dec(FRAG4_LAST);
    expect([i.fragOff, i.moreFrags, i.ipId, i.l4proto, i.l4Off, i.l4Len, i.icmpType, i.problems]).toEqual([2960, false, 0x528d, 1, -1, -1, -1, 0]);
    const b = new Uint8Array(FRAG4_LAST.length);
    b.set(FRAG4_LAST.subarray(0, 14));
    b.set(FRAG4_LAST.subarray(34), 34);
    writeIpv4(b, 14, 20, 0, 68, 0x528d, ipv4FragWord(false, false, 2960), 64, 1, 0xc0000201, 0xc0000202);
    expect(toHex(b)).toBe(toHex(FRAG4_LAST));
  });

  it('does not verify the L4 checksum of a first fragment', () => {
    const b = ICMP_ECHO.slice();
    b[20] = 0x20; // MF
    ipv4FillChecksum(b, 14);
    b[50] ^= 1; // corrupt the payload: only the reassembled datagram could tell
    const i = dec(b);
    expect([i.moreFrags, i.fragOff, i.icmpType, i.problems]).toEqual([true, 0, 8, 0]);
  });
});
