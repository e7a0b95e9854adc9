/**
 * Kernel drop reasons (include/net/dropreason-core.h, enum skb_drop_reason), without the
 * SKB_DROP_REASON_ prefix. Values are our own dense indices; names are the kernel's so that a trace
 * reads like `perf trace -e skb:kfree_skb`.
 */
export const DROP_REASON_NAMES = [
  'NOT_DROPPED', // 0: not a drop (kernel: SKB_NOT_DROPPED_YET)
  'NOT_SPECIFIED',
  'NO_SOCKET',
  'PKT_TOO_SMALL',
  'TCP_CSUM',
  'SOCKET_FILTER',
  'UDP_CSUM',
  'NETFILTER_DROP',
  'OTHERHOST',
  'IP_CSUM',
  'IP_INHDR',
  'IP_RPFILTER',
  'UNICAST_IN_L2_MULTICAST',
  'XFRM_POLICY',
  'IP_NOPROTO',
  'SOCKET_RCVBUFF',
  'PROTO_MEM',
  'TCP_FLAGS',
  'TCP_INVALID_SEQUENCE',
  'TCP_RESET',
  'IP_OUTNOROUTES',
  'BPF_CGROUP_EGRESS',
  'IPV6DISABLED',
  'NEIGH_CREATEFAIL',
  'NEIGH_FAILED',
  'NEIGH_QUEUEFULL',
  'NEIGH_DEAD',
  'TC_EGRESS',
  'QDISC_DROP',
  'QDISC_OVERLIMIT',
  'CPU_BACKLOG',
  'XDP',
  'TC_INGRESS',
  'UNHANDLED_PROTO',
  'SKB_CSUM',
  'SKB_GSO_SEG',
  'SKB_UCOPY_FAULT',
  'DEV_HDR',
  'DEV_READY',
  'FULL_RING',
  'NOMEM',
  'HDR_TRUNC',
  'TAP_FILTER',
  'TAP_TXFILTER',
  'ICMP_CSUM',
  'INVALID_PROTO',
  'IP_INADDRERRORS',
  'IP_INNOROUTES',
  'PKT_TOO_BIG',
  'DUP_FRAG',
  'FRAG_REASM_TIMEOUT',
  'FRAG_TOO_FAR',
  'TCP_OFOMERGE',
  'IP_TUNNEL_ECN',
  'TUNNEL_TXINFO',
  'LOCAL_MAC',
  'ARP_PVLAN_DISABLE',
  'MAC_IEEE_MAC_CONTROL',
  'BRIDGE_INGRESS_STP_STATE',
  'BLACKHOLE',
  'IPV6_BAD_EXTHDR',
  'IPV6_NDISC_FRAG',
  'IPV6_NDISC_HOP_LIMIT',
  'IPV6_NDISC_BAD_CODE',
  'IPV6_NDISC_BAD_OPTIONS',
  'IPV6_NDISC_NS_OTHERHOST',
  'VLAN_FILTER',
  'IP_INVALID_SOURCE',
  'IP_INVALID_DEST',
  'IP_LOCAL_SOURCE',
  'IP_LOCALNET',
] as const;

/** A drop reason name, e.g. 'NETFILTER_DROP'. */
export type DropReasonName = (typeof DROP_REASON_NAMES)[number];

/** Numeric drop reason: an index into DROP_REASON_NAMES. 0 means "not dropped". */
export type DropReason = number;

const index = new Map<string, number>(DROP_REASON_NAMES.map((n, i) => [n, i]));

/** The numeric value of a drop reason name. */
export function dropReason(name: DropReasonName): DropReason {
  return index.get(name)!;
}

/** The kernel name of a drop reason value. */
export function dropReasonName(r: DropReason): DropReasonName {
  return DROP_REASON_NAMES[r] ?? 'NOT_SPECIFIED';
}

/** Frequently used reasons as constants (hot paths compare numbers). */
export const DR = {
  NONE: 0,
  NOT_SPECIFIED: dropReason('NOT_SPECIFIED'),
  NO_SOCKET: dropReason('NO_SOCKET'),
  PKT_TOO_SMALL: dropReason('PKT_TOO_SMALL'),
  TCP_CSUM: dropReason('TCP_CSUM'),
  UDP_CSUM: dropReason('UDP_CSUM'),
  ICMP_CSUM: dropReason('ICMP_CSUM'),
  NETFILTER_DROP: dropReason('NETFILTER_DROP'),
  OTHERHOST: dropReason('OTHERHOST'),
  IP_CSUM: dropReason('IP_CSUM'),
  IP_INHDR: dropReason('IP_INHDR'),
  IP_RPFILTER: dropReason('IP_RPFILTER'),
  IP_NOPROTO: dropReason('IP_NOPROTO'),
  IP_OUTNOROUTES: dropReason('IP_OUTNOROUTES'),
  IP_INADDRERRORS: dropReason('IP_INADDRERRORS'),
  IP_INNOROUTES: dropReason('IP_INNOROUTES'),
  NEIGH_FAILED: dropReason('NEIGH_FAILED'),
  NEIGH_QUEUEFULL: dropReason('NEIGH_QUEUEFULL'),
  QDISC_DROP: dropReason('QDISC_DROP'),
  QDISC_OVERLIMIT: dropReason('QDISC_OVERLIMIT'),
  CPU_BACKLOG: dropReason('CPU_BACKLOG'),
  UNHANDLED_PROTO: dropReason('UNHANDLED_PROTO'),
  DEV_READY: dropReason('DEV_READY'),
  FULL_RING: dropReason('FULL_RING'),
  HDR_TRUNC: dropReason('HDR_TRUNC'),
  INVALID_PROTO: dropReason('INVALID_PROTO'),
  PKT_TOO_BIG: dropReason('PKT_TOO_BIG'),
  BLACKHOLE: dropReason('BLACKHOLE'),
  IPV6_BAD_EXTHDR: dropReason('IPV6_BAD_EXTHDR'),
  IPV6DISABLED: dropReason('IPV6DISABLED'),
  VLAN_FILTER: dropReason('VLAN_FILTER'),
  BRIDGE_INGRESS_STP_STATE: dropReason('BRIDGE_INGRESS_STP_STATE'),
  SOCKET_RCVBUFF: dropReason('SOCKET_RCVBUFF'),
  TCP_FLAGS: dropReason('TCP_FLAGS'),
  IP_INVALID_SOURCE: dropReason('IP_INVALID_SOURCE'),
  IP_INVALID_DEST: dropReason('IP_INVALID_DEST'),
  IP_LOCAL_SOURCE: dropReason('IP_LOCAL_SOURCE'),
  IP_LOCALNET: dropReason('IP_LOCALNET'),
} as const;
