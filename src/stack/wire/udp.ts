/** UDP header (RFC 768). */
import { EMPTY_U8, put16, u16 } from './bytes.js';
import { adjust16, adjust32, finish, pseudoSum4, pseudoSum6, sum16, verifies } from './checksum.js';

// RFC 768 "Format" offsets.
export const UDP_SPORT = 0, UDP_DPORT = 2, UDP_LEN = 4, UDP_CSUM = 6;
export const UDP_HLEN = 8;

/** Write a UDP header with a zero checksum; fill it with udpFillChecksum4/6. Returns off + 8. */
export function writeUdp(b: Uint8Array, off: number, sport: number, dport: number, len: number): number {
  put16(b, off + UDP_SPORT, sport);
  put16(b, off + UDP_DPORT, dport);
  put16(b, off + UDP_LEN, len);
  put16(b, off + UDP_CSUM, 0);
  return off + UDP_HLEN;
}

/** Fill the checksum of the `len`-byte datagram at `off` over IPv4; a computed 0 is sent as 0xffff (RFC 768). */
export function udpFillChecksum4(b: Uint8Array, off: number, len: number, src: number, dst: number): void {
  put16(b, off + UDP_CSUM, 0);
  put16(b, off + UDP_CSUM, finish(sum16(b, off, len, pseudoSum4(src, dst, 17, len))) || 0xffff);
}

/** Fill the checksum over IPv6, where it is mandatory (RFC 8200 §8.1). */
export function udpFillChecksum6(b: Uint8Array, off: number, len: number, a: Uint8Array, srcOff: number, dstOff: number): void {
  put16(b, off + UDP_CSUM, 0);
  put16(b, off + UDP_CSUM, finish(sum16(b, off, len, pseudoSum6(a, srcOff, dstOff, 17, len))) || 0xffff);
}

/** UDP header view. `check()` must return true before any accessor is used. */
export class UdpView {
  bytes: Uint8Array = EMPTY_U8;
  off = 0;
  reset(bytes: Uint8Array, off: number): this {
    this.bytes = bytes;
    this.off = off;
    return this;
  }
  /** 8 ≤ length field ≤ `len - off` (__udp4_lib_rcv's short_packet checks). */
  check(len: number): boolean {
    const b = this.bytes, o = this.off, avail = Math.min(len, b.length) - o;
    if (avail < UDP_HLEN) return false;
    const l = u16(b, o + UDP_LEN);
    return l >= UDP_HLEN && l <= avail;
  }
  sport(): number { return u16(this.bytes, this.off + UDP_SPORT); }
  dport(): number { return u16(this.bytes, this.off + UDP_DPORT); }
  length(): number { return u16(this.bytes, this.off + UDP_LEN); }
  checksum(): number { return u16(this.bytes, this.off + UDP_CSUM); }
  /** Verify over IPv4; a zero checksum means "none" there (RFC 768). */
  checksumOk4(src: number, dst: number): boolean {
    if (this.checksum() === 0) return true;
    const len = this.length();
    return verifies(sum16(this.bytes, this.off, len, pseudoSum4(src, dst, 17, len)));
  }
  /** Verify over IPv6, where zero is invalid. */
  checksumOk6(a: Uint8Array, srcOff: number, dstOff: number): boolean {
    if (this.checksum() === 0) return false;
    const len = this.length();
    return verifies(sum16(this.bytes, this.off, len, pseudoSum6(a, srcOff, dstOff, 17, len)));
  }
  /** Set the source port, patching a non-zero checksum (RFC 1624). */
  setSport(p: number): void { this.rewrite16(UDP_SPORT, p); }
  /** Set the destination port, patching a non-zero checksum (RFC 1624). */
  setDport(p: number): void { this.rewrite16(UDP_DPORT, p); }
  /** Patch a non-zero checksum for an IPv4 pseudo-header address change (NAT). */
  addressChanged(oldAddr: number, newAddr: number): void {
    const c = this.checksum();
    if (c !== 0) put16(this.bytes, this.off + UDP_CSUM, adjust32(c, oldAddr, newAddr) || 0xffff);
  }
  private rewrite16(field: number, v: number): void {
    const b = this.bytes, o = this.off;
    const old = u16(b, o + field);
    put16(b, o + field, v);
    const c = u16(b, o + UDP_CSUM);
    if (c !== 0) put16(b, o + UDP_CSUM, adjust16(c, old, v) || 0xffff);
  }
}
