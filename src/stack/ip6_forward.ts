/**
 * IPv6 forwarding (net/ipv6/ip6_output.c ip6_forward): everything is decided before the FORWARD hook,
 * so such drops show only PREROUTING in an nft trace (datapath-facts §8):
 *
 *   net.ipv6.conf.all.forwarding 0 ─► IP_INADDRERRORS, silent (the arriving interface's `forwarding`
 *       does not decide, unlike IPv4; its `force_forwarding`, kernel 6.17+, does)
 *   not PACKET_HOST ─► NOT_SPECIFIED
 *   hop limit ≤ 1 ─► ICMPv6 time exceeded, IP_INHDR
 *   out the interface it came in by ─► a redirect would be sent (not modelled), forwarded anyway
 *   else: unspecified/multicast/loopback source ─► IP_INADDRERRORS; link-local source ─► ICMPv6
 *       beyond scope, IP_INADDRERRORS
 *   longer than the egress MTU ─► ICMPv6 packet too big, PKT_TOO_BIG (routers never fragment)
 *   hop limit − 1 ─► FORWARD ─► ip6_output
 */
import type { Datapath } from './datapath.js';
import type { NetDevice } from './netdev.js';
import { PACKET_HOST, type Skb } from './skb.js';
import { DR } from './drop_reason.js';
import { nfHookIpv6 } from './nf_hook.js';
import { ip6Output } from './ip6_output.js';
import { icmp6Send } from './icmp6.js';
import { ICMP6_DST_UNREACH, ICMP6_PACKET_TOO_BIG, ICMP6_TIME_EXCEEDED } from './wire/icmpv6.js';
import { isLinkLocal6, isLoopback6, isMulticast6, isUnspecified6, sysctl6 } from './route6.js';

/** IPV6_MIN_MTU (RFC 8200 §5). */
const kIpv6MinMtu = 1280;

/** ip6_forward(): the input route said forward via skb.oif. */
export function ip6Forward(dp: Datapath, skb: Skb, dev: NetDevice): void {
  const ns = dev.ns;
  const i = skb.info;
  const b = skb.data;
  const oif = skb.oif!;
  const where = { stage: 'ip6_forward', dev: dev.name };
  if (sysctl6(ns, 'all', 'forwarding') === 0 && sysctl6(ns, dev.name, 'force_forwarding') === 0) {
    dp.drop(skb, DR.IP_INADDRERRORS, where, 'net.ipv6.conf.all.forwarding = 0');
    return;
  }
  if (skb.pktType !== PACKET_HOST) {
    dp.drop(skb, DR.NOT_SPECIFIED, where, 'not addressed to this host at the link layer');
    return;
  }
  const hlim = b[i.l3Off + 7];
  if (hlim <= 1) {
    icmp6Send(dp, skb, ICMP6_TIME_EXCEEDED, 0, 0, 'hop limit');
    dp.drop(skb, DR.IP_INHDR, where, `hop limit ${hlim} expired in transit`);
    return;
  }
  if (oif === dev) {
    // Same interface in and out: ndisc_send_redirect (rate-limited) and the packet goes on.
    if (dp.tracing) dp.step({ kind: 'local', ns: ns.name, what: `forwarded out the interface it came in by: the kernel would send an ICMPv6 redirect (not modelled)` });
  } else {
    if (isUnspecified6(b, i.srcOff) || isMulticast6(b, i.srcOff) || isLoopback6(b, i.srcOff)) {
      dp.drop(skb, DR.IP_INADDRERRORS, where, 'source address may not be forwarded');
      return;
    }
    if (isLinkLocal6(b, i.srcOff)) {
      icmp6Send(dp, skb, ICMP6_DST_UNREACH, 2, 0, 'link-local source');
      dp.drop(skb, DR.IP_INADDRERRORS, where, 'link-local source cannot leave its link');
      return;
    }
  }
  // ip6_dst_mtu_maybe_forward(): the egress interface's IPv6 MTU, never below 1280.
  const mtu = Math.max(sysctl6(ns, oif.name, 'mtu') || oif.mtu, kIpv6MinMtu);
  const len = 40 + ((b[i.l3Off + 4] << 8) | b[i.l3Off + 5]);
  if (len > mtu) {
    icmp6Send(dp, skb, ICMP6_PACKET_TOO_BIG, 0, mtu, 'mtu');
    dp.drop(skb, DR.PKT_TOO_BIG, { stage: 'ip6_forward', dev: oif.name }, `${len} bytes > mtu ${mtu} of ${oif.name}`);
    return;
  }
  b[i.l3Off + 7] = hlim - 1;
  i.ttl = hlim - 1;
  if (dp.tracing) dp.step({ kind: 'forward', ns: ns.name, ttl: hlim - 1, ip6: true });
  if (!nfHookIpv6(dp, skb, 'forward')) return;
  ip6Output(dp, skb);
}
