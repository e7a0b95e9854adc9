/**
 * Connection tracking and NAT bindings (net/netfilter/nf_conntrack_*.c, nf_nat_*.c).
 *
 * ## Where the datapath calls in
 *
 *   PREROUTING / OUTPUT  prio -200  table.in(pkt, now, res)         nf_conntrack_in (after raw: a
 *                                                                    `notrack` packet skips it, ctinfo
 *                                                                    IP_CT_UNTRACKED)
 *   PREROUTING / OUTPUT  prio -100  NAT 'dst' (NF_NAT_MANIP_DST)     nf_nat_ipv4_fn / nf_nat_inet_fn
 *   POSTROUTING / INPUT  prio  100  NAT 'src' (NF_NAT_MANIP_SRC)
 *   POSTROUTING / INPUT  INT_MAX    table.confirm(conn, now)         __nf_conntrack_confirm, only when
 *                                                                    res.created
 *   packet dropped before confirm   table.discard(conn)              unconfirmed entry freed
 *   capture clock advances          table.expire(now)                GC (cheap when nothing is due)
 *
 * At a NAT hook (kernel nf_nat_inet_fn): for ctinfo IP_CT_NEW whose manip is not bound yet
 * (!nfNatInitialized(conn, manip)) run the nat chain; a snat/dnat/masquerade/redirect rule calls
 * nfNatSetupInfo(table, conn, range, manip, now); no matching rule → nfNatAllocNullBinding(table,
 * conn, manip, now). Then, for every tracked packet, nfNatPacket(conn, res.ctinfo, manip, rw) says
 * whether to rewrite, and natManipPkt4/6(data, l3Off, l4Off, proto, rw) does it (false = NF_DROP).
 * RELATED (ICMP error) packets skip the nat chain: nfNatPacket marks rw.icmpError and the rewrite
 * translates the quoted header as well. A capture that shows the kernel's real choice can be adopted
 * with nfNatAdopt(table, conn, manip, addr, port, now) instead of nfNatSetupInfo.
 *
 * ## API
 *
 * Constants: IP_CT_* ctinfo and IP_CT_DIR_*; IPS_* status bits (uapi nf_conntrack_common.h);
 * TCP_CONNTRACK_* states and TCP_CONNTRACK_NAMES; NF_NAT_MANIP_*; NF_NAT_RANGE_* flags; IPPROTO_*.
 *
 * - `CtPacket` — the fields conntrack needs, one reused object per packet: `reset()`, then fill
 *   (l3, proto, addresses — src6/dst6 are copied in and must be written whenever l3 = 6 —, ports or
 *   ICMP type/code/id, TCP flags/seq/ack/window/options/SACK right edges/payload length, hdrError,
 *   csumBad, and for ICMP errors the quoted header: innerValid, innerProto, innerSrc/Dst, ports/id).
 * - `Tuple` — one direction (l3, proto, src/dst as 4 u32 words, sport/dport or ICMP id/type-code);
 *   `invertFrom()`, `equals()`; doubles as the hash node (dir, conn, next).
 * - `Conn` — an entry: id, orig, reply, status, tcpState, mark, zone, timeoutAt, created, confirmed,
 *   TCP window state (seen[2], last*), packets0/1.
 * - `ConntrackTable(opts: CtTableOptions)` — one per namespace; `ctOptionsFromSysctl(get)` builds the
 *   options from net.netfilter.nf_conntrack_* values; `seed` makes hashing and NAT ports reproducible.
 *   `in(pkt, now, res: CtResult)`: res = { conn, ctinfo, dir, verdict 'ok' | 'invalid' | 'drop',
 *     detail, created, tcpOld, tcpNew }. 'drop' (detail "conntrack table full") is NETFILTER_DROP;
 *     'invalid' means the packet goes on without a conntrack (nft `ct state invalid`); ICMPv6 ND/MLD
 *     give 'ok' with ctinfo IP_CT_UNTRACKED and no conn.
 *   `confirm(conn, now): Conn | null` — call for every tracked packet at the confirm point; inserts an
 *     unconfirmed entry; null = drop (a tuple clash, stats.insert_failed).
 *   `discard(conn)` (unconfirmed entry whose packet died), `expire(now): number` (GC),
 *   `nextExpiry()`, `size()`, `entries()`, `count` (incl. unconfirmed), `stats: CtStats`
 *   (conntrack -S names), `lookup(tuple, zone)`, `kill(conn)`.
 * - NAT: `NatRange` (`v4()`, `v6()`, `ports()`), `nfNatSetupInfo(table, conn, range, manip, now)`,
 *   `nfNatAllocNullBinding(table, conn, manip, now)` (needs the table: a null binding can still move a
 *   clashing source port), `nfNatAdopt(table, conn, manip, addr, port, now)`,
 *   `nfNatInitialized(conn, manip)`, `nfNatPacket(conn, ctinfo, manip, rw: NatRewrite): boolean`
 *   (takes ctinfo rather than dir: it gives the direction and whether this is an ICMP error),
 *   `natManipPkt4/6(data, l3Off, l4Off, proto, rw): boolean` (false = NF_DROP); checksum helpers
 *   `csumReplace2/4`, `csumFold`, `csumPartial`; `jhash2`.
 * - Text at the edge: `formatConntrack(conn, now)` (a `conntrack -L` line), `formatTuple`,
 *   `formatIpv4`, `formatIpv6Words`.
 *
 * ## Approximations (see README "Conntrack and NAT")
 *
 * Bucket hash and NAT random ports use a seeded PRNG, not siphash/get_random (reproducible, but not a
 * real host's values). No helpers/expectations (FTP, SIP...), no SCTP/DCCP state machines (generic
 * timeout), no PPTP GRE keys, no zones-per-direction, no asynchronous GC timing (expired entries are
 * gone as soon as expire() runs), and the GC's 95 % early drop is not modelled.
 */
export * from './tuple.js';
export * from './proto_tcp.js';
export * from './table.js';
export * from './nat.js';
export * from './nat_proto.js';
export * from './format.js';
