/**
 * One-pass frame decoder: link header, VLAN tags, IPv4/IPv6/ARP, TCP/UDP/ICMP/ICMPv6, into one reused
 * PacketInfo of numbers and byte offsets. It never throws on packet content: a frame the kernel would
 * reject decodes as far as it can and lists the kernel's drop reason(s) in `problems`.
 *
 * Check order follows the kernel's receive functions, so `problem0` is the reason the kernel reports:
 * ip_rcv_core (net/ipv4/ip_input.c), ip6_rcv_core (net/ipv6/ip6_input.c), tcp_v4_rcv, __udp4_lib_rcv,
 * icmp_rcv, icmpv6_rcv, ndisc_rcv, arp_rcv.
 *
 *   bytes: | link hdr | VLAN tags | L3 hdr (+ options / ext hdrs) | L4 hdr | payload | padding |
 *          0          ^macOff=0 for Ethernet, else -1
 *                                 ^l3Off                          ^l4Off
 * Lengths: `len` is the frame length on the wire, `caplen` the part captured (caplen < len after a
 * snaplen cut). A header that runs past `len` is the sender's fault (PKT_TOO_SMALL, IP_INHDR…); one that
 * runs past only `caplen` gets HDR_TRUNC, and `info.caplen < info.len` tells the two apart.
 *
 * This file imports the drop reason table besides the wire files; it allocates nothing per frame
 * (see endFrame for the one V8 caveat). The DataView `dv` is made only when a caller asks for it.
 */
import { DR, dropReason } from '../drop_reason.js';
import { EMPTY_U8, u32 } from './bytes.js';
import { pseudoSum6, sum16, verifies } from './checksum.js';
import { ETH_P_8021AD, ETH_P_8021Q, ETH_P_ARP, ETH_P_IP, ETH_P_IPV6 } from './ethernet.js';
import { EXT_DEST, EXT_FRAGMENT, EXT_HOP, EXT_ROUTING } from './ipv6.js';

export const L3_NONE = 0, L3_IPV4 = 1, L3_IPV6 = 2, L3_ARP = 3;

/** pcap LINKTYPE_* values handled (tcpdump.org link-layer header types). */
export const LINKTYPE_NULL = 0, LINKTYPE_ETHERNET = 1, LINKTYPE_RAW = 101, LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113, LINKTYPE_IPV4 = 228, LINKTYPE_IPV6 = 229, LINKTYPE_LINUX_SLL2 = 276;

/** Extension headers followed before giving up on a hostile chain (the kernel has no fixed cap; 8 is plenty for real traffic). */
const kMaxExtHeaders = 8;

const NDISC_FRAG = dropReason('IPV6_NDISC_FRAG');
const NDISC_HOP_LIMIT = dropReason('IPV6_NDISC_HOP_LIMIT');
const NDISC_BAD_CODE = dropReason('IPV6_NDISC_BAD_CODE');
const NDISC_BAD_OPTIONS = dropReason('IPV6_NDISC_BAD_OPTIONS');

const EMPTY_DV = new DataView(new ArrayBuffer(0));

/** Decoded fields of one frame. One object per decoder, reused for every frame; every field is set here. */
export class PacketInfo {
  bytes: Uint8Array = EMPTY_U8;
  caplen = 0;
  len = 0;
  linktype = -1;
  macOff = -1;
  dstMacHi = -1;
  dstMacLo = -1;
  srcMacHi = -1;
  srcMacLo = -1;
  sllPktType = -1;
  sllIfindex = -1;
  ethertype = -1;
  vlanCount = 0;
  vlan0 = -1;
  vlan1 = -1;
  l3 = L3_NONE;
  l3Off = -1;
  l3Len = -1;
  ipHdrLen = -1;
  ttl = -1;
  tos = -1;
  ipId = -1;
  fragOff = 0;
  moreFrags = false;
  dontFrag = false;
  src4 = 0;
  dst4 = 0;
  srcOff = -1;
  dstOff = -1;
  l4proto = -1;
  l4Off = -1;
  l4Len = -1;
  sport = -1;
  dport = -1;
  tcpFlags = -1;
  tcpSeq = -1;
  tcpAck = -1;
  tcpWin = -1;
  tcpMss = -1;
  tcpWscale = -1;
  tcpSackPerm = false;
  tcpTsVal = -1;
  tcpTsEcr = -1;
  icmpType = -1;
  icmpCode = -1;
  icmpId = -1;
  icmpSeq = -1;
  icmpInnerOff = -1;
  arpOp = -1;
  arpShaOff = -1;
  arpSpaOff = -1;
  arpThaOff = -1;
  arpTpaOff = -1;
  ndTargetOff = -1;
  ndLladdrOff = -1;
  ip6ExtMask = 0;
  problems = 0;
  problem0 = 0;
  problemList: number[] = [];
  private dvView: DataView = EMPTY_DV;
  private dvBytes: Uint8Array = EMPTY_U8;

