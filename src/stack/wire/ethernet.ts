/**
 * Ethernet II frame header (IEEE 802.3 clause 3.2; RFC 894 for IP over Ethernet). A MAC address is
 * carried as two numbers: the first 2 bytes (`hi`, 16 bits) and the last 4 (`lo`, unsigned 32 bits).
 */
import { EMPTY_U8, put16, put32, u16, u32 } from './bytes.js';

// IEEE 802.3 clause 3.2.3-3.2.6 offsets.
export const ETH_DST = 0, ETH_SRC = 6, ETH_TYPE = 12;
/** Header length without VLAN tags. */
export const ETH_HLEN = 14;
/** Minimum frame length without FCS (60 bytes: 64 minus the 4-byte FCS). */
export const ETH_ZLEN = 60;

/** EtherType values (IEEE Registration Authority; include/uapi/linux/if_ether.h). */
export const ETH_P_IP = 0x0800, ETH_P_ARP = 0x0806, ETH_P_IPV6 = 0x86dd;
export const ETH_P_8021Q = 0x8100, ETH_P_8021AD = 0x88a8;
/** Smallest value that is an EtherType; below it the field is an 802.3 length. */
export const ETH_P_802_3_MIN = 0x0600;

/** The 16 high bits of the MAC at `o`. */
export function macHi(b: Uint8Array, o: number): number {
  return u16(b, o);
}

/** The 32 low bits of the MAC at `o`. */
export function macLo(b: Uint8Array, o: number): number {
  return u32(b, o + 2);
}

/** Write a MAC address given as hi/lo. */
export function putMac(b: Uint8Array, o: number, hi: number, lo: number): void {
  put16(b, o, hi);
  put32(b, o + 2, lo);
}

/** True for a group (multicast or broadcast) address: the I/G bit of the first byte. */
export function macIsMulticast(hi: number): boolean {
  return (hi & 0x0100) !== 0;
}

/** True for ff:ff:ff:ff:ff:ff. */
export function macIsBroadcast(hi: number, lo: number): boolean {
  return hi === 0xffff && lo === 0xffffffff;
}

/** Write an Ethernet II header at `off`; returns the offset after it. */
export function writeEthernet(b: Uint8Array, off: number, dstHi: number, dstLo: number, srcHi: number, srcLo: number, ethertype: number): number {
  putMac(b, off + ETH_DST, dstHi, dstLo);
  putMac(b, off + ETH_SRC, srcHi, srcLo);
  put16(b, off + ETH_TYPE, ethertype);
  return off + ETH_HLEN;
}

/** Ethernet header view. `check()` must return true before any accessor is used. */
export class EthernetView {
  bytes: Uint8Array = EMPTY_U8;
  off = 0;
  /** Point the view at a header. */
  reset(bytes: Uint8Array, off: number): this {
    this.bytes = bytes;
    this.off = off;
    return this;
  }
  /** True when the header fits in `len` bytes from `off`. */
  check(len: number): boolean {
    return this.off + ETH_HLEN <= len && this.off + ETH_HLEN <= this.bytes.length;
  }
  dstHi(): number { return macHi(this.bytes, this.off + ETH_DST); }
  dstLo(): number { return macLo(this.bytes, this.off + ETH_DST); }
  srcHi(): number { return macHi(this.bytes, this.off + ETH_SRC); }
  srcLo(): number { return macLo(this.bytes, this.off + ETH_SRC); }
  ethertype(): number { return u16(this.bytes, this.off + ETH_TYPE); }
  setDst(hi: number, lo: number): void { putMac(this.bytes, this.off + ETH_DST, hi, lo); }
  setSrc(hi: number, lo: number): void { putMac(this.bytes, this.off + ETH_SRC, hi, lo); }
  setEthertype(t: number): void { put16(this.bytes, this.off + ETH_TYPE, t); }
}
