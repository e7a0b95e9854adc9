/**
 * Link-layer header types stored in capture files (the LINKTYPE_* registry,
 * https://www.tcpdump.org/linktypes.html). Names are the libpcap DLT_* names without the prefix,
 * as `tcpdump -L` and capinfos print them.
 */

/** BSD loopback: 4-byte address family in host byte order of the capturing machine. */
export const LINKTYPE_NULL = 0;
/** Ethernet II / 802.3. */
export const LINKTYPE_ETHERNET = 1;
/** Raw IP on some platforms' DLT_RAW value (12 on most BSDs, 14 on OpenBSD); same as LINKTYPE_RAW. */
export const LINKTYPE_RAW_12 = 12;
export const LINKTYPE_RAW_14 = 14;
/** Raw IPv4 or IPv6, version from the first nibble. */
export const LINKTYPE_RAW = 101;
/** OpenBSD loopback: 4-byte address family in network byte order. */
export const LINKTYPE_LOOP = 108;
/** Linux "cooked" capture v1 (16-byte header), `tcpdump -i any -y LINUX_SLL`. */
export const LINKTYPE_LINUX_SLL = 113;
/** Raw IPv4 only. */
export const LINKTYPE_IPV4 = 228;
/** Raw IPv6 only. */
export const LINKTYPE_IPV6 = 229;
/** Linux "cooked" capture v2 (20-byte header with ifindex); `tcpdump -i any` default since libpcap 1.10. */
export const LINKTYPE_LINUX_SLL2 = 276;

const NAMES: ReadonlyMap<number, string> = new Map([
  [LINKTYPE_NULL, 'NULL'],
  [LINKTYPE_ETHERNET, 'EN10MB'],
  [9, 'PPP'],
  [LINKTYPE_RAW_12, 'RAW'],
  [LINKTYPE_RAW_14, 'RAW'],
  [50, 'PPP_HDLC'],
  [LINKTYPE_RAW, 'RAW'],
  [105, 'IEEE802_11'],
  [LINKTYPE_LOOP, 'LOOP'],
  [LINKTYPE_LINUX_SLL, 'LINUX_SLL'],
  [127, 'IEEE802_11_RADIO'],
  [189, 'USB_LINUX'],
  [LINKTYPE_IPV4, 'IPV4'],
  [LINKTYPE_IPV6, 'IPV6'],
  [239, 'NFLOG'],
  [LINKTYPE_LINUX_SLL2, 'LINUX_SLL2'],
]);

/** libpcap name of a link type ('EN10MB'), or 'LINKTYPE_<n>' when we do not know it. */
export function linktypeName(linktype: number): string {
  return NAMES.get(linktype) ?? `LINKTYPE_${linktype}`;
}

/** Link type for a name as linktypeName() prints it (case-insensitive), or -1. 'RAW' gives 101. */
export function linktypeByName(name: string): number {
  const upper = name.toUpperCase();
  if (upper === 'RAW') return LINKTYPE_RAW;
  for (const [n, s] of NAMES) if (s === upper) return n;
  const m = /^LINKTYPE_(\d+)$/.exec(upper);
  return m ? Number(m[1]) : -1;
}

/** True for link types whose frames start directly with an IP header (no link header). */
export function isRawIp(linktype: number): boolean {
  return linktype === LINKTYPE_RAW || linktype === LINKTYPE_RAW_12 || linktype === LINKTYPE_RAW_14 ||
    linktype === LINKTYPE_IPV4 || linktype === LINKTYPE_IPV6;
}