  /**
   * A DataView over the same memory as `bytes`. Made on first use after `bytes` changes, so decoding
   * itself allocates nothing (a frame is often a fresh subarray).
   */
  get dv(): DataView {
    if (this.dvBytes !== this.bytes) {
      const b = this.bytes;
      this.dvView = new DataView(b.buffer, b.byteOffset, b.byteLength);
      this.dvBytes = b;
    }
    return this.dvView;
  }
}

/** Decoder options. */
export interface DecodeOptions {
  /** Verify IPv4 header and L4 checksums; turn off for captures taken with checksum offload. */
  verifyChecksums: boolean;
}

function reset(info: PacketInfo, bytes: Uint8Array, caplen: number, len: number, linktype: number): void {
  info.bytes = bytes;
  info.caplen = caplen;
  info.len = len;
  info.linktype = linktype;
  info.macOff = -1;
  info.dstMacHi = -1;
  info.dstMacLo = -1;
  info.srcMacHi = -1;
  info.srcMacLo = -1;
  info.ethertype = -1;
  info.l3 = L3_NONE;
  info.l3Off = -1;
  info.l3Len = -1;
  info.ipHdrLen = -1;
  info.ttl = -1;
  info.tos = -1;
  info.ipId = -1;
  info.fragOff = 0;
  info.moreFrags = false;
  info.dontFrag = false;
  info.src4 = 0;
  info.dst4 = 0;
  info.srcOff = -1;
  info.dstOff = -1;
  info.l4proto = -1;
  info.l4Off = -1;
  info.l4Len = -1;
  info.sport = -1;
  info.dport = -1;
  // Groups that only some frames set are cleared only when the previous frame set them: on a
  // stream of TCP over Ethernet this skips 20 stores per frame (4.8 → 6.4 Mpps on `synth --mix tcp=1`, verifyChecksums off).
  if (info.sllPktType !== -1 || info.sllIfindex !== -1) {
    info.sllPktType = -1;
    info.sllIfindex = -1;
  }
  if (info.vlanCount !== 0) {
    info.vlanCount = 0;
    info.vlan0 = -1;
    info.vlan1 = -1;
  }
  if (info.tcpFlags !== -1) {
    info.tcpFlags = -1;
    info.tcpSeq = -1;
    info.tcpAck = -1;
    info.tcpWin = -1;
    info.tcpMss = -1;
    info.tcpWscale = -1;
    info.tcpSackPerm = false;
    info.tcpTsVal = -1;
    info.tcpTsEcr = -1;
  }
  if (info.icmpType !== -1) {
    info.icmpType = -1;
    info.icmpCode = -1;
    info.icmpId = -1;
    info.icmpSeq = -1;
    info.icmpInnerOff = -1;
    info.ndTargetOff = -1;
    info.ndLladdrOff = -1;
  }
  if (info.arpOp !== -1) {
    info.arpOp = -1;
    info.arpShaOff = -1;
    info.arpSpaOff = -1;
    info.arpThaOff = -1;
    info.arpTpaOff = -1;
  }
  info.ip6ExtMask = 0;
  info.problems = 0;
  info.problem0 = 0;
}

/**
 * Trim problemList to this frame's problems. It is overwritten in place and shrunk only here, with
 * pop(): V8 drops an array's backing store when its length is set to 0, so `length = 0` made every
 * frame with a problem allocate a new one (740 GCs per 5M bad frames, 410 per 5M alternating
 * good/bad; now 0 and 39).
 */
function endFrame(info: PacketInfo): void {
  const list = info.problemList;
  while (list.length > info.problems) list.pop();
}

function problem(info: PacketInfo, reason: number): void {
  const list = info.problemList, n = info.problems;
  if (n === 0) info.problem0 = reason;
  if (n < list.length) list[n] = reason;
  else list.push(reason);
  info.problems = n + 1;
}

/**
 * Decode a captured frame of `linktype` into `info`: `caplen` bytes of `bytes` are present out of `len`
 * on the wire. Never throws on content; never allocates.
 */
export function decodeFrame(info: PacketInfo, bytes: Uint8Array, caplen: number, len: number, linktype: number, opts: DecodeOptions): void {
  const cap = caplen < bytes.length ? (caplen > 0 ? caplen : 0) : bytes.length;
  if (!(len >= cap)) len = cap;
  reset(info, bytes, cap, len, linktype);
  link(info, bytes, cap, len, linktype, opts.verifyChecksums);
  endFrame(info);
}

