/** ICMPv6 (RFC 4443) and the neighbour discovery messages (RFC 4861) the datapath emits. */
import { EMPTY_U8, copyBytes, put16, put32, u16, u32 } from './bytes.js';
import { finish, pseudoSum6, sum16, verifies } from './checksum.js';
import { putMac } from './ethernet.js';

// RFC 4443 §2.1 offsets; echo (§4.1) id/seq; packet too big (§3.2) MTU; parameter problem (§3.4) pointer.
export const ICMP6_TYPE = 0, ICMP6_CODE = 1, ICMP6_CSUM = 2, ICMP6_ID = 4, ICMP6_SEQ = 6, ICMP6_REST = 4;
export const ICMP6_HLEN = 8;
/** Message types (RFC 4443 §2.1, RFC 4861 §4). */
export const ICMP6_DST_UNREACH = 1, ICMP6_PACKET_TOO_BIG = 2, ICMP6_TIME_EXCEEDED = 3, ICMP6_PARAM_PROB = 4;
export const ICMP6_ECHO_REQUEST = 128, ICMP6_ECHO_REPLY = 129;
export const ND_ROUTER_SOLICIT = 133, ND_ROUTER_ADVERT = 134, ND_NEIGHBOR_SOLICIT = 135, ND_NEIGHBOR_ADVERT = 136, ND_REDIRECT = 137;
/** Destination unreachable codes (RFC 4443 §3.1). */
export const ICMP6_DST_UNREACH_NOROUTE = 0, ICMP6_DST_UNREACH_ADMIN = 1, ICMP6_DST_UNREACH_ADDR = 3, ICMP6_DST_UNREACH_NOPORT = 4;
/** Most bytes an error quotes so the message fits the minimum MTU: 1280 - 40 - 8 (RFC 4443 §2.4 (c)). */
export const ICMP6_MAX_QUOTE = 1232;

// RFC 4861 §4.3 / §4.4: NS and NA carry flags (NA: R, S, O) in byte 4, the target at 8, options at 24.
export const ND_FLAGS = 4, ND_TARGET = 8, ND_OPTIONS = 24;
export const ND_NA_ROUTER = 0x80, ND_NA_SOLICITED = 0x40, ND_NA_OVERRIDE = 0x20;
/** Option types (RFC 4861 §4.6): length is in 8-byte units; link-layer address starts at +2. */
export const ND_OPT_SOURCE_LLADDR = 1, ND_OPT_TARGET_LLADDR = 2;

/** True for error types (which quote the offending packet after the 8-byte header). */
export function icmpv6IsError(type: number): boolean {
  return type >= 1 && type <= 4;
}

/** True for neighbour discovery types 133-137. */
export function icmpv6IsNd(type: number): boolean {
  return type >= ND_ROUTER_SOLICIT && type <= ND_REDIRECT;
}

/** Fill the checksum of a `len`-byte ICMPv6 message at `off`; addresses at `srcOff`/`dstOff` of `a` (RFC 4443 §2.3). */
export function icmpv6FillChecksum(b: Uint8Array, off: number, len: number, a: Uint8Array, srcOff: number, dstOff: number): void {
  put16(b, off + ICMP6_CSUM, 0);
  put16(b, off + ICMP6_CSUM, finish(sum16(b, off, len, pseudoSum6(a, srcOff, dstOff, 58, len))));
}

/** Write an echo request/reply whose payload is already at off+8, with its checksum. Returns the end offset. */
export function writeIcmpv6Echo(b: Uint8Array, off: number, type: number, id: number, seq: number, payloadLen: number, a: Uint8Array, srcOff: number, dstOff: number): number {
  b[off + ICMP6_TYPE] = type;
  b[off + ICMP6_CODE] = 0;
  put16(b, off + ICMP6_ID, id);
  put16(b, off + ICMP6_SEQ, seq);
  icmpv6FillChecksum(b, off, ICMP6_HLEN + payloadLen, a, srcOff, dstOff);
  return off + ICMP6_HLEN + payloadLen;
}

