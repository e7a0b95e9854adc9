/**
 * Linux "cooked" capture headers, written by libpcap for `-i any` and devices without a link header.
 * Layouts from tcpdump.org's LINKTYPE_LINUX_SLL (113) and LINKTYPE_LINUX_SLL2 (276) pages and
 * libpcap's pcap/sll.h; values are the kernel's (include/uapi/linux/if_packet.h PACKET_*).
 */
import { put16, put32 } from './bytes.js';

// LINKTYPE_LINUX_SLL: packet type, ARPHRD_ type, address length, 8 address bytes, protocol.
export const SLL_PKTTYPE = 0, SLL_HATYPE = 2, SLL_HALEN = 4, SLL_ADDR = 6, SLL_PROTOCOL = 14;
export const SLL_HLEN = 16;
// LINKTYPE_LINUX_SLL2: protocol, reserved, ifindex, ARPHRD_ type, packet type, address length, address.
export const SLL2_PROTOCOL = 0, SLL2_RESERVED = 2, SLL2_IFINDEX = 4, SLL2_HATYPE = 8, SLL2_PKTTYPE = 10, SLL2_HALEN = 11, SLL2_ADDR = 12;
export const SLL2_HLEN = 20;

/** if_packet.h packet types. */
export const PACKET_HOST = 0, PACKET_BROADCAST = 1, PACKET_MULTICAST = 2, PACKET_OTHERHOST = 3, PACKET_OUTGOING = 4;
/** if_arp.h hardware types seen in cooked captures. */
export const ARPHRD_ETHER = 1, ARPHRD_LOOPBACK = 772, ARPHRD_NONE = 0xfffe;

/** Write an SLL header with an Ethernet source address (halen 6); returns the offset after it. */
export function writeSll(b: Uint8Array, off: number, pktType: number, hatype: number, addrHi: number, addrLo: number, protocol: number): number {
  put16(b, off + SLL_PKTTYPE, pktType);
  put16(b, off + SLL_HATYPE, hatype);
  put16(b, off + SLL_HALEN, 6);
  put16(b, off + SLL_ADDR, addrHi);
  put32(b, off + SLL_ADDR + 2, addrLo);
  put16(b, off + SLL_ADDR + 6, 0);
  put16(b, off + SLL_PROTOCOL, protocol);
  return off + SLL_HLEN;
}

/** Write an SLL2 header with an Ethernet source address (halen 6); returns the offset after it. */
export function writeSll2(b: Uint8Array, off: number, protocol: number, ifindex: number, hatype: number, pktType: number, addrHi: number, addrLo: number): number {
  put16(b, off + SLL2_PROTOCOL, protocol);
  put16(b, off + SLL2_RESERVED, 0);
  put32(b, off + SLL2_IFINDEX, ifindex);
  put16(b, off + SLL2_HATYPE, hatype);
  b[off + SLL2_PKTTYPE] = pktType;
  b[off + SLL2_HALEN] = 6;
  put16(b, off + SLL2_ADDR, addrHi);
  put32(b, off + SLL2_ADDR + 2, addrLo);
  put16(b, off + SLL2_ADDR + 6, 0);
  return off + SLL2_HLEN;
}