function link(info: PacketInfo, bytes: Uint8Array, cap: number, len: number, linktype: number, v: boolean): void {
  switch (linktype) {
    case LINKTYPE_ETHERNET:
      // IEEE 802.3 clause 3.2: dst, src, type/length.
      if (len < 14) return problem(info, DR.PKT_TOO_SMALL);
      if (cap < 14) return problem(info, DR.HDR_TRUNC);
      info.macOff = 0;
      info.dstMacHi = (bytes[0] << 8) | bytes[1];
      info.dstMacLo = u32(bytes, 2);
      info.srcMacHi = (bytes[6] << 8) | bytes[7];
      info.srcMacLo = u32(bytes, 8);
      return linkPayload(info, bytes, 14, cap, len, (bytes[12] << 8) | bytes[13], v);
    case LINKTYPE_LINUX_SLL:
      return sll(info, bytes, cap, len, v);
    case LINKTYPE_LINUX_SLL2:
      return sll2(info, bytes, cap, len, v);
    case LINKTYPE_RAW:
    case 12:
    case 14:
      if (len < 1) return problem(info, DR.PKT_TOO_SMALL);
      if (cap < 1) return problem(info, DR.HDR_TRUNC);
      return rawIp(info, bytes, 0, cap, len, v);
    case LINKTYPE_IPV4:
      info.ethertype = ETH_P_IP;
      return ipv4(info, bytes, 0, cap, len, v);
    case LINKTYPE_IPV6:
      info.ethertype = ETH_P_IPV6;
      return ipv6(info, bytes, 0, cap, len, v);
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP:
      return loopback(info, bytes, cap, len, linktype, v);
    default:
      return problem(info, DR.UNHANDLED_PROTO);
  }
}

/**
 * Decode starting at an IPv4, IPv6 or ARP header at `off` (tunnel payloads, locally built packets).
 * Resets `info`; link fields stay -1 and `linktype` is -1.
 */
export function decodeL3(info: PacketInfo, bytes: Uint8Array, off: number, caplen: number, len: number, ethertype: number, opts: DecodeOptions): void {
  const cap = caplen < bytes.length ? (caplen > 0 ? caplen : 0) : bytes.length;
  if (!(len >= cap)) len = cap;
  reset(info, bytes, cap, len, -1);
  info.ethertype = ethertype;
  if (!(off >= 0) || off > len) problem(info, DR.PKT_TOO_SMALL);
  else l3(info, bytes, off, cap, len, ethertype, opts.verifyChecksums);
  endFrame(info);
}

/** VLAN tags (IEEE 802.1Q §9.6; 802.1ad S-tags use TPID 0x88a8), then the network layer. */
function linkPayload(info: PacketInfo, b: Uint8Array, o: number, cap: number, len: number, type: number, v: boolean): void {
  while (type === ETH_P_8021Q || type === ETH_P_8021AD) {
    if (o + 4 > len) return problem(info, DR.PKT_TOO_SMALL);
    if (o + 4 > cap) return problem(info, DR.HDR_TRUNC);
    const vid = ((b[o] & 0x0f) << 8) | b[o + 1];
    if (info.vlanCount === 0) info.vlan0 = vid;
    else if (info.vlanCount === 1) info.vlan1 = vid;
    info.vlanCount++;
    type = (b[o + 2] << 8) | b[o + 3];
    o += 4;
  }
  info.ethertype = type;
  l3(info, b, o, cap, len, type, v);
}

function l3(info: PacketInfo, b: Uint8Array, o: number, cap: number, len: number, type: number, v: boolean): void {
  if (type === ETH_P_IP) ipv4(info, b, o, cap, len, v);
  else if (type === ETH_P_IPV6) ipv6(info, b, o, cap, len, v);
  else if (type === ETH_P_ARP) arp(info, b, o, cap, len);
  // __netif_receive_skb_core: no packet_type handler → UNHANDLED_PROTO (also 802.3 length frames).
  else problem(info, DR.UNHANDLED_PROTO);
}

// LINKTYPE_LINUX_SLL: pkttype(2) hatype(2) halen(2) addr(8) protocol(2).
function sll(info: PacketInfo, b: Uint8Array, cap: number, len: number, v: boolean): void {
  if (len < 16) return problem(info, DR.PKT_TOO_SMALL);
  if (cap < 16) return problem(info, DR.HDR_TRUNC);
  info.sllPktType = (b[0] << 8) | b[1];
  if (b[4] === 0 && b[5] === 6) {
    info.srcMacHi = (b[6] << 8) | b[7];
    info.srcMacLo = u32(b, 8);
  }
  linkPayload(info, b, 16, cap, len, (b[14] << 8) | b[15], v);
}

