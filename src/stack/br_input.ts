/**
 * The Linux bridge: br_handle_frame / br_handle_frame_finish (net/bridge/br_input.c), br_forward
 * (br_forward.c), br_dev_xmit (br_device.c), with br_netfilter (br_netfilter_hooks.c): bridged IPv4
 * goes through the IP hooks with iif = oif = the bridge when bridge-nf-call-iptables is 1, IPv6 when
 * bridge-nf-call-ip6tables is 1.
 *
 *  port rx ─► learn ─► bridge PREROUTING [br_nf_pre_routing: IP PREROUTING, iif=br] ─► dst MAC?
 *     local ─► bridge INPUT ─► ipRcv on the bridge (PREROUTING already done)
 *     known ─► bridge FORWARD [br_nf_forward: IP FORWARD iif=oif=br] ─► bridge POSTROUTING
 *              [br_nf_post_routing: IP POSTROUTING oif=br] ─► port xmit
 *     unknown/broadcast ─► flood to every other forwarding port (and up, for broadcast)
 */
import type { Datapath } from './datapath.js';
import type { NetDevice } from './netdev.js';
import { PACKET_HOST, PACKET_OTHERHOST, type Skb } from './skb.js';
import { DR } from './drop_reason.js';
import { devQueueXmit, deliverL3, ethTypeTrans } from './dev.js';
import { nfHookIpv4, nfHookIpv6, runChain, type Hook4 } from './nf_hook.js';
import { ipRcvFinish, ipRcvCore } from './ip_input.js';
import { ip6RcvFinish, ip6RcvCore } from './ip6_input.js';
import { L3_IPV4, L3_IPV6 } from './wire/decode.js';
import { BridgeState } from './bridge.js';

/**
 * br_netfilter applies to this frame: IPv4 and bridge-nf-call-iptables (or the bridge's own option),
 * IPv6 and bridge-nf-call-ip6tables (br_nf_pre_routing → br_nf_pre_routing_ipv6).
 */
function brNfOn(skb: Skb, br: NetDevice): boolean {
  if (skb.info.l3 === L3_IPV6) return skb.ns!.sysctl.int('net.bridge.bridge-nf-call-ip6tables', 1) !== 0;
  return skb.info.l3 === L3_IPV4 && (skb.ns!.sysctl.brNfCallIptables() || br.bridge!.nfCallIptables);
}

/** The IP hook of the frame's family. */
function brNfHook(dp: Datapath, skb: Skb, hook: Hook4): boolean {
  return skb.info.l3 === L3_IPV6 ? nfHookIpv6(dp, skb, hook) : nfHookIpv4(dp, skb, hook);
}

const daddr6 = new Uint8Array(16);

/** Run the bridge-family chains of a hook with priority in [lo, hi). */
function brHook(dp: Datapath, skb: Skb, hook: string, lo: number, hi: number): boolean {
  const chains = dp.nsrt(skb.ns!).rules.chainsFor('bridge', hook);
  for (const c of chains) {
    const p = c.base!.prio;
    if (p < lo || p >= hi) continue;
    if (!runChain(dp, skb, c, hook)) return false;
  }
  return true;
}

