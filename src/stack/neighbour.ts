/**
 * The neighbour state machine both families share (net/core/neighbour.c: neigh_output /
 * __neigh_event_send, neigh_timer_handler, neigh_max_probes); ARP (ip_output.ts) and ND (ndisc.ts)
 * give the per-family parts as NeighOps, as struct neigh_ops and the table's parms do in the kernel.
 * neigh_update stays per family: ARP's and ND's override rules differ (arp_process, ndisc_recv_na).
 */
import type { Datapath } from './datapath.js';
import type { Netns } from './netns.js';
import type { Skb } from './skb.js';
import { NUD_CONNECTED, NUD_DELAY, NUD_FAILED, NUD_INCOMPLETE, NUD_NONE, NUD_PROBE, NUD_REACHABLE, NUD_STALE, nudName, type Neighbour, type NeighTable } from './neigh.js';
import { intern, type Step } from './record.js';
import { formatMac } from './inet.js';
import { devQueueXmit } from './dev.js';

/** What differs between ARP and ND. */
export interface NeighOps {
  /** The namespace's table of this family. */
  table(ns: Netns): NeighTable<unknown>;
  /** net.ipv{4,6}.neigh.<dev>.<key> (seconds for delay_first_probe_time, ms for *_ms). */
  param(ns: Netns, dev: string, key: string): number;
  /** neigh->ops->solicit (arp_solicit / ndisc_solicit): one probe; it counts it in n.probes. */
  solicit(dp: Datapath, n: Neighbour<unknown>, cause: Skb | null): void;
  /** neigh_invalidate: a queued packet dies (trace step, error_report, drop); `sent` probes went unanswered. */
  invalidate(dp: Datapath, n: Neighbour<unknown>, skb: Skb, sent: number): void;
  /** A queued packet pushed out by a full queue (NEIGH_QUEUEFULL). */
  queueFull(dp: Datapath, n: Neighbour<unknown>, skb: Skb, limit: number): void;
  /** The entry's address as text, and what a probe is called (traces). */
  addrText(n: Neighbour<unknown>): string;
  readonly probeName: string;
}

/**
 * neigh_output() / __neigh_event_send(): a valid entry sends at once (a STALE one goes DELAY and
 * re-validates after delay_first_probe_time); otherwise the packet waits in the entry's queue
 * (unres_qlen, oldest pushed out) and an unresolved entry goes INCOMPLETE and probes.
 * `quiet`: no 'use' step (a queued packet sent on resolution already has its step).
 */
export function neighOutput(dp: Datapath, skb: Skb, n: Neighbour<unknown>, ops: NeighOps, quiet = false): void {
  const dev = n.dev;
  const ns = dev.ns;
  if (n.state & (NUD_CONNECTED | NUD_DELAY | NUD_PROBE | NUD_STALE)) {
    if (n.state & NUD_STALE) {
      n.state = NUD_DELAY;
      n.updated = dp.now;
      ops.table(ns).setTimer(n, dp.now + ops.param(ns, dev.name, 'delay_first_probe_time'));
      if (dp.tracing) dp.step({ kind: 'neigh', ns: ns.name, dev: dev.name, addr: ops.addrText(n), state: 'DELAY', action: 'STALE → DELAY (will re-validate)', lladdr: formatMac(n.macHi, n.macLo) });
    } else if (dp.tracing && !quiet) {
      // Interned on the entry while its state and address stay.
      if (!n.useStep || n.useStepState !== n.state || n.useStepMacHi !== n.macHi || n.useStepMacLo !== n.macLo) {
        n.useStep = intern({ kind: 'neigh', ns: ns.name, dev: dev.name, addr: ops.addrText(n), state: nudName(n.state), action: 'use', lladdr: formatMac(n.macHi, n.macLo) });
        n.useStepState = n.state;
        n.useStepMacHi = n.macHi;
        n.useStepMacLo = n.macLo;
      }
      dp.step(n.useStep as Step);
    }
    skb.setMacs(n.macHi, n.macLo, dev.macHi, dev.macLo);
    devQueueXmit(dp, skb, dev);
    return;
  }
  // NONE / FAILED / INCOMPLETE: queue (arp_queue) and resolve.
  const rec = dp.recOf(skb);
  const q = skb.generated ? skb : skb.clone();
  if (n.state === NUD_NONE || n.state === NUD_FAILED) {
    // INCOMPLETE with probes = ucast_solicit, so its probes are the multicast (broadcast) ones.
    n.state = NUD_INCOMPLETE;
    n.probes = ops.param(ns, dev.name, 'ucast_solicit');
    n.updated = dp.now;
    n.queue.push(q);
    if (rec) rec.live++; // its record waits for the queued copy's fate (a generated packet's too)
    if (dp.tracing) dp.step({ kind: 'neigh', ns: ns.name, dev: dev.name, addr: ops.addrText(n), state: 'INCOMPLETE', action: `unresolved: packet queued, ${ops.probeName} sent` });
    ops.table(ns).setTimer(n, dp.now + Math.max(ops.param(ns, dev.name, 'retrans_time_ms') / 1000, 0.01));
    ops.solicit(dp, n, q);
    return;
  }
  const max = ops.param(ns, dev.name, 'unres_qlen') || 101;
  if (n.queue.length >= max) ops.queueFull(dp, n, n.queue.shift() as Skb, max);
  n.queue.push(q);
  if (rec) rec.live++; // its record waits for the queued copy's fate (a generated packet's too)
  if (dp.tracing) dp.step({ kind: 'neigh', ns: ns.name, dev: dev.name, addr: ops.addrText(n), state: 'INCOMPLETE', action: `resolution in progress: packet queued (${n.queue.length})` });
}

