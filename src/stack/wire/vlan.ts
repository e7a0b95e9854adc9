/**
 * IEEE 802.1Q VLAN tag (also 802.1ad S-tag, TPID 0x88a8). In a frame the TPID takes the place of the
 * EtherType; the 4 bytes after it (this header) are the TCI and the encapsulated EtherType.
 */
import { EMPTY_U8, put16, u16 } from './bytes.js';

// IEEE 802.1Q-2018 §9.6: TCI = PCP(3) DEI(1) VID(12), then the inner EtherType.
export const VLAN_TCI = 0, VLAN_TYPE = 2;
/** Tag length after the TPID. */
export const VLAN_HLEN = 4;
/** VID mask. */
export const VLAN_VID_MASK = 0x0fff;

/** Build a TCI from priority, drop-eligible bit and VLAN id. */
export function vlanTci(pcp: number, dei: boolean, vid: number): number {
  return ((pcp & 7) << 13) | (dei ? 0x1000 : 0) | (vid & VLAN_VID_MASK);
}

/** True for a tag protocol identifier: 802.1Q 0x8100 or 802.1ad 0x88a8. */
export function isVlanTpid(t: number): boolean {
  return t === 0x8100 || t === 0x88a8;
}

/** Write a tag body (TCI and inner EtherType) at `off`; returns the offset after it. */
export function writeVlan(b: Uint8Array, off: number, tci: number, ethertype: number): number {
  put16(b, off + VLAN_TCI, tci);
  put16(b, off + VLAN_TYPE, ethertype);
  return off + VLAN_HLEN;
}

/** VLAN tag view. `check()` must return true before any accessor is used. */
export class VlanView {
  bytes: Uint8Array = EMPTY_U8;
  off = 0;
  reset(bytes: Uint8Array, off: number): this {
    this.bytes = bytes;
    this.off = off;
    return this;
  }
  check(len: number): boolean {
    return this.off + VLAN_HLEN <= len && this.off + VLAN_HLEN <= this.bytes.length;
  }
  tci(): number { return u16(this.bytes, this.off + VLAN_TCI); }
  vid(): number { return this.tci() & VLAN_VID_MASK; }
  pcp(): number { return this.bytes[this.off + VLAN_TCI] >>> 5; }
  dei(): boolean { return (this.bytes[this.off + VLAN_TCI] & 0x10) !== 0; }
  ethertype(): number { return u16(this.bytes, this.off + VLAN_TYPE); }
  setTci(tci: number): void { put16(this.bytes, this.off + VLAN_TCI, tci); }
  setEthertype(t: number): void { put16(this.bytes, this.off + VLAN_TYPE, t); }
}
