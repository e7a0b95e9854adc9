/**
 * Conntrack tuples and the per-packet input record.
 *
 * Mirrors include/net/netfilter/nf_conntrack_tuple.h (struct nf_conntrack_tuple, tuplehash) and the
 * tuple parts of net/netfilter/nf_conntrack_core.c (nf_ct_get_tuple, nf_ct_invert_tuple,
 * nf_ct_tuple_equal) and nf_conntrack_proto_icmp{,v6}.c (icmp_pkt_to_tuple, invmap).
 *
 * Addresses are kept as four u32 words each, host order of the network bytes (word 0 = first four
 * bytes, so an IPv4 address is `src0` with `src1..3 = 0`, like the kernel's zero-filled u3.all[4]).
 * Comparing and hashing are then plain number operations; nothing here allocates per packet.
 */
import type { Conn } from './table.js';

// IANA protocol numbers used by the trackers.
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_GRE = 47;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_SCTP = 132;
export const IPPROTO_UDPLITE = 136;

/** enum ip_conntrack_dir. */
export const IP_CT_DIR_ORIGINAL = 0;
export const IP_CT_DIR_REPLY = 1;

/** ctinfo, include/uapi/linux/netfilter/nf_conntrack_common.h enum ip_conntrack_info. */
export const IP_CT_ESTABLISHED = 0;
export const IP_CT_RELATED = 1;
export const IP_CT_NEW = 2;
export const IP_CT_IS_REPLY = 3;
export const IP_CT_ESTABLISHED_REPLY = 3;
export const IP_CT_RELATED_REPLY = 4;
export const IP_CT_UNTRACKED = 7;

/** CTINFO2DIR(). */
export function ctinfoDir(ctinfo: number): number {
  return ctinfo >= IP_CT_IS_REPLY ? IP_CT_DIR_REPLY : IP_CT_DIR_ORIGINAL;
}

/** Status bits, include/uapi/linux/netfilter/nf_conntrack_common.h enum ip_conntrack_status. */
export const IPS_EXPECTED = 1 << 0;
export const IPS_SEEN_REPLY = 1 << 1;
export const IPS_ASSURED = 1 << 2;
export const IPS_CONFIRMED = 1 << 3;
export const IPS_SRC_NAT = 1 << 4;
export const IPS_DST_NAT = 1 << 5;
export const IPS_NAT_MASK = IPS_SRC_NAT | IPS_DST_NAT;
export const IPS_SEQ_ADJUST = 1 << 6;
export const IPS_SRC_NAT_DONE = 1 << 7;
export const IPS_DST_NAT_DONE = 1 << 8;
export const IPS_NAT_DONE_MASK = IPS_SRC_NAT_DONE | IPS_DST_NAT_DONE;
export const IPS_DYING = 1 << 9;
export const IPS_FIXED_TIMEOUT = 1 << 10;
export const IPS_TEMPLATE = 1 << 11;
/** Shares bit 12 with the obsolete IPS_UNTRACKED. */
export const IPS_NAT_CLASH = 1 << 12;
export const IPS_HELPER = 1 << 13;
export const IPS_OFFLOAD = 1 << 14;
export const IPS_HW_OFFLOAD = 1 << 15;

// ICMP types that have a reply (nf_conntrack_proto_icmp.c invmap) and may create a conn (valid_new).
const ICMP_INVMAP = new Int16Array(256).fill(-1);
ICMP_INVMAP[8] = 0; ICMP_INVMAP[0] = 8; // echo
ICMP_INVMAP[13] = 14; ICMP_INVMAP[14] = 13; // timestamp
ICMP_INVMAP[15] = 16; ICMP_INVMAP[16] = 15; // info
ICMP_INVMAP[17] = 18; ICMP_INVMAP[18] = 17; // address mask
const ICMPV6_INVMAP = new Int16Array(256).fill(-1);
ICMPV6_INVMAP[128] = 129; ICMPV6_INVMAP[129] = 128; // echo
ICMPV6_INVMAP[139] = 140; ICMPV6_INVMAP[140] = 139; // node information

