/**
 * Packet rewriting (nf_nat_proto.c): incremental checksum updates checked against checksums
 * recomputed from scratch, UDP checksum 0, ICMP echo ids, and ICMP error translation of the quoted
 * header.
 *
 * Kernel-checked: the forwarded bytes of every NAT scenario in tests/conntrack/kernel/recorded/
 * (masquerade-clash, dnat-undnat, masquerade-icmp-error: un-SNAT, un-DNAT, an ICMP port unreachable
 * quoting UDP, a frag-needed quoting a TCP SYN with options, a time exceeded quoting an echo) are
 * byte-identical to what natManipPkt4 produces (kernel.test.ts compares them).
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  ConntrackTable, CtPacket, CtResult, IP_CT_RELATED_REPLY, NF_NAT_MANIP_DST, NF_NAT_MANIP_SRC, NatRange, NatRewrite,
  Tuple, csumFold, natManipPkt4, natManipPkt6, nfNatPacket, nfNatSetupInfo,
} from '../../src/stack/conntrack/index.js';
import { checksumsOk, ip, parse4, pseudo4 } from './helpers.js';

const wr16 = (b: Uint8Array, o: number, v: number): void => { b[o] = v >>> 8; b[o + 1] = v & 0xff; };
const wr32 = (b: Uint8Array, o: number, v: number): void => { wr16(b, o, v >>> 16); wr16(b, o + 2, v & 0xffff); };
const rd16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
const rd32 = (b: Uint8Array, o: number): number => ((rd16(b, o) << 16) | rd16(b, o + 2)) >>> 0;

/** An IPv4 packet with correct checksums: proto 6 (20-byte TCP header), 17, or 1 (ICMP type/id). */
function build4(proto: number, src: number, dst: number, sport: number, dport: number, payload: Uint8Array,
  opt: { icmpType?: number; udpCsum?: boolean } = {}): Uint8Array {
  const l4len = (proto === 6 ? 20 : 8) + payload.length;
  const b = new Uint8Array(20 + l4len);
  b[0] = 0x45; wr16(b, 2, b.length); wr16(b, 4, 0x1234); b[8] = 64; b[9] = proto; wr32(b, 12, src); wr32(b, 16, dst);
  wr16(b, 10, csumFold(b, 0, 20));
  const l4 = 20;
  b.set(payload, l4 + (proto === 6 ? 20 : 8));
  if (proto === 6) {
    wr16(b, l4, sport); wr16(b, l4 + 2, dport); wr32(b, l4 + 4, 12345); b[l4 + 12] = 0x50; b[l4 + 13] = 0x18; wr16(b, l4 + 14, 500);
    wr16(b, l4 + 16, csumFold(b, l4, b.length, pseudo4(b, 0, 6, l4len)));
  } else if (proto === 17) {
    wr16(b, l4, sport); wr16(b, l4 + 2, dport); wr16(b, l4 + 4, l4len);
    if (opt.udpCsum !== false) wr16(b, l4 + 6, csumFold(b, l4, b.length, pseudo4(b, 0, 17, l4len)) || 0xffff);
  } else {
    b[l4] = opt.icmpType ?? 8; wr16(b, l4 + 4, sport); wr16(b, l4 + 6, 1);
    wr16(b, l4 + 2, csumFold(b, l4, b.length));
  }
  return b;
}

/** The checksum field value recomputed from scratch for the packet as it is now. */
function scratchL4Csum(b: Uint8Array): number {
  const c = b.slice();
  const proto = c[9]!;
  const off = proto === 6 ? 36 : proto === 17 ? 26 : 22;
  wr16(c, off, 0);
  const len = c.length - 20;
  const v = proto === 1 ? csumFold(c, 20, c.length) : csumFold(c, 20, c.length, pseudo4(c, 0, proto, len));
  return proto === 17 && v === 0 ? 0xffff : v;
}

