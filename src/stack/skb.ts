/**
 * The packet being processed (struct sk_buff): its bytes, decoded headers and the metadata the
 * stack attaches on the way. One shape for every packet; unset numbers are -1.
 */
import { PacketInfo, decodeFrame } from './wire/decode.js';
import { putMac } from './wire/ethernet.js';
import type { NetDevice } from './netdev.js';
import type { Netns } from './netns.js';
import type { Conn } from './conntrack/index.js';
import type { FibRoute } from './route.js';
import type { Emitted } from './record.js';

/** skb->pkt_type (include/uapi/linux/if_packet.h). */
export const PACKET_HOST = 0,
  PACKET_BROADCAST = 1,
  PACKET_MULTICAST = 2,
  PACKET_OTHERHOST = 3,
  PACKET_OUTGOING = 4,
  PACKET_LOOPBACK = 5;

/** NFPROTO_* of the hook being run. */
export const NFPROTO_INET = 1,
  NFPROTO_IPV4 = 2,
  NFPROTO_ARP = 3,
  NFPROTO_NETDEV = 5,
  NFPROTO_BRIDGE = 7,
  NFPROTO_IPV6 = 10;

/** One packet. */
export class Skb {
  /** Frame bytes (an own copy: NAT and TTL rewrite them). Ethernet header at macOff. */
  data: Uint8Array = new Uint8Array(0);
  len = 0;
  macOff = -1;
  info = new PacketInfo();
  ns: Netns | null = null;
  /** Device the packet is on now (rx: arrived on; tx: leaving by). */
  dev: NetDevice | null = null;
  /** IP layer input device (the bridge, for bridged frames seen by br_netfilter), null for local output. */
  iif: NetDevice | null = null;
  oif: NetDevice | null = null;
  /** Bridge ports (physdev) for br_netfilter: the port it came in by / leaves by. */
  physin: NetDevice | null = null;
  physout: NetDevice | null = null;
  mark = 0;
  priority = 0;
  pktType = PACKET_HOST;
  nftrace = false;
  ct: Conn | null = null;
  ctinfo = -1;
  /** Set by `notrack`: conntrack leaves it alone. */
  untracked = false;
  /** Route chosen (skb_dst). */
  rt: FibRoute | null = null;
  /** Next-hop address for neighbour output (0 = the destination itself). */
  nexthop = 0;
  /** Index of the input record this packet belongs to (generated packets inherit their cause's). */
  index = -1;
  /** True for packets the stack generated (RST, ICMP errors, ARP). */
  generated = false;
  /** Bridged by br_netfilter: the IP hooks see iif = oif = bridge. */
  bridged = false;
  /** A generated packet's entry in its cause's record (its steps and fate go there); null otherwise. */
  emitted: Emitted | null = null;

  /** Set up for a new frame: copies `frame` into a buffer owned by this skb. */
  load(frame: Uint8Array, len: number): void {
    if (this.data.length < len + 64) this.data = new Uint8Array(Math.max(2048, len + 64));
    const d = this.data;
    // Most frames are short: a plain loop beats making a subarray view for set() (one allocation each).
    if (len <= 256) for (let k = 0; k < len; k++) d[k] = frame[k];
    else d.set(frame.subarray(0, len), 0);
    this.len = len;
    this.macOff = 0;
    this.dev = null;
    this.iif = null;
    this.oif = null;
    this.physin = null;
    this.physout = null;
    this.mark = 0;
    this.priority = 0;
    this.pktType = PACKET_HOST;
    this.nftrace = false;
    this.ct = null;
    this.ctinfo = -1;
    this.untracked = false;
    this.rt = null;
    this.nexthop = 0;
    this.generated = false;
    this.bridged = false;
    this.emitted = null;
  }

  /** Write the frame's Ethernet addresses and keep `info` in step (neighbour output, bridge DNAT). */
  setMacs(dHi: number, dLo: number, sHi: number, sLo: number): void {
    putMac(this.data, 0, dHi, dLo);
    putMac(this.data, 6, sHi, sLo);
    const i = this.info;
    i.dstMacHi = dHi;
    i.dstMacLo = dLo;
    i.srcMacHi = sHi;
    i.srcMacLo = sLo;
  }

  /** A deep copy (for packets that must outlive this one: neighbour queues, bridge floods). */
  clone(): Skb {
    const c = new Skb();
    c.data = this.data.slice(0, Math.max(this.len + 64, 128));
    c.len = this.len;
    c.macOff = this.macOff;
    c.ns = this.ns;
    c.dev = this.dev;
    c.iif = this.iif;
    c.oif = this.oif;
    c.physin = this.physin;
    c.physout = this.physout;
    c.mark = this.mark;
    c.priority = this.priority;
    c.pktType = this.pktType;
    c.nftrace = this.nftrace;
    c.ct = this.ct;
    c.ctinfo = this.ctinfo;
    c.untracked = this.untracked;
    c.rt = this.rt;
    c.nexthop = this.nexthop;
    c.index = this.index;
    c.generated = this.generated;
    c.bridged = this.bridged;
    c.emitted = this.emitted;
    decodeFrame(c.info, c.data, c.len, c.len, 1, { verifyChecksums: false });
    return c;
  }
}