/** True when the protocol's tuple carries ports (nf_ct_get_tuple_ports). */
export function hasPorts(proto: number): boolean {
  return proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_UDPLITE || proto === IPPROTO_SCTP;
}

/** True for ICMP and ICMPv6, whose tuple is (id; type, code). */
export function isIcmp(proto: number): boolean {
  return proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6;
}

/**
 * One direction of a connection: struct nf_conntrack_tuple plus its hash node (tuplehash).
 *
 * `sport`/`dport` are the ports for TCP/UDP/UDP-Lite/SCTP; for ICMP `sport` is the echo id
 * (src.u.icmp.id) and `dport` is `type << 8 | code` (dst.u.icmp.type/code). Other protocols keep 0.
 */
export class Tuple {
  /** 4 or 6. */
  l3 = 4;
  proto = 0;
  src0 = 0; src1 = 0; src2 = 0; src3 = 0;
  dst0 = 0; dst1 = 0; dst2 = 0; dst3 = 0;
  sport = 0;
  dport = 0;
  /** IP_CT_DIR_ORIGINAL or IP_CT_DIR_REPLY (tuple.dst.dir). */
  dir = 0;
  /** The connection owning this tuple; null for scratch tuples. */
  conn: Conn | null = null;
  /** Next node in the hash bucket (hnnode). */
  next: Tuple | null = null;

  /** IPv4 source address (u32). */
  get src4(): number { return this.src0; }
  /** IPv4 destination address (u32). */
  get dst4(): number { return this.dst0; }
  /** ICMP type (dst.u.icmp.type). */
  get icmpType(): number { return this.dport >>> 8; }
  /** ICMP code (dst.u.icmp.code). */
  get icmpCode(): number { return this.dport & 0xff; }
  /** ICMP echo id (src.u.icmp.id). */
  get icmpId(): number { return this.sport; }

  /** Copy the tuple fields (not dir/conn/next). */
  copyFrom(t: Tuple): this {
    this.l3 = t.l3; this.proto = t.proto;
    this.src0 = t.src0; this.src1 = t.src1; this.src2 = t.src2; this.src3 = t.src3;
    this.dst0 = t.dst0; this.dst1 = t.dst1; this.dst2 = t.dst2; this.dst3 = t.dst3;
    this.sport = t.sport; this.dport = t.dport;
    return this;
  }

  /**
   * Set this to the inverse of `t` (nf_ct_invert_tuple). Returns false for an ICMP type without a
   * reply type (errors, unknown types), as the kernel does; `this` is then unspecified.
   */
  invertFrom(t: Tuple): boolean {
    const s0 = t.src0, s1 = t.src1, s2 = t.src2, s3 = t.src3;
    this.l3 = t.l3; this.proto = t.proto;
    this.src0 = t.dst0; this.src1 = t.dst1; this.src2 = t.dst2; this.src3 = t.dst3;
    this.dst0 = s0; this.dst1 = s1; this.dst2 = s2; this.dst3 = s3;
    if (t.proto === IPPROTO_ICMP || t.proto === IPPROTO_ICMPV6) {
      const inv = (t.proto === IPPROTO_ICMP ? ICMP_INVMAP : ICMPV6_INVMAP)[t.dport >>> 8]!;
      if (inv < 0) return false;
      this.sport = t.sport;
      this.dport = (inv << 8) | (t.dport & 0xff);
      return true;
    }
    const sp = t.sport;
    this.sport = t.dport;
    this.dport = sp;
    return true;
  }