function rewrite(manip: 0 | 1, proto: number, addr: number, port: number): NatRewrite {
  const rw = new NatRewrite();
  rw.manip = manip;
  const t = rw.target;
  t.l3 = 4; t.proto = proto;
  if (manip === NF_NAT_MANIP_SRC) { t.src0 = addr; t.sport = port; } else { t.dst0 = addr; t.dport = port; }
  if (proto === 1) t.sport = port;
  return rw;
}

describe('natManipPkt4: incremental checksums equal a recomputation', () => {
  test('property: random TCP/UDP/ICMP packets, random source or destination rewrite', () => {
    fc.assert(fc.property(
      fc.constantFrom(6, 17, 1), fc.constantFrom<0 | 1>(0, 1),
      fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }),
      fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }),
      fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffff }),
      (proto, manip, src, dst, sport, dport, payload, naddr, nport) => {
        const b = build4(proto, src, dst, sport, dport, payload);
        expect(checksumsOk(b)).toBe(true);
        expect(natManipPkt4(b, 0, 20, proto, rewrite(manip, proto, naddr, nport))).toBe(true);
        expect(rd32(b, manip === 0 ? 12 : 16)).toBe(naddr >>> 0);
        if (proto === 1) expect(rd16(b, 24)).toBe(nport);
        else expect(rd16(b, 20 + (manip === 0 ? 0 : 2))).toBe(nport);
        expect(checksumsOk(b)).toBe(true);
        expect(csumFold(b, 0, 20)).toBe(0);
        const off = proto === 6 ? 36 : proto === 17 ? 26 : 22;
        expect(rd16(b, off)).toBe(scratchL4Csum(b));
      },
    ), { numRuns: 2000 });
  });

  test('a UDP checksum of 0 ("none") stays 0', () => {
    const b = build4(17, ip('192.0.2.2'), ip('198.51.100.2'), 5000, 53, new Uint8Array(5), { udpCsum: false });
    expect(natManipPkt4(b, 0, 20, 17, rewrite(0, 17, ip('198.51.100.1'), 6000))).toBe(true);
    expect(rd16(b, 26)).toBe(0);
    expect(rd16(b, 20)).toBe(6000);
    expect(checksumsOk(b)).toBe(true);
  });

  test('a wrong checksum stays exactly as wrong (same one\'s-complement distance)', () => {
    const b = build4(6, ip('192.0.2.2'), ip('198.51.100.2'), 5000, 80, new Uint8Array(3));
    const dist = (x: number, y: number): number => (x - y + 0xffff) % 0xffff;
    wr16(b, 36, (rd16(b, 36) + 0x1111) & 0xffff);
    const before = dist(rd16(b, 36), scratchL4Csum(b));
    natManipPkt4(b, 0, 20, 6, rewrite(1, 6, ip('198.51.100.9'), 8080));
    expect(dist(rd16(b, 36), scratchL4Csum(b))).toBe(before);
    expect(before).not.toBe(0);
  });

  test('ICMP echo ids are rewritten for echo types only', () => {
    const b = build4(1, 1, 2, 7, 0, new Uint8Array(8));
    natManipPkt4(b, 0, 20, 1, rewrite(0, 1, 3, 1371));
    expect(rd16(b, 24)).toBe(1371);
    expect(checksumsOk(b)).toBe(true);
    const u = build4(1, 1, 2, 7, 0, new Uint8Array(8), { icmpType: 3 });
    natManipPkt4(u, 0, 20, 1, rewrite(0, 1, 3, 1371));
    expect(rd16(u, 24)).toBe(7); // not an echo: id untouched
    expect(checksumsOk(u)).toBe(true);
  });
});

