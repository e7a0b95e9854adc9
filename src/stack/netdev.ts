/**
 * Network devices (struct net_device): what the datapath needs to know about each interface.
 */
import type { Netns } from './netns.js';
import type { BridgeState } from './bridge.js';

/** Device kinds we model (rtnl link kind, or ether/loopback for plain devices). */
export type DevKind = 'loopback' | 'ether' | 'veth' | 'bridge' | 'vlan' | 'dummy' | 'other';

/** An IPv4 address on a device (struct in_ifaddr). */
export interface IfAddr4 {
  local: number;
  prefixlen: number;
  /** Broadcast address, 0 when none. */
  broadcast: number;
  scope: 'global' | 'link' | 'host' | 'site';
  secondary: boolean;
}

/** An IPv6 address on a device (struct inet6_ifaddr). */
export interface IfAddr6 {
  /** 16 bytes. */
  addr: Uint8Array;
  prefixlen: number;
  scope: 'global' | 'link' | 'host' | 'site';
  /** `ip -j addr` flags that matter: tentative, dadfailed, deprecated, optimistic, nodad, noprefixroute... */
  flags: string[];
}

/** Bridge port state (br_private.h BR_STATE_*) and flags. */
export interface BrPort {
  state: 'disabled' | 'listening' | 'learning' | 'forwarding' | 'blocking';
  learning: boolean;
  flood: boolean;
  hairpin: boolean;
  isolated: boolean;
}

/** Per-device counters, shaped like `ip -s link`. */
export class DevStats {
  rxPackets = 0;
  rxBytes = 0;
  rxDropped = 0;
  txPackets = 0;
  txBytes = 0;
  txDropped = 0;
}

/** One network device. */
export class NetDevice {
  /** Owning namespace. */
  ns: Netns;
  ifindex: number;
  name: string;
  kind: DevKind;
  macHi = 0;
  macLo = 0;
  mtu = 1500;
  /** Administratively up (IFF_UP). */
  up = true;
  txqlen = 1000;
  /** Root qdisc: the kind `ip link` shows, or a tc spec (lab, --qdisc) such as `tbf rate 1mbit burst 10kb latency 50ms`. */
  qdisc = 'noqueue';
  /** Line rate, bytes/s (lab `rate`, --link-rate); 0 when unknown (the queue model then queues nothing). */
  rate = 0;
  numRxQueues = 1;
  numTxQueues = 1;
  /** Bridge master, when this device is a bridge port. */
  master: NetDevice | null = null;
  brport: BrPort | null = null;
  /** Bridge state when this device is a bridge. */
  bridge: BridgeState | null = null;
  /** veth peer inside the world; null for an edge. */
  peer: NetDevice | null = null;
  /** Packets leave and enter the world here (veth with no peer in the world, physical NIC). */
  edge = false;
  /** Why this device is an edge (for `world show`). */
  edgeNote = '';
  /** VLAN sub-interface: the lower device and id. */
  lower: NetDevice | null = null;
  vlanId = -1;
  addrs4: IfAddr4[] = [];
  /** IPv6 addresses as text (`A/len`), as loaded; `ifa6` holds them parsed. */
  addrs6: string[] = [];
  /** IPv6 addresses, parsed (the datapath uses these). */
  ifa6: IfAddr6[] = [];
  stats = new DevStats();
  /** Interned trace steps of this device: rx per packet type, rp_filter pass (dev.ts, ip_input.ts). */
  traceSteps: object[] = [];

  constructor(ns: Netns, ifindex: number, name: string, kind: DevKind) {
    this.ns = ns;
    this.ifindex = ifindex;
    this.name = name;
    this.kind = kind;
  }

  /** The primary IPv4 address whose subnet holds `a`, or the first primary address; 0 when none. */
  primaryAddr4(a = 0): number {
    let first = 0;
    for (const ifa of this.addrs4) {
      if (ifa.secondary || ifa.scope === 'host') continue;
      if (first === 0) first = ifa.local;
      const mask = ifa.prefixlen === 0 ? 0 : (0xffffffff << (32 - ifa.prefixlen)) >>> 0;
      if (a !== 0 && ((a & mask) >>> 0) === ((ifa.local & mask) >>> 0)) return ifa.local;
    }
    return first;
  }

  /** True when `a` is one of this device's IPv4 addresses. */
  hasAddr4(a: number): boolean {
    for (const ifa of this.addrs4) if (ifa.local === a) return true;
    return false;
  }
}