/** br_handle_frame(): a frame arrived on bridge port `port`. */
export function brHandleFrame(dp: Datapath, skb: Skb, port: NetDevice): void {
  const br = port.master!;
  const b = br.bridge!;
  const bp = port.brport!;
  const i = skb.info;
  const ns = port.ns.name;
  if (bp.state === 'disabled' || bp.state === 'blocking' || bp.state === 'listening') {
    dp.drop(skb, DR.BRIDGE_INGRESS_STP_STATE, { stage: 'br_handle_frame', dev: port.name }, `port state ${bp.state}`);
    return;
  }
  // br_fdb_update(): learn the source MAC (unicast only).
  if (bp.learning && i.srcMacHi >= 0 && (i.srcMacHi & 0x0100) === 0) b.learn(i.srcMacHi, i.srcMacLo, port, dp.now);
  if (bp.state === 'learning') {
    dp.drop(skb, DR.BRIDGE_INGRESS_STP_STATE, { stage: 'br_handle_frame', dev: port.name }, 'port state learning');
    return;
  }
  skb.physin = port;
  // br_handle_frame(): a frame to the bridge's own address is for this host.
  if (i.dstMacHi === br.macHi && i.dstMacLo === br.macLo) skb.pktType = PACKET_HOST;
  // Bridge PREROUTING: chains below br_nf_pre_routing (prio 0), then the IP hook, then the rest.
  if (!brHook(dp, skb, 'prerouting', -Infinity, 0)) return;
  if (brNfOn(skb, br)) {
    // br_nf_pre_routing(): the IP layer's checks and PREROUTING, with iif = the bridge.
    const savedDev = skb.dev;
    const savedType = skb.pktType;
    skb.dev = br;
    skb.iif = br;
    // setup_pre_routing(): OTHERHOST frames are bridged, so the IP layer sees them as HOST.
    if (skb.pktType === PACKET_OTHERHOST) skb.pktType = PACKET_HOST;
    const v6 = skb.info.l3 === L3_IPV6;
    // br_validate_ipv4 / br_validate_ipv6: the IP layer's header checks.
    if (!(v6 ? ip6RcvCore(dp, skb, br) : ipRcvCore(dp, skb, br))) return;
    skb.pktType = savedType;
    skb.bridged = true;
    const daddr = skb.info.dst4;
    if (v6) daddr6.set(skb.data.subarray(skb.info.dstOff, skb.info.dstOff + 16));
    if (!brNfHook(dp, skb, 'prerouting')) return;
    skb.dev = savedDev;
    // br_nf_pre_routing_finish(_ipv6)(): after DNAT to another host, the packet is routed, not bridged.
    const changed = v6 ? !daddr6.every((x, k) => x === skb.data[skb.info.dstOff + k]) : skb.info.dst4 !== daddr;
    if (changed) {
      skb.pktType = PACKET_HOST;
      // The destination MAC becomes the bridge's: the frame now goes up to the bridge.
      skb.setMacs(br.macHi, br.macLo, i.srcMacHi, i.srcMacLo);
    }
  }
  if (!brHook(dp, skb, 'prerouting', 0, Infinity)) return;
  brHandleFrameFinish(dp, skb, port, br, b, ns);
}

/** br_handle_frame_finish(): forward, flood or pass up by destination MAC. */
function brHandleFrameFinish(dp: Datapath, skb: Skb, port: NetDevice, br: NetDevice, b: BridgeState, ns: string): void {
  const i = skb.info;
  const group = (i.dstMacHi & 0x0100) !== 0;
  if (group) {
    // Broadcast/multicast: flood to the other ports, and pass a copy up to the bridge (br_flood + local_rcv).
    const targets = floodTargets(br, port);
    if (dp.tracing) dp.step({ kind: 'bridge', ns, bridge: br.name, port: port.name, action: 'flood', to: targets.map((t) => t.name) });
    const rec = dp.recOf(skb);
    for (const t of targets) {
      const c = skb.clone();
      if (rec) rec.live++;
      brForward(dp, c, t, br);
      if (rec) dp.release(rec);
    }
    brPassFrameUp(dp, skb, br);
    return;
  }
  const e = b.find(i.dstMacHi, i.dstMacLo, dp.now);
  if ((e && e.local) || (i.dstMacHi === br.macHi && i.dstMacLo === br.macLo)) {
    if (dp.tracing) dp.step({ kind: 'bridge', ns, bridge: br.name, port: port.name, action: 'local' });
    brPassFrameUp(dp, skb, br);
    return;
  }
  if (e) {
    if (e.dst === port && !port.brport!.hairpin) {
      if (dp.tracing) dp.step({ kind: 'bridge', ns, bridge: br.name, port: port.name, action: `drop: destination is behind the ingress port` });
      dp.drop(skb, DR.NOT_SPECIFIED, { stage: 'br_forward', dev: port.name }, 'destination MAC is on the ingress port (no hairpin)');
      return;
    }
    if (dp.tracing) dp.step({ kind: 'bridge', ns, bridge: br.name, port: port.name, action: 'forward', to: [e.dst.name] });
    brForward(dp, skb, e.dst, br);
    return;
  }
  const targets = floodTargets(br, port);
  if (dp.tracing) dp.step({ kind: 'bridge', ns, bridge: br.name, port: port.name, action: 'flood (unknown unicast)', to: targets.map((t) => t.name) });
  if (targets.length === 0) {
    dp.drop(skb, DR.NOT_SPECIFIED, { stage: 'br_flood', dev: br.name }, 'unknown destination MAC and no other port to flood to');
    return;
  }
  floodCopies(dp, skb, targets, br);
}

function floodTargets(br: NetDevice, ingress: NetDevice | null): NetDevice[] {
  const out: NetDevice[] = [];
  for (const p of br.bridge!.ports) {
    if (p.brport!.state !== 'forwarding' || !p.brport!.flood) continue;
    if (p === ingress && !p.brport!.hairpin) continue;
    out.push(p);
  }
  return out;
}