describe('ICMP error translation (nf_nat_icmp_reply_translation)', () => {
  const C = ip('192.0.2.2'), S = ip('198.51.100.2'), R1 = ip('198.51.100.1');

  /** An ICMP error from S to R1 quoting `inner` (first `quote` bytes). */
  function icmpError(inner: Uint8Array, quote: number, type = 3, code = 3): Uint8Array {
    const q = inner.subarray(0, quote);
    const b = new Uint8Array(20 + 8 + q.length);
    b[0] = 0x45; wr16(b, 2, b.length); b[8] = 64; b[9] = 1; wr32(b, 12, S); wr32(b, 16, R1);
    wr16(b, 10, csumFold(b, 0, 20));
    b[20] = type; b[21] = code;
    b.set(q, 28);
    wr16(b, 22, csumFold(b, 20, b.length));
    return b;
  }

  /** Masquerade a flow C→S, then translate an error about it; returns the rewritten error. */
  function translate(orig: Uint8Array, quote: number): { out: Uint8Array; ok: boolean } {
    const t = new ConntrackTable({ seed: 1 });
    const p = new CtPacket();
    const res = new CtResult();
    parse4(p, orig);
    t.in(p, 0, res);
    nfNatSetupInfo(t, res.conn!, NatRange.v4(R1, R1), NF_NAT_MANIP_SRC, 0);
    t.confirm(res.conn!, 0);
    const rw = new NatRewrite();
    expect(nfNatPacket(res.conn!, res.ctinfo, NF_NAT_MANIP_SRC, rw)).toBe(true);
    const sent = orig.slice();
    natManipPkt4(sent, 0, 20, sent[9]!, rw); // what S received: source R1
    const err = icmpError(sent, quote);
    parse4(p, err);
    t.in(p, 0.1, res);
    expect(res.ctinfo).toBe(IP_CT_RELATED_REPLY);
    expect(nfNatPacket(res.conn!, res.ctinfo, NF_NAT_MANIP_DST, rw)).toBe(true);
    expect(rw.icmpError).toBe(true);
    const ok = natManipPkt4(err, 0, 20, 1, rw);
    return { out: err, ok };
  }

  test('quoted TCP segment complete: outer dst, inner src and every checksum restored', () => {
    const orig = build4(6, C, S, 49001, 80, new Uint8Array(0));
    const { out, ok } = translate(orig, 40);
    expect(ok).toBe(true);
    expect(rd32(out, 16)).toBe(C); // outer destination back to the client
    expect(rd32(out, 28 + 12)).toBe(C); // quoted source back to the client
    expect(rd16(out, 48)).toBe(49001);
    expect(csumFold(out, 0, 20)).toBe(0);
    expect(csumFold(out, 20, out.length)).toBe(0); // ICMP checksum recomputed
    expect(csumFold(out, 28, 48)).toBe(0); // quoted IP header
    expect(out.subarray(28).every((v, i) => v === orig[i])).toBe(true); // quoted packet = the original
  });

  test('quoted TCP cut after 8 bytes: ports rewritten, the absent checksum left alone', () => {
    const orig = build4(6, C, S, 49002, 80, new Uint8Array(0));
    const { out, ok } = translate(orig, 28);
    expect(ok).toBe(true);
    expect(rd16(out, 48)).toBe(49002);
    expect(csumFold(out, 20, out.length)).toBe(0);
  });

  test('quoted UDP and ICMP echo', () => {
    const u = build4(17, C, S, 49000, 9999, new Uint8Array(12));
    const a = translate(u, 48);
    expect(a.ok).toBe(true);
    expect(a.out.subarray(28).every((v, i) => v === u[i])).toBe(true);
    const e = build4(1, C, S, 31337, 0, new Uint8Array(8));
    const b = translate(e, 36);
    expect(b.ok).toBe(true);
    expect(b.out.subarray(28).every((v, i) => v === e[i])).toBe(true);
  });

  test('an error with a bad ICMP checksum is dropped (nf_ip_checksum)', () => {
    const orig = build4(17, C, S, 49000, 9999, new Uint8Array(4));
    const t = new ConntrackTable({ seed: 1 });
    const p = new CtPacket();
    const res = new CtResult();
    parse4(p, orig);
    t.in(p, 0, res);
    nfNatSetupInfo(t, res.conn!, NatRange.v4(R1, R1), NF_NAT_MANIP_SRC, 0);
    t.confirm(res.conn!, 0);
    const sent = orig.slice();
    const rw = new NatRewrite();
    nfNatPacket(res.conn!, res.ctinfo, NF_NAT_MANIP_SRC, rw);
    natManipPkt4(sent, 0, 20, 17, rw);
    const err = icmpError(sent, 40);
    wr16(err, 22, rd16(err, 22) ^ 1);
    parse4(p, err, false);
    t.in(p, 0.1, res);
    nfNatPacket(res.conn!, res.ctinfo, NF_NAT_MANIP_DST, rw);
    expect(natManipPkt4(err, 0, 20, 1, rw)).toBe(false);
  });
});

