/**
 * A network namespace (struct net): devices, addresses, routing, neighbours, sysctls, netfilter
 * ruleset and sockets. Holds runtime state too (neighbour and FDB learning, conntrack), so a World is
 * built fresh for every replay.
 */
import { NetDevice } from './netdev.js';
import { Fib4 } from './route.js';
import { Addr6Ids, Fib6 } from './route6.js';
import { NeighTable } from './neigh.js';
import { Sysctl } from './sysctl.js';
import type { Sock } from './socket.js';
import type { RulesetIR } from './netfilter/ir.js';

/** One namespace. */
export class Netns {
  /** Index in world.namespaces. */
  id: number;
  name: string;
  devs: NetDevice[] = [];
  byIndex = new Map<number, NetDevice>();
  byName = new Map<string, NetDevice>();
  fib4 = new Fib4();
  /** Queued entries are datapath packets; typed loosely here so the world does not depend on the datapath. */
  neigh = new NeighTable<unknown>();
  sysctl = new Sysctl();
  sockets: Sock[] = [];
  ruleset: RulesetIR = { tables: [] };
  /** Where each table came from (`world show`, reports). */
  rulesetSources: Array<{ family: string; table: string; source: string; file: string }> = [];
  /** Local IPv4 addresses (from the local table), for fast `is local` checks. */
  local4 = new Set<number>();
  /** IPv6 rules and tables. */
  fib6 = new Fib6();
  /**
   * IPv6 neighbour table (nd_tbl): the same state machine as ARP's, keyed by `addr6Ids.id()` of the
   * 16-byte address. Queued entries are datapath packets.
   */
  neigh6 = new NeighTable<unknown>();
  /** Interned IPv6 addresses for neigh6 keys. */
  addr6Ids = new Addr6Ids();
  /** Local and anycast IPv6 addresses (route6 key6 text, from the local table). */
  local6 = new Set<string>();
  /** The snapshot's nsid → namespace name map (netns-id.json). */
  nsids = new Map<number, string | null>();

  constructor(id: number, name: string) {
    this.id = id;
    this.name = name;
  }

  /** Add a device. */
  addDev(d: NetDevice): void {
    this.devs.push(d);
    this.byIndex.set(d.ifindex, d);
    this.byName.set(d.name, d);
  }

  /** The loopback device, if any. */
  loopback(): NetDevice | null {
    for (const d of this.devs) if (d.kind === 'loopback') return d;
    return null;
  }

  /** Create a device owned by this namespace. */
  newDev(ifindex: number, name: string, kind: NetDevice['kind']): NetDevice {
    const d = new NetDevice(this, ifindex, name, kind);
    this.addDev(d);
    return d;
  }
}

/** The world: every namespace of a snapshot or lab. */
export class World {
  namespaces: Netns[] = [];
  byName = new Map<string, Netns>();
  /** Constructs accepted with --allow-unsupported, and other notes every report repeats. */
  warnings: string[] = [];
  /** Where it came from (a snapshot directory or a lab file). */
  source = '';
  kernel = '';

  /** Add a namespace. */
  addNs(name: string): Netns {
    const ns = new Netns(this.namespaces.length, name);
    this.namespaces.push(ns);
    this.byName.set(name, ns);
    return ns;
  }

  /** Devices where packets enter and leave the world. */
  edges(): NetDevice[] {
    const out: NetDevice[] = [];
    for (const ns of this.namespaces) for (const d of ns.devs) if (d.edge) out.push(d);
    return out;
  }
}
