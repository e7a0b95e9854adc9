/**
 * Device layer: receive (net/core/dev.c __netif_receive_skb_core, eth_type_trans) and transmit
 * (dev_queue_xmit → the driver: veth_xmit hands the frame to the peer, the bridge's br_dev_xmit, an
 * edge device where the packet leaves the world).
 */
import type { Datapath } from './datapath.js';
import { hdrOf } from './datapath.js';
import type { NetDevice } from './netdev.js';
import { PACKET_BROADCAST, PACKET_HOST, PACKET_MULTICAST, PACKET_OTHERHOST, type Skb } from './skb.js';
import { DR } from './drop_reason.js';
import { intern, DEV_STEP_RX, DEV_STEP_RX_PORT, DEV_STEP_VETH, DEV_STEP_TX_FINAL, type Final, type Step } from './record.js';
import { brDevXmit, brHandleFrame } from './br_input.js';
import { arpRcv } from './arp.js';
import { ipRcv } from './ip_input.js';
import { ipv6Rcv } from './ip6_input.js';
import { L3_ARP, L3_IPV4, L3_IPV6, decodeFrame } from './wire/decode.js';

const PKTTYPE_NAMES = ['host', 'broadcast', 'multicast', 'otherhost', 'outgoing', 'loopback'];

/** kMaxDepth: nested hand-overs (veth, loopback, generated packets) before we call it a loop. */
const kMaxDepth = 32;

/** eth_type_trans(): packet type from the destination MAC. */
export function ethTypeTrans(skb: Skb, dev: NetDevice): void {
  const i = skb.info;
  if (i.dstMacHi < 0) {
    skb.pktType = PACKET_HOST;
    return;
  }
  if ((i.dstMacHi & 0x0100) !== 0) skb.pktType = i.dstMacHi === 0xffff && i.dstMacLo === 0xffffffff ? PACKET_BROADCAST : PACKET_MULTICAST;
  else if (i.dstMacHi === dev.macHi && i.dstMacLo === dev.macLo) skb.pktType = PACKET_HOST;
  else skb.pktType = PACKET_OTHERHOST;
}

/** __netif_receive_skb_core(): a frame arrives on dev. */
export function netifReceiveSkb(dp: Datapath, skb: Skb, dev: NetDevice): void {
  skb.dev = dev;
  skb.ns = dev.ns;
  dev.stats.rxPackets++;
  dev.stats.rxBytes += skb.len;
  if (dp.tap) dp.tap(dev, 1, dp.now, skb.data, skb.len);
  if (!dev.up) {
    // A down device receives nothing (the driver does not even see it).
    dp.drop(skb, DR.DEV_READY, { stage: 'netif_receive_skb', dev: dev.name }, `${dev.name} is down`);
    return;
  }
  ethTypeTrans(skb, dev);
  if (dp.tracing && !skb.generated) {
    const k = dev.master ? DEV_STEP_RX_PORT : DEV_STEP_RX + skb.pktType;
    dp.step((dev.traceSteps[k] ??= intern({ kind: 'rx', ns: dev.ns.name, dev: dev.name, pkttype: dev.master ? `port of ${dev.master.name}` : PKTTYPE_NAMES[skb.pktType] })) as Step);
  }
  const i = skb.info;
  // VLAN: a tagged frame goes to the VLAN device with that id on this lower device (vlan_do_receive).
  if (i.vlanCount > 0) {
    let vdev: NetDevice | null = null;
    for (const d of dev.ns.devs) if (d.kind === 'vlan' && d.lower === dev && d.vlanId === i.vlan0) vdev = d;
    if (!vdev) {
      if (!dev.master) {
        dp.drop(skb, DR.UNHANDLED_PROTO, { stage: 'vlan_do_receive', dev: dev.name }, `no VLAN ${i.vlan0} device on ${dev.name}`);
        return;
      }
    } else {
      untagVlan(skb);
      netifReceiveSkb(dp, skb, vdev);
      return;
    }
  }
  if (dev.master && dev.brport) {
    brHandleFrame(dp, skb, dev);
    return;
  }
  deliverL3(dp, skb, dev);
}

/** The protocol handlers (ptype_base): ARP, IPv4, IPv6. */
export function deliverL3(dp: Datapath, skb: Skb, dev: NetDevice): void {
  const i = skb.info;
  if (i.l3 === L3_ARP) arpRcv(dp, skb, dev);
  else if (i.l3 === L3_IPV4) ipRcv(dp, skb, dev);
  else if (i.l3 === L3_IPV6) ipv6Rcv(dp, skb, dev);
  else dp.drop(skb, DR.UNHANDLED_PROTO, { stage: '__netif_receive_skb_core', dev: dev.name }, `ethertype 0x${i.ethertype.toString(16)}`);
}