  /** nf_ct_tuple_equal(). */
  equals(t: Tuple): boolean {
    return this.src0 === t.src0 && this.dst0 === t.dst0 && this.sport === t.sport && this.dport === t.dport &&
      this.proto === t.proto && this.l3 === t.l3 &&
      this.src1 === t.src1 && this.src2 === t.src2 && this.src3 === t.src3 &&
      this.dst1 === t.dst1 && this.dst2 === t.dst2 && this.dst3 === t.dst3;
  }

  /** Source address equal (nf_inet_addr_cmp on src.u3). */
  srcAddrEquals(t: Tuple): boolean {
    return this.src0 === t.src0 && this.src1 === t.src1 && this.src2 === t.src2 && this.src3 === t.src3;
  }

  /** Destination address equal. */
  dstAddrEquals(t: Tuple): boolean {
    return this.dst0 === t.dst0 && this.dst1 === t.dst1 && this.dst2 === t.dst2 && this.dst3 === t.dst3;
  }

  /** Set the source address from an IPv4 u32 or 16 IPv6 bytes. */
  setSrc(addr: number | Uint8Array): void {
    if (typeof addr === 'number') { this.src0 = addr >>> 0; this.src1 = this.src2 = this.src3 = 0; return; }
    this.src0 = word(addr, 0); this.src1 = word(addr, 4); this.src2 = word(addr, 8); this.src3 = word(addr, 12);
  }

  /** Set the destination address from an IPv4 u32 or 16 IPv6 bytes. */
  setDst(addr: number | Uint8Array): void {
    if (typeof addr === 'number') { this.dst0 = addr >>> 0; this.dst1 = this.dst2 = this.dst3 = 0; return; }
    this.dst0 = word(addr, 0); this.dst1 = word(addr, 4); this.dst2 = word(addr, 8); this.dst3 = word(addr, 12);
  }
}

