/**
 * Neighbour (ARP) table: net/core/neighbour.c states and timers, driven by the capture clock.
 * The datapath asks neighResolve() what to do with a packet; timers are run by neighTimers().
 */
import type { NetDevice } from './netdev.js';

/** NUD states (include/uapi/linux/neighbour.h). */
export const NUD_NONE = 0x00,
  NUD_INCOMPLETE = 0x01,
  NUD_REACHABLE = 0x02,
  NUD_STALE = 0x04,
  NUD_DELAY = 0x08,
  NUD_PROBE = 0x10,
  NUD_FAILED = 0x20,
  NUD_NOARP = 0x40,
  NUD_PERMANENT = 0x80;

/** NUD_CONNECTED: the link-layer address can be used without any check. */
export const NUD_CONNECTED = NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE;
/** NUD_VALID: the address can be used (maybe after a later check). */
export const NUD_VALID = NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY;

const NAMES: Array<[number, string]> = [
  [NUD_INCOMPLETE, 'INCOMPLETE'], [NUD_REACHABLE, 'REACHABLE'], [NUD_STALE, 'STALE'], [NUD_DELAY, 'DELAY'],
  [NUD_PROBE, 'PROBE'], [NUD_FAILED, 'FAILED'], [NUD_NOARP, 'NOARP'], [NUD_PERMANENT, 'PERMANENT'],
];

/** State name as `ip neigh` prints it. */
export function nudName(s: number): string {
  for (const [bit, n] of NAMES) if (s & bit) return n;
  return 'NONE';
}

/** Parse an `ip -j neigh` state word. */
export function nudFromName(n: string): number {
  for (const [bit, name] of NAMES) if (name === n) return bit;
  return n === 'NONE' ? NUD_NONE : -1;
}

/** One neighbour entry (struct neighbour). */
export class Neighbour<Q> {
  dev: NetDevice;
  addr: number;
  macHi = -1;
  macLo = -1;
  state = NUD_NONE;
  /** Capture-clock seconds of the last confirmation (reply seen). */
  confirmed = -Infinity;
  updated = 0;
  probes = 0;
  /** When the state timer fires (seconds); Infinity when none. */
  timerAt = Infinity;
  /** Packets waiting for resolution (arp_queue), oldest first. */
  queue: Q[] = [];
  /** Interned 'use' trace step and the state and address it was made for (ip_output.ts). */
  useStep: object | null = null;
  useStepState = -1;
  useStepMacHi = -1;
  useStepMacLo = -1;
  constructor(dev: NetDevice, addr: number) {
    this.dev = dev;
    this.addr = addr;
  }
}

/** A namespace's IPv4 neighbour table. */
export class NeighTable<Q> {
  entries = new Map<number, Neighbour<Q>>();
  /** Entries with a pending timer (a small set: only those being resolved or aging). */
  timed = new Set<Neighbour<Q>>();

  private static key(dev: NetDevice, addr: number): number {
    return dev.ifindex * 0x100000000 + addr;
  }

  /** neigh_lookup(). */
  lookup(dev: NetDevice, addr: number): Neighbour<Q> | null {
    return this.entries.get(NeighTable.key(dev, addr)) ?? null;
  }

  /** __neigh_create(): a new NUD_NONE entry. */
  create(dev: NetDevice, addr: number): Neighbour<Q> {
    const n = new Neighbour<Q>(dev, addr);
    this.entries.set(NeighTable.key(dev, addr), n);
    return n;
  }

  /**
   * The earliest timer, kept as timers are armed: the datapath asks before every packet, and a busy
   * router's table has thousands of REACHABLE entries aging. Exact unless `minStale` (the earliest
   * timer moved later or was cancelled), then found again on the next ask.
   */
  private minAt = Infinity;
  private minStale = false;

  /** Arm or cancel the entry's timer. */
  setTimer(n: Neighbour<Q>, at: number): void {
    const old = n.timerAt;
    n.timerAt = at;
    if (at === Infinity) this.timed.delete(n);
    else this.timed.add(n);
    if (at < this.minAt) this.minAt = at;
    else if (old === this.minAt && at !== old) this.minStale = true;
  }

  /** Earliest pending timer, Infinity when none. */
  nextTimer(): number {
    if (this.minStale) {
      let t = Infinity;
      for (const n of this.timed) if (n.timerAt < t) t = n.timerAt;
      this.minAt = t;
      this.minStale = false;
    }
    return this.minAt;
  }
}
