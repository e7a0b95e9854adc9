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
import { icmpPeer, icmpSend } from './icmp.js';
import { ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, ICMP_REDIRECT } from './wire/icmp.js';
import { adjust16 } from './wire/checksum.js';
import { intern, DEV_STEP_FORWARD, type Step } from './record.js';

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
  // __mkroute_input sets IPSKB_DOREDIRECT when the packet leaves by the interface it came in on
  // (send_redirects on, shared_media 1 by default); ip_forward() then sends the redirect.
  if (oif === dev && skb.nexthop && (dev.ns.sysctl.int('net.ipv4.conf.all.send_redirects', 1) !== 0 || dev.ns.sysctl.devConf(dev.name, 'send_redirects') !== 0))
    ipRtSendRedirect(dp, skb, skb.nexthop);
  ipDecreaseTtl(skb);
  if (dp.tracing) dp.step((dev.traceSteps[DEV_STEP_FORWARD + i.ttl] ??= intern({ kind: 'forward', ns: dev.ns.name, ttl: i.ttl })) as Step);
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

/**
 * ip_rt_send_redirect() (net/ipv4/route.c): ICMP host redirect to the sender, with the kernel's
 * per-peer backoff — ip_rt_redirect_number 9, ip_rt_redirect_load HZ/50 doubled per redirect, reset
 * after ip_rt_redirect_silence ((HZ/50) << 10).
 */
function ipRtSendRedirect(dp: Datapath, skb: Skb, gw: number): void {
  const kLoad = 0.02, kNumber = 9, kSilence = 0.02 * 1024;
  // The sender's inet_peer, shared with the ICMP error rate limit (icmp.ts icmpPeer).
  const p = icmpPeer(dp, skb.ns!, skb.info.src4);
  if (dp.now - p.last > kSilence) {
    p.tokens = 0;
    p.redirects = 0;
  }
  if (p.redirects >= kNumber) {
    p.last = dp.now;
    return;
  }
  if (p.redirects === 0 || dp.now > p.last + kLoad * 2 ** p.redirects) {
    icmpSend(dp, skb, ICMP_REDIRECT, 1, gw, 'redirect');
    p.last = dp.now;
    p.redirects++;
  }
}