/**
 * Rewriting packets for NAT: net/netfilter/nf_nat_proto.c (nf_nat_ipv4_manip_pkt,
 * nf_nat_ipv6_manip_pkt, {tcp,udp,icmp,icmpv6,sctp}_manip_pkt, nf_nat_icmp_reply_translation,
 * nf_nat_icmpv6_reply_translation).
 *
 * Checksums are updated incrementally (RFC 1624 eqn. 3, the kernel's csum_replace4 /
 * inet_proto_csum_replace2/4/16), so a checksum that was wrong before stays exactly as wrong; only
 * ICMP errors get their ICMP checksum recomputed from scratch after the quoted header changed, as the
 * kernel does for CHECKSUM_NONE packets. Everything is in place on `data`; nothing allocates.
 */
import { NF_NAT_MANIP_SRC, type NatManip, type NatRewrite } from './nat.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE, Tuple } from './tuple.js';

function rd16(b: Uint8Array, o: number): number { return (b[o]! << 8) | b[o + 1]!; }
function wr16(b: Uint8Array, o: number, v: number): void { b[o] = (v >>> 8) & 0xff; b[o + 1] = v & 0xff; }
/** Big-endian 32 bits as an int32 bit pattern: stays a Smi across calls (a u32 above 2^31 would be boxed). */
function rd32(b: Uint8Array, o: number): number { return (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!; }
function wr32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff; b[o + 1] = (v >>> 16) & 0xff; b[o + 2] = (v >>> 8) & 0xff; b[o + 3] = v & 0xff;
}

/** One's-complement fold of a running sum to 16 bits. */
function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return s;
}

/** inet_proto_csum_replace2 / csum_replace2: checksum at `off` after a 16-bit field went from→to. */
export function csumReplace2(b: Uint8Array, off: number, from: number, to: number): void {
  const s = fold((~rd16(b, off) & 0xffff) + (~from & 0xffff) + (to & 0xffff));
  wr16(b, off, ~s & 0xffff);
}

/** csum_replace4 / inet_proto_csum_replace4: a 32-bit field went from→to. */
export function csumReplace4(b: Uint8Array, off: number, from: number, to: number): void {
  const s = fold((~rd16(b, off) & 0xffff) + (~(from >>> 16) & 0xffff) + (~from & 0xffff) +
    ((to >>> 16) & 0xffff) + (to & 0xffff));
  wr16(b, off, ~s & 0xffff);
}

/** Sum of 16-bit words over [start, end) (odd trailing byte padded with zero), unfolded. */
export function csumPartial(b: Uint8Array, start: number, end: number, sum = 0): number {
  let i = start;
  for (; i + 1 < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (i < end) sum += b[i]! << 8;
  return fold(sum);
}

/** The Internet checksum of [start, end) with an optional pre-summed pseudo header. */
export function csumFold(b: Uint8Array, start: number, end: number, pseudo = 0): number {
  return ~csumPartial(b, start, end, pseudo) & 0xffff;
}

// CRC32c (Castagnoli), reflected, for SCTP (sctp_compute_cksum).
const CRC32C = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  CRC32C[n] = c >>> 0;
}