/**
 * neigh_max_probes(): unicast + application probes, then multicast ones while INCOMPLETE
 * (mcast_solicit) or re-probing (mcast_resolicit). An INCOMPLETE entry starts with probes =
 * ucast_solicit (__neigh_event_send), so its probes are the multicast ones.
 */
export function neighMaxProbes(ops: NeighOps, n: Neighbour<unknown>): number {
  const ns = n.dev.ns, dev = n.dev.name;
  return ops.param(ns, dev, 'ucast_solicit') + ops.param(ns, dev, 'app_solicit') + ops.param(ns, dev, n.state & NUD_INCOMPLETE ? 'mcast_solicit' : 'mcast_resolicit');
}

/**
 * neigh_timer_handler(): run every entry whose timer is due at `now`. REACHABLE goes STALE once
 * reachable_time passed since the last confirmation (base value, not randomised: README); DELAY
 * returns to REACHABLE when confirmed within delay_first_probe_time, else starts PROBE; INCOMPLETE
 * and PROBE probe every retrans_time (at least 10 ms) until neigh_max_probes, then FAILED: the
 * queued packets die.
 */
export function neighTimerHandler(dp: Datapath, ns: Netns, ops: NeighOps, now: number): void {
  const table = ops.table(ns);
  for (const n of [...table.timed] as Neighbour<unknown>[]) {
    if (n.timerAt > now) continue;
    const dev = n.dev.name;
    const retrans = Math.max(ops.param(ns, dev, 'retrans_time_ms') / 1000, 0.01);
    const reachable = ops.param(ns, dev, 'base_reachable_time_ms') / 1000;
    if (n.state & NUD_REACHABLE) {
      if (now < n.confirmed + reachable) table.setTimer(n, n.confirmed + reachable);
      else {
        n.state = NUD_STALE;
        n.updated = now;
        table.setTimer(n, Infinity);
      }
      continue;
    }
    if (n.state & NUD_DELAY) {
      if (now <= n.confirmed + ops.param(ns, dev, 'delay_first_probe_time')) {
        n.state = NUD_REACHABLE;
        n.updated = now;
        table.setTimer(n, n.confirmed + reachable);
        continue;
      }
      n.state = NUD_PROBE;
      n.updated = now;
      n.probes = 0;
    }
    if (!(n.state & (NUD_INCOMPLETE | NUD_PROBE))) {
      table.setTimer(n, Infinity);
      continue;
    }
    if (n.probes >= neighMaxProbes(ops, n)) {
      // Probes that put a packet on the wire: not the unicast offset of INCOMPLETE, not app probes.
      const sent = n.probes - (n.state & NUD_INCOMPLETE ? ops.param(ns, dev, 'ucast_solicit') : 0) - ops.param(ns, dev, 'app_solicit');
      n.state = NUD_FAILED;
      n.updated = now;
      table.setTimer(n, Infinity);
      const q = n.queue as Skb[];
      n.queue = [];
      for (const skb of q) ops.invalidate(dp, n, skb, sent);
      continue;
    }
    table.setTimer(n, now + retrans);
    ops.solicit(dp, n, null);
  }
}
