/**
 * Per-packet CPU cost, in ns of softirq time, from the steps the datapath took for that packet:
 *
 *   cost = base + hooks·perHook + rules·perRule + ctLookups·ctLookup + ctInserts·ctInsert + nats·nat
 *
 * Each "stage" of a packet is costed separately: the NIC stage (driver rx → ip_rcv → … → xmit or
 * socket) and each backlog hop after a veth or loopback transmit (netif_rx → process_backlog → …).
 * `rpsEnqueue` is what the CPU that took the interrupt spends to steer a packet to another CPU's
 * backlog (get_rps_cpu + enqueue_to_backlog) before that CPU pays the stage cost.
 *
 * Where the defaults come from: see DEFAULT_COST. They are calibrated on one machine and one kernel;
 * run tests/queue/cost_probe.sh on yours and pass its JSON line as `--cost FILE`.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';

/** Cost parameters in ns. */
export interface CostParams {
  /** Per stage: driver/GRO, ip_rcv, routing, neighbour output, dev_queue_xmit, with no netfilter. */
  base: number;
  /** Per netfilter hook traversed that has a base chain (nf_hook_slow entry + chain dispatch). */
  perHook: number;
  /** Per rule evaluated (nft_do_chain / ipt_do_table, one rule with a couple of matches). */
  perRule: number;
  /** Per conntrack lookup of an existing entry (nf_conntrack_in → __nf_conntrack_find_get). */
  ctLookup: number;
  /** Per conntrack entry created and confirmed (init_conntrack + __nf_conntrack_confirm). */
  ctInsert: number;
  /** Per NAT rewrite of a packet (nf_nat_packet → manip_pkt, checksum update). */
  nat: number;
  /** On the interrupted CPU, per packet steered by RPS to a backlog. */
  rpsEnqueue: number;
}

/**
 * Defaults, in ns, measured with tests/queue/cost_probe.sh on a 2-vCPU Firecracker VM (Linux 6.18.44,
 * HZ 250): crafted 60-byte UDP frames sent with AF_PACKET into a veth, received in a second namespace
 * up to a UDP socket; the sending thread's CPU time per packet (the veth's receive softirq runs in
 * it), median of 5 runs of 200k packets, tx-only cost subtracted. Two sessions gave
 * base 1196/1113, perHook 94/141, perRule 14.4/14.2 (nft `ip saddr X drop`, 1000 rules),
 * ctLookup 206/275 (a hit, including conntrack's own hooks), ctInsert 862/800 (new flow: lookup
 * miss + init + confirm, above a hit), nat 107/239 (DNAT of an established flow, above a hit),
 * rpsEnqueue 636 (get_rps_cpu + enqueue_to_backlog + the IPI, which is costly in a VM).
 * The small terms vary by ±30% between runs. Not included: a physical NIC driver's own per-packet
 * work (descriptors, DMA unmap, GRO), typically a few hundred ns more; iptables-legacy rules, which
 * cost differently from nft rules.
 */
export const DEFAULT_COST: Readonly<CostParams> = Object.freeze({
  base: 1100,
  perHook: 120,
  perRule: 14,
  ctLookup: 240,
  ctInsert: 830,
  nat: 170,
  rpsEnqueue: 600,
});

const KEYS: readonly (keyof CostParams)[] = ['base', 'perHook', 'perRule', 'ctLookup', 'ctInsert', 'nat', 'rpsEnqueue'];

/** What one stage of a packet did, as counted by the datapath. */
export interface StageWork {
  hooks: number;
  rules: number;
  ctLookups: number;
  ctInserts: number;
  nats: number;
}

/** Costs a stage. Immutable after construction. */
export class CostModel {
  readonly p: Readonly<CostParams>;

  constructor(params: Partial<CostParams> = {}) {
    const p = { ...DEFAULT_COST, ...params };
    for (const k of KEYS) {
      const v = p[k];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`cost ${k} must be a non-negative number of ns, got ${String(v)}`);
    }
    this.p = Object.freeze(p);
  }

  /** ns of CPU time for one stage (no allocation: numbers in, number out). */
  cost(hooks: number, rules: number, ctLookups: number, ctInserts: number, nats: number): number {
    const p = this.p;
    return p.base + hooks * p.perHook + rules * p.perRule + ctLookups * p.ctLookup + ctInserts * p.ctInsert + nats * p.nat;
  }

  /** cost() of a StageWork record. */
  costOf(w: StageWork): number {
    return this.cost(w.hooks, w.rules, w.ctLookups, w.ctInserts, w.nats);
  }
}

/**
 * Parse a `--cost FILE` JSON object: any subset of the CostParams keys, each a non-negative number of
 * ns. Unknown keys, wrong types and bad JSON are refused with the file and the key named.
 */
export function parseCostJson(text: string, file: string): Partial<CostParams> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(file, '', `not valid JSON (${(err as Error).message}); expected an object like {"base": 900, "perRule": 12}.`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new ConfigError(file, '', `expected a JSON object of costs in ns, e.g. {"base": 900, "perRule": 12}.`);
  }
  const out: Partial<CostParams> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (!(KEYS as readonly string[]).includes(k)) {
      throw new ConfigError(file, `.${k}`, `unknown cost; the keys are ${KEYS.join(', ')} (ns per packet or per item).`);
    }
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) {
      throw new ConfigError(file, `.${k}`, `expected a non-negative number of ns, found ${JSON.stringify(x)}.`);
    }
    out[k as keyof CostParams] = x;
  }
  return out;
}

/** Read and parse a `--cost FILE`. */
export function loadCostFile(file: string): CostModel {
  return new CostModel(parseCostJson(readFileSync(file, 'utf8'), file));
}