describe('natManipPkt6', () => {
  function build6(proto: number, src: Uint8Array, dst: Uint8Array, sport: number, dport: number, payload: Uint8Array): Uint8Array {
    const l4len = (proto === 6 ? 20 : 8) + payload.length;
    const b = new Uint8Array(40 + l4len);
    b[0] = 0x60; wr16(b, 4, l4len); b[6] = proto; b[7] = 64; b.set(src, 8); b.set(dst, 24);
    b.set(payload, 40 + (proto === 6 ? 20 : 8));
    wr16(b, 40, sport); wr16(b, 42, dport);
    if (proto === 6) { b[52] = 0x50; b[53] = 0x10; } else if (proto === 17) { wr16(b, 44, l4len); } else { b[40] = 128; wr16(b, 44, sport); }
    const off = proto === 6 ? 56 : proto === 17 ? 46 : 42;
    wr16(b, off, 0);
    wr16(b, off, csumFold(b, 40, b.length, pseudo6(b, l4len, proto)));
    return b;
  }
  function pseudo6(b: Uint8Array, len: number, next: number): number {
    let s = 0;
    for (let i = 8; i < 40; i += 2) s += rd16(b, i);
    return s + len + next;
  }

  test('property: IPv6 TCP/UDP/ICMPv6 address and port rewrites keep the L4 checksum valid', () => {
    fc.assert(fc.property(
      fc.constantFrom(6, 17, 58), fc.constantFrom<0 | 1>(0, 1),
      fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 40 }),
      (proto, manip, src, dst, naddr, nport, payload) => {
        const b = build6(proto, src, dst, 1234, 80, payload);
        const rw = new NatRewrite();
        rw.manip = manip;
        const t = rw.target;
        t.l3 = 6; t.proto = proto;
        const w = new Tuple();
        w.setSrc(naddr);
        if (manip === 0) { t.src0 = w.src0; t.src1 = w.src1; t.src2 = w.src2; t.src3 = w.src3; t.sport = nport; } else {
          t.dst0 = w.src0; t.dst1 = w.src1; t.dst2 = w.src2; t.dst3 = w.src3; t.dport = nport;
        }
        if (proto === 58) t.sport = nport;
        expect(natManipPkt6(b, 0, 40, proto, rw)).toBe(true);
        expect([...b.subarray(manip === 0 ? 8 : 24, manip === 0 ? 24 : 40)]).toEqual([...naddr]);
        const l4len = b.length - 40;
        expect(csumFold(b, 40, b.length, pseudo6(b, l4len, proto))).toBe(0);
      },
    ), { numRuns: 1000 });
  });

  test('a non-first fragment (proto 0) changes the address only', () => {
    const a = new Uint8Array(16).fill(1), z = new Uint8Array(16).fill(2), n = new Uint8Array(16).fill(3);
    const b = build6(17, a, z, 1, 2, new Uint8Array(4));
    const before = b.slice(40);
    const rw = new NatRewrite();
    rw.manip = NF_NAT_MANIP_DST;
    rw.target.l3 = 6;
    rw.target.setDst(n);
    natManipPkt6(b, 0, 40, 0, rw);
    expect([...b.subarray(24, 40)]).toEqual([...n]);
    expect([...b.subarray(40)]).toEqual([...before]);
  });
});