function untagVlan(skb: Skb): void {
  // Remove the outer tag: move the MAC addresses 4 bytes forward.
  const b = skb.data;
  b.copyWithin(4, 0, 12);
  skb.data = b.subarray(4);
  skb.len -= 4;
  decodeFrame(skb.info, skb.data, skb.len, skb.len, 1, { verifyChecksums: false });
}

/**
 * dev_queue_xmit(): the frame (Ethernet header already built) leaves by dev. Bridge → br_dev_xmit;
 * veth → the peer receives it; edge → it leaves the world (transmitted).
 */
export function devQueueXmit(dp: Datapath, skb: Skb, dev: NetDevice): void {
  if (++dp.depth > kMaxDepth) {
    dp.drop(skb, DR.NOT_SPECIFIED, { stage: 'dev_queue_xmit', dev: dev.name }, 'forwarding loop: too many nested hand-overs');
    return;
  }
  try {
    if (!dev.up) {
      dp.drop(skb, DR.DEV_READY, { stage: 'dev_queue_xmit', dev: dev.name }, `${dev.name} is down`);
      return;
    }
    dev.stats.txPackets++;
    dev.stats.txBytes += skb.len;
    if (dp.tap && dev.kind !== 'vlan') dp.tap(dev, 2, dp.now, skb.data, skb.len);
    if (dev.bridge) {
      brDevXmit(dp, skb, dev);
      return;
    }
    if (dev.kind === 'vlan' && dev.lower) {
      tagVlan(skb, dev.vlanId);
      devQueueXmit(dp, skb, dev.lower);
      return;
    }
    // Header text only when someone reads it: a trace, or a NAT summary line.
    const rec = skb.generated ? null : dp.recOf(skb);
    const hdr = dp.tracing || (rec !== null && rec.nat.length > 0) ? hdrOf(skb) : null;
    if (dp.tracing) dp.step({ kind: 'tx', ns: dev.ns.name, dev: dev.name, hdr });
    if (dev.peer) {
      if (dp.tracing) dp.step((dev.traceSteps[DEV_STEP_VETH] ??= intern({ kind: 'veth', from: `${dev.ns.name}:${dev.name}`, to: `${dev.peer.ns.name}:${dev.peer.name}` })) as Step);
      skb.mark = 0; // veth_xmit → __dev_forward_skb scrubs the packet (skb_scrub_packet, xnet)
      skb.ct = null;
      skb.ctinfo = -1;
      skb.untracked = false;
      skb.iif = null;
      skb.oif = null;
      skb.rt = null;
      skb.bridged = false;
      skb.physin = null;
      skb.physout = null;
      if (dp.onBacklogHop !== null) dp.onBacklogHop();
      netifReceiveSkb(dp, skb, dev.peer);
      return;
    }
    if (dev.kind === 'loopback') {
      skb.pktType = PACKET_HOST;
      if (dp.onBacklogHop !== null) dp.onBacklogHop();
      netifReceiveSkb(dp, skb, dev);
      return;
    }
    // An edge (or a device with no peer): the frame leaves the world here.
    if (dp.onXmit !== null) dp.onXmit(dev, skb);
    if (skb.generated) {
      dp.emittedFate(skb, `transmitted on ${dev.ns.name}:${dev.name}`);
      return;
    }
    // Without a header to report, the fate is the device's alone: one object per device.
    dp.final(rec, hdr ? { verdict: 'transmitted', ns: dev.ns.name, dev: dev.name, out: hdr } : (dev.traceSteps[DEV_STEP_TX_FINAL] ??= intern({ verdict: 'transmitted', ns: dev.ns.name, dev: dev.name })) as Final);
  } finally {
    dp.depth--;
  }
}

function tagVlan(skb: Skb, vid: number): void {
  const n = new Uint8Array(skb.len + 4 + 64);
  n.set(skb.data.subarray(0, 12), 0);
  n[12] = 0x81;
  n[13] = 0x00;
  n[14] = (vid >> 8) & 0x0f;
  n[15] = vid & 0xff;
  n.set(skb.data.subarray(12, skb.len), 16);
  skb.data = n;
  skb.len += 4;
  decodeFrame(skb.info, skb.data, skb.len, skb.len, 1, { verifyChecksums: false });
}