function floodCopies(dp: Datapath, skb: Skb, targets: NetDevice[], br: NetDevice): void {
  const rec = dp.recOf(skb);
  for (let k = 0; k < targets.length; k++) {
    const c = k === targets.length - 1 ? skb : skb.clone();
    if (c !== skb && rec) rec.live++;
    brForward(dp, c, targets[k], br);
    if (c !== skb && rec) dp.release(rec);
  }
}

/** br_pass_frame_up(): to the bridge device's own stack (bridge INPUT hook, then the protocol). */
function brPassFrameUp(dp: Datapath, skb: Skb, br: NetDevice): void {
  if (!brHook(dp, skb, 'input', -Infinity, Infinity)) return;
  skb.dev = br;
  // br_pass_frame_up(): the bridge device counts the frame (skb->len after the MAC header).
  br.stats.rxPackets++;
  br.stats.rxBytes += skb.len - 14;
  if (dp.tap) dp.tap(br, 1, dp.now, skb.data, skb.len);
  ethTypeTrans(skb, br);
  if (skb.bridged && (skb.info.l3 === L3_IPV4 || skb.info.l3 === L3_IPV6)) {
    // ip_sabotage_in(): PREROUTING already ran inside the bridge: go straight to ip_rcv_finish.
    skb.bridged = false;
    skb.physin = skb.physin ?? null;
    if (skb.pktType === PACKET_OTHERHOST) {
      dp.drop(skb, DR.OTHERHOST, { stage: 'ip_rcv_core', dev: br.name });
      return;
    }
    if (skb.info.l3 === L3_IPV6) ip6RcvFinish(dp, skb, br);
    else ipRcvFinish(dp, skb, br);
    return;
  }
  deliverL3(dp, skb, br);
}

/** br_forward() → __br_forward: bridge FORWARD, then POSTROUTING, then the port transmits. */
function brForward(dp: Datapath, skb: Skb, to: NetDevice, br: NetDevice): void {
  skb.physout = to;
  if (!brHook(dp, skb, 'forward', -Infinity, 0)) return;
  if (skb.bridged && brNfOn(skb, br)) {
    // br_nf_forward_ip(): IP FORWARD with iif = oif = the bridge; no TTL change (datapath-facts §1).
    skb.iif = br;
    skb.oif = br;
    if (!brNfHook(dp, skb, 'forward')) return;
  }
  if (!brHook(dp, skb, 'forward', 0, Infinity)) return;
  brForwardFinish(dp, skb, to, br);
}

/** br_forward_finish(): bridge POSTROUTING (with br_nf_post_routing's IP POSTROUTING last), xmit. */
function brForwardFinish(dp: Datapath, skb: Skb, to: NetDevice, br: NetDevice): void {
  if (!brHook(dp, skb, 'postrouting', -Infinity, Infinity)) return;
  if (skb.bridged && brNfOn(skb, br)) {
    skb.oif = br;
    if (!brNfHook(dp, skb, 'postrouting')) return;
  }
  devQueueXmit(dp, skb, to);
}

/** br_dev_xmit(): the host sends through the bridge device: FDB lookup, else flood. */
export function brDevXmit(dp: Datapath, skb: Skb, br: NetDevice): void {
  const b = br.bridge!;
  const i = skb.info;
  const ns = br.ns.name;
  skb.bridged = false;
  if (!brHook(dp, skb, 'output', -Infinity, Infinity)) return;
  const group = (i.dstMacHi & 0x0100) !== 0;
  const e = group ? null : b.find(i.dstMacHi, i.dstMacLo, dp.now);
  if (e && !e.local) {
    if (dp.tracing) dp.step({ kind: 'bridge', ns, bridge: br.name, port: '(local)', action: 'forward', to: [e.dst.name] });
    skb.physout = e.dst;
    brForwardFinish(dp, skb, e.dst, br);
    return;
  }
  const targets = floodTargets(br, null);
  if (dp.tracing) dp.step({ kind: 'bridge', ns, bridge: br.name, port: '(local)', action: group ? 'flood' : 'flood (unknown unicast)', to: targets.map((t) => t.name) });
  if (targets.length === 0) {
    dp.drop(skb, DR.NOT_SPECIFIED, { stage: 'br_dev_xmit', dev: br.name }, 'no port to send to');
    return;
  }
  const rec = dp.recOf(skb);
  for (let k = 0; k < targets.length; k++) {
    const c = k === targets.length - 1 ? skb : skb.clone();
    if (c !== skb && rec && !skb.generated) rec.live++;
    c.physout = targets[k];
    brForwardFinish(dp, c, targets[k], br);
    if (c !== skb && rec && !skb.generated) dp.release(rec);
  }
}

/** Re-exported for tests: FDB key helper. */
export const fdbKey = BridgeState.key;