/** Big-endian u32 at `off`. */
export function word(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

/**
 * The packet fields conntrack needs. The datapath fills one reused object per packet (call
 * `reset()` first); nothing here points into packet memory.
 *
 * Who checks what: the datapath parses headers and sets `hdrError` when the L4 header is short or
 * malformed the way the tracker would reject it (TCP doff*4 < 20 or beyond the segment; UDP length
 * field > datagram or < 8; ICMP shorter than 8 bytes), and `csumBad` when the L4 checksum is wrong AND
 * the packet is at PREROUTING AND net.netfilter.nf_conntrack_checksum is 1 (the kernel checks only
 * there; a UDP checksum of 0 is never bad).
 */
export class CtPacket {
  /** 4 or 6. */
  l3 = 4;
  /** L4 protocol (after IPv6 extension headers). */
  proto = 0;
  src4 = 0;
  dst4 = 0;
  /** IPv6 addresses (copied in, 16 bytes each; reset() leaves them: set them whenever l3 = 6). */
  src6 = new Uint8Array(16);
  dst6 = new Uint8Array(16);
  /** Conntrack zone (nft `ct zone set`, CT target); 0 by default. */
  zone = 0;
  sport = 0;
  dport = 0;
  icmpType = -1;
  icmpCode = -1;
  /** ICMP bytes 4-5 (echo id), read for every ICMP type like icmp_pkt_to_tuple. */
  icmpId = -1;
  /** TCP flag byte (FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 ECE 0x40 CWR 0x80). */
  tcpFlags = 0;
  tcpSeq = 0;
  tcpAck = 0;
  tcpWin = 0;
  /** Length of the TCP options (doff*4 - 20). */
  tcpOptLen = 0;
  /** Window scale option value, -1 if absent (tcp_options). */
  tcpWscale = -1;
  /** SACK-permitted option present. */
  tcpSackPerm = false;
  /** Number of SACK blocks (0-4) and their right edges, in option order (tcp_sack). */
  tcpSackCount = 0;
  tcpSackRight = new Uint32Array(4);
  /** L4 payload length (TCP: segment length minus doff*4). */
  payloadLen = 0;
  /** L4 header short/malformed (see class comment). */
  hdrError = false;
  /** L4 checksum bad and checked (see class comment). */
  csumBad = false;
  // ICMP error: the quoted (inner) header, for RELATED. innerValid false = could not be parsed
  // (quoted IP header short, fragment with offset, or L4 part shorter than the tracker needs).
  innerValid = false;
  innerProto = 0;
  innerSrc4 = 0;
  innerDst4 = 0;
  innerSrc6 = new Uint8Array(16);
  innerDst6 = new Uint8Array(16);
  innerSport = 0;
  innerDport = 0;
  innerIcmpType = -1;
  innerIcmpCode = -1;
  innerIcmpId = -1;

  /**
   * Clear everything to the defaults. The IPv6 buffers are left alone (four TypedArray fills were a
   * sixth of the per-packet cost in a 200-flow TCP microbenchmark): whoever sets l3 = 6 writes them.
   */
  reset(): this {
    this.l3 = 4; this.proto = 0; this.src4 = 0; this.dst4 = 0;
    this.zone = 0; this.sport = 0; this.dport = 0; this.icmpType = -1; this.icmpCode = -1; this.icmpId = -1;
    this.tcpFlags = 0; this.tcpSeq = 0; this.tcpAck = 0; this.tcpWin = 0; this.tcpOptLen = 0;
    this.tcpWscale = -1; this.tcpSackPerm = false; this.tcpSackCount = 0; this.payloadLen = 0;
    this.hdrError = false; this.csumBad = false;
    this.innerValid = false; this.innerProto = 0; this.innerSrc4 = 0; this.innerDst4 = 0;
    this.innerSport = 0; this.innerDport = 0;
    this.innerIcmpType = -1; this.innerIcmpCode = -1; this.innerIcmpId = -1;
    return this;
  }
}

/** Fill `t` with the original-direction tuple of `p` (nf_ct_get_tuple). */
export function tupleFromPacket(t: Tuple, p: CtPacket): void {
  t.l3 = p.l3;
  t.proto = p.proto;
  if (p.l3 === 4) {
    t.setSrc(p.src4);
    t.setDst(p.dst4);
  } else {
    t.setSrc(p.src6);
    t.setDst(p.dst6);
  }
  setL4(t, p.proto, p.sport, p.dport, p.icmpType, p.icmpCode, p.icmpId);
  t.dir = IP_CT_DIR_ORIGINAL;
}

/** Fill `t` with the tuple of the header quoted in an ICMP error (nf_ct_get_tuplepr on the inner). */
export function tupleFromInner(t: Tuple, p: CtPacket): void {
  t.l3 = p.l3;
  t.proto = p.innerProto;
  if (p.l3 === 4) {
    t.setSrc(p.innerSrc4);
    t.setDst(p.innerDst4);
  } else {
    t.setSrc(p.innerSrc6);
    t.setDst(p.innerDst6);
  }
  setL4(t, p.innerProto, p.innerSport, p.innerDport, p.innerIcmpType, p.innerIcmpCode, p.innerIcmpId);
  t.dir = IP_CT_DIR_ORIGINAL;
}

function setL4(t: Tuple, proto: number, sport: number, dport: number, type: number, code: number, id: number): void {
  if (hasPorts(proto)) {
    t.sport = sport & 0xffff;
    t.dport = dport & 0xffff;
  } else if (isIcmp(proto)) {
    t.sport = id & 0xffff;
    t.dport = ((type & 0xff) << 8) | (code & 0xff);
  } else {
    t.sport = 0;
    t.dport = 0;
  }
}

/** ICMPv4 types that may create a conn (nf_conntrack_icmp_packet valid_new). */
export function icmpValidNew(type: number): boolean {
  return type === 8 || type === 13 || type === 15 || type === 17;
}

/** ICMPv6 types that may create a conn (nf_conntrack_icmpv6_packet valid_new). */
export function icmpv6ValidNew(type: number): boolean {
  return type === 128 || type === 139;
}
