/** ARP (RFC 826) for Ethernet hardware and IPv4 protocol addresses. */
import { EMPTY_U8, put16, put32, u16, u32 } from './bytes.js';
import { macHi, macLo, putMac } from './ethernet.js';

// RFC 826 "Packet format": ar$hrd, ar$pro, ar$hln, ar$pln, ar$op, then sha/spa/tha/tpa (Ethernet/IPv4 sizes).
export const ARP_HTYPE = 0, ARP_PTYPE = 2, ARP_HLEN = 4, ARP_PLEN = 5, ARP_OPER = 6;
export const ARP_SHA = 8, ARP_SPA = 14, ARP_THA = 18, ARP_TPA = 24;
/** Fixed part before the addresses. */
export const ARP_FIXED_LEN = 8;
/** Length of an Ethernet/IPv4 ARP packet. */
export const ARP_LEN = 28;
/** ar$op values (RFC 826; RFC 5494 registry). */
export const ARPOP_REQUEST = 1, ARPOP_REPLY = 2;
/** ar$hrd for Ethernet (RFC 826: 1). */
export const ARP_HRD_ETHER = 1;

/** Write an Ethernet/IPv4 ARP packet at `off`; returns the offset after it. */
export function writeArp(b: Uint8Array, off: number, op: number, shaHi: number, shaLo: number, spa: number, thaHi: number, thaLo: number, tpa: number): number {
  put16(b, off + ARP_HTYPE, ARP_HRD_ETHER);
  put16(b, off + ARP_PTYPE, 0x0800);
  b[off + ARP_HLEN] = 6;
  b[off + ARP_PLEN] = 4;
  put16(b, off + ARP_OPER, op);
  putMac(b, off + ARP_SHA, shaHi, shaLo);
  put32(b, off + ARP_SPA, spa);
  putMac(b, off + ARP_THA, thaHi, thaLo);
  put32(b, off + ARP_TPA, tpa);
  return off + ARP_LEN;
}

/** ARP view (Ethernet/IPv4 layout). `check()` must return true before any accessor is used. */
export class ArpView {
  bytes: Uint8Array = EMPTY_U8;
  off = 0;
  reset(bytes: Uint8Array, off: number): this {
    this.bytes = bytes;
    this.off = off;
    return this;
  }
  /** True when a complete Ethernet/IPv4 ARP packet is in `len` bytes. */
  check(len: number): boolean {
    const b = this.bytes, o = this.off;
    return o + ARP_LEN <= len && o + ARP_LEN <= b.length && u16(b, o + ARP_HTYPE) === ARP_HRD_ETHER &&
      u16(b, o + ARP_PTYPE) === 0x0800 && b[o + ARP_HLEN] === 6 && b[o + ARP_PLEN] === 4;
  }
  op(): number { return u16(this.bytes, this.off + ARP_OPER); }
  shaHi(): number { return macHi(this.bytes, this.off + ARP_SHA); }
  shaLo(): number { return macLo(this.bytes, this.off + ARP_SHA); }
  spa(): number { return u32(this.bytes, this.off + ARP_SPA); }
  thaHi(): number { return macHi(this.bytes, this.off + ARP_THA); }
  thaLo(): number { return macLo(this.bytes, this.off + ARP_THA); }
  tpa(): number { return u32(this.bytes, this.off + ARP_TPA); }
  setOp(op: number): void { put16(this.bytes, this.off + ARP_OPER, op); }
  setSha(hi: number, lo: number): void { putMac(this.bytes, this.off + ARP_SHA, hi, lo); }
  setSpa(a: number): void { put32(this.bytes, this.off + ARP_SPA, a); }
  setTha(hi: number, lo: number): void { putMac(this.bytes, this.off + ARP_THA, hi, lo); }
  setTpa(a: number): void { put32(this.bytes, this.off + ARP_TPA, a); }
}
