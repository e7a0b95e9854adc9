/** IPv4 header (RFC 791 §3.1). Addresses are unsigned 32-bit numbers. */
import { EMPTY_U8, put16, put32, u16, u32 } from './bytes.js';
import { adjust16, adjust32, finish, sum16, verifies } from './checksum.js';

// RFC 791 §3.1 offsets.
export const IP4_VER_IHL = 0, IP4_TOS = 1, IP4_TOTAL_LEN = 2, IP4_ID = 4, IP4_FRAG = 6, IP4_TTL = 8;
export const IP4_PROTO = 9, IP4_CSUM = 10, IP4_SRC = 12, IP4_DST = 16;
/** Header length without options. */
export const IP4_HLEN = 20;
/** Largest header (IHL 15). */
export const IP4_MAX_HLEN = 60;
/** Flags in the IP4_FRAG word (RFC 791 §3.1 "Flags"); the low 13 bits are the offset in 8-byte units. */
export const IP4_DF = 0x4000, IP4_MF = 0x2000, IP4_OFFMASK = 0x1fff;

/** IANA protocol numbers used here. */
export const IPPROTO_ICMP = 1, IPPROTO_TCP = 6, IPPROTO_UDP = 17, IPPROTO_ICMPV6 = 58;

/** The IP4_FRAG word for DF/MF and a byte offset (a multiple of 8). */
export function ipv4FragWord(df: boolean, mf: boolean, offsetBytes: number): number {
  return (df ? IP4_DF : 0) | (mf ? IP4_MF : 0) | ((offsetBytes >>> 3) & IP4_OFFMASK);
}

/**
 * Write an IPv4 header at `off` and its checksum; returns `off + hdrLen`. Options (hdrLen > 20) must
 * already be in place at off+20, or call `ipv4FillChecksum` after writing them.
 */
export function writeIpv4(b: Uint8Array, off: number, hdrLen: number, tos: number, totalLen: number, id: number, fragWord: number, ttl: number, proto: number, src: number, dst: number): number {
  b[off + IP4_VER_IHL] = 0x40 | ((hdrLen >>> 2) & 0x0f);
  b[off + IP4_TOS] = tos;
  put16(b, off + IP4_TOTAL_LEN, totalLen);
  put16(b, off + IP4_ID, id);
  put16(b, off + IP4_FRAG, fragWord);
  b[off + IP4_TTL] = ttl;
  b[off + IP4_PROTO] = proto;
  put32(b, off + IP4_SRC, src);
  put32(b, off + IP4_DST, dst);
  ipv4FillChecksum(b, off);
  return off + hdrLen;
}

/** Recompute the header checksum of the IPv4 header at `off` (RFC 791 §3.1 "Header Checksum"). */
export function ipv4FillChecksum(b: Uint8Array, off: number): void {
  const hlen = (b[off] & 0x0f) << 2;
  put16(b, off + IP4_CSUM, 0);
  put16(b, off + IP4_CSUM, finish(sum16(b, off, hlen, 0)));
}

/** IPv4 header view. `check()` must return true before any accessor is used. */
export class Ipv4View {
  bytes: Uint8Array = EMPTY_U8;
  off = 0;
  reset(bytes: Uint8Array, off: number): this {
    this.bytes = bytes;
    this.off = off;
    return this;
  }
  /** Version 4, 20 ≤ header length ≤ total length ≤ `len - off` (the kernel's ip_rcv_core checks). */
  check(len: number): boolean {
    const b = this.bytes, o = this.off, avail = Math.min(len, b.length) - o;
    if (avail < IP4_HLEN || b[o] >>> 4 !== 4) return false;
    const hlen = (b[o] & 0x0f) << 2, total = u16(b, o + IP4_TOTAL_LEN);
    return hlen >= IP4_HLEN && hlen <= avail && total >= hlen && total <= avail;
  }
  version(): number { return this.bytes[this.off] >>> 4; }
  headerLen(): number { return (this.bytes[this.off] & 0x0f) << 2; }
  tos(): number { return this.bytes[this.off + IP4_TOS]; }
  totalLen(): number { return u16(this.bytes, this.off + IP4_TOTAL_LEN); }
  id(): number { return u16(this.bytes, this.off + IP4_ID); }
  dontFrag(): boolean { return (this.bytes[this.off + IP4_FRAG] & 0x40) !== 0; }
  moreFrags(): boolean { return (this.bytes[this.off + IP4_FRAG] & 0x20) !== 0; }
  /** Fragment offset in bytes. */
  fragOffset(): number { return (u16(this.bytes, this.off + IP4_FRAG) & IP4_OFFMASK) << 3; }
  ttl(): number { return this.bytes[this.off + IP4_TTL]; }
  proto(): number { return this.bytes[this.off + IP4_PROTO]; }
  checksum(): number { return u16(this.bytes, this.off + IP4_CSUM); }
  src(): number { return u32(this.bytes, this.off + IP4_SRC); }
  dst(): number { return u32(this.bytes, this.off + IP4_DST); }
  /** True when the header checksum verifies. */
  checksumOk(): boolean { return verifies(sum16(this.bytes, this.off, this.headerLen(), 0)); }
  /** Decrement the TTL and patch the checksum incrementally (RFC 1624, as ip_decrease_ttl does). */
  decTtl(): void {
    const b = this.bytes, o = this.off;
    const old = u16(b, o + IP4_TTL);
    b[o + IP4_TTL] = b[o + IP4_TTL] - 1;
    const c = u16(b, o + IP4_CSUM);
    put16(b, o + IP4_CSUM, adjust16(c, old, u16(b, o + IP4_TTL)));
  }
  setTos(v: number): void { this.bytes[this.off + IP4_TOS] = v; }
  setTotalLen(v: number): void { put16(this.bytes, this.off + IP4_TOTAL_LEN, v); }
  setId(v: number): void { put16(this.bytes, this.off + IP4_ID, v); }
  setTtl(v: number): void { this.bytes[this.off + IP4_TTL] = v; }
  setProto(v: number): void { this.bytes[this.off + IP4_PROTO] = v; }
  /** Set the source and patch the header checksum incrementally. */
  setSrc(a: number): void { this.rewrite(IP4_SRC, a); }
  /** Set the destination and patch the header checksum incrementally. */
  setDst(a: number): void { this.rewrite(IP4_DST, a); }
  /** Recompute the header checksum from scratch. */
  fillChecksum(): void { ipv4FillChecksum(this.bytes, this.off); }
  private rewrite(field: number, a: number): void {
    const b = this.bytes, o = this.off;
    const old = u32(b, o + field);
    put32(b, o + field, a);
    put16(b, o + IP4_CSUM, adjust32(u16(b, o + IP4_CSUM), old, a >>> 0));
  }
}