// LINKTYPE_LINUX_SLL2: protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) halen(1) addr(8).
function sll2(info: PacketInfo, b: Uint8Array, cap: number, len: number, v: boolean): void {
  if (len < 20) return problem(info, DR.PKT_TOO_SMALL);
  if (cap < 20) return problem(info, DR.HDR_TRUNC);
  info.sllIfindex = u32(b, 4);
  info.sllPktType = b[10];
  if (b[11] === 6) {
    info.srcMacHi = (b[12] << 8) | b[13];
    info.srcMacLo = u32(b, 14);
  }
  linkPayload(info, b, 20, cap, len, (b[0] << 8) | b[1], v);
}

// LINKTYPE_NULL (family in the capturing host's byte order) / LINKTYPE_LOOP (network order).
function loopback(info: PacketInfo, b: Uint8Array, cap: number, len: number, linktype: number, v: boolean): void {
  if (len < 4) return problem(info, DR.PKT_TOO_SMALL);
  if (cap < 4) return problem(info, DR.HDR_TRUNC);
  let fam = linktype === LINKTYPE_LOOP ? u32(b, 0) : (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
  // As tcpdump's null_if_print: a family with high bits set was written big-endian.
  if (linktype === LINKTYPE_NULL && (fam & 0xffff0000) !== 0) fam = u32(b, 0);
  if (fam === 2) {
    info.ethertype = ETH_P_IP;
    ipv4(info, b, 4, cap, len, v);
  } else if (fam === 10 || fam === 24 || fam === 28 || fam === 30) {
    // AF_INET6 on Linux, NetBSD/OpenBSD, FreeBSD, Darwin.
    info.ethertype = ETH_P_IPV6;
    ipv6(info, b, 4, cap, len, v);
  } else {
    problem(info, DR.UNHANDLED_PROTO);
  }
}

// Raw IP: the version nibble picks the protocol (as tun with IFF_NO_PI does).
function rawIp(info: PacketInfo, b: Uint8Array, o: number, cap: number, len: number, v: boolean): void {
  const ver = b[o] >>> 4;
  if (ver === 4) {
    info.ethertype = ETH_P_IP;
    ipv4(info, b, o, cap, len, v);
  } else if (ver === 6) {
    info.ethertype = ETH_P_IPV6;
    ipv6(info, b, o, cap, len, v);
  } else {
    problem(info, DR.UNHANDLED_PROTO);
  }
}

// RFC 826: hrd(2) pro(2) hln(1) pln(1) op(2) sha spa tha tpa.
function arp(info: PacketInfo, b: Uint8Array, o: number, cap: number, len: number): void {
  info.l3 = L3_ARP;
  info.l3Off = o;
  if (len - o < 8) return problem(info, DR.PKT_TOO_SMALL);
  if (cap - o < 8) return problem(info, DR.HDR_TRUNC);
  info.arpOp = (b[o + 6] << 8) | b[o + 7];
  const hln = b[o + 4], pln = b[o + 5], need = 8 + 2 * (hln + pln);
  if (len - o < need) return problem(info, DR.PKT_TOO_SMALL);
  if (cap - o < need) return problem(info, DR.HDR_TRUNC);
  info.l3Len = need;
  const hrd = (b[o] << 8) | b[o + 1];
  // arp_rcv/arp_process: Ethernet (or IEEE 802) hardware, IPv4 protocol, request or reply.
  if ((hrd !== 1 && hrd !== 6) || ((b[o + 2] << 8) | b[o + 3]) !== ETH_P_IP || hln !== 6 || pln !== 4) {
    return problem(info, DR.INVALID_PROTO);
  }
  info.arpShaOff = o + 8;
  info.arpSpaOff = info.srcOff = o + 14;
  info.arpThaOff = o + 18;
  info.arpTpaOff = info.dstOff = o + 24;
  info.src4 = u32(b, o + 14);
  info.dst4 = u32(b, o + 24);
  if (info.arpOp !== 1 && info.arpOp !== 2) problem(info, DR.INVALID_PROTO);
}

// RFC 791 §3.1; checks in ip_rcv_core order.
function ipv4(info: PacketInfo, b: Uint8Array, o: number, cap: number, len: number, v: boolean): void {
  info.l3 = L3_IPV4;
  info.l3Off = o;
  const avail = len - o, capAvail = cap - o;
  if (avail < 20) return problem(info, DR.IP_INHDR); // pskb_may_pull(sizeof(struct iphdr)) fails
  if (capAvail < 20) return problem(info, DR.HDR_TRUNC);
  const vihl = b[o];
  if (vihl >>> 4 !== 4 || (vihl & 0x0f) < 5) return problem(info, DR.IP_INHDR);
  const hlen = (vihl & 0x0f) << 2;
  const totLen = (b[o + 2] << 8) | b[o + 3];
  const frag = (b[o + 6] << 8) | b[o + 7];
  info.ipHdrLen = hlen;
  info.tos = b[o + 1];
  info.ipId = (b[o + 4] << 8) | b[o + 5];
  info.fragOff = (frag & 0x1fff) << 3;
  info.moreFrags = (frag & 0x2000) !== 0;
  info.dontFrag = (frag & 0x4000) !== 0;
  info.ttl = b[o + 8];
  info.l4proto = b[o + 9];
  info.src4 = u32(b, o + 12);
  info.dst4 = u32(b, o + 16);
  info.srcOff = o + 12;
  info.dstOff = o + 16;
  info.l3Len = totLen < capAvail ? totLen : capAvail;
  if (hlen > avail) return problem(info, DR.IP_INHDR);
  if (hlen > capAvail) return problem(info, DR.HDR_TRUNC);
  if (v && !verifies(sum16(b, o, hlen, 0))) problem(info, DR.IP_CSUM);
  let ipLen = totLen;
  if (totLen > avail) {
    problem(info, DR.PKT_TOO_SMALL); // ip_rcv_core: skb->len < tot_len
    ipLen = avail;
  } else if (totLen < hlen) {
    return problem(info, DR.IP_INHDR);
  }
  if (info.fragOff !== 0) return; // not the first fragment: no transport header
  const capIp = ipLen < capAvail ? ipLen : capAvail;
  l4(info, b, o + hlen, ipLen - hlen, capIp - hlen, info.l4proto, false, info.moreFrags, v && totLen <= avail);
}

// RFC 8200 §3 and §4; checks in ip6_rcv_core order, then the extension header chain.
function ipv6(info: PacketInfo, b: Uint8Array, o: number, cap: number, len: number, v: boolean): void {
  info.l3 = L3_IPV6;
  info.l3Off = o;
  const avail = len - o, capAvail = cap - o;
  if (avail < 40) return problem(info, DR.IP_INHDR);
  if (capAvail < 40) return problem(info, DR.HDR_TRUNC);
  if (b[o] >>> 4 !== 6) return problem(info, DR.IP_INHDR);
  info.tos = ((b[o] & 0x0f) << 4) | (b[o + 1] >>> 4);
  info.ttl = b[o + 7];
  info.srcOff = o + 8;
  info.dstOff = o + 24;
  let nh = b[o + 6];
  let ipLen = 40 + ((b[o + 4] << 8) | b[o + 5]);
  // RFC 2675: a jumbogram has payload length 0 and a hop-by-hop header; take the rest of the frame.
  if (ipLen === 40 && nh === 0) ipLen = avail;
  info.l3Len = ipLen < capAvail ? ipLen : capAvail;
  let verify = v;
  if (ipLen > avail) {
    problem(info, DR.PKT_TOO_SMALL); // ip6_rcv_core: payload_len + 40 > skb->len
    ipLen = avail;
    verify = false;
  }
  const end = o + ipLen, capEnd = o + (ipLen < capAvail ? ipLen : capAvail);
  let p = o + 40, n = 0, fragmented = false;
  for (;;) {
    if (nh === 0 || nh === 43 || nh === 60) {
      // Hop-by-hop must come first (RFC 8200 §4.3); each header is ≥ 8 bytes, length in 8-byte units.
      if ((nh === 0 && p !== o + 40) || ++n > kMaxExtHeaders || p + 8 > end) {
        info.l4proto = nh;
        return problem(info, DR.IPV6_BAD_EXTHDR);
      }
      if (p + 2 > capEnd) {
        info.l4proto = nh;
        return problem(info, DR.HDR_TRUNC);
      }
      const hl = (b[p + 1] + 1) << 3;
      if (p + hl > end) {
        info.l4proto = nh;
        return problem(info, DR.IPV6_BAD_EXTHDR);
      }
      info.ip6ExtMask |= nh === 0 ? EXT_HOP : nh === 43 ? EXT_ROUTING : EXT_DEST;
      nh = b[p];
      p += hl;
    } else if (nh === 44) {
      // RFC 8200 §4.5: next(1) reserved(1) offset(13)|res(2)|M(1) identification(4).
      if (++n > kMaxExtHeaders || p + 8 > end) {
        info.l4proto = nh;
        return problem(info, DR.IPV6_BAD_EXTHDR);
      }
      if (p + 8 > capEnd) {
        info.l4proto = nh;
        return problem(info, DR.HDR_TRUNC);
      }
      info.ip6ExtMask |= EXT_FRAGMENT;
      const w = (b[p + 2] << 8) | b[p + 3];
      info.fragOff = w & 0xfff8;
      info.moreFrags = (w & 1) !== 0;
      info.ipId = u32(b, p + 4);
      if (info.fragOff !== 0 || info.moreFrags) fragmented = true;
      nh = b[p];
      p += 8;
      if (info.fragOff !== 0) {
        info.l4proto = nh;
        info.ipHdrLen = p - o;
        return;
      }
    } else {
      break;
    }
  }
  info.l4proto = nh;
  info.ipHdrLen = p - o;
  if (nh === 59) return; // RFC 8200 §4.7: no next header
  if (p > capEnd) return problem(info, DR.HDR_TRUNC);
  l4(info, b, p, end - p, capEnd - p, nh, true, fragmented, verify);
}

/**
 * Transport header at `p`: `wl` bytes of it on the wire per the IP length, `cl` captured. `frag`: part
 * of a fragmented datagram (first fragment), so the checksum cannot be checked here.
 */
function l4(info: PacketInfo, b: Uint8Array, p: number, wl: number, cl: number, proto: number, v6: boolean, frag: boolean, v: boolean): void {
  info.l4Off = p;
  info.l4Len = cl;
  const verify = v && !frag && cl >= wl;
  if (proto === 6) tcp(info, b, p, wl, cl, v6, verify);
  else if (proto === 17) udp(info, b, p, wl, cl, v6, frag, v && !frag);
  else if (proto === 1 && !v6) icmp(info, b, p, wl, cl, verify);
  else if (proto === 58 && v6) icmpv6(info, b, p, wl, cl, frag, verify);
}

/**
 * Pseudo-header sum. IPv4 sums the 8 address bytes in place (they are adjacent in the header): passing
 * src4/dst4, which exceed 2^31, to a call boxed them as heap numbers, one GC per 20k TCP segments.
 */
function pseudo(info: PacketInfo, b: Uint8Array, proto: number, len: number, v6: boolean): number {
  return v6 ? pseudoSum6(b, info.srcOff, info.dstOff, proto, len) : sum16(b, info.srcOff, 8, proto + len);
}

// RFC 9293 §3.1; tcp_v4_rcv / tcp_v6_rcv checks.
function tcp(info: PacketInfo, b: Uint8Array, p: number, wl: number, cl: number, v6: boolean, verify: boolean): void {
  if (wl < 20) return problem(info, DR.PKT_TOO_SMALL);
  if (cl < 20) return problem(info, DR.HDR_TRUNC);
  info.sport = (b[p] << 8) | b[p + 1];
  info.dport = (b[p + 2] << 8) | b[p + 3];
  info.tcpSeq = u32(b, p + 4);
  info.tcpAck = u32(b, p + 8);
  // The 12-bit field after the data offset (reserved bits, AE, CWR … FIN), as tshark's tcp.flags.
  info.tcpFlags = ((b[p + 12] & 0x0f) << 8) | b[p + 13];
  info.tcpWin = (b[p + 14] << 8) | b[p + 15];
  const doff = (b[p + 12] >>> 4) << 2;
  if (doff < 20 || doff > wl) return problem(info, DR.PKT_TOO_SMALL);
  if (doff > cl) return problem(info, DR.HDR_TRUNC);
  if (verify && !verifies(sum16(b, p, wl, pseudo(info, b, 6, wl, v6)))) problem(info, DR.TCP_CSUM);
  if (doff > 20) tcpOptions(info, b, p + 20, p + doff);
}

/**
 * RFC 9293 §3.2 options (kinds 2 MSS; RFC 7323 3 window scale, 8 timestamps; RFC 2018 4 SACK permitted,
 * 5 SACK). tcp_parse_options stops quietly at a malformed option; we stop too and record
 * INVALID_PROTO so the capture's oddity is visible (the kernel would not drop the segment for it).
 */
function tcpOptions(info: PacketInfo, b: Uint8Array, p: number, end: number): void {
  while (p < end) {
    const kind = b[p];
    if (kind === 0) return;
    if (kind === 1) {
      p++;
      continue;
    }
    if (p + 2 > end) return problem(info, DR.INVALID_PROTO);
    const olen = b[p + 1];
    if (olen < 2 || p + olen > end) return problem(info, DR.INVALID_PROTO);
    switch (kind) {
      case 2:
        if (olen !== 4) return problem(info, DR.INVALID_PROTO);
        info.tcpMss = (b[p + 2] << 8) | b[p + 3];
        break;
      case 3:
        if (olen !== 3) return problem(info, DR.INVALID_PROTO);
        info.tcpWscale = b[p + 2];
        break;
      case 4:
        if (olen !== 2) return problem(info, DR.INVALID_PROTO);
        info.tcpSackPerm = true;
        break;
      case 5:
        if ((olen - 2) % 8 !== 0) return problem(info, DR.INVALID_PROTO);
        break;
      case 8:
        if (olen !== 10) return problem(info, DR.INVALID_PROTO);
        info.tcpTsVal = u32(b, p + 2);
        info.tcpTsEcr = u32(b, p + 6);
        break;
      default:
        break;
    }
    p += olen;
  }
}

// RFC 768; __udp4_lib_rcv / __udp6_lib_rcv checks.
function udp(info: PacketInfo, b: Uint8Array, p: number, wl: number, cl: number, v6: boolean, frag: boolean, v: boolean): void {
  if (wl < 8) return problem(info, DR.PKT_TOO_SMALL);
  if (cl < 8) return problem(info, DR.HDR_TRUNC);
  info.sport = (b[p] << 8) | b[p + 1];
  info.dport = (b[p + 2] << 8) | b[p + 3];
  if (frag) return; // the length covers the reassembled datagram
  const ulen = (b[p + 4] << 8) | b[p + 5];
  if (ulen > wl || ulen < 8) return problem(info, DR.PKT_TOO_SMALL); // short_packet
  if (!v || ulen > cl) return;
  const c = (b[p + 6] << 8) | b[p + 7];
  if (c === 0) {
    if (v6) problem(info, DR.UDP_CSUM); // RFC 8200 §8.1: zero is not allowed over IPv6 (udp6_csum_init)
    return; // RFC 768: zero means no checksum over IPv4
  }
  if (!verifies(sum16(b, p, ulen, pseudo(info, b, 17, ulen, v6)))) problem(info, DR.UDP_CSUM);
}

// RFC 792; icmp_rcv checks: checksum, header, type ≤ NR_ICMP_TYPES.
function icmp(info: PacketInfo, b: Uint8Array, p: number, wl: number, cl: number, verify: boolean): void {
  if (wl < 8) return problem(info, DR.PKT_TOO_SMALL);
  if (cl < 8) return problem(info, DR.HDR_TRUNC);
  const type = b[p];
  info.icmpType = type;
  info.icmpCode = b[p + 1];
  if (verify && !verifies(sum16(b, p, wl, 0))) problem(info, DR.ICMP_CSUM);
  if (type === 0 || type === 8) {
    info.icmpId = (b[p + 4] << 8) | b[p + 5];
    info.icmpSeq = (b[p + 6] << 8) | b[p + 7];
  } else if (type === 3 || type === 4 || type === 5 || type === 11 || type === 12) {
    if (cl >= 28 && b[p + 8] >>> 4 === 4) info.icmpInnerOff = p + 8;
  } else if (type > 18) {
    problem(info, DR.UNHANDLED_PROTO);
  }
}

// RFC 4443 §2; icmpv6_rcv, then ndisc_rcv (RFC 4861 §7.1.1, §7.1.2) for NS/NA.
function icmpv6(info: PacketInfo, b: Uint8Array, p: number, wl: number, cl: number, frag: boolean, verify: boolean): void {
  if (wl < 8) return problem(info, DR.PKT_TOO_SMALL);
  if (cl < 8) return problem(info, DR.HDR_TRUNC);
  const type = b[p], code = b[p + 1];
  info.icmpType = type;
  info.icmpCode = code;
  if (verify && !verifies(sum16(b, p, wl, pseudoSum6(b, info.srcOff, info.dstOff, 58, wl)))) problem(info, DR.ICMP_CSUM);
  if (type === 128 || type === 129) {
    info.icmpId = (b[p + 4] << 8) | b[p + 5];
    info.icmpSeq = (b[p + 6] << 8) | b[p + 7];
  } else if (type >= 1 && type <= 4) {
    if (cl >= 48 && b[p + 8] >>> 4 === 6) info.icmpInnerOff = p + 8;
  } else if (type >= 133 && type <= 137) {
    if (frag || (info.ip6ExtMask & EXT_FRAGMENT) !== 0) return problem(info, NDISC_FRAG);
    if (info.ttl !== 255) return problem(info, NDISC_HOP_LIMIT);
    if (code !== 0) return problem(info, NDISC_BAD_CODE);
    if (type === 135 || type === 136) {
      if (wl < 24) return problem(info, DR.PKT_TOO_SMALL);
      if (cl < 24) return problem(info, DR.HDR_TRUNC);
      info.ndTargetOff = p + 8;
      // §4.6 options: type(1) length(1, in 8-byte units; 0 is invalid).
      const want = type === 135 ? 1 : 2, end = p + (wl < cl ? wl : cl);
      let q = p + 24;
      while (q + 2 <= end) {
        const olen = b[q + 1] << 3;
        if (olen === 0 || q + olen > p + wl) return problem(info, NDISC_BAD_OPTIONS);
        if (b[q] === want && olen >= 8 && q + 8 <= end && info.ndLladdrOff < 0) info.ndLladdrOff = q + 2;
        q += olen;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Text at the edge: addresses to and from their canonical strings.

const HEX2: string[] = [];
for (let i = 0; i < 256; i++) HEX2.push((i < 16 ? '0' : '') + i.toString(16));

/** Dotted-quad text of an unsigned 32-bit IPv4 address. */
export function ipv4ToString(a: number): string {
  return (a >>> 24) + '.' + ((a >>> 16) & 255) + '.' + ((a >>> 8) & 255) + '.' + (a & 255);
}

const groups = new Uint16Array(8);

/** RFC 5952 text of the IPv6 address at `off`: lowercase, no leading zeros, longest zero run (≥ 2 groups) as "::". */
export function ipv6ToString(bytes: Uint8Array, off: number): string {
  let bestAt = -1, bestLen = 1, runAt = -1;
  for (let i = 0; i < 8; i++) {
    const g = (groups[i] = (bytes[off + 2 * i] << 8) | bytes[off + 2 * i + 1]);
    if (g === 0) {
      if (runAt < 0) runAt = i;
      if (i - runAt + 1 > bestLen) {
        bestAt = runAt;
        bestLen = i - runAt + 1;
      }
    } else {
      runAt = -1;
    }
  }
  // RFC 5952 §5: IPv4-mapped addresses (::ffff:0:0/96) end in dotted decimal.
  if (bestAt === 0 && bestLen === 5 && groups[5] === 0xffff) {
    return '::ffff:' + bytes[off + 12] + '.' + bytes[off + 13] + '.' + bytes[off + 14] + '.' + bytes[off + 15];
  }
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestAt) {
      s += '::';
      i += bestLen - 1;
      continue;
    }
    if (s.length > 0 && s.charCodeAt(s.length - 1) !== 58) s += ':';
    s += groups[i].toString(16);
  }
  return s;
}

/** aa:bb:cc:dd:ee:ff text of a MAC given as 16-bit hi and 32-bit lo. */
export function macToString(hi: number, lo: number): string {
  return HEX2[(hi >>> 8) & 255] + ':' + HEX2[hi & 255] + ':' + HEX2[(lo >>> 24) & 255] + ':' + HEX2[(lo >>> 16) & 255] + ':' + HEX2[(lo >>> 8) & 255] + ':' + HEX2[lo & 255];
}

/** Parse dotted-quad IPv4 text to an unsigned 32-bit number; NaN if malformed. */
export function parseIpv4(s: string): number {
  const parts = s.split('.');
  if (parts.length !== 4) return NaN;
  let a = 0;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p)) return NaN;
    const n = Number(p);
    if (n > 255) return NaN;
    a = a * 256 + n;
  }
  return a;
}