/** Write an error (types 1-4) quoting `quoteLen` bytes of `quote`; `rest` is the MTU or pointer word. Returns the end offset. */
export function writeIcmpv6Error(b: Uint8Array, off: number, type: number, code: number, rest: number, quote: Uint8Array, quoteOff: number, quoteLen: number, a: Uint8Array, srcOff: number, dstOff: number): number {
  copyBytes(b, off + ICMP6_HLEN, quote, quoteOff, quoteLen);
  b[off + ICMP6_TYPE] = type;
  b[off + ICMP6_CODE] = code;
  put32(b, off + ICMP6_REST, rest);
  icmpv6FillChecksum(b, off, ICMP6_HLEN + quoteLen, a, srcOff, dstOff);
  return off + ICMP6_HLEN + quoteLen;
}

function writeNd(b: Uint8Array, off: number, type: number, flags: number, target: Uint8Array, targetOff: number, optType: number, llHi: number, llLo: number, a: Uint8Array, srcOff: number, dstOff: number): number {
  b[off + ICMP6_TYPE] = type;
  b[off + ICMP6_CODE] = 0;
  put32(b, off + ND_FLAGS, (flags << 24) >>> 0);
  copyBytes(b, off + ND_TARGET, target, targetOff, 16);
  let len = ND_OPTIONS;
  if (llHi >= 0) {
    b[off + len] = optType;
    b[off + len + 1] = 1;
    putMac(b, off + len + 2, llHi, llLo);
    len += 8;
  }
  icmpv6FillChecksum(b, off, len, a, srcOff, dstOff);
  return off + len;
}

/** Write a neighbour solicitation for `target`, with a source link-layer option unless llHi < 0. Returns the end offset. */
export function writeNdNs(b: Uint8Array, off: number, target: Uint8Array, targetOff: number, llHi: number, llLo: number, a: Uint8Array, srcOff: number, dstOff: number): number {
  return writeNd(b, off, ND_NEIGHBOR_SOLICIT, 0, target, targetOff, ND_OPT_SOURCE_LLADDR, llHi, llLo, a, srcOff, dstOff);
}

/** Write a neighbour advertisement (flags: ND_NA_*) with a target link-layer option unless llHi < 0. Returns the end offset. */
export function writeNdNa(b: Uint8Array, off: number, flags: number, target: Uint8Array, targetOff: number, llHi: number, llLo: number, a: Uint8Array, srcOff: number, dstOff: number): number {
  return writeNd(b, off, ND_NEIGHBOR_ADVERT, flags, target, targetOff, ND_OPT_TARGET_LLADDR, llHi, llLo, a, srcOff, dstOff);
}

/** ICMPv6 header view. `check()` must return true before any accessor is used. */
export class Icmpv6View {
  bytes: Uint8Array = EMPTY_U8;
  off = 0;
  reset(bytes: Uint8Array, off: number): this {
    this.bytes = bytes;
    this.off = off;
    return this;
  }
  check(len: number): boolean {
    return this.off + ICMP6_HLEN <= Math.min(len, this.bytes.length);
  }
  type(): number { return this.bytes[this.off + ICMP6_TYPE]; }
  code(): number { return this.bytes[this.off + ICMP6_CODE]; }
  checksum(): number { return u16(this.bytes, this.off + ICMP6_CSUM); }
  id(): number { return u16(this.bytes, this.off + ICMP6_ID); }
  seq(): number { return u16(this.bytes, this.off + ICMP6_SEQ); }
  rest(): number { return u32(this.bytes, this.off + ICMP6_REST); }
  /** Offset of an NS/NA target address. */
  targetOff(): number { return this.off + ND_TARGET; }
  /** NA flags byte (ND_NA_*). */
  ndFlags(): number { return this.bytes[this.off + ND_FLAGS]; }
  checksumOk(len: number, a: Uint8Array, srcOff: number, dstOff: number): boolean {
    return verifies(sum16(this.bytes, this.off, len, pseudoSum6(a, srcOff, dstOff, 58, len)));
  }
}
