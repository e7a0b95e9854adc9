/**
 * Linux bridge state: the forwarding database (net/bridge/br_fdb.c) keyed by MAC, with learned
 * entries ageing out after ageing_time and permanent/static entries from the snapshot.
 */
import type { NetDevice } from './netdev.js';

/** One FDB entry (struct net_bridge_fdb_entry). */
export interface FdbEntry {
  macHi: number;
  macLo: number;
  /** The port the MAC lives behind; the bridge itself for its own (local) addresses. */
  dst: NetDevice;
  /** Permanent (local) or static entries never age. */
  permanent: boolean;
  /** Address of the bridge itself or of a port: frames to it go up to the bridge device (is_local). */
  local: boolean;
  /** Capture-clock time of the last use, seconds. */
  updated: number;
}

/** Per-bridge state. */
export class BridgeState {
  fdb = new Map<number, FdbEntry>();
  /** ageing_time in seconds (default 300). */
  ageingTime = 300;
  stpState = 0;
  vlanFiltering = false;
  /** Per-bridge br_netfilter override (nf_call_iptables bridge option). */
  nfCallIptables = false;
  ports: NetDevice[] = [];

  /** Map key of a MAC: fits in a double exactly (48 bits). */
  static key(hi: number, lo: number): number {
    return hi * 0x100000000 + lo;
  }

  /** br_fdb_find(). Learned entries older than ageing_time are gone (br_fdb_cleanup). */
  find(hi: number, lo: number, now: number): FdbEntry | null {
    const e = this.fdb.get(BridgeState.key(hi, lo));
    if (!e) return null;
    if (!e.permanent && now - e.updated > this.ageingTime) {
      this.fdb.delete(BridgeState.key(hi, lo));
      return null;
    }
    return e;
  }

  /** br_fdb_update(): learn or refresh a source MAC on a port. Local entries are never moved. */
  learn(hi: number, lo: number, port: NetDevice, now: number): void {
    const k = BridgeState.key(hi, lo);
    const e = this.fdb.get(k);
    if (e) {
      if (e.local || e.permanent) return;
      e.dst = port;
      e.updated = now;
      return;
    }
    this.fdb.set(k, { macHi: hi, macLo: lo, dst: port, permanent: false, local: false, updated: now });
  }
}