function sctpChecksum(b: Uint8Array, start: number, end: number): void {
  b[start + 8] = b[start + 9] = b[start + 10] = b[start + 11] = 0;
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC32C[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  c = ~c >>> 0;
  // Stored little endian (cpu_to_le32 of the CRC).
  b[start + 8] = c & 0xff; b[start + 9] = (c >>> 8) & 0xff; b[start + 10] = (c >>> 16) & 0xff; b[start + 11] = c >>> 24;
}

function isEchoLike4(type: number): boolean {
  return type === 0 || type === 8 || type === 13 || type === 14 || type === 15 || type === 16 || type === 17 || type === 18;
}

/**
 * l4proto_manip_pkt() for one header (outer or quoted). `csumAddrs` updates the L4 checksum for the
 * pseudo-header address change: (from, to) as one IPv4 word, or IPv6 via csumAddr6. Returns false
 * when the header is not all there (skb_ensure_writable would fail: NF_DROP).
 */
function l4Manip(b: Uint8Array, l4: number, end: number, proto: number, t: Tuple, manip: NatManip,
  oldAddr: number, newAddr: number, v6old: number, v6new: number): boolean {
  const src = manip === NF_NAT_MANIP_SRC;
  switch (proto) {
    case IPPROTO_TCP: {
      if (end < l4 + 8) return false;
      const po = l4 + (src ? 0 : 2);
      const oldPort = rd16(b, po);
      const newPort = src ? t.sport : t.dport;
      wr16(b, po, newPort);
      // An ICMP-quoted header may stop after 8 bytes: then the checksum isn't there to fix.
      if (end < l4 + 20) return true;
      pseudoUpdate(b, l4 + 16, oldAddr, newAddr, v6old, v6new);
      csumReplace2(b, l4 + 16, oldPort, newPort);
      return true;
    }
    case IPPROTO_UDP:
    case IPPROTO_UDPLITE: {
      if (end < l4 + 8) return false;
      const po = l4 + (src ? 0 : 2);
      const oldPort = rd16(b, po);
      const newPort = src ? t.sport : t.dport;
      // A UDP checksum of 0 means "none" (IPv4) and stays 0.
      if (proto === IPPROTO_UDPLITE || rd16(b, l4 + 6) !== 0) {
        pseudoUpdate(b, l4 + 6, oldAddr, newAddr, v6old, v6new);
        csumReplace2(b, l4 + 6, oldPort, newPort);
        if (rd16(b, l4 + 6) === 0) wr16(b, l4 + 6, 0xffff); // CSUM_MANGLED_0
      }
      wr16(b, po, newPort);
      return true;
    }
    case IPPROTO_SCTP: {
      if (end < l4 + 8) return false;
      wr16(b, l4 + (src ? 0 : 2), src ? t.sport : t.dport);
      if (end >= l4 + 12) sctpChecksum(b, l4, end);
      return true;
    }
    case IPPROTO_ICMP: {
      if (end < l4 + 8) return false;
      if (!isEchoLike4(b[l4]!)) return true;
      const oldId = rd16(b, l4 + 4);
      csumReplace2(b, l4 + 2, oldId, t.sport);
      wr16(b, l4 + 4, t.sport);
      return true;
    }
    case IPPROTO_ICMPV6: {
      if (end < l4 + 8) return false;
      pseudoUpdate(b, l4 + 2, oldAddr, newAddr, v6old, v6new);
      const type = b[l4]!;
      if (type === 128 || type === 129) {
        const oldId = rd16(b, l4 + 4);
        csumReplace2(b, l4 + 2, oldId, t.sport);
        wr16(b, l4 + 4, t.sport);
      }
      return true;
    }
    default:
      return true; // unknown protocol: no error, pass it unmodified
  }
}

/** Pseudo-header part of an L4 checksum update: IPv4 word (v6old < 0) or 16 IPv6 bytes at offsets. */
function pseudoUpdate(b: Uint8Array, csumOff: number, oldAddr: number, newAddr: number, v6old: number, v6new: number): void {
  if (v6old < 0) {
    csumReplace4(b, csumOff, oldAddr, newAddr);
    return;
  }
  // inet_proto_csum_replace16: old bytes at v6old (still in the header), new ones in v6scratch.
  for (let i = 0; i < 16; i += 4) csumReplace4(b, csumOff, rd32(b, v6old + i), rd32(v6scratch, v6new + i));
}

const v6scratch = new Uint8Array(16);
const inner = new Tuple();

/** nf_nat_ipv4_manip_pkt() on the IPv4 header at `iph` with L4 at `l4`. */
function manip4(b: Uint8Array, iph: number, l4: number, proto: number, end: number, t: Tuple, manip: NatManip): boolean {
  const addrOff = iph + (manip === NF_NAT_MANIP_SRC ? 12 : 16);
  const oldAddr = rd32(b, addrOff);
  const newAddr = (manip === NF_NAT_MANIP_SRC ? t.src0 : t.dst0) | 0;
  if (!l4Manip(b, l4, end, proto, t, manip, oldAddr, newAddr, -1, -1)) return false;
  csumReplace4(b, iph + 10, oldAddr, newAddr);
  wr32(b, addrOff, newAddr);
  return true;
}

/** End of the IPv4 packet at l3Off (total length, capped at the buffer). */
function end4(b: Uint8Array, l3Off: number): number {
  const e = l3Off + rd16(b, l3Off + 2);
  return e < b.length ? e : b.length;
}

/**
 * Rewrite an IPv4 packet in place as `rw` says (from nfNatPacket): address, port or ICMP echo id, with
 * incremental updates of the IP header checksum and the TCP/UDP (pseudo-header) or ICMP checksum; a
 * UDP checksum of 0 stays 0. For an ICMP error (rw.icmpError) the quoted header is translated in the
 * opposite sense first and the ICMP checksum recomputed (nf_nat_icmp_reply_translation).
 * Returns false where the kernel would drop the packet (NF_DROP): headers cut short, or an ICMP error
 * whose ICMP checksum is already wrong.
 */
export function natManipPkt4(data: Uint8Array, l3Off: number, l4Off: number, proto: number, rw: NatRewrite): boolean {
  const end = end4(data, l3Off);
  if (!rw.icmpError) return manip4(data, l3Off, l4Off, proto, end, rw.target, rw.manip);
  if (proto !== IPPROTO_ICMP || end < l4Off + 8 + 20) return false;
  if (csumFold(data, l4Off, end) !== 0) return false; // nf_ip_checksum()
  // The quoted packet travelled the other way: manip it with the other direction's tuple, other type.
  const ip = l4Off + 8;
  const ihl = (data[ip]! & 0x0f) << 2;
  if (ihl < 20 || end < ip + ihl) return false;
  if (!inner.invertFrom(rw.target)) inner.copyFrom(rw.target);
  const other: NatManip = rw.manip === NF_NAT_MANIP_SRC ? 1 : 0;
  if (!manip4(data, ip, ip + ihl, data[ip + 9]!, end, inner, other)) return false;
  wr16(data, l4Off + 2, 0);
  wr16(data, l4Off + 2, csumFold(data, l4Off, end));
  // Then the outer header looks like the reply to an incoming packet (ICMP errors keep their body).
  const addrOff = l3Off + (rw.manip === NF_NAT_MANIP_SRC ? 12 : 16);
  const oldAddr = rd32(data, addrOff);
  const newAddr = (rw.manip === NF_NAT_MANIP_SRC ? rw.target.src0 : rw.target.dst0) | 0;
  csumReplace4(data, l3Off + 10, oldAddr, newAddr);
  wr32(data, addrOff, newAddr);
  return true;
}

/** nf_nat_ipv6_manip_pkt() on the IPv6 header at `iph` with L4 at `l4` (proto 0: addresses only). */
function manip6(b: Uint8Array, iph: number, l4: number, proto: number, end: number, t: Tuple, manip: NatManip): boolean {
  const src = manip === NF_NAT_MANIP_SRC;
  const addrOff = iph + (src ? 8 : 24);
  wr32(v6scratch, 0, src ? t.src0 : t.dst0);
  wr32(v6scratch, 4, src ? t.src1 : t.dst1);
  wr32(v6scratch, 8, src ? t.src2 : t.dst2);
  wr32(v6scratch, 12, src ? t.src3 : t.dst3);
  if (proto !== 0 && !l4Manip(b, l4, end, proto, t, manip, 0, 0, addrOff, 0)) return false;
  for (let i = 0; i < 16; i++) b[addrOff + i] = v6scratch[i]!;
  return true;
}

/** Pre-summed IPv6 pseudo header (addresses of the header at iph, length, next header). */
function pseudo6(b: Uint8Array, iph: number, len: number, next: number): number {
  let s = csumPartial(b, iph + 8, iph + 40);
  s += (len >>> 16) + (len & 0xffff) + next;
  return fold(s);
}

/**
 * Rewrite an IPv6 packet in place (see natManipPkt4). `l4Off` is past any extension headers; pass
 * proto 0 for a non-first fragment (only the address changes, as in the kernel). For an ICMPv6 error
 * the quoted header is translated (a quoted header with extension headers gets its address only) and
 * the ICMPv6 checksum recomputed over the pseudo header (nf_nat_icmpv6_reply_translation).
 */
export function natManipPkt6(data: Uint8Array, l3Off: number, l4Off: number, proto: number, rw: NatRewrite): boolean {
  let end = l3Off + 40 + rd16(data, l3Off + 4);
  if (end > data.length) end = data.length;
  if (!rw.icmpError) return manip6(data, l3Off, l4Off, proto, end, rw.target, rw.manip);
  if (proto !== IPPROTO_ICMPV6 || end < l4Off + 8 + 40) return false;
  if (csumFold(data, l4Off, end, pseudo6(data, l3Off, end - l4Off, IPPROTO_ICMPV6)) !== 0) return false;
  const ip = l4Off + 8;
  const nh = data[ip + 6]!;
  const innerProto = nh === IPPROTO_TCP || nh === IPPROTO_UDP || nh === IPPROTO_UDPLITE || nh === IPPROTO_ICMPV6 ||
    nh === IPPROTO_SCTP ? nh : 0;
  if (!inner.invertFrom(rw.target)) inner.copyFrom(rw.target);
  const other: NatManip = rw.manip === NF_NAT_MANIP_SRC ? 1 : 0;
  if (!manip6(data, ip, ip + 40, innerProto, end, inner, other)) return false;
  wr16(data, l4Off + 2, 0);
  wr16(data, l4Off + 2, csumFold(data, l4Off, end, pseudo6(data, l3Off, end - l4Off, IPPROTO_ICMPV6)));
  // Outer: the ICMPv6 checksum covers the pseudo header, so the address change is folded in too.
  return manip6(data, l3Off, l4Off, IPPROTO_ICMPV6, end, rw.target, rw.manip);
}