/** Parse IPv6 text (RFC 4291 §2.2, including "::" and a dotted IPv4 tail) into 16 bytes at `out[off]`. */
export function parseIpv6(s: string, out: Uint8Array, off: number): boolean {
  const dbl = s.indexOf('::');
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return false;
  const head = dbl >= 0 ? s.slice(0, dbl) : s;
  const tail = dbl >= 0 ? s.slice(dbl + 2) : '';
  const hv: number[] = [], tv: number[] = [];
  if (!parseGroups(head, hv, dbl < 0) || !parseGroups(tail, tv, true)) return false;
  if (dbl >= 0 ? hv.length + tv.length > 7 : hv.length !== 8) return false;
  const all = new Array<number>(8).fill(0);
  for (let i = 0; i < hv.length; i++) all[i] = hv[i];
  for (let i = 0; i < tv.length; i++) all[8 - tv.length + i] = tv[i];
  for (let i = 0; i < 8; i++) {
    out[off + 2 * i] = all[i] >>> 8;
    out[off + 2 * i + 1] = all[i] & 255;
  }
  return true;
}

function parseGroups(s: string, out: number[], allowV4: boolean): boolean {
  if (s === '') return true;
  const parts = s.split(':');
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (i === parts.length - 1 && allowV4 && p.includes('.')) {
      const a = parseIpv4(p);
      if (Number.isNaN(a)) return false;
      out.push(a >>> 16, a & 0xffff);
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return false;
      out.push(parseInt(p, 16));
    }
  }
  return true;
}

/** Parse aa:bb:cc:dd:ee:ff (or with '-') into hi/lo; null if malformed. */
export function parseMac(s: string): { hi: number; lo: number } | null {
  const m = /^([0-9a-fA-F]{2})([:-])([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})$/.exec(s);
  if (!m) return null;
  const x = (i: number) => parseInt(m[i], 16);
  return { hi: (x(1) << 8) | x(3), lo: ((x(4) << 24) | (x(5) << 16) | (x(6) << 8) | x(7)) >>> 0 };
}
