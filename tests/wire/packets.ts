/**
 * Real frames captured by tcpdump between namespaces ppwire-a (02:aa:00:00:00:01, 192.0.2.1,
 * 2001:db8:1::1) and ppwire-b (02:bb:00:00:00:01, 192.0.2.2, 2001:db8:1::2) on Linux 6.18
 * (tests/fixtures/wire/make_fixtures.sh), kept here as static byte arrays.
 */
import { DROP_REASON_NAMES, dropReasonName } from '../../src/stack/drop_reason.js';
import { decodeFrame, decodeL3, PacketInfo } from '../../src/stack/wire/decode.js';

/** Bytes from hex (spaces ignored). */
export function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

/** Hex of bytes. */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** Decode a whole captured frame; caplen defaults to the array length. */
export function dec(bytes: Uint8Array, linktype = 1, len = bytes.length, caplen = bytes.length, verifyChecksums = true): PacketInfo {
  const info = new PacketInfo();
  decodeFrame(info, bytes, caplen, len, linktype, { verifyChecksums });
  return info;
}

/** Decode from an L3 header. */
export function decL3(bytes: Uint8Array, ethertype: number, off = 0): PacketInfo {
  const info = new PacketInfo();
  decodeL3(info, bytes, off, bytes.length, bytes.length, ethertype, { verifyChecksums: true });
  return info;
}

/** Problem names of a decoded frame. */
export function problems(info: PacketInfo): string[] {
  return info.problemList.map((r) => dropReasonName(r));
}

/** True when every name is a kernel drop reason name we know. */
export function allKnown(names: string[]): boolean {
  return names.every((n) => (DROP_REASON_NAMES as readonly string[]).includes(n) && n !== 'NOT_DROPPED');
}

export const ARP_REQ = hex('ffffffffffff02aa000000010806000108000604000102aa00000001c0000201000000000000c0000202');
export const ARP_REP = hex('02aa0000000102bb000000010806000108000604000202bb00000001c000020202aa00000001c0000201');
/** ping 192.0.2.2: echo request id 0x6e93 seq 1, 56 bytes of data. */
export const ICMP_ECHO = hex('02bb0000000102aa00000001080045000054503840004001666dc0000201c00002020800a1d06e93000110100a6b00000000024d0c0000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637');
/** Neighbour solicitation for 2001:db8:1::2 with a source link-layer option. */
export const ND_NS = hex('3333ff00000202aa0000000186dd6000000000203aff20010db8000100000000000000000001ff0200000000000000000001ff00000287001b7b0000000020010db8000100000000000000000002010102aa00000001');
/** Neighbour advertisement (solicited, override) for 2001:db8:1::2 with a target link-layer option. */
export const ND_NA = hex('02aa0000000102bb0000000186dd6000000000203aff20010db800010000000000000000000220010db8000100000000000000000001880089b46000000020010db8000100000000000000000002020102bb00000001');
/** ping -6: echo request id 0x6eac seq 1, flow label 0xdadfa. */
export const ICMP6_ECHO = hex('02bb0000000102aa0000000186dd600dadfa00403a4020010db800010000000000000000000120010db800010000000000000000000280005aed6eac000111100a6b000000008025000000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637');
/** Linux SYN 192.0.2.1:40004 → 192.0.2.2:8080: mss 1460, sackOK, TS val 0x824094f9 ecr 0, nop, wscale 10. */
export const TCP_SYN = hex('02bb0000000102aa0000000108004500003c98c7400040061df1c0000201c00002029c441f905b7b0a7c00000000a002faf090020000020405b40402080a824094f9000000000103030a');
export const TCP_SYNACK = hex('02aa0000000102bb0000000108004500003c000040004006b6b8c0000202c00002011f909c443b3d0f3e5b7b0a7da012fe88f85d0000020405b40402080af69c52e3824094f90103030a');
/** PSH-ACK carrying "hello\n". */
export const TCP_DATA = hex('02bb0000000102aa0000000108004500003a98c9400040061df1c0000201c00002029c441f905b7b0a7d3b3d0f3f8018003fe18c00000101080a824094f9f69c52e368656c6c6f0a');
export const TCP6_SYN = hex('02bb0000000102aa0000000186dd600f30a40028064020010db800010000000000000000000120010db8000100000000000000000002e7741f91b376a2df00000000a002fd2057770000020405a00402080aa8d991cc000000000103030a');
/** RST-ACK from a closed port. */
export const TCP_RST = hex('02aa0000000102bb00000001080045000028000040004006b6ccc0000202c0000201000998ce00000000305ac3fb501400009e9f0000');
/** UDP 192.0.2.1:58456 → 192.0.2.2:9000 "ping\n" (47 bytes: captured before padding). */
export const UDP4 = hex('02bb0000000102aa00000001080045000021ab47400040110b81c0000201c0000202e4582328000d8b7e70696e670a');
export const UDP6 = hex('02bb0000000102aa0000000186dd600ce1cf000d114020010db800010000000000000000000120010db8000100000000000000000002d97f232a000dbee270696e670a');
/** UDP to closed port 9999 and the ICMP port unreachable quoting it. */
export const UDP4_CLOSED = hex('02bb0000000102aa0000000108004500001e437f40004011734cc0000201c0000202a03a270f000a3c82780a');
export const ICMP_UNREACH = hex('02aa0000000102bb00000001080045c0003a935d0000400162a2c0000202c00002010303811c000000004500001e437f40004011734cc0000201c0000202a03a270f000a3c82780a');
export const UDP6_CLOSED = hex('02bb0000000102aa0000000186dd6008153f000a114020010db800010000000000000000000120010db8000100000000000000000002e605270f000a1f44780a');
export const ICMP6_UNREACH = hex('02aa0000000102bb0000000186dd6002527f003a3a4020010db800010000000000000000000220010db800010000000000000000000101041c9a000000006008153f000a114020010db800010000000000000000000120010db8000100000000000000000002e605270f000a1f44780a');
/** Last fragment (offset 2960) of ping -s 3000. */
export const FRAG4_LAST = hex('02bb0000000102aa00000001080045000044528d01724001a2b6c0000201c000020288898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7');
/** Last IPv6 fragment (offset 2896) of ping -6 -s 3000. */
export const FRAG6_LAST = hex('02bb0000000102aa0000000186dd600dadfa00782c4020010db800010000000000000000000120010db80001000000000000000000023a000b5060a0b9e0' +
  Buffer.from(Array.from({ length: 112 }, (_, i) => 0x48 + i)).toString('hex'));
