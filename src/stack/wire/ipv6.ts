/** IPv6 header and extension headers (RFC 8200). Addresses stay 16 bytes inside the packet. */
import { EMPTY_U8, copyBytes, put16, put32, u16, u32 } from './bytes.js';

// RFC 8200 §3 offsets: version(4) traffic class(8) flow label(20), payload length, next header, hop limit.
export const IP6_VER_TC_FL = 0, IP6_PAYLOAD_LEN = 4, IP6_NEXT = 6, IP6_HOP_LIMIT = 7, IP6_SRC = 8, IP6_DST = 24;
/** Fixed header length. */
export const IP6_HLEN = 40;

/** Extension header next-header values (RFC 8200 §4.1; AH from RFC 4302). */
export const NEXTHDR_HOP = 0, NEXTHDR_ROUTING = 43, NEXTHDR_FRAGMENT = 44, NEXTHDR_ESP = 50, NEXTHDR_AUTH = 51;
export const NEXTHDR_NONE = 59, NEXTHDR_DEST = 60;

/** Bits of PacketInfo.ip6ExtMask, one per extension header kind seen. */
export const EXT_HOP = 1, EXT_ROUTING = 2, EXT_FRAGMENT = 4, EXT_DEST = 8, EXT_AUTH = 16;

// RFC 8200 §4.5 fragment header: next header, reserved, offset(13) res(2) M(1), identification.
export const FRAG_NEXT = 0, FRAG_OFF = 2, FRAG_ID = 4;
export const FRAG_HLEN = 8;

/**
 * Write an IPv6 header at `off`; addresses are copied from `src`/`dst` (which may be `b` itself).
 * Returns the offset after it.
 */
export function writeIpv6(b: Uint8Array, off: number, tclass: number, flow: number, payloadLen: number, nextHdr: number, hopLimit: number, src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number): number {
  put32(b, off + IP6_VER_TC_FL, ((6 << 28) | ((tclass & 0xff) << 20) | (flow & 0xfffff)) >>> 0);
  put16(b, off + IP6_PAYLOAD_LEN, payloadLen);
  b[off + IP6_NEXT] = nextHdr;
  b[off + IP6_HOP_LIMIT] = hopLimit;
  copyBytes(b, off + IP6_SRC, src, srcOff, 16);
  copyBytes(b, off + IP6_DST, dst, dstOff, 16);
  return off + IP6_HLEN;
}

/** Write a fragment header (RFC 8200 §4.5); `fragOffBytes` is a multiple of 8. Returns the offset after it. */
export function writeIpv6Frag(b: Uint8Array, off: number, nextHdr: number, fragOffBytes: number, more: boolean, id: number): number {
  b[off + FRAG_NEXT] = nextHdr;
  b[off + 1] = 0;
  put16(b, off + FRAG_OFF, (fragOffBytes & 0xfff8) | (more ? 1 : 0));
  put32(b, off + FRAG_ID, id);
  return off + FRAG_HLEN;
}

/**
 * Write a hop-by-hop or destination options header (RFC 8200 §4.3, §4.6) of `len` bytes (a multiple of
 * 8, ≥ 8) holding only padding (Pad1 / PadN, §4.2). Returns the offset after it.
 */
export function writeIpv6Options(b: Uint8Array, off: number, nextHdr: number, len: number): number {
  b[off] = nextHdr;
  b[off + 1] = (len >>> 3) - 1;
  const pad = len - 2;
  if (pad === 1) {
    b[off + 2] = 0;
  } else {
    b[off + 2] = 1;
    b[off + 3] = pad - 2;
    for (let i = 4; i < len; i++) b[off + i] = 0;
  }
  return off + len;
}

/** Write a type 0-style empty routing header (RFC 8200 §4.4) with segments left 0. */
export function writeIpv6Routing(b: Uint8Array, off: number, nextHdr: number, routingType: number, len: number): number {
  b[off] = nextHdr;
  b[off + 1] = (len >>> 3) - 1;
  b[off + 2] = routingType;
  b[off + 3] = 0;
  for (let i = 4; i < len; i++) b[off + i] = 0;
  return off + len;
}

/** IPv6 fixed-header view. `check()` must return true before any accessor is used. */
export class Ipv6View {
  bytes: Uint8Array = EMPTY_U8;
  off = 0;
  reset(bytes: Uint8Array, off: number): this {
    this.bytes = bytes;
    this.off = off;
    return this;
  }
  /** Version 6 and 40 + payload length ≤ `len - off` (the kernel's ip6_rcv_core checks). */
  check(len: number): boolean {
    const b = this.bytes, o = this.off, avail = Math.min(len, b.length) - o;
    return avail >= IP6_HLEN && b[o] >>> 4 === 6 && IP6_HLEN + u16(b, o + IP6_PAYLOAD_LEN) <= avail;
  }
  version(): number { return this.bytes[this.off] >>> 4; }
  trafficClass(): number { return (u16(this.bytes, this.off) >>> 4) & 0xff; }
  flowLabel(): number { return u32(this.bytes, this.off) & 0xfffff; }
  payloadLen(): number { return u16(this.bytes, this.off + IP6_PAYLOAD_LEN); }
  nextHeader(): number { return this.bytes[this.off + IP6_NEXT]; }
  hopLimit(): number { return this.bytes[this.off + IP6_HOP_LIMIT]; }
  /** Offset of the source address in `bytes`. */
  srcOff(): number { return this.off + IP6_SRC; }
  /** Offset of the destination address in `bytes`. */
  dstOff(): number { return this.off + IP6_DST; }
  setHopLimit(v: number): void { this.bytes[this.off + IP6_HOP_LIMIT] = v; }
  setPayloadLen(v: number): void { put16(this.bytes, this.off + IP6_PAYLOAD_LEN, v); }
  setNextHeader(v: number): void { this.bytes[this.off + IP6_NEXT] = v; }
  setSrc(a: Uint8Array, aOff: number): void { copyBytes(this.bytes, this.off + IP6_SRC, a, aOff, 16); }
  setDst(a: Uint8Array, aOff: number): void { copyBytes(this.bytes, this.off + IP6_DST, a, aOff, 16); }
}
