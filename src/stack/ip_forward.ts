/**
 * IPv4 forwarding (net/ipv4/ip_forward.c ip_forward): TTL and MTU are checked before the FORWARD hook
 * (so such drops show only PREROUTING in an nft trace), the TTL is decremented, then FORWARD and
 * ip_output.
 */
import type { Datapath } from './datapath.js';
import type { NetDevice } from './netdev.js';
import type { Skb } from './skb.js';
import { DR } from './drop_reason.js';
import { nfHookIpv4 } from './nf_hook.js';
import { ipOutput } from './ip_output.js';
import { icmpSend } from './icmp.js';
import { ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL } from './wire/icmp.js';
import { adjust16 } from './wire/checksum.js';

/** ip_forward(): the input route said forward via skb.oif. */
export function ipForward(dp: Datapath, skb: Skb, dev: NetDevice): void {
  const i = skb.info;
  const oif = skb.oif!;
  if (i.ttl <= 1) {
    // TTL expiry: ICMP time exceeded; the kernel's reason is IP_INHDR (there is no TTL reason).
    icmpSend(dp, skb, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0, 'ttl exceeded');
    dp.drop(skb, DR.IP_INHDR, { stage: 'ip_forward', dev: dev.name }, `TTL ${i.ttl} expired in transit`);
    return;
  }
  // ip_exceeds_mtu(): DF set and larger than the egress MTU → frag needed with the next-hop MTU.
  if (i.dontFrag && i.l3Len > oif.mtu) {
    icmpSend(dp, skb, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, oif.mtu & 0xffff, 'mtu');
    dp.drop(skb, DR.PKT_TOO_BIG, { stage: 'ip_forward', dev: oif.name }, `${i.l3Len} bytes with DF set > mtu ${oif.mtu} of ${oif.name}`);
    return;
  }
  ipDecreaseTtl(skb);
  if (dp.tracing) dp.step({ kind: 'forward', ns: dev.ns.name, ttl: i.ttl });
  if (!nfHookIpv4(dp, skb, 'forward')) return;
  ipOutput(dp, skb);
}

/** ip_decrease_ttl(): TTL − 1 with the checksum adjusted incrementally (RFC 1624). */
function ipDecreaseTtl(skb: Skb): void {
  const b = skb.data, o = skb.info.l3Off;
  const oldWord = (b[o + 8] << 8) | b[o + 9];
  b[o + 8]--;
  const newWord = (b[o + 8] << 8) | b[o + 9];
  const c = adjust16((b[o + 10] << 8) | b[o + 11], oldWord, newWord);
  b[o + 10] = c >>> 8;
  b[o + 11] = c & 255;
  skb.info.ttl--;
}