/** MLDv2 report: hop-by-hop header (router alert, PadN) then ICMPv6 type 143. */
export const MLD = hex('33330000001602bb0000000186dd6000000000380001fe8000000000000000bb00fffe000001ff0200000000000000000000000000163a000502000001008f006f300000000204000000ff0200000000000000000001ff00000104000000ff0200000000000000000001ff000002');
/** 802.1Q VLAN 100 echo request (captured on the receiving veth; libpcap re-inserted the tag). */
export const VLAN_ECHO = hex('02bb0000000102aa000000018100006408004500003c000140004001e655c6336401c63364020800f4c912340001000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
/** QinQ: 802.1ad S-tag 200, 802.1Q C-tag 300, echo request 203.0.113.1 → 203.0.113.2. */
export const QINQ_ECHO = hex('02bb0000000102aa0000000188a800c88100012c08004500003c000b40004001c2b1cb007101cb0071020800c3dc43210001000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
/** LINKTYPE_LINUX_SLL (tcpdump -i any -y LINUX_SLL): outgoing echo request. */
export const SLL_ECHO = hex('00040001000602aa00000001000008004500005453d84000400162cdc0000201c0000202080025d87238000118100a6b0000000075a0090000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637');
/** LINKTYPE_LINUX_SLL2: outgoing SYN on ifindex 2. */
export const SLL2_SYN = hex('08000000000000020001040602aa0000000100004500003ccbb240004006eb05c0000201c0000202ce4e1f93c719fded00000000a002faf073c70000020405b40402080a7cec256b000000000103030a');
/** A SYN cut by tcpdump -s 60: 58 of 74 bytes captured, the options end mid-way. */
export const SNAP_SYN = hex('02bb0000000102aa0000000108004500003ca4ca4000400611eec0000201c0000202eaa01f95926b7b8800000000a002faf0ba1f0000020405b4');
/** A SYN captured on the sender with checksum offload on: the TCP checksum holds only the pseudo-header sum. */
export const OFFLOAD_SYN = hex('02bb0000000102aa0000000108004500003c8f9f400040062719c0000201c00002029c3e1f90d516fb5f00000000a002faf084320000020405b40402080a79a37784000000000103030a');
